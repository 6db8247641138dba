"""JSON in and out of the HTTP API, and one error shape for all of it:
{"error": {"status": 400, "message": "...", "fields": {field: [reasons]}}}."""
import functools
import hashlib
import ipaddress
import json
import logging
import os
import re
import secrets
import time
import uuid

import eventlet
from marshmallow import Schema, ValidationError, fields, validate
from nameko.exceptions import UnknownService
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Response

from einspection import auth, bus, files, logs
from einspection.contract import LANGUAGES, UNSTORABLE_TEXT, ContractError, Id, unstorable
from einspection.errors import (ConcurrencyConflict, Conflict, DomainError, Forbidden,
                                InvalidCommand, NotAuthenticated, NotFound, ServiceUnavailable,
                                TooManyAttempts)
from einspection.nameko_glue import never_sent, rpc_publish_watch

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32          # the API's deepest body is 4 levels; json.loads itself fails near 1,000
RPC_TIMEOUT_SECONDS = 15
RETRY_AFTER_SECONDS = "5"      # what a 503 tells the client to wait before trying again
BROKER_UNAVAILABLE = "the message broker is unavailable; retry later"

# route: the API operation's name (e.g. "hazards.create"); for the other routes
# (web pages, /health, /metrics) their template, never the raw path; "unmatched"
# for what no route takes. Bounded by the code's routes.
REQUESTS = Counter("gateway_requests_total", "HTTP requests, by route and status",
                   ["route", "status"])
LATENCY = Histogram("gateway_request_seconds", "HTTP request latency, by route", ["route"])
RPC_SECONDS = Histogram("gateway_rpc_client_seconds",
                        "Time the gateway waited for an RPC answer, by target service and method",
                        ["service", "method"])
RPC_ERRORS = Counter("gateway_rpc_client_errors_total",
                     "RPCs that did not answer a result: timeout, not_running, broker (could not "
                     "be sent), remote (the service raised)", ["service", "method", "kind"])


def count_request(route, status, started):
    REQUESTS.labels(route, str(status)).inc()
    LATENCY.labels(route).observe(time.perf_counter() - started)


class HttpError(Exception):
    """`nothing_done`: a 5xx whose request certainly changed nothing (it was
    never sent); any other 5xx of a command may have been done."""

    def __init__(self, status, message, fields=None, headers=None, nothing_done=False):
        super().__init__(message)
        self.status, self.message, self.fields, self.headers = status, message, fields, headers
        self.nothing_done = nothing_done


def unavailable(message, retry_after=RETRY_AFTER_SECONDS, nothing_done=True):
    """A 503: nothing can be done now; the same request may succeed later."""
    return HttpError(503, message, headers={"Retry-After": retry_after},
                     nothing_done=nothing_done)


def json_response(status, payload, headers=None):
    text = json.dumps(payload, ensure_ascii=False)
    if unstorable(text):        # e.g. an unpaired surrogate echoed in an error: escape it
        text = json.dumps(payload)
    return Response(text, status=status, mimetype="application/json", headers=headers)


def export_query(request, query):
    """An export's query: `lang` as given (the service validates it), or,
    when it is not, the Accept-Language header's choice of zh or en, if any."""
    if "lang" not in query:
        chosen = request.accept_languages.best_match(LANGUAGES)
        if chosen:
            query["lang"] = chosen
    return query


def file_response(document, download=False, headers=None):
    """A file a service packed (einspection.files) as an HTTP response."""
    disposition = '%s; filename="%s"' % ("attachment" if download else "inline",
                                         document["filename"])
    return Response(files.unpack(document), mimetype=document["content_type"],
                    headers=dict(headers or {}, **{"Content-Disposition": disposition}))


def error_response(status, message, fields=None, current=None, headers=None):
    """`fields`: what is wrong with each input field; `current`: on a 409,
    the state the request did not fit."""
    error = {"status": status, "message": message}
    if fields:
        error["fields"] = fields
    if current:
        error["current"] = current
    return json_response(status, {"error": error}, headers=headers)


@functools.lru_cache(maxsize=1)
def auth_secret():
    """The key tokens are signed with: AUTH_SECRET, the same in every gateway
    process. Without it, a random one: tokens then die with the process."""
    secret = os.environ.get("AUTH_SECRET")
    if not secret:
        log.warning("AUTH_SECRET is not set: tokens are valid in this process only")
        secret = secrets.token_urlsafe(32)
    return secret


def token_ttl_seconds():
    return int(os.environ.get("AUTH_TOKEN_TTL_SECONDS") or 8 * 3600)


# A token issued for a temporary password is good for this long at most: it
# can only change the password anyway.
PASSWORD_CHANGE_TTL_SECONDS = 15 * 60

