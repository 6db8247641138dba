"""Inspection schedules through the gateway on the real processes, both
backends: who may schedule (400s naming the field, another tenant's thing a
404), the rounds due today (also in "my work", by person and by role), a
round done by a self-inspection in its window, the rounds whose window
ended without one recorded missed exactly once although two processes check
at once, a notice to the enterprise for each, the score's self-inspection
indicator reading done vs due, and read models that replay to the same rows.

The missed check looks at the clock: the test runs the checklist service's
own check at a later instant from two processes of its own at once (beside
the service's timer, which runs at the real time); the outbox relay
publishes what it records, as it would the service's."""
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from einspection import eventstore
from einspection.contract import isoformat, utcnow
from einspection.days import deployment_zone, local_day, start_of
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.checklist import projections, schedules
from services.checklist.service import ChecklistService

from tools import launch

from .fixtures import account, created, position, site
from .support import wait_until
from .test_end_to_end import register

ZONE = deployment_zone()


def daily(checklist_id, position_id, **who):
    return dict({"checklist_id": checklist_id, "position_id": position_id,
                 "frequency": "daily", "starts_on": local_day(utcnow(), ZONE).isoformat()},
                **who)


def rounds(api, **params):
    return created(api.get("/api/v1/rounds", params=params), 200)["items"]


def checklist_store(platform):
    engine = make_engine(platform.database_urls["checklist"])
    return StoreHandle(engine, None), engine


# the checklist service's check, as a process of its own would run it
CHECK_IN_ANOTHER_PROCESS = """
import json, sys
from datetime import datetime
from einspection.days import deployment_zone
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.checklist import projections, schedules
from services.checklist.service import ChecklistService
engine = make_engine(sys.argv[1])
print(json.dumps(schedules.mark_missed(
    StoreHandle(engine, None), datetime.fromisoformat(sys.argv[2]), deployment_zone(),
    ChecklistService._record, projections.inspections)))
"""


def check_rounds(store, now):
    return schedules.mark_missed(store, now, ZONE, ChecklistService._record,
                                 projections.inspections)


def self_inspection(api, enterprise_id, rounds_due):
    """The enterprise's score once its self-inspection indicator counts `rounds_due`
    rounds (scoring projects them a moment later), and that indicator."""
    def found():
        response = api.get("/api/v1/enterprises/%s/score" % enterprise_id)
        if response.status_code != 200:
            return None
        [shown] = [i for i in response.json()["indicators"] if i["key"] == "self_inspection"]
        return response.json() if shown["detail"].get("rounds_due") == rounds_due else None
    score = wait_until(found, timeout=30, message="%d rounds in the score" % rounds_due)
    return score, {i["key"]: i for i in score["indicators"]}["self_inspection"]


def test_refusals_name_the_field_and_another_tenants_schedule_is_missing(api):
    enterprise_id = register(api)
    other_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    outsider = account(api, "enterprise_manager", enterprise_id=other_id)
    place = site(api, enterprise_id)
    body = daily(place.version["checklist_id"], place.position_id, assignee=staff.username)

    def refused(response, field):
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["fields"], response.text
    path = "/api/v1/enterprises/%s/schedules" % enterprise_id
    refused(manager.post(path, dict(body, frequency="hourly")), "frequency")
    refused(manager.post(path, dict(body, frequency="weekly")), "weekdays")
    refused(manager.post(path, dict(body, frequency="shift")), "shifts")
    refused(manager.post(path, dict(body, frequency="shift", shifts=[
        {"name": "早班", "start": "8:00", "end": "16:00"}])), "shifts")
    refused(manager.post(path, dict(body, starts_on="2020-01-01")), "starts_on")
    refused(manager.post(path, dict(body, assignee="nobody.here")), "assignee")
    refused(manager.post(path, dict(body, assignee_role="enterprise_staff")), "assignee")
    refused(manager.post(path, dict(body, position_id=site(api, other_id).position_id)),
            "position_id")
    assert staff.post(path, body).status_code == 403
    assert outsider.post(path, body).status_code == 404
    made = created(manager.post(path, body))
    assert made["assignee"] == staff.username and made["scheduled_by"] == manager.username
    assert outsider.get(path).status_code == 404
    gone = outsider.post("/api/v1/schedules/%s/end" % made["id"], {"reason": "x"})
    assert gone.status_code == 404, gone.text
    assert outsider.get("/api/v1/rounds", params={"enterprise_id": enterprise_id}
                        ).status_code == 400
    assert rounds(outsider) == []
    assert [s["id"] for s in created(staff.get(path), 200)["items"]] == [made["id"]]
    ended = created(manager.post("/api/v1/schedules/%s/end" % made["id"], {}), 200)   # today
    assert ended["ends_on"] == local_day(utcnow(), ZONE).isoformat()
    assert rounds(manager, enterprise_id=enterprise_id) == []


