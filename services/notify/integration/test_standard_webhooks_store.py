"""Standard Webhooks in the notify store, on SQLite and PostgreSQL with a
real HTTP receiver that verifies with the `standardwebhooks` library:
rotation (both secrets sign during the overlap, the new one alone after
it), a 410 Gone disabling the subscription, and the rebuild agreeing."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from einspection import eventstore
from einspection.contract import utcnow
from einspection.db import reading
from einspection.errors import Conflict
from services.notify import dispatch, model, policy
from tests.support import WebhookReceiver, wait_until

from .test_notify_store import LOOPBACK, grade, handle, registered, subscribe

SETTINGS = dispatch.DeliverySettings(max_attempts=3, backoff_seconds=0.05,
                                     webhook_addresses=LOOPBACK)


def settle(engine):
    def settled():
        dispatch.run_once(engine, SETTINGS)
        with reading(engine) as conn:
            return "pending" not in [r.status for r in conn.execute(
                select(model.deliveries.c.status))]
    wait_until(settled, timeout=20, message="every delivery to settle")


def rotate(engine, subscription, now=None, **command):
    with engine.begin() as conn:
        return policy.rotate_secret(conn, subscription["subscription_id"], dict(command),
                                    "admin", policy.Settings(), now)


def test_a_rotated_secret_and_its_predecessor_both_sign_during_the_overlap_only(
        engine, receiver):
    handle(engine, registered())
    with engine.begin() as conn:
        first = subscribe(conn, receiver.url, ["einspection.grade.#"])
    rotated = rotate(engine, first)
    assert rotated["secret"] != first["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previous_secret_until"] and rotated["secret_rotated_at"]
    handle(engine, grade(points="7.86"))
    settle(engine)
    [(headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (first["secret"], rotated["secret"]):
        assert Webhook(secret).verify(body, headers)["data"]["points"] == "7.86"

    # rotated again 25 hours ago with the default overlap (24 h): the new secret alone
    later = rotate(engine, first, now=utcnow() - timedelta(hours=25))
    handle(engine, grade(points="8.50"))
    settle(engine)
    headers, body = receiver.received[1]
    assert json.loads(body)["data"]["points"] == "8.50"
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(later["secret"]).verify(body, headers)
    for secret in (first["secret"], rotated["secret"]):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)

    # no overlap at all: the old one stops at once
    now_only = rotate(engine, first, overlap_hours=0)
    handle(engine, grade(points="9.00"))
    settle(engine)
    headers, body = receiver.received[2]
    assert Webhook(now_only["secret"]).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(later["secret"]).verify(body, headers)

    with reading(engine) as conn:
        events = eventstore.load_stream(conn, "webhook-" + first["subscription_id"])
        before = model.snapshot(conn)
    assert [e.name for e in events] == ["WebhookSubscribed"] + ["WebhookSecretRotated"] * 3
    assert {e.actor for e in events} == {"admin"}
    model.rebuild(engine)
    with reading(engine) as conn:
        assert model.snapshot(conn) == before


def test_a_cancelled_subscription_is_not_rotated(engine, receiver):
    with engine.begin() as conn:
        subscription = subscribe(conn, receiver.url, ["einspection.grade.#"])
        policy.cancel_subscription(conn, subscription["subscription_id"], "admin")
    with pytest.raises(Conflict):
        rotate(engine, subscription)


def test_a_410_gone_disables_the_subscription_and_it_gets_nothing_more(engine, receiver):
    gone = WebhookReceiver(status=410)
    try:
        handle(engine, registered())
        with engine.begin() as conn:
            leaving = subscribe(conn, gone.url, ["einspection.grade.#"])
            staying = subscribe(conn, receiver.url, ["einspection.grade.#"])
        handle(engine, grade(points="7.86"))
        settle(engine)
        assert len(gone.received) == 1                    # not retried
        with reading(engine) as conn:
            view = policy.subscription_view(conn, leaving["subscription_id"])
            [failed] = policy.subscription_deliveries(conn, leaving["subscription_id"])["items"]
        assert view["status"] == "disabled" and view["disabled_at"]
        assert "410 Gone" in view["disabled_reason"]
        assert failed["delivery_id"] in view["disabled_reason"]
        assert failed["status"] == "failed" and failed["attempts"] == 1
        assert failed["last_error"].endswith("HTTP 410 Gone")

        handle(engine, grade(points="8.50"))
        settle(engine)
        assert len(gone.received) == 1 and len(receiver.received) == 2
        with reading(engine) as conn:
            assert policy.subscription_view(conn, leaving["subscription_id"])["deliveries"] == {
                "pending": 0, "delivered": 0, "failed": 1}
            assert policy.subscription_view(conn, staying["subscription_id"])["status"] == \
                "active"
            [disabled] = [e for e in eventstore.load_stream(
                conn, "webhook-" + leaving["subscription_id"]) if e.name == "WebhookDisabled"]
            before = model.snapshot(conn)
        assert disabled.actor == "notify" and disabled.data["delivery_id"] == failed[
            "delivery_id"]
        model.rebuild(engine)
        with reading(engine) as conn:
            assert model.snapshot(conn) == before
    finally:
        gone.close()
