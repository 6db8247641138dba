"""Notify through the platform: grade notices by e-mail to a real SMTP
server in the enterprise's language, grid notifications, the authority's
publications with read receipts, signed webhooks, and exactly one notice
per cause, recipient and channel when events repeat or notify dies mid-send."""
import json
import signal
import subprocess
import uuid

import pytest

from services.notify import channels

from . import factories
from .fixtures import account, created, position, register_enterprise
from .support import EventTap, WebhookReceiver, publish_raw, wait_until


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


def settings(api, recipient, language, emails=()):
    return created(api.session.put(api.base_url + "/api/v1/recipients/%s/settings" % recipient,
                                   json={"language": language, "emails": list(emails)},
                                   timeout=30), 200)


def inbox(api, recipient):
    return created(api.get("/api/v1/notices", params={"recipient": recipient}), 200)["items"]


def grade_notice(api, enterprise_id):
    """Reports a late hazard, which moves the enterprise's grade; returns the notice."""
    created(api.post("/api/v1/hazards", factories.hazard(enterprise_id, found_hours_ago=72)))
    return wait_until(lambda: inbox(api, "enterprise:" + enterprise_id), timeout=30,
                      message="a grade notice")[0]


def delivered(api, notice_id):
    def check():
        notice = created(api.get("/api/v1/notices/" + notice_id), 200)
        states = [d["status"] for d in notice["deliveries"]]
        return notice if states and "pending" not in states else None
    return wait_until(check, timeout=30, message="the notice's deliveries")


def test_the_grade_notice_reaches_the_enterprise_by_email_in_its_language(api, smtp_sink):
    enterprise_id = register_enterprise(api, name="Baide Fabrics")
    address = unique("safety") + "@baide.example"
    settings(api, "enterprise:" + enterprise_id, "en", [address])
    notice = grade_notice(api, enterprise_id)
    assert notice["language"] == "en" and notice["title"].startswith("Grade ")
    assert "Performance points for Baide Fabrics in the last three months" in notice["body"]
    assert "OSH management notice:" in notice["body"]
    [delivery] = delivered(api, notice["notice_id"])["deliveries"]
    assert (delivery["channel"], delivery["target"], delivery["status"]) == (
        "email", address, "delivered")
    [mail] = smtp_sink.messages(to=address)
    assert mail["Subject"] == notice["title"]
    assert mail["Message-ID"] == channels.message_id(delivery["delivery_id"])
    assert mail.get_content().strip() == notice["body"]

    # only the enterprise's own people answer for its notices
    assert api.post("/api/v1/notices/%s/read" % notice["notice_id"], {}).status_code == 404
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    # the reader is the account: a name to sign as is refused
    named = manager.post("/api/v1/notices/%s/read" % notice["notice_id"],
                         {"reader": "bureau.inspector"})
    assert named.status_code == 400 and "reader" in named.json()["error"]["fields"]
    read = created(manager.post("/api/v1/notices/%s/read" % notice["notice_id"], {}), 200)
    assert read["read_by"] == manager.username and read["read_at"]
    unread = created(manager.get("/api/v1/enterprises/%s/notices" % enterprise_id,
                                 params={"unread": "true"}), 200)
    assert notice["notice_id"] not in [n["notice_id"] for n in unread["items"]]


def test_a_major_hazard_and_an_overdue_rectification_reach_the_grid_officer_and_authority(api):
    grid = unique("Wukang")
    enterprise_id = register_enterprise(api, name="Huzhou Steel", grid=grid)
    major = created(api.post("/api/v1/hazards", factories.hazard(
        enterprise_id, level="major", description="sprinkler main valve closed")))
    # a general hazard found ten days ago, due yesterday: overdue at once
    overdue = created(api.post("/api/v1/hazards", factories.hazard(
        enterprise_id, found_hours_ago=240,
        rectification_deadline=factories.iso(factories.ago(hours=24)))))
    notices = wait_until(lambda: len(inbox(api, "grid:" + grid)) == 2
                         and inbox(api, "grid:" + grid), message="two grid notices")
    kinds = {n["kind"]: n for n in notices}
    assert set(kinds) == {"major_hazard", "overdue"}
    assert "sprinkler main valve closed" in kinds["major_hazard"]["body"]
    assert overdue["id"] in kinds["overdue"]["body"] and major["id"] not in kinds["overdue"]["body"]
    authority = {n["cause_event_id"] for n in inbox(api, "authority")}
    assert {n["cause_event_id"] for n in notices} <= authority
    # the enterprise's own general hazard, reported in time, tells the grid nothing
    assert all(n["enterprise_id"] == enterprise_id for n in notices)