# Routes an account that must change its password may still call.
PASSWORD_CHANGE_ROUTES = ("auth.password", "auth.me")


@functools.lru_cache(maxsize=1)
def trusted_proxies():
    """GATEWAY_TRUSTED_PROXIES: the addresses or networks (comma-separated)
    of reverse proxies whose X-Forwarded-For is believed."""
    text = os.environ.get("GATEWAY_TRUSTED_PROXIES", "")
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(remote_addr, forwarded_for, trusted):
    """The address a request comes from: the connection's peer; when that
    peer is a trusted proxy, the nearest address in X-Forwarded-For that is
    not one (walking from the right: whatever a client writes further left
    is not believed). None if the peer is unknown."""
    peer = _address(remote_addr or "")
    if peer is None:
        return None
    for hop in reversed((forwarded_for or "").split(",") if forwarded_for else []):
        if not any(peer in network for network in trusted):
            break
        forwarded = _address(hop)
        if forwarded is None:          # garbage in the header: the last proxy's peer it is
            break
        peer = forwarded
    return str(peer)


def request_address(request):
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          trusted_proxies())


def authenticated(request):
    """The Principal of the request's bearer token, or NotAuthenticated."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("missing bearer token: log in at POST /api/v1/auth/token")
    try:
        return auth.verify_token(token.strip(), auth_secret())
    except auth.InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None


# Who may call a route: everyone who is logged in may read what their scope
# shows; changing things is for every role but the integrator (read-only),
# unless a route names its roles.
EVERYONE = auth.ROLES
WRITERS = tuple(role for role in auth.ROLES if role != "integrator")
AUTHORITY = auth.AUTHORITY_ROLES


def read_bytes(request, limit, too_large):
    """The raw body, at most `limit` bytes (413 `too_large` past it). A body
    that stops arriving (HTTP_IDLE_TIMEOUT_SECONDS) is a 408, one cut short
    by the client a 400; both close the connection (where the next request
    would begin is unknown)."""
    if request.content_length and request.content_length > limit:
        raise HttpError(413, too_large)
    chunks, size = [], 0
    try:
        while size <= limit:
            chunk = request.stream.read(min(64 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except ClientDisconnected as exc:        # werkzeug's word for any failed read
        close = {"Connection": "close"}
        if isinstance(exc.__context__, TimeoutError):
            raise HttpError(408, "the request body stopped arriving; send it again",
                            headers=close) from None
        raise HttpError(400, "the request body ended before its Content-Length",
                        {"_body": ["is shorter than its Content-Length"]}, headers=close) from None
    if size > limit:
        raise HttpError(413, too_large)
    return b"".join(chunks)


def _read_body(request):
    return read_bytes(request, MAX_BODY_BYTES,
                      "request body is larger than %d bytes" % MAX_BODY_BYTES)


def read_text(request):
    """A text body (e.g. CSV), UTF-8."""
    try:
        return _read_body(request).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, "the body is not UTF-8 text", {"_body": [str(exc)]}) from None


def _too_deep(value, limit=MAX_JSON_DEPTH):
    """Whether a decoded JSON value nests arrays and objects more than `limit`
    deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def read_json(request):
    """The body as a JSON object; anything else is a 400 naming `_body`.
    Nesting is limited (MAX_JSON_DEPTH): no service needs more, and deeper
    input would exhaust the recursion of json, marshmallow or the RPC's
    serializer — a 500 instead of the caller's 400."""
    raw = _read_body(request)
    too_deep = HttpError(400, "the JSON body is nested too deeply", {"_body": [
        "arrays and objects may nest at most %d levels deep" % MAX_JSON_DEPTH]})
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, "malformed JSON", {"_body": ["not valid JSON: %s" % exc]}) from None
    if not isinstance(body, dict):
        raise HttpError(400, "the body must be a JSON object",
                        {"_body": ["must be a JSON object"]})
    if _too_deep(body):
        raise too_deep
    return body


class PathParameters(Schema):
    """Every path parameter of the API, by name: checked before a route runs
    (a bad one is a 400 naming it), and described in the OpenAPI document from
    here. A name not listed here is checked as an id."""
    version = fields.Integer(strict=True, validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "a checklist version number"})
    token = fields.String(validate=validate.Length(min=1, max=100),
                          metadata={"description": "the secret token of a position's QR code"})
    ref = fields.String(validate=validate.Length(min=1, max=300),
                        metadata={"description": "an evidence reference, sha256:<hex>"})
    recipient = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "enterprise:<id>, grid:<grid> or authority"})
    filename = fields.String(validate=validate.Length(min=1, max=300),
                             metadata={"description": "a file of the web pages"})


