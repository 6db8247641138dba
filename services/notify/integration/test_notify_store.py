"""Notify's decisions and deliveries on SQLite and PostgreSQL, with a real
SMTP server and a real HTTP receiver: one notice per cause and recipient,
grid notices that wait for their enterprise, publications with read
receipts, e-mail and signed webhooks with retries, and a rebuild that gives
the same read models."""
import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from einspection.contract import Event, new_event, utcnow
from einspection.db import reading
from services.notify import addresses, channels, dispatch, model, policy
from services.notify.channels import SmtpSettings
from tests.support import WebhookReceiver, wait_until

EMAIL_ON = policy.Settings(default_language="zh", email_enabled=True)
# the receivers listen on 127.0.0.1: the setting the project's tests turn on
LOOPBACK = addresses.Rule(allow_loopback=True)
ADMIN = {"username": "admin", "role": "authority_admin", "enterprise_id": None, "grid": None}
INDICATORS = [
    {"key": "timeliness", "title": "Timeliness of hazard reporting", "value": "0.5",
     "points": "1.00", "max_points": "2.00",
     "advice": "part of the hazard records are kept afterwards, please improve timeliness "
               "of hazard reporting",
     "i18n": {"zh": {"title": "隐患上报及时性", "advice": "部分隐患记录为事后补录，请提高隐患上报的及时性"}}},
    {"key": "safety_actions", "title": "Safety action recording", "value": "0.2",
     "points": "0.30", "max_points": "1.50", "advice": "increase safety action recording",
     "i18n": {"zh": {"title": "安全活动记录", "advice": "增加安全活动记录"}}},
    {"key": "self_inspection", "title": "Self-inspection regularity", "value": "1",
     "points": "2.00", "max_points": "2.00", "advice": "", "i18n": {}},
]


def registered(enterprise_id="e-1", grid="Wukang-1", town="Wukang", industry="textiles"):
    return new_event("EnterpriseRegistered", {
        "enterprise_id": enterprise_id, "credit_code": "91330521MA2B3C4D5E",
        "name": "Baide Fabrics " + enterprise_id, "industry": industry, "town": town,
        "grid": grid, "registered_at": utcnow()}, actor="test")


def grade(enterprise_id="e-1", grade_letter="C", points="7.86"):
    return new_event("GradeAssigned", {
        "enterprise_id": enterprise_id, "points": points, "grade": grade_letter,
        "previous_grade": "B", "rule_version": "2026.2", "as_of": date(2026, 11, 29),
        "window_start": date(2026, 8, 30), "window_end": date(2026, 11, 29),
        "indicators": INDICATORS}, actor="scoring")


def major_hazard(enterprise_id="e-1"):
    now = utcnow()
    return new_event("HazardReported", {
        "hazard_id": "h-1", "enterprise_id": enterprise_id, "level": "major",
        "category": "fire", "description": "sprinkler valve closed", "found_at": now,
        "reported_at": now, "rectification_deadline": now + timedelta(days=30),
        "reporter": "li"}, actor="li")


def handle(engine, event, settings=policy.Settings()):
    # as it arrives from the bus: through its wire form
    with engine.begin() as conn:
        return policy.handle(conn, Event.from_json(event.to_json()), settings)


def subscribe(conn, url, event_types, owner=ADMIN, scope=None, rule=LOOPBACK):
    command = policy.check_subscription({"url": url, "event_types": event_types,
                                         "description": ""}, rule)
    return policy.subscribe(conn, command, owner, scope)


def inbox(engine, recipient):
    with reading(engine) as conn:
        return policy.inbox(conn, recipient)["items"]


def test_a_grade_event_delivered_twice_gives_one_notice_in_the_recipients_language(engine):
    handle(engine, registered())
    event = grade()
    assert handle(engine, event) is True
    assert handle(engine, event) is False                 # redelivered: nothing more
    [notice] = inbox(engine, "enterprise:e-1")
    assert notice["language"] == "zh" and notice["kind"] == "grade"
    assert notice["title"] == "综合评定C级：近三个月绩效得分7.86分"
    # weakest first: safety actions got 20% of its points, timeliness 50%
    assert "安全生产管理提示：增加安全活动记录；部分隐患记录为事后补录" in notice["body"]

    with engine.begin() as conn:
        policy.change_recipient_settings(conn, "enterprise:e-1",
                                         {"language": "en", "emails": []}, "manager")
    handle(engine, grade(grade_letter="B", points="8.10"))
    english = inbox(engine, "enterprise:e-1")[0]
    assert english["title"] == "Grade B: 8.10 points in the last three months"
    assert ("OSH management notice: Increase safety action recording; part of the hazard "
            "records are kept afterwards") in english["body"]
    assert "self-inspection" not in english["body"].lower()   # full points: no advice