def test_a_publication_to_a_town_records_who_has_not_read_it(api):
    town = unique("Xinshi")
    first = register_enterprise(api, town=town, grid=town + "-1")
    second = register_enterprise(api, town=town, grid=town + "-2")
    elsewhere = register_enterprise(api, town=unique("Qianyuan"))

    def published():
        response = api.post("/api/v1/publications", {
            "title": "Enforcement notice", "audience": "town", "audience_value": town,
            "body": "The bureau will inspect warehouses in this town next month.",
            "published_by": "Deqing Emergency Management Bureau"})
        return response.json() if response.status_code == 201 else None
    # the directory follows EnterpriseRegistered: wait until both have arrived
    publication = wait_until(published, message="the town's enterprises to be known")
    assert sorted(r["enterprise_id"] for r in publication["recipients"]) == sorted(
        [first, second])
    notice = inbox(api, "enterprise:" + first)[0]
    assert notice["kind"] == "publication" and notice["title"] == "Enforcement notice"
    assert inbox(api, "enterprise:" + elsewhere) == []
    reader = account(api, "enterprise_staff", enterprise_id=first)
    created(reader.post("/api/v1/notices/%s/read" % notice["notice_id"], {}), 200)
    view = created(api.get("/api/v1/publications/" + publication["publication_id"]), 200)
    assert view["not_read"] == [second] and view["read_count"] == 1

    missing = api.post("/api/v1/publications", {"title": "t", "body": "b", "audience": "town",
                                                "published_by": "x"})
    assert missing.status_code == 400
    assert "audience_value" in missing.json()["error"]["fields"]


def test_webhooks_are_signed_and_a_failing_receiver_is_retried_then_marked_failed(
        api, receiver):
    failing = WebhookReceiver(status=503)
    try:
        good = created(api.post("/api/v1/webhooks", {
            "url": receiver.url, "event_types": ["einspection.enterprise.registered.v1"]}))
        bad = created(api.post("/api/v1/webhooks", {
            "url": failing.url, "event_types": ["einspection.enterprise.*.v1"]}))
        enterprise_id = register_enterprise(api)
        headers, body = wait_until(
            lambda: next((r for r in receiver.received
                          if json.loads(r[1])["subject"] == enterprise_id), None),
            message="the webhook POST")
        assert headers[channels.SIGNATURE_HEADER] == channels.signature(good["secret"], body)
        assert headers["Content-Type"].startswith("application/cloudevents+json")
        assert json.loads(body)["data"]["enterprise_id"] == enterprise_id

        def given_up():
            items = created(api.get("/api/v1/webhooks/%s/deliveries" % bad["subscription_id"],
                                    params={"status": "failed"}), 200)["items"]
            return items or None
        [failed] = wait_until(given_up, message="the failing receiver to be given up")
        assert failed["attempts"] == 3 and failed["last_error"].endswith("HTTP 503")
        assert len(failing.received) == 3

        cancelled = created(api.session.delete(
            api.base_url + "/api/v1/webhooks/" + bad["subscription_id"], timeout=30), 200)
        assert cancelled["cancelled_at"]
        unknown = api.post("/api/v1/webhooks", {"url": receiver.url,
                                                "event_types": ["einspection.nothing.#"]})
        assert unknown.status_code == 400 and "event_types" in unknown.json()["error"]["fields"]
    finally:
        failing.close()


def test_one_notice_and_one_email_per_cause_when_the_event_repeats_or_notify_dies_mid_send(
        api, platform, smtp_sink):
    enterprise_id = register_enterprise(api)
    address = unique("once") + "@example.com"
    settings(api, "enterprise:" + enterprise_id, "zh", [address])
    tap = EventTap(platform.amqp_uri, platform.exchange, "einspection.grade.assigned.v1")
    smtp_sink.control("hold", True)          # the SMTP server keeps notify waiting at DATA
    try:
        notice = grade_notice(api, enterprise_id)
        [grade_event] = tap.wait_for(lambda e: e["subject"] == enterprise_id)
        wait_until(lambda: smtp_sink.holding(), message="notify to be sending")
        platform.stop_service("notify-0", sig=signal.SIGKILL)
        smtp_sink.control("refuse", True)    # the cut-off send was never accepted
        smtp_sink.control("hold", False)
        wait_until(lambda: not smtp_sink.holding(), message="the server to let go")
        smtp_sink.control("refuse", False)
        # the same GradeAssigned, delivered twice more while notify is down
        for _ in range(2):
            publish_raw(platform.amqp_uri, platform.exchange,
                        "einspection.grade.assigned.v1", grade_event.body)
        platform.start_service("notify")
        [delivery] = delivered(api, notice["notice_id"])["deliveries"]
    finally:
        smtp_sink.control("hold", False)
        smtp_sink.control("refuse", False)
        tap.close()
        if "notify-0" not in platform.processes:
            platform.start_service("notify")
        platform.wait_healthy()
    assert delivery["status"] == "delivered"
    assert len(inbox(api, "enterprise:" + enterprise_id)) == 1
    assert len(smtp_sink.messages(to=address)) == 1


def events_about(receiver, enterprise_id):
    return [json.loads(body) for _, body in receiver.received
            if json.loads(body)["subject"] in (enterprise_id, "universal")]


def settled(api, subscription_id):
    """Nothing pending for the subscription (as its owner, `api`, sees it)."""
    return not created(api.get("/api/v1/webhooks/%s/deliveries" % subscription_id,
                               params={"status": "pending"}), 200)["items"]


