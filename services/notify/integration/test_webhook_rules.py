"""What a webhook may reach and what it may carry, on SQLite and PostgreSQL
with real HTTP(S) receivers: the address rule at every try (a name that
resolves to loopback by then is refused, and the connection goes to the
address checked, with the URL's host in Host, SNI and the certificate
check); an integrator's deliveries limited to what it may read over the
API; a disabled account's subscriptions suspended, their pending
deliveries failed, and the rebuild agreeing.

The resolver is the test's (names under .test that no DNS knows): that is
what lets a name change its address between two checks."""
import json
import ssl
import subprocess

import pytest
from sqlalchemy import select

from einspection import eventstore
from einspection.contract import new_event
from einspection.db import reading
from services.notify import addresses, channels, dispatch, model, policy
from tests.support import WebhookReceiver, wait_until

from .test_notify_store import ADMIN, LOOPBACK, grade, handle, major_hazard, registered, subscribe

NAME = "hooks.rebind.test"
PUBLIC = "93.184.215.14"
NOWHERE = "http://hooks.example.test/hook"      # resolves nowhere: nothing is sent


class Dns:
    """A resolver whose answers the test changes, counting the questions."""

    def __init__(self, **answers):
        self.answers = {name.replace("_", "."): list(found) for name, found in answers.items()}
        self.asked = 0

    def __call__(self, host, port):
        self.asked += 1
        if host not in self.answers:
            raise OSError("no such name: %s" % host)
        return self.answers[host]


OFFLINE = addresses.Rule(resolve=Dns())


def integrator(username, scope):
    return {"username": username, "role": "integrator", "enterprise_id": None, "grid": None}, \
        scope


def settle(engine, settings):
    def settled():
        dispatch.run_once(engine, settings)
        with reading(engine) as conn:
            return "pending" not in [r.status for r in conn.execute(
                select(model.deliveries.c.status))]
    wait_until(settled, timeout=20, message="every delivery to settle")


def deliveries(engine, subscription):
    with reading(engine) as conn:
        return policy.subscription_deliveries(conn, subscription["subscription_id"])["items"]


@pytest.fixture
def internal():
    """A service inside the network that would answer anyone who asks."""
    receiver = WebhookReceiver(status=418, body=b"internal: the database password is hunter2")
    yield receiver
    receiver.close()


def test_a_name_that_resolves_to_loopback_by_send_time_is_refused_and_never_asked(
        engine, internal):
    dns = Dns(hooks_rebind_test=[PUBLIC])
    url = "http://%s:%d/hook" % (NAME, internal.port)
    handle(engine, registered())
    with engine.begin() as conn:
        subscription = subscribe(conn, url, ["einspection.grade.#"], rule=addresses.Rule(
            resolve=dns))                                  # public when subscribed
    handle(engine, grade())
    dns.answers[NAME] = ["127.0.0.1"]                       # then rebound to loopback
    settle(engine, dispatch.DeliverySettings(webhook_addresses=addresses.Rule(resolve=dns)))
    [delivery] = deliveries(engine, subscription)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)       # permanently
    assert delivery["last_error"] == ("refused by the webhook address rule: the host %s "
                                      "resolves to a loopback address" % NAME)
    assert internal.received == []


def test_the_post_goes_to_the_address_checked_with_the_urls_host(engine, receiver):
    # The name is known to this resolver only: had the sender looked it up
    # again (as an HTTP library does), it would have found nothing.
    dns = Dns(hooks_rebind_test=["127.0.0.1"])
    handle(engine, registered())
    with engine.begin() as conn:
        subscription = subscribe(conn, "http://%s:%d/in?source=einspection"
                                 % (NAME, receiver.port), ["einspection.grade.#"],
                                 rule=addresses.Rule(allow_loopback=True, resolve=dns))
    handle(engine, grade())
    asked = dns.asked
    settle(engine, dispatch.DeliverySettings(
        webhook_addresses=addresses.Rule(allow_loopback=True, resolve=dns)))
    assert [d["status"] for d in deliveries(engine, subscription)] == ["delivered"]
    assert dns.asked == asked + 1                           # one look-up for the one try
    [(headers, body)] = receiver.received
    assert headers["Host"] == "%s:%d" % (NAME, receiver.port)
    assert json.loads(body)["type"] == "einspection.grade.assigned.v1"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for hooks.rebind.test, and a TLS context that trusts it."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + NAME,
                    "-addext", "subjectAltName=DNS:" + NAME],
                   check=True, capture_output=True, timeout=60)
    return cert, key, ssl.create_default_context(cafile=cert)


def test_https_names_the_urls_host_in_sni_and_the_certificate_check(certificate):
    cert, key, trusting = certificate
    receiver = WebhookReceiver(tls=(cert, key))
    try:
        dns = Dns(hooks_rebind_test=["127.0.0.1"], other_rebind_test=["127.0.0.1"])
        rule = addresses.Rule(allow_loopback=True, resolve=dns)
        channels.post_webhook("https://%s:%d/hook" % (NAME, receiver.port), "s" * 32, "{}",
                              "d-1", 1, 5, rule, tls=trusting)
        assert receiver.server_names == [NAME]
        [(headers, _)] = receiver.received
        assert headers["Host"] == "%s:%d" % (NAME, receiver.port)
        # the certificate is checked against the URL's host, not the address connected to
        with pytest.raises(channels.SendFailed) as failed:
            channels.post_webhook("https://other.rebind.test:%d/hook" % receiver.port,
                                  "s" * 32, "{}", "d-2", 1, 5, rule, tls=trusting)
        assert failed.value.args[0].endswith("SSLCertVerificationError")
        assert not failed.value.permanent and len(receiver.received) == 1
    finally:
        receiver.close()