def test_a_major_hazard_waits_for_its_enterprise_then_reaches_grid_and_authority(engine):
    hazard = major_hazard("e-late")
    handle(engine, hazard)
    assert inbox(engine, "authority") == []
    handle(engine, registered("e-late", grid="Qianyuan-1"))
    [grid_notice] = inbox(engine, "grid:Qianyuan-1")
    [authority_notice] = inbox(engine, "authority")
    assert grid_notice["cause_event_id"] == authority_notice["cause_event_id"] == hazard.id
    assert grid_notice["title"] == "Baide Fabrics e-late上报重大隐患"
    assert "sprinkler valve closed" in grid_notice["body"]
    handle(engine, registered("e-late", grid="Qianyuan-1"))   # a re-registration: no repeat
    assert len(inbox(engine, "authority")) == 1


def test_a_publication_reaches_its_town_and_records_who_read_it(engine):
    for enterprise_id, town in (("e-1", "Wukang"), ("e-2", "Wukang"), ("e-3", "Xinshi")):
        handle(engine, registered(enterprise_id, town=town))
    with engine.begin() as conn:
        publication = policy.publish(conn, {
            "title": "Enforcement inspection of Wukang", "body": "Inspectors visit in May.",
            "audience": "town", "audience_value": "Wukang", "published_by": "Deqing ESB"},
            policy.Settings(), "inspector")
    assert [r["enterprise_id"] for r in publication["recipients"]] == ["e-1", "e-2"]
    assert publication["not_read"] == ["e-1", "e-2"]
    [notice] = inbox(engine, "enterprise:e-1")
    assert notice["kind"] == "publication" and "Inspectors visit in May." in notice["body"]
    assert inbox(engine, "enterprise:e-3") == []
    with engine.begin() as conn:
        first = policy.read_notice(conn, notice["notice_id"], "wang")
        again = policy.read_notice(conn, notice["notice_id"], "zhao")
        view = policy.publication_view(conn, publication["publication_id"])
    assert first["read_at"] == again["read_at"] and again["read_by"] == "wang"
    assert view["not_read"] == ["e-2"] and view["read_count"] == 1

    with engine.begin() as conn, pytest.raises(Exception) as refused:
        policy.publish(conn, {"title": "t", "body": "b", "audience": "industry",
                              "audience_value": "mining", "published_by": "x"},
                       policy.Settings(), "inspector")
    assert refused.value.errors == {"audience_value": [
        "no enterprise is registered in industry 'mining'"]}


def test_email_and_signed_webhooks_are_delivered_once_and_failures_retried_then_given_up(
        engine, smtp, receiver):
    failing = WebhookReceiver(status=500)
    try:
        handle(engine, registered())
        with engine.begin() as conn:
            policy.change_recipient_settings(conn, "enterprise:e-1", {
                "language": "en", "emails": ["safety@baide.example"]}, "manager")
            good = subscribe(conn, receiver.url, ["einspection.grade.#"])
            bad = subscribe(conn, failing.url, ["einspection.grade.assigned.v1"])
        event = grade()
        handle(engine, event, EMAIL_ON)
        handle(engine, event, EMAIL_ON)                    # a duplicate changes nothing
        settings = dispatch.DeliverySettings(
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.port), max_attempts=3,
            backoff_seconds=0.05, lease_seconds=30, webhook_addresses=LOOPBACK)

        def settled():
            dispatch.run_once(engine, settings)
            with reading(engine) as conn:
                statuses = [r.status for r in conn.execute(select(model.deliveries.c.status))]
            return len(statuses) == 3 and "pending" not in statuses
        wait_until(settled, timeout=20, message="every delivery to settle")

        [mail] = smtp.messages(to="safety@baide.example")
        assert mail["Subject"] == "Grade C: 7.86 points in the last three months"
        assert "graded C in overall performance" in mail.get_content()
        [(headers, body)] = receiver.received
        assert headers[channels.SIGNATURE_HEADER] == channels.signature(good["secret"], body)
        assert json.loads(body)["id"] == event.id
        assert json.loads(body)["type"] == "einspection.grade.assigned.v1"
        assert len(failing.received) == 3                  # tried three times, then given up
        with reading(engine) as conn:
            [failed] = policy.subscription_deliveries(conn, bad["subscription_id"])["items"]
            assert failed["status"] == "failed" and failed["attempts"] == 3
            assert failed["last_error"].endswith("HTTP 500")
            assert policy.subscription_view(conn, good["subscription_id"])["deliveries"] == {
                "pending": 0, "delivered": 1, "failed": 0}
            notice = policy.notice_view(conn, inbox(engine, "enterprise:e-1")[0]["notice_id"])
        assert [(d["channel"], d["status"]) for d in notice["deliveries"]] == [
            ("email", "delivered")]
    finally:
        failing.close()