def test_an_integrators_webhooks_carry_only_what_it_may_read_over_the_api(api, receiver):
    authority_receiver = WebhookReceiver()
    try:
        grid = unique("Zhongguan")
        enterprise_id = register_enterprise(api, grid=grid)
        integrator = account(api, "integrator", grants=[enterprise_id])
        kinds = ["einspection.notice.issued.v1", "einspection.publication.published.v1",
                 "einspection.hazard.reported.v1"]
        mine = created(integrator.post("/api/v1/webhooks", {"url": receiver.url,
                                                            "event_types": kinds}))
        created(api.post("/api/v1/webhooks", {"url": authority_receiver.url,
                                              "event_types": kinds}))
        created(api.post("/api/v1/hazards", factories.hazard(
            enterprise_id, level="major", description="gas cylinders unchained")))
        publication = wait_until(lambda: api.post("/api/v1/publications", {
            "title": "Gas safety", "body": "Chain every cylinder.", "audience": "grid",
            "audience_value": grid, "published_by": "Deqing ESB"}).json().get("publication_id"),
            message="the enterprise to be known to notify")

        def seen(events):
            """(the notices' recipients, the event types) among `events`."""
            return ({e["data"]["recipient"] for e in events
                     if e["type"] == "einspection.notice.issued.v1"},
                    {e["type"] for e in events})

        def covers(receiver_, recipients, types):
            got_recipients, got_types = seen(events_about(receiver_, enterprise_id))
            return got_recipients >= recipients and got_types >= types
        # the authority gets all of it: its own and the grid's notices, the publication
        wait_until(lambda: covers(authority_receiver, {"grid:" + grid, "authority",
                                                       "enterprise:" + enterprise_id},
                                  set(kinds)), message="the authority's deliveries")
        # the integrator what it may read: the hazard and the enterprise's own notices
        wait_until(lambda: settled(integrator, mine["subscription_id"]) and covers(
            receiver, {"enterprise:" + enterprise_id}, {kinds[0], kinds[2]}),
            message="the integrator's deliveries")
        assert seen(events_about(receiver, enterprise_id)) == (
            {"enterprise:" + enterprise_id}, {kinds[0], kinds[2]})
        assert publication in {e["data"].get("publication_id") for e in
                               events_about(authority_receiver, enterprise_id)}
        for _, body in receiver.received:                 # nothing of other enterprises
            assert json.loads(body)["subject"] == enterprise_id
    finally:
        authority_receiver.close()


def test_disabling_an_account_suspends_its_webhooks(api, receiver):
    control = WebhookReceiver()
    try:
        integrator = account(api, "integrator", grants=["*"])
        kind = ["einspection.enterprise.registered.v1"]
        mine = created(integrator.post("/api/v1/webhooks", {"url": receiver.url,
                                                            "event_types": kind}))
        created(api.post("/api/v1/webhooks", {"url": control.url, "event_types": kind}))
        first = register_enterprise(api)
        wait_until(lambda: events_about(receiver, first), message="a delivery while active")

        account_id = created(integrator.get("/api/v1/auth/me"), 200)["account_id"]
        created(api.post("/api/v1/accounts/%s/disable" % account_id,
                         {"reason": "the integration contract ended"}), 200)
        path = "/api/v1/webhooks/" + mine["subscription_id"]
        view = wait_until(lambda: (lambda v: v if v["status"] == "suspended" else None)(
            created(api.get(path), 200)), message="the subscription to be suspended")
        assert view["suspended_at"] and view["cancelled_at"] is None

        second = register_enterprise(api)
        wait_until(lambda: events_about(control, second), message="the control's delivery")
        assert not events_about(receiver, second)
        assert created(api.get(path), 200)["deliveries"] == {
            "pending": 0, "delivered": 1, "failed": 0}
    finally:
        control.close()


def test_a_webhook_gets_the_type_it_subscribed_to_which_no_handler_takes_and_nothing_else(
        api, platform, receiver):
    """Notify's queue is bound to its handlers' types and the active patterns
    (services/notify/bindings.py): a subscription's pattern is bound before
    it is answered, so what happens after is delivered."""
    registered = "einspection.position.registered.v1"       # no handler of notify's takes it
    created(api.post("/api/v1/webhooks", {"url": receiver.url, "event_types": [registered]}))
    queue = platform.queue_prefix + ".notify"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_bindings", "-p", platform.amqp_uri.rsplit("/", 1)[1],
         "source_name", "destination_name", "routing_key"], check=True, capture_output=True,
        text=True, timeout=60).stdout
    keys = {fields[2] for fields in (line.split("\t") for line in listed.splitlines())
            if len(fields) == 3 and fields[:2] == [platform.exchange, queue]}
    assert registered in keys and "einspection.#" not in keys
    assert "einspection.hazard.verified.v1" not in keys     # no handler, no subscription

    enterprise_id = register_enterprise(api)
    position_id = position(api, enterprise_id)["id"]
    [delivered] = wait_until(lambda: events_about(receiver, enterprise_id),
                             message="the PositionRegistered webhook")
    assert delivered["type"] == registered and delivered["data"]["position_id"] == position_id
    # the enterprise's registration, which notify handles, went to no one here
    assert [json.loads(body)["type"] for _, body in receiver.received] == [registered]
