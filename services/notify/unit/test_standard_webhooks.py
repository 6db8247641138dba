"""The Standard Webhooks signing (https://www.standardwebhooks.com) checked
by the `standardwebhooks` library as a receiver would: the spec's own test
vector, the secret's form, and which secrets sign while a rotation overlaps."""
import base64
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify import channels, dispatch

# the spec's reference vector (its libraries' test suites share it)
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, \
    b'{"test": 2432232314}'


def test_the_signature_is_the_specs_for_its_reference_vector():
    ours = channels.standard_signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    theirs = Webhook(SPEC_SECRET).sign(SPEC_ID, datetime.fromtimestamp(
        SPEC_TIMESTAMP, timezone.utc), SPEC_BODY.decode())
    assert ours == theirs == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_headers_verify_with_the_library_and_a_tampered_body_does_not():
    secret = channels.new_secret()
    body = b'{"specversion": "1.0", "id": "e-1", "data": {"name": "\xe7\x99\xbe\xe5\xbe\xb7"}}'
    headers = channels.webhook_headers([secret], body, "d-1", 1, datetime.now(timezone.utc))
    assert headers["webhook-id"] == "d-1"
    assert Webhook(secret).verify(body, headers)["id"] == "e-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"e-1", b"e-2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(channels.new_secret()).verify(body, headers)
    stale = channels.webhook_headers([secret], body, "d-1", 2,
                                     datetime.now(timezone.utc) - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, stale)


def test_a_generated_secret_is_whsec_and_32_random_bytes():
    first, second = channels.new_secret(), channels.new_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first[len("whsec_"):], validate=True)) == 32
    assert channels.secret_problem(first) is None


@pytest.mark.parametrize("secret, problem", [
    ("s3cr3t-s3cr3t-s3cr3t", "must start with whsec_"),
    ("whsec_not base64!", "base64"),
    ("whsec_" + base64.b64encode(b"k" * 16).decode(), "24 to 64 bytes (it is 16)"),
    ("whsec_" + base64.b64encode(b"k" * 65).decode(), "24 to 64 bytes (it is 65)"),
])
def test_a_secret_not_of_the_specs_form_is_refused(secret, problem):
    assert problem in channels.secret_problem(secret)


def test_a_subscription_older_than_whsec_secrets_signs_with_its_text_as_the_key():
    legacy = "an-old-token-urlsafe-secret"
    body = b"{}"
    headers = channels.webhook_headers([legacy], body, "d-2", 1, datetime.now(timezone.utc))
    # the same secret as a receiver's library takes it
    assert Webhook(legacy.encode()).verify(body, headers) == {}
    assert Webhook("whsec_" + base64.b64encode(legacy.encode()).decode()).verify(body, headers)\
        == {}


def test_during_the_overlap_both_secrets_sign_and_after_it_the_new_one_alone():
    old, new = channels.new_secret(), channels.new_secret()
    now = datetime.now(timezone.utc)
    row = SimpleNamespace(secret=new, previous_secret=old,
                          previous_secret_until=now + timedelta(hours=24))
    assert dispatch.signing_secrets(row, now) == [new, old]
    assert dispatch.signing_secrets(row, now + timedelta(hours=24)) == [new]
    naive = SimpleNamespace(secret=new, previous_secret=old,            # as SQLite gives it
                            previous_secret_until=(now + timedelta(hours=1)).replace(tzinfo=None))
    assert dispatch.signing_secrets(naive, now) == [new, old]
    headers = channels.webhook_headers(dispatch.signing_secrets(row, now), b"{}", "d-3", 1, now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(b"{}", headers) == Webhook(new).verify(b"{}", headers) == {}
    after = channels.webhook_headers(dispatch.signing_secrets(row, now + timedelta(days=2)),
                                     b"{}", "d-3", 2, now)
    assert Webhook(new).verify(b"{}", after) == {}
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(b"{}", after)
