"""Webhooks by the Standard Webhooks spec through the platform (real broker,
each backend, a real HTTP receiver): every delivery verified with the
`standardwebhooks` library as an outside receiver would; the secret made by
the server or given in its form; rotation over the API, both secrets valid
during the overlap and the new one alone after it; a 410 Gone disabling the
subscription for good."""
import base64
import json
import time
import uuid

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from einspection import eventstore
from einspection.db import make_engine, reading

from .fixtures import account, created, register_enterprise
from .support import WebhookReceiver, wait_until

REGISTERED = ["einspection.enterprise.registered.v1"]


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def about(receiver, enterprise_id):
    """The (headers, body) POSTed about `enterprise_id`."""
    return [(headers, body) for headers, body in receiver.received
            if json.loads(body)["subject"] == enterprise_id]


def one_about(receiver, enterprise_id):
    return wait_until(lambda: about(receiver, enterprise_id), timeout=30,
                      message="the webhook POST")[0]


def rotate(api, subscription_id, body=None, key=None):
    return api.post("/api/v1/webhooks/%s/secret-rotation" % subscription_id, body or {},
                    headers={"Idempotency-Key": key or str(uuid.uuid4())})


def test_deliveries_verify_with_the_standard_webhooks_library_and_a_tampered_body_does_not(
        api):
    receiver = WebhookReceiver(first=[503])         # the first try fails: one retry
    try:
        subscription = created(api.post("/api/v1/webhooks", {
            "url": receiver.url, "event_types": REGISTERED}))
        secret = subscription["secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[len("whsec_"):], validate=True)) == 32
        path = "/api/v1/webhooks/" + subscription["subscription_id"]
        assert "secret" not in created(api.get(path), 200)        # shown once
        enterprise_id = register_enterprise(api)
        wait_until(lambda: len(about(receiver, enterprise_id)) == 2, timeout=30,
                   message="the try and its retry")
        (failed_headers, body), (headers, again) = about(receiver, enterprise_id)
        assert body == again
        event = Webhook(secret).verify(body, headers)
        assert event["specversion"] == "1.0" and event["type"] == REGISTERED[0]
        assert event["data"]["enterprise_id"] == enterprise_id
        assert Webhook(secret).verify(body, failed_headers) == event     # each try signed
        # the message id: the delivery's, the same on the retry
        [delivery] = created(api.get(path + "/deliveries", params={"status": "delivered"}),
                             200)["items"]
        assert headers["webhook-id"] == failed_headers["webhook-id"] == delivery["delivery_id"]
        assert delivery["attempts"] == 2
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        assert headers["Content-Type"].startswith("application/cloudevents+json")
        tampered = body.replace(enterprise_id.encode(), uuid.uuid4().hex.encode())
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, headers)
    finally:
        receiver.close()


def test_a_callers_secret_in_the_specs_form_signs_and_another_is_a_400(api, receiver):
    secret = "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()
    created(api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": REGISTERED,
                                          "secret": secret}))
    enterprise_id = register_enterprise(api)
    headers, body = one_about(receiver, enterprise_id)
    assert Webhook(secret).verify(body, headers)["subject"] == enterprise_id
    for bad in ("a-long-enough-plain-secret", "whsec_c2hvcnQ="):
        refused = api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": REGISTERED,
                                                "secret": bad})
        assert refused.status_code == 400
        assert list(refused.json()["error"]["fields"]) == ["secret"]


def test_a_rotated_secret_signs_with_the_old_one_during_the_overlap_and_alone_after_it(
        api, platform, receiver):
    integrator = account(api, "integrator", grants=["*"])
    subscription = created(integrator.post("/api/v1/webhooks", {
        "url": receiver.url, "event_types": REGISTERED}))
    subscription_id, old = subscription["subscription_id"], subscription["secret"]

    key = str(uuid.uuid4())
    rotated = created(rotate(integrator, subscription_id, key=key), 200)
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old
    assert created(rotate(integrator, subscription_id, key=key), 200) == rotated   # a repeat
    assert rotated["previous_secret_until"] > rotated["secret_rotated_at"]
    other = account(api, "integrator", grants=["*"])          # another account's: missing
    assert rotate(other, subscription_id).status_code == 404
    assert rotate(integrator, str(uuid.uuid4())).status_code == 404
    bad = rotate(integrator, subscription_id, {"secret": "plain"})
    assert bad.status_code == 400 and "secret" in bad.json()["error"]["fields"]

    during = register_enterprise(api)                 # the default overlap: 24 h
    headers, body = one_about(receiver, during)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) == Webhook(new).verify(body, headers)

    # a short overlap (1.8 s), then past it: the newest secret alone
    short = created(rotate(integrator, subscription_id, {"overlap_hours": 0.0005}), 200)
    newest = short["secret"]
    time.sleep(2)
    after = register_enterprise(api)
    headers, body = one_about(receiver, after)
    assert headers["webhook-signature"].count("v1,") == 1
    assert Webhook(newest).verify(body, headers)["subject"] == after
    for stale in (old, new):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(body, headers)

    # the events: the subscription's stream, its actor the account that rotated
    engine = make_engine(platform.database_urls["notify"])
    try:
        with reading(engine) as conn:
            events = eventstore.load_stream(conn, "webhook-" + subscription_id)
    finally:
        engine.dispose()
    assert [e.name for e in events] == ["WebhookSubscribed"] + ["WebhookSecretRotated"] * 2
    assert {e.actor for e in events} == {integrator.username}


def test_a_receiver_answering_410_disables_the_subscription_and_gets_nothing_more(
        api, receiver):
    gone = WebhookReceiver(status=410)
    try:
        leaving = created(api.post("/api/v1/webhooks", {"url": gone.url,
                                                        "event_types": REGISTERED}))
        created(api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": REGISTERED}))
        path = "/api/v1/webhooks/" + leaving["subscription_id"]
        first = register_enterprise(api)
        view = wait_until(lambda: (lambda v: v if v["status"] == "disabled" else None)(
            created(api.get(path), 200)), timeout=30, message="the subscription disabled")
        assert view["disabled_at"] and "410 Gone" in view["disabled_reason"]
        assert view["cancelled_at"] is None
        assert len(about(gone, first)) == 1                        # not retried
        listed = created(api.get("/api/v1/webhooks", params={"size": 100}), 200)["items"]
        assert leaving["subscription_id"] in {s["subscription_id"] for s in listed
                                              if s["status"] == "disabled"}

        second = register_enterprise(api)
        one_about(receiver, second)                                # the other still gets it
        time.sleep(1)                                              # 5 dispatch rounds
        assert not about(gone, second)
        assert created(api.get(path), 200)["deliveries"] == {
            "pending": 0, "delivered": 0, "failed": len(gone.received)}
    finally:
        gone.close()