def _storable(text):
    if unstorable(text):
        raise ValidationError(UNSTORABLE_TEXT)


PATH_PARAMETERS = PathParameters()
ANY_ID = Id(validate=[validate.Length(min=1, max=64), _storable])


def path_parameter_field(name):
    return PATH_PARAMETERS.fields.get(name, ANY_ID)


def check_request(request, path_values):
    """400 for a path parameter that is no valid value, or query text no
    store could keep (the services' schemas check the query's meaning)."""
    problems = {}
    for name, value in path_values.items():
        if isinstance(value, str) and unstorable(value):
            problems[name] = [UNSTORABLE_TEXT]
            continue
        try:
            path_parameter_field(name).deserialize(value)
        except ValidationError as exc:
            problems[name] = exc.messages
    for name, value in request.args.items(multi=True):
        if unstorable(name) or unstorable(value):
            problems[name if not unstorable(name) else "_query"] = [UNSTORABLE_TEXT]
    if problems:
        raise HttpError(400, "invalid request", problems)


REQUEST_ID = "X-Request-Id"
_REQUEST_ID_TEXT = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(request):
    """The request's id: the client's (or a proxy's) X-Request-Id when it is
    1 to 64 of A-Z a-z 0-9 . _ : -, else one made here; the same for the
    whole request (its log lines, its RPCs, the correlation id of the events
    it records), and sent back in the answer's X-Request-Id."""
    if getattr(request, "request_id", None) is None:
        given = request.headers.get(REQUEST_ID, "")
        request.request_id = given if _REQUEST_ID_TEXT.fullmatch(given) else str(uuid.uuid4())
    return request.request_id


def correlation_id(request):
    return request_id(request)


def _log_context(request, **fields):
    """The log context of the request (einspection.logs), and what goes with
    its RPCs in their headers (nameko_glue.HttpEntrypoint)."""
    context_data = getattr(request, "context_data", None)
    if context_data is not None:
        context_data.update(fields)
    return logs.bind(**fields)


IDEMPOTENCY_KEY = "Idempotency-Key"
_KEY_TEXT = re.compile(r"[\x20-\x7e]{1,255}")       # printable ASCII


def idempotency_key(request):
    """The client's Idempotency-Key header, or None; one that is not 1 to
    255 printable ASCII characters is a 400 naming it."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is not None and not (_KEY_TEXT.fullmatch(key) and key.strip()):
        raise HttpError(400, "invalid %s header" % IDEMPOTENCY_KEY, {IDEMPOTENCY_KEY: [
            "must be 1 to 255 printable ASCII characters"]})
    return key


def command_of(request):
    """(command id, deadline) of the command a request makes (einspection.acting):
    the id from the client's Idempotency-Key, or from a key made here for this
    request (the answer tells it if the outcome is unknown: a 5xx), always
    namespaced by the account, so two accounts' keys never meet; the deadline
    is when `call` stops waiting for the answer."""
    key = idempotency_key(request)
    request.idempotency_key_made = key is None
    request.idempotency_key = key = key or str(uuid.uuid4())
    digest = hashlib.sha256(("%s\n%s" % (request.principal.account_id, key)).encode("ascii"))
    return digest.hexdigest(), time.time() + RPC_TIMEOUT_SECONDS


def with_idempotency_key(request, response):
    """The client's Idempotency-Key back on the answer. When a command was
    sent and the answer is a 5xx, whether it was done is unknown to the
    client (unless it was never sent: the broker or the service away): the
    answer says how to find out (the key made here, if the client sent
    none, in the header and the message)."""
    try:
        key = getattr(request, "idempotency_key", None) or idempotency_key(request)
    except HttpError:
        return response             # an invalid key: the 400 names it
    if key is None or (response.status_code < 500 and getattr(
            request, "idempotency_key_made", False)):
        return response
    response.headers[IDEMPOTENCY_KEY] = key
    if (response.status_code >= 500 and hasattr(request, "acting")
            and not getattr(request, "nothing_done", False)):
        try:
            payload = json.loads(response.get_data())
            payload["error"]["message"] += (
                "; it may have been done all the same: send the same request again with the "
                "header %s: %s (if it was done, that answers what it answered; if not, it is "
                "done then, once)" % (IDEMPOTENCY_KEY, key))
        except (ValueError, KeyError, TypeError):
            return response
        response.set_data(json.dumps(payload, ensure_ascii=False))
    return response


def call(method, *args, **kwargs):
    """An RPC with the API's deadline; see call_within."""
    return call_within(RPC_TIMEOUT_SECONDS, method, *args, **kwargs)