def test_a_delivery_whose_lease_ran_out_behind_slow_sends_is_sent_by_the_taker_only(engine):
    # Process A claims four webhook deliveries and sends them one by one to a
    # receiver that takes a second each; the lease (1.5 s) runs out for the
    # last two before A reaches them. Process B takes those two over and sends
    # them; A, reaching them, finds its lease gone and leaves them: four
    # deliveries, four POSTs, each once.
    slow = WebhookReceiver(delay=1.0)
    try:
        handle(engine, registered())
        with engine.begin() as conn:
            subscribe(conn, slow.url, ["einspection.grade.#"])
        for letter in "ABCD":
            handle(engine, grade(grade_letter=letter))
        settings = dispatch.DeliverySettings(lease_seconds=1.5, webhook_timeout=1.4, parallel=1,
                                             webhook_addresses=LOOPBACK)
        first = {}
        process_a = threading.Thread(target=lambda: first.update(
            dispatch.run_once(engine, settings)))
        process_a.start()
        second = wait_until(lambda: dispatch.run_once(engine, settings), timeout=10,
                            interval=0.05, message="process B to take what A's lease left")
        process_a.join(timeout=30)
        assert second == {"delivered": 2}
        assert first == {"delivered": 2, "taken_over": 2}
        ids = [headers["webhook-id"] for headers, _ in slow.received]
        assert len(ids) == 4 and len(set(ids)) == 4, ids
        with reading(engine) as conn:
            assert sorted(r.status for r in conn.execute(select(model.deliveries.c.status))) \
                == ["delivered"] * 4
    finally:
        slow.close()


def test_a_send_cut_short_is_sent_again_after_its_lease_with_the_same_message_id(engine, smtp):
    handle(engine, registered())
    with engine.begin() as conn:
        policy.change_recipient_settings(conn, "enterprise:e-1", {
            "language": "en", "emails": ["safety@baide.example"]}, "manager")
    handle(engine, grade(), EMAIL_ON)
    settings = dispatch.DeliverySettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp.port),
                                         lease_seconds=1, webhook_timeout=0.5)
    now = utcnow()
    [claimed] = dispatch.claim_due(engine, settings, now)    # then the process "dies"
    assert dispatch.run_once(engine, settings, clock=lambda: now) == {}   # still leased
    later = now + timedelta(seconds=2)
    assert dispatch.run_once(engine, settings, clock=lambda: later) == {"delivered": 1}
    assert dispatch.run_once(engine, settings) == {}
    [mail] = smtp.messages()
    assert mail["Message-ID"] == channels.message_id(claimed.delivery_id)


def test_rebuild_gives_the_same_read_models(engine, smtp, receiver):
    handle(engine, major_hazard("e-2"))                     # waits: e-2 never registers
    handle(engine, registered())
    with engine.begin() as conn:
        policy.change_recipient_settings(conn, "enterprise:e-1", {
            "language": "en", "emails": ["a@baide.example"]}, "manager")
        subscribe(conn, receiver.url, ["#"])
        publication = policy.publish(conn, {"title": "t", "body": "b", "audience": "all",
                                            "published_by": "ESB"}, policy.Settings(), "x")
        policy.read_notice(conn, publication["recipients"][0]["notice_id"], "wang")
    handle(engine, grade(), EMAIL_ON)
    handle(engine, major_hazard("e-1"), EMAIL_ON)
    settings = dispatch.DeliverySettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp.port),
                                         webhook_addresses=LOOPBACK)
    wait_until(lambda: dispatch.run_once(engine, settings) == {} and smtp.messages(),
               message="the deliveries")
    with reading(engine) as conn:
        before = model.snapshot(conn)
    assert before["notify_waiting"] and before["deliveries"] and before["notices"]
    model.rebuild(engine)
    with reading(engine) as conn:
        assert model.snapshot(conn) == before
