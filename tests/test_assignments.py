"""Hazards assigned to a person, through the gateway on the real processes and
both backends: who may assign to whom (refusals name the field, another
tenant's account reads like a missing one), reassignment, the assignee's
notices in its own inbox and by e-mail, the reminders and the escalation
recorded once each however many processes run the check, "my work", and a
ledger that replays to the same rows.

The reminder and escalation checks look at the clock: the test runs the
hazard service's own check at a later instant in two processes of their own
at once (as two replicas' timers would), then again from this process; the
outbox relay publishes what they record, as it would the service's."""
import json
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from sqlalchemy import select

from einspection import eventstore
from einspection.days import deployment_zone, local_day, start_of
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.hazard import commands, ledger, names
from tools import launch

from . import factories
from .fixtures import account, created
from .support import wait_until
from .test_end_to_end import register, tap  # noqa: F401  (tap is a fixture)
from .test_hazards import rectification

ZONE = deployment_zone()
DAYS = (3, 1, 0)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


def assign(api, hazard_id, assignee, **extra):
    return api.post("/api/v1/hazards/%s/assignment" % hazard_id, dict(extra, assignee=assignee))


def hazards(api, **params):
    return created(api.get("/api/v1/hazards", params=dict(params, size=200)), 200)["items"]


def inbox(api, recipient):
    return created(api.get("/api/v1/notices", params={"recipient": recipient, "size": 200}),
                   200)["items"]


def notices_of(api, recipient, kind, hazard_id):
    return [n for n in inbox(api, recipient) if n["kind"] == kind and hazard_id in n["body"]]


def work(api):
    return created(api.get("/api/v1/me/work"), 200)


def ids(work_list):
    return sorted(h["id"] for h in work_list["items"])


def account_id(api):
    return created(api.get("/api/v1/auth/me"), 200)["account_id"]


def hazard_store(platform):
    engine = make_engine(platform.database_urls["hazard"])
    return StoreHandle(engine, None), engine


# the hazard service's reminder or escalation check, as a process of its own runs it
CHECK_IN_ANOTHER_PROCESS = """
import json, sys
from datetime import datetime
from einspection.days import deployment_zone
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.hazard import commands
store = StoreHandle(make_engine(sys.argv[1]), None)
now, zone, days = datetime.fromisoformat(sys.argv[3]), deployment_zone(), json.loads(sys.argv[4])
if sys.argv[2] == "remind":
    print(json.dumps(commands.remind_assignees(store, now, days, zone)))
else:
    print(json.dumps(commands.escalate_overdue(store, now, days, zone)))
"""


def checked_at_once(platform, check, now, days, processes=2):
    """The hazards `check` ("remind" with reminder `days`, or "escalate" after
    `days`) recorded something for, as of `now`, run by `processes` processes
    at once; each id once per process that recorded it."""
    running = [subprocess.Popen([sys.executable, "-c", CHECK_IN_ANOTHER_PROCESS,
                                 platform.database_urls["hazard"], check, now.isoformat(),
                                 json.dumps(days)],
                                cwd=launch.ROOT, stdout=subprocess.PIPE, text=True)
               for _ in range(processes)]
    recorded = [json.loads(each.communicate(timeout=120)[0]) for each in running]
    assert all(each.returncode == 0 for each in running)
    return sum(recorded, [])