def test_a_redirect_is_not_followed_and_a_failure_says_no_more_than_the_status(receiver):
    redirecting = WebhookReceiver(status=307, headers={"Location": receiver.url},
                                  body=b"moved to the internal admin console")
    try:
        with pytest.raises(channels.SendFailed) as failed:
            channels.post_webhook(redirecting.url, "s" * 32, "{}", "d-1", 1, 5, LOOPBACK)
        assert str(failed.value) == "POST %s: HTTP 307" % redirecting.url
        assert receiver.received == [] and len(redirecting.received) == 1
    finally:
        redirecting.close()


# --- what an integrator's webhooks carry ------------------------------------------------

def received_events(engine):
    """Notify's own public events, delivered back to it as the bus does."""
    with reading(engine) as conn:
        own = [event for _, event in eventstore.read_all(conn, 0, 10000)]
    for event in own:
        if event.name in ("NoticeIssued", "PublicationPublished"):
            handle(engine, event)


def carried(engine, subscription):
    """(event type, the notice's recipient if a notice, subject) of each delivery."""
    found = set()
    with reading(engine) as conn:
        for row in conn.execute(select(model.deliveries.c.payload).where(
                model.deliveries.c.target == subscription["subscription_id"])):
            event = json.loads(row.payload)
            found.add((event["type"].split(".")[1] + "." + event["type"].split(".")[2],
                       event["data"].get("recipient"), event["subject"]))
    return found


def test_an_integrator_receives_only_what_it_may_read_over_the_api(engine):
    handle(engine, registered("e-1", grid="Wukang-1"))
    handle(engine, registered("e-2", grid="Wukang-2"))
    with engine.begin() as conn:
        granted_one = subscribe(conn, NOWHERE, ["#"], *integrator("bot-e1", ["e-1"]),
                                rule=OFFLINE)
        granted_all = subscribe(conn, NOWHERE, ["#"], *integrator("bot-all", None),
                                rule=OFFLINE)
        authority = subscribe(conn, NOWHERE, ["#"], ADMIN, rule=OFFLINE)
        policy.publish(conn, {"title": "t", "body": "b", "audience": "all",
                              "published_by": "ESB"}, policy.Settings(), "inspector")
    handle(engine, major_hazard("e-1"))          # notices to the grid and the authority
    handle(engine, grade("e-1"))                 # a notice to the enterprise
    handle(engine, new_event("AccountDisabled", {
        "account_id": "a-1", "username": "staff-1", "enterprise_id": "e-1"}, actor="admin"))
    received_events(engine)

    enterprise_notices = {("notice.issued", "enterprise:e-1", "e-1")}
    assert carried(engine, granted_one) == enterprise_notices | {
        ("hazard.reported", None, "e-1"), ("grade.assigned", None, "e-1")}
    assert carried(engine, granted_all) == enterprise_notices | {
        ("notice.issued", "enterprise:e-2", "e-2"),
        ("hazard.reported", None, "e-1"), ("grade.assigned", None, "e-1")}
    # the authority reads every inbox, its publications and the accounts
    assert carried(engine, authority) == carried(engine, granted_all) | {
        ("notice.issued", "grid:Wukang-1", "e-1"), ("notice.issued", "authority", "e-1"),
        ("publication.published", None, "universal"), ("account.disabled", None, "e-1")}


# --- a disabled account's webhooks --------------------------------------------------------

def test_a_disabled_accounts_webhooks_are_suspended_and_the_rebuild_agrees(engine):
    bot, scope = integrator("bot-1", None)
    handle(engine, registered("e-1"))
    with engine.begin() as conn:
        suspended = subscribe(conn, NOWHERE, ["einspection.grade.#"], bot, scope, OFFLINE)
        kept = subscribe(conn, NOWHERE, ["einspection.grade.#"], ADMIN, rule=OFFLINE)
    handle(engine, grade("e-1"))                 # pending for both
    handle(engine, new_event("AccountDisabled", {
        "account_id": "a-bot", "username": "bot-1", "reason": "contract ended"},
        actor="admin"))
    with reading(engine) as conn:
        view = policy.subscription_view(conn, suspended["subscription_id"])
        assert view["status"] == "suspended" and view["suspended_at"]
        assert policy.subscription_view(conn, kept["subscription_id"])["status"] == "active"
    handle(engine, grade("e-1", "B", "8.10"))    # scheduled for the active one only
    with engine.begin() as conn:                 # its token outlives it: suspended at once
        later = subscribe(conn, NOWHERE, ["einspection.grade.#"], bot, scope, OFFLINE)
    assert later["status"] == "suspended"

    # the pending delivery does not go out (the kept ones fail: their host resolves nowhere)
    settle(engine, dispatch.DeliverySettings(max_attempts=1, webhook_addresses=OFFLINE))
    [pending_then] = deliveries(engine, suspended)
    assert (pending_then["status"], pending_then["attempts"]) == ("failed", 1)
    assert pending_then["last_error"] == ("the subscription is suspended: the account bot-1 "
                                          "that made it was disabled")
    assert len(deliveries(engine, kept)) == 2

    with reading(engine) as conn:
        before = model.snapshot(conn)
    assert before["notify_disabled_accounts"]
    model.rebuild(engine)
    with reading(engine) as conn:
        assert model.snapshot(conn) == before
        assert policy.subscription_view(conn, suspended["subscription_id"])["status"] == \
            "suspended"
