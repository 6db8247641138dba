"""The ways out: e-mail over SMTP and signed webhook POSTs.

Each send either returns or raises SendFailed, saying whether trying again
could help (and, for a 410 Gone, that the receiver wants no more). A
delivery keeps its id across retries, and that id travels with it
(Message-ID; a webhook's `webhook-id`), so a receiver can recognise
the one case no sender can rule out: a crash after the receiver accepted
and before the sender recorded it.

A webhook goes only where the address rule (addresses.py) allows, checked
on every try: the connection is made to the address just checked, with the
URL's host in the Host header, the TLS SNI and the certificate check.
Redirects are not followed (a 3xx is a failed try). A failure says what
happened in general terms (HTTP status, the kind of network error), never
what the receiver answered."""
import base64
import binascii
import functools
import hashlib
import hmac
import http.client
import math
import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

import certifi

from einspection.contract import utcnow

from . import addresses

SIGNATURE_HEADER = "X-Einspection-Signature"
DELIVERY_HEADER = "X-Einspection-Delivery"
ATTEMPT_HEADER = "X-Einspection-Attempt"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURES_HEADER = "webhook-signature"

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32                    # what the server generates
SECRET_SIZES = (24, 64)              # what a caller's secret may decode to (the spec's range)


class SendFailed(Exception):
    """`permanent`: trying again cannot help; `gone`: the receiver answered
    410 Gone, asking for no more deliveries at all."""

    def __init__(self, reason, permanent=False, gone=False):
        super().__init__(reason)
        self.permanent = permanent or gone
        self.gone = gone


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "E-inspection <noreply@einspection.local>"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def message_id(delivery_id):
    return "<%s@einspection>" % delivery_id


def email_message(settings, delivery_id, to, subject, body):
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(delivery_id)     # the same on every retry
    message.set_content(body, charset="utf-8")
    return message


def send_email(settings, delivery_id, to, subject, body):
    message = email_message(settings, delivery_id, to, subject, body)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SendFailed("recipient refused: %s" % exc.recipients,
                         permanent=all(code >= 500 for code in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed("SMTP %s %s" % (exc.smtp_code, exc.smtp_error.decode(errors="replace")),
                         permanent=exc.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed("SMTP: %s" % (exc or type(exc).__name__)) from None


def signature(secret, body):
    """The older header's: HMAC-SHA256 over the exact body bytes with the
    secret's text as the key, as 'sha256=<hex>'."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def new_secret():
    """A signing secret: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_problem(text):
    """Why `text` is not a Standard Webhooks secret (None: it is one)."""
    if not text.startswith(SECRET_PREFIX):
        return "must start with %s (whsec_ + base64 of the key bytes)" % SECRET_PREFIX
    try:
        key = base64.b64decode(text[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return "must be whsec_ followed by base64 (A-Z a-z 0-9 + /, = padding)"
    if not SECRET_SIZES[0] <= len(key) <= SECRET_SIZES[1]:
        return "the key must be %d to %d bytes (it is %d)" % (SECRET_SIZES + (len(key),))
    return None


def secret_key(secret):
    """The key bytes of a secret. A subscription made before secrets were
    whsec_ keeps its text as the key (whsec_ + base64 of that text is the
    same secret for a Standard Webhooks library)."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX):])
    return secret.encode("utf-8")


def standard_signature(secret, msg_id, timestamp, body):
    """`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`; `body` bytes."""
    signed = b"%s.%d.%s" % (msg_id.encode("utf-8"), timestamp, body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(signing_secrets, body, delivery_id, attempt, now):
    """The headers of one try. `signing_secrets`: the newest first."""
    timestamp = math.floor(now.timestamp())
    return {"Content-Type": "application/cloudevents+json; charset=utf-8",
            "User-Agent": "einspection-notify/1",
            ID_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURES_HEADER: " ".join(standard_signature(secret, delivery_id, timestamp, body)
                                        for secret in signing_secrets),
            SIGNATURE_HEADER: signature(signing_secrets[0], body),
            DELIVERY_HEADER: delivery_id, ATTEMPT_HEADER: str(attempt)}


@functools.lru_cache(maxsize=1)
def default_tls():
    """Certificates checked against certifi's roots, as requests does."""
    return ssl.create_default_context(cafile=certifi.where())


class PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to a target's host over a connection to one of the `checked`
    addresses, whatever the name would resolve to by now."""

    def __init__(self, target, checked, timeout, tls=None):
        super().__init__(target.host, target.port, timeout=timeout)
        self.checked = checked
        self.tls = tls if target.scheme == "https" else None

    def connect(self):
        failure = None
        for address in self.checked:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)
                break
            except OSError as exc:
                failure = exc
        else:
            raise failure
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # SNI and the certificate's name: the URL's host, not the address
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


def post_webhook(url, signing_secrets, body_text, delivery_id, attempt, timeout=10.0,
                 rule=addresses.Rule(), tls=None, now=None):
    """POST the body signed with each of `signing_secrets` (a list, the
    newest first; or one secret)."""
    if isinstance(signing_secrets, str):
        signing_secrets = [signing_secrets]
    try:
        target, checked = rule.destination(url)
    except addresses.Refused as exc:
        raise SendFailed(str(exc), permanent=True) from None
    except addresses.Unresolved as exc:
        raise SendFailed("POST %s: %s" % (url, exc)) from None
    body = body_text.encode("utf-8")
    headers = webhook_headers(signing_secrets, body, delivery_id, attempt, now or utcnow())
    connection = PinnedConnection(target, checked, timeout, tls or default_tls())
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        raise SendFailed("POST %s: %s" % (url, type(exc).__name__)) from None
    finally:
        connection.close()
    if status == 410:
        raise SendFailed("POST %s: HTTP 410 Gone" % url, gone=True)
    if not 200 <= status < 300:
        raise SendFailed("POST %s: HTTP %d" % (url, status))