def test_the_manager_assigns_and_reassigns_and_refusals_name_the_field(api, tap):  # noqa: F811
    grid = unique("Wukang")
    enterprise_id = register(api, grid=grid)
    other_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    colleague = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    gone = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    outsider = account(api, "enterprise_staff", enterprise_id=other_id)
    stranger = account(api, "enterprise_manager", enterprise_id=other_id)
    officer = account(api, "grid_officer", grid=grid)
    other_officer = account(api, "grid_officer", grid=unique("Qianyuan"))
    created(manager.post("/api/v1/accounts/%s/disable" % account_id(gone), {"reason": "left"}),
            200)
    hazard = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    path = "/api/v1/hazards/%s/assignment" % hazard["id"]

    # who may assign: not staff, not an integrator; another tenant's hazard is a missing one
    refused = assign(staff, hazard["id"], staff.username)
    assert refused.status_code == 403, refused.text
    for outside in (stranger, other_officer):
        assert assign(outside, hazard["id"], staff.username).status_code == 404
    assert assign(manager, "no-such-hazard", staff.username).status_code == 404
    # to whom: an enabled account of the hazard's enterprise, else 400 naming `assignee`
    for who, reason in ((outsider.username, "no such account"),
                        ("nobody." + uuid.uuid4().hex[:6], "no such account"),
                        (gone.username, "disabled")):
        answer = assign(manager, hazard["id"], who)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["error"]["fields"]["assignee"][0]
    missing = manager.post(path, {})
    assert missing.status_code == 400 and "assignee" in missing.json()["error"]["fields"]
    past = assign(manager, hazard["id"], staff.username,
                  due=factories.iso(factories.ago(hours=1)))
    assert past.status_code == 400 and "due" in past.json()["error"]["fields"]
    assert hazards(api, enterprise_id=enterprise_id, assignee=staff.username) == []

    # usernames ignore case: the register's spelling is recorded
    given = created(assign(manager, hazard["id"], staff.username.upper(), note="先断电再整改"))
    assert given["assignment"]["assignee"] == {"account_id": account_id(staff),
                                               "username": staff.username}
    assert (given["assignment"]["assigned_by"], given["assignment"]["note"]) == (
        manager.username, "先断电再整改")
    assert given["assignment"]["due"] == hazard["rectification_deadline"]
    [row] = hazards(staff, assignee="me")
    assert (row["id"], row["assignee"]) == (hazard["id"], staff.username)
    assert [h["id"] for h in hazards(api, assignee=staff.username)] == [hazard["id"]]
    assert hazards(colleague, assignee="me") == []

    due = factories.iso(factories.ago(days=-2))
    again = created(assign(officer, hazard["id"], colleague.username, due=due))
    assert again["assignment"]["assignee"]["username"] == colleague.username
    assert again["assignment"]["assigned_by"] == officer.username
    assert hazards(staff, assignee="me") == []
    history = created(api.get("/api/v1/hazards/%s/history" % hazard["id"]), 200)["items"]
    assigned = [e for e in history if e["type"] == "einspection.hazard.assigned.v1"]
    assert [e["actor"] for e in assigned] == [manager.username, officer.username]
    assert assigned[1]["data"]["previous_assignee"]["username"] == staff.username
    tap.wait_for(lambda e: e["type"] == "einspection.hazard.assigned.v1"
                 and e["data"]["hazard_id"] == hazard["id"])
    assert {e["subject"] for e in tap.bodies() if e["type"] == "einspection.hazard.assigned.v1"
            and e["data"]["hazard_id"] == hazard["id"]} == {enterprise_id}

    # a closed hazard is nobody's to rectify any more
    closed = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    created(staff.post("/api/v1/hazards/%s/rectification" % closed["id"], rectification()))
    created(officer.post("/api/v1/hazards/%s/verification" % closed["id"],
                         {"outcome": "verified"}))
    late = assign(manager, closed["id"], staff.username)
    assert late.status_code == 409 and "closed" in late.json()["error"]["message"]