def call_within(seconds, method, *args, **kwargs):
    """An RPC with a deadline. What cannot be answered now is a 503 with
    Retry-After: a broker the request cannot be sent over (it was not sent,
    or, if the connection went while the broker may have had it, it may
    still be done),
    a service that is not running (it was not taken), or one that did not
    answer in time (it may still be done). A service whose database is away
    answers ServiceUnavailable itself, which the endpoint passes on."""
    service = getattr(method, "service_name", "a")
    labels = (getattr(method, "service_name", "other"), getattr(method, "method_name", "other"))
    started = time.perf_counter()
    try:
        with eventlet.Timeout(seconds), rpc_publish_watch() as publish_errors:
            return method(*args, **kwargs)
    except eventlet.Timeout:
        RPC_ERRORS.labels(*labels, "timeout").inc()
        # a command's answer then says how to find out (with_idempotency_key)
        raise unavailable("the %s service did not answer in %ss" % (service, seconds),
                          nothing_done=False) from None
    except UnknownService:
        RPC_ERRORS.labels(*labels, "not_running").inc()
        raise unavailable("the %s service is not running; retry later" % service) from None
    except bus.CONNECTION_ERRORS as exc:
        RPC_ERRORS.labels(*labels, "broker").inc()
        # not sent, unless a publish attempt failed after the broker may have
        # taken it (its confirm lost with the connection): then a command's
        # answer says it may have been done (with_idempotency_key)
        raise unavailable(BROKER_UNAVAILABLE,
                          nothing_done=never_sent(publish_errors + [exc])) from None
    except Exception:
        RPC_ERRORS.labels(*labels, "remote").inc()
        raise
    finally:
        RPC_SECONDS.labels(*labels).observe(time.perf_counter() - started)


def endpoint(route, roles=EVERYONE, public=False):
    """Wrap a handler: the caller must be logged in (unless `public`) with
    one of `roles` (else 403); the request then carries `principal`. Its
    result (status, payload) becomes JSON (a werkzeug Response, e.g. a file,
    passes as it is); every known failure becomes the one error shape with
    the right status — never a 500 for something the caller did."""
    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(self, request, *args, **kwargs):
            started = time.perf_counter()
            context = _log_context(request, correlation_id=request_id(request))
            try:
                return answer(self, request, started, *args, **kwargs)
            finally:
                logs.unbind(context)

        def answer(self, request, started, *args, **kwargs):
            try:
                if not public:
                    request.principal = authenticated(request)
                    _log_context(request, actor=request.principal.username)
                    if (request.principal.must_change_password
                            and route not in PASSWORD_CHANGE_ROUTES):
                        raise Forbidden("change the temporary password first: "
                                        "POST /api/v1/auth/password")
                    if request.principal.role not in roles:
                        raise Forbidden("%s may not do this (%s)"
                                        % (auth.a_role(request.principal.role), route))
                check_request(request, kwargs)
                result = handler(self, request, *args, **kwargs)
                # (status, payload) becomes JSON; a Response (a file) goes as it is
                response = result if isinstance(result, Response) else json_response(*result)
            except HttpError as exc:
                request.nothing_done = exc.nothing_done
                response = error_response(exc.status, exc.message, exc.fields,
                                          headers=exc.headers)
            except InvalidCommand as exc:
                response = error_response(400, "invalid request", exc.errors)
            except ContractError as exc:
                response = error_response(400, "invalid request", exc.errors)
            except NotAuthenticated as exc:
                response = error_response(401, str(exc),
                                          headers={"WWW-Authenticate": 'Bearer realm="einspection"'})
            except Forbidden as exc:
                response = error_response(403, str(exc))
            except TooManyAttempts as exc:
                response = error_response(429, str(exc),
                                          headers={"Retry-After": str(exc.retry_after)})
            except NotFound as exc:
                response = error_response(404, str(exc))
            except ConcurrencyConflict:
                response = error_response(409, "it changed while this request was being "
                                          "handled; reload it and try again")
            except Conflict as exc:
                response = error_response(409, str(exc), current=exc.state)
            except ServiceUnavailable as exc:
                response = error_response(503, str(exc),
                                          headers={"Retry-After": exc.retry_after})
            except DomainError as exc:
                response = error_response(exc.status, str(exc))
            except Exception:
                log.exception("unexpected failure in %s", route)
                response = error_response(500, "internal error; it has been logged")
            response = with_idempotency_key(request, response)
            response.headers.setdefault(REQUEST_ID, request.request_id)
            request.metered = True
            count_request(route, response.status_code, started)
            return response
        wrapper.public, wrapper.roles = public, tuple(roles)    # for the OpenAPI document
        return wrapper
    return decorate