def test_due_done_missed_once_notice_score_and_replay(api, platform):
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    checklist_id = place.version["checklist_id"]
    store_room = position(api, enterprise_id, name="Store room", checklist_ids=[checklist_id])
    path = "/api/v1/enterprises/%s/schedules" % enterprise_id
    by_person = created(manager.post(path, daily(checklist_id, place.position_id,
                                                 assignee=staff.username)))
    by_role = created(manager.post(path, daily(checklist_id, store_room["id"],
                                               assignee_role="enterprise_staff")))
    today = local_day(utcnow(), ZONE)

    due = rounds(manager, enterprise_id=enterprise_id, status="due")
    assert sorted((r["schedule_id"], r["round"]) for r in due) == sorted(
        [(by_person["id"], today.isoformat()), (by_role["id"], today.isoformat())])
    assert due[0]["window_start"] == isoformat(start_of(today, ZONE))
    work = created(staff.get("/api/v1/me/work"), 200)
    assert {r["schedule_id"] for r in work["rounds_due_today"]} == {by_person["id"],
                                                                    by_role["id"]}
    assert created(manager.get("/api/v1/me/work"), 200)["rounds_due_today"] == []
    assert created(api.get("/api/v1/rounds", params={"enterprise_id": enterprise_id}), 200)[
        "time_zone"] == ZONE.key

    inspected = created(staff.post("/api/v1/inspections", place.inspection(
        inspector=staff.username)))
    [done] = rounds(manager, enterprise_id=enterprise_id, status="done")
    assert (done["schedule_id"], done["inspection_id"]) == (by_person["id"], inspected["id"])
    assert [r["schedule_id"] for r in created(staff.get("/api/v1/me/work"), 200)[
        "rounds_due_today"]] == [by_role["id"]]

    score, shown = self_inspection(api, enterprise_id, 1)
    assert score["rule_version"] == "2026.4" and "2026.4" in shown["i18n"]["zh"]["why"]
    assert (shown["detail"]["rounds_done"], shown["points"]) == (1, "2.00")

    # two days on: today's round of the store room and tomorrow's of both are missed, once
    later = start_of(today + timedelta(days=2), ZONE) + timedelta(minutes=1)
    checks = [subprocess.Popen([sys.executable, "-c", CHECK_IN_ANOTHER_PROCESS,
                                platform.database_urls["checklist"], later.isoformat()],
                               cwd=launch.ROOT, stdout=subprocess.PIPE, text=True)
              for _ in range(2)]
    recorded = [json.loads(each.communicate(timeout=120)[0]) for each in checks]
    assert all(each.returncode == 0 for each in checks)
    # each schedule's ended rounds decided by one of the two, the other skipping it (the
    # session's platform holds other tests' schedules too, which the sweep decides as well)
    mine = {by_person["id"], by_role["id"]}
    assert sorted(each for each in sum(recorded, []) if each in mine) == sorted(mine)
    store, engine = checklist_store(platform)
    try:
        assert not mine & set(check_rounds(store, later))
        with store.connect() as conn:
            streams = {s["id"]: [(e.name, e.data["round"]) for e in eventstore.load_stream(
                conn, schedules.stream_id(s["id"]))[1:]] for s in (by_person, by_role)}
    finally:
        engine.dispose()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert Counter(streams[by_person["id"]]) == Counter(
        [("InspectionRoundDone", today.isoformat()), ("InspectionMissed", tomorrow)])
    assert Counter(streams[by_role["id"]]) == Counter(
        [("InspectionMissed", today.isoformat()), ("InspectionMissed", tomorrow)])
    missed = rounds(manager, enterprise_id=enterprise_id, status="missed",
                    **{"from": today.isoformat(), "to": tomorrow})
    assert sorted((r["schedule_id"], r["round"]) for r in missed) == sorted(
        [(by_person["id"], tomorrow), (by_role["id"], today.isoformat()),
         (by_role["id"], tomorrow)])

    # the read models replay to the same rows
    engine = make_engine(platform.database_urls["checklist"])
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            snapshots = [select(schedules.schedules).order_by(schedules.schedules.c.schedule_id),
                         select(schedules.schedule_rounds).order_by(
                             schedules.schedule_rounds.c.schedule_id,
                             schedules.schedule_rounds.c.round)]
            before = [[tuple(row) for row in conn.execute(s).all()] for s in snapshots]
            projections.rebuild(conn)
            after = [[tuple(row) for row in conn.execute(s).all()] for s in snapshots]
            transaction.rollback()
    finally:
        engine.dispose()
    assert after == before
    assert len([r for r in before[1] if r[0] in (by_person["id"], by_role["id"])]) == 4

    # the score reads done vs due: one round done of four
    score, shown = self_inspection(api, enterprise_id, 4)
    assert shown["detail"] == {"measured_by": "rounds", "rounds_due": 4, "rounds_done": 1,
                               "rounds_missed": 3}
    assert (shown["value"], shown["points"]) == ("0.2500", "0.50")

    # the enterprise is told of each missed round, once
    def told():
        found = [n for n in created(manager.get("/api/v1/notices", params={
            "recipient": "enterprise:" + enterprise_id, "size": 200}), 200)["items"]
            if n["kind"] == "round_missed"]
        return found if len(found) == 3 else None
    notices = wait_until(told, timeout=30, message="three missed-round notices")
    assert all(n["title"].endswith("的计划检查未完成") for n in notices)
    assert {n["title"] for n in notices} == {"%s漏检：%s的计划检查未完成" % (
        created(api.get("/api/v1/enterprises/" + enterprise_id), 200)["name"], day)
        for day in (today.isoformat(), tomorrow)}
    time.sleep(1)
    assert told() is not None