def test_the_assignee_is_told_in_its_own_inbox_and_by_email(api, smtp_sink):
    enterprise_id = register(api, name="德清百德织造")
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    colleague = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    own = "account:" + staff.username
    address = unique("li") + "@baide.example"
    created(staff.session.put(staff.base_url + "/api/v1/recipients/%s/settings" % own,
                              json={"language": "zh", "emails": [address]}, timeout=30), 200)
    # only the account (and the authority's admin) manages its own inbox's settings
    assert colleague.session.put(colleague.base_url + "/api/v1/recipients/%s/settings" % own,
                                 json={"language": "en"}, timeout=30).status_code == 404
    hazard = created(manager.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    created(assign(manager, hazard["id"], staff.username, note="今天下班前完成"))

    [notice] = wait_until(lambda: notices_of(staff, own, "assigned", hazard["id"]),
                          message="the assignee's notice")
    assert notice["language"] == "zh" and "交由您整改" in notice["title"]
    assert manager.username in notice["body"] and "今天下班前完成" in notice["body"]
    # another account's inbox is a missing one
    assert colleague.get("/api/v1/notices", params={"recipient": own}).status_code == 404
    assert colleague.get("/api/v1/notices/" + notice["notice_id"]).status_code == 404
    [mail] = wait_until(lambda: smtp_sink.messages(to=address), timeout=30,
                        message="the assignee's e-mail")
    assert mail["Subject"] == notice["title"]

    mine = work(staff)
    assert ids(mine["assigned"]) == [hazard["id"]]
    [own_inbox] = [i for i in mine["unread_notices"]["inboxes"] if i["recipient"] == own]
    assert own_inbox["unread"] == 1 and own_inbox["items"][0]["notice_id"] == notice["notice_id"]
    assert colleague.post("/api/v1/notices/%s/read" % notice["notice_id"], {}).status_code == 404
    created(staff.post("/api/v1/notices/%s/read" % notice["notice_id"], {}), 200)
    [own_inbox] = [i for i in work(staff)["unread_notices"]["inboxes"] if i["recipient"] == own]
    assert own_inbox["unread"] == 0
    assert ids(work(colleague)["assigned"]) == []


def test_reminders_and_the_escalation_go_out_once_each_to_the_right_inboxes(
        api, platform, tap):  # noqa: F811
    grid = unique("Xinshi")
    enterprise_id = register(api, grid=grid)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    own = "account:" + staff.username
    deadline = factories.ago(days=-10)
    due = factories.ago(days=-6)
    reminded = created(manager.post("/api/v1/hazards", factories.hazard(
        enterprise_id, rectification_deadline=factories.iso(deadline))))
    created(assign(manager, reminded["id"], staff.username, due=factories.iso(due)))
    soon = created(manager.post("/api/v1/hazards", factories.hazard(
        enterprise_id, rectification_deadline=factories.iso(factories.ago(hours=-2)))))
    created(assign(manager, soon["id"], staff.username))

    store, engine = hazard_store(platform)
    try:
        # three days before the due's day, then the day itself: each once, however many
        # processes check (two at once, then this one)
        three_before = start_of(local_day(due, ZONE) - timedelta(days=3), ZONE) + timedelta(
            hours=9)
        assert [h for h in checked_at_once(platform, "remind", three_before, DAYS)
                if h == reminded["id"]] == [reminded["id"]]
        assert reminded["id"] not in commands.remind_assignees(
            store, three_before + timedelta(hours=1), DAYS, ZONE)
        on_the_day = start_of(local_day(due, ZONE), ZONE) + timedelta(minutes=30)
        for now in (on_the_day, on_the_day):
            commands.remind_assignees(store, now, DAYS, ZONE)
        # overdue (this hazard alone: the session's others keep their own clock), and
        # three days after the deadline's day still open: escalated once
        overdue_at = factories.ago(hours=-3)
        with store.begin() as conn:
            assert commands.check_overdue(conn, soon["id"], overdue_at)["marked"]
        escalation_at = start_of(local_day(overdue_at, ZONE) + timedelta(days=3), ZONE)
        assert [h for h in checked_at_once(platform, "escalate", escalation_at, 3)
                if h == soon["id"]] == [soon["id"]]
        assert soon["id"] not in commands.escalate_overdue(
            store, escalation_at + timedelta(days=1), 3, ZONE)
        with store.connect() as conn:
            stream = [e.name for e in eventstore.load_stream(conn, "hazard-" + reminded["id"])]
    finally:
        engine.dispose()
    assert stream == ["HazardReported", "HazardAssigned", "HazardRectificationDue",
                      "HazardRectificationDue"]

    tap.wait_for(lambda e: e["type"] == "einspection.hazard.escalated.v1"
                 and e["data"]["hazard_id"] == soon["id"])
    time.sleep(3)                                      # the service's own timer runs too
    tap.drain(1.0)

    def published(event_type, hazard_id):
        return [e for e in tap.bodies() if e["type"] == event_type
                and e["data"]["hazard_id"] == hazard_id]
    due_events = published("einspection.hazard.rectification-due.v1", reminded["id"])
    assert [e["data"]["days_before"] for e in due_events] == [3, 0]
    assert [e["data"]["days_left"] for e in due_events] == [3, 0]
    assert {e["actor"] for e in due_events} == {"hazard-service"}
    [escalated] = published("einspection.hazard.escalated.v1", soon["id"])
    assert escalated["data"]["assignee"]["username"] == staff.username
    assert escalated["data"]["days_overdue"] >= 3
    [overdue] = published("einspection.hazard.overdue.v1", soon["id"])
    assert overdue["data"]["assignee"]["username"] == staff.username
    assert published("einspection.hazard.escalated.v1", reminded["id"]) == []

    reminders = wait_until(lambda: len(notices_of(staff, own, "rectification_due",
                                                  reminded["id"])) == 2
                           and notices_of(staff, own, "rectification_due", reminded["id"]),
                           message="the assignee's two reminders")
    assert sorted(n["cause_event_id"] for n in reminders) == sorted(e["id"] for e in due_events)
    assert {"您负责的隐患距整改期限还有3天", "您负责的隐患今日到期"} == {n["title"] for n in reminders}
    for reader, recipient in ((staff, own), (manager, "enterprise:" + enterprise_id)):
        [told] = wait_until(lambda: notices_of(reader, recipient, "assignment_overdue",
                                               soon["id"]),
                            message="the overdue notice to " + recipient)
        assert staff.username in told["title"]
    [up] = wait_until(lambda: notices_of(api, "grid:" + grid, "escalated", soon["id"]),
                      message="the escalation to the grid")
    assert up["cause_event_id"] == escalated["id"] and "已上报" in up["title"]
    assert notices_of(api, "grid:" + grid, "overdue", soon["id"])
    # nothing for the enterprise or the assignee about the escalation, nothing twice
    assert notices_of(manager, "enterprise:" + enterprise_id, "escalated", soon["id"]) == []
    time.sleep(1)
    assert len(notices_of(api, "grid:" + grid, "escalated", soon["id"])) == 1
    assert len(notices_of(staff, own, "rectification_due", reminded["id"])) == 2
    view = created(api.get("/api/v1/hazards/" + soon["id"]), 200)
    assert view["escalated_at"] and view["overdue"]
    assert created(api.get("/api/v1/hazards/" + reminded["id"]), 200)["assignment"][
        "reminded_days_before"] == 0


def test_my_work_lists_what_waits_for_each_account_within_its_scope(api):
    grid = unique("Leidian")
    enterprise_id = register(api, grid=grid)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    deputy = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    officer = account(api, "grid_officer", grid=grid)
    other_officer = account(api, "grid_officer", grid=unique("Moganshan"))
    general = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    major = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id,
                                                                   level="major")))
    by_manager = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    todo = created(staff.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    created(assign(manager, todo["id"], staff.username))
    created(assign(manager, general["id"], staff.username))
    created(staff.post("/api/v1/hazards/%s/rectification" % general["id"], rectification()))
    created(staff.post("/api/v1/hazards/%s/plan" % major["id"], {
        "goal": "g", "measures": "m", "funds": "100.00", "responsible_person": "zhang",
        "deadline": factories.iso(factories.ago(days=-5)), "interim_measures": "fence"}))
    created(staff.post("/api/v1/hazards/%s/rectification" % major["id"], rectification()))
    created(manager.post("/api/v1/hazards/%s/rectification" % by_manager["id"],
                         rectification()))

    mine = work(staff)
    assert mine["account"] == {"username": staff.username, "role": "enterprise_staff"}
    # submitted but not verified: still the assignee's, soonest due first
    assert ids(mine["assigned"]) == sorted([todo["id"], general["id"]])
    assert mine["awaiting_verification"] == {"total": 0, "items": []}
    # a manager verifies general hazards, never one it rectified itself
    assert ids(work(manager)["awaiting_verification"]) == [general["id"]]
    assert ids(work(deputy)["awaiting_verification"]) == sorted([general["id"],
                                                                  by_manager["id"]])
    officer_work = work(officer)
    assert ids(officer_work["awaiting_verification"]) == sorted([general["id"], major["id"],
                                                                 by_manager["id"]])
    assert [i["recipient"] for i in officer_work["unread_notices"]["inboxes"]] == [
        "account:" + officer.username, "grid:" + grid]
    assert enterprise_id not in {h["enterprise_id"] for h in
                                 work(other_officer)["awaiting_verification"]["items"]}
    created(officer.post("/api/v1/hazards/%s/verification" % general["id"],
                         {"outcome": "verified"}))
    assert ids(work(staff)["assigned"]) == [todo["id"]]
    assert general["id"] not in ids(work(deputy)["awaiting_verification"])


def test_the_standing_book_with_assignments_replays_to_the_same_rows(api, platform):
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    hazard = created(manager.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    created(assign(manager, hazard["id"], staff.username))
    created(manager.post("/api/v1/hazards/%s/rectification" % hazard["id"], rectification()))
    engine = make_engine(platform.database_urls["hazard"])

    def named():            # the register's name of the enterprise, received by the bus
        with engine.connect() as conn:
            return conn.execute(select(names.enterprise_names.c.name).where(
                names.enterprise_names.c.enterprise_id == enterprise_id)).scalar()
    try:
        assert wait_until(named)
        with engine.connect() as conn:
            transaction = conn.begin()
            snapshots = [select(ledger.hazards).order_by(ledger.hazards.c.hazard_id),
                         select(ledger.fixers).order_by(ledger.fixers.c.hazard_id,
                                                        ledger.fixers.c.account)]
            before = [[tuple(row) for row in conn.execute(s).all()] for s in snapshots]
            names_before = names.snapshot(conn)
            ledger.rebuild(conn)
            names.rebuild(conn)
            after = [[tuple(row) for row in conn.execute(s).all()] for s in snapshots]
            names_after = names.snapshot(conn)
            transaction.rollback()
    finally:
        engine.dispose()
    assert names_after == names_before and names_before["hazard_enterprise_names"]
    [row] = [r for r in before[0] if r[0] == hazard["id"]]
    assert dict(zip(ledger.hazards.c.keys(), row))["assignee"] == staff.username
    assert (hazard["id"], manager.username) in before[1]
    assert after == before
