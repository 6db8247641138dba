"""Scheduled rounds on screen, in headless Chromium against the running
processes: a staff member lands on My work and finds today's round there; a
self-inspection does it and the score's self-inspection indicator is full;
when the checklist service's check records the next day's round missed, My
work shows it as missed and the manager's dashboard shows the indicator's
points fall to the API's. Screenshots go to test-artifacts/screenshots/."""
import os
from datetime import timedelta

import pytest

from einspection.contract import utcnow
from einspection.days import local_day, start_of

from .fixtures import account, created, position, site
from .test_end_to_end import register
from .test_schedules import ZONE, check_rounds, checklist_store, daily, self_inspection
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_rounds.py")


def test_a_missed_round_shows_as_missed_on_my_work_and_moves_the_score(api, platform,
                                                                       screenshots):
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    checklist_id = place.version["checklist_id"]
    store_room = position(api, enterprise_id, name="库房", checklist_ids=[checklist_id])
    path = "/api/v1/enterprises/%s/schedules" % enterprise_id
    done_today = created(manager.post(path, daily(checklist_id, place.position_id,
                                                  assignee=staff.username)))
    due_today = created(manager.post(path, daily(checklist_id, store_room["id"],
                                                 assignee=staff.username)))
    created(staff.post("/api/v1/inspections", place.inspection(inspector=staff.username)))
    today = local_day(utcnow(), ZONE)

    def shots(name):
        return {key: os.path.join(screenshots, "%s-%s-%s.png" % (name, key, platform.backend))
                for key in ("work", "score")}

    spec = dict(base_url=platform.base_url, username=staff.username, password=staff.password)
    before = run_flow("work_rounds", script=FLOWS, screenshots=shots("rounds-before"), **spec)
    assert [(r["schedule"], r["status"]) for r in before["due"]] == [(due_today["id"], "due")]
    assert "库房" in before["due"][0]["cells"][0]
    assert before["due"][0]["cells"][1] == place.version["title"]        # names, not ids
    assert before["missed"] == [] and before["missed_count"] == "0"
    assert before["width_at_375"] <= 375
    # links a role cannot use are not shown: staff have no queue, no authority dashboard
    assert "/app/queue.html" not in before["links"]
    assert "/app/authority.html" not in before["links"]
    score, shown = self_inspection(api, enterprise_id, 1)
    assert shown["points"] == "2.00"
    manager_spec = dict(base_url=platform.base_url, username=manager.username,
                        password=manager.password)
    full = run_flow("score_indicator", script=FLOWS, screenshots=shots("rounds-full"),
                    **manager_spec)
    assert (full["points"], full["total"]) == ("2.00", score["points"])

    # the checklist service's check, two days on: the store room's round of today and
    # both rounds of tomorrow are missed, once each (the check decides every schedule
    # of the session: another test's check may have decided ours already)
    store, engine = checklist_store(platform)
    try:
        check_rounds(store, start_of(today + timedelta(days=2), ZONE) + timedelta(minutes=1))
    finally:
        engine.dispose()
    tomorrow = (today + timedelta(days=1)).isoformat()
    missed = created(manager.get("/api/v1/rounds", params={
        "enterprise_id": enterprise_id, "status": "missed", "from": today.isoformat(),
        "to": tomorrow}), 200)["items"]
    assert sorted((r["schedule_id"], r["round"]) for r in missed) == sorted([
        (due_today["id"], today.isoformat()), (due_today["id"], tomorrow),
        (done_today["id"], tomorrow)])
    score, shown = self_inspection(api, enterprise_id, 4)
    assert (shown["detail"]["rounds_done"], shown["detail"]["rounds_missed"]) == (1, 3)

    after = run_flow("work_rounds", script=FLOWS, screenshots=shots("rounds-after"), **spec)
    # today's round of the store room, missed (tomorrow's lies beyond today: not yet shown)
    assert [(r["schedule"], r["round"], r["status"]) for r in after["missed"]] == [
        (due_today["id"], today.isoformat(), "missed")]
    assert after["missed_count"] == "1"
    moved = run_flow("score_indicator", script=FLOWS, screenshots=shots("rounds-missed"),
                     **manager_spec)
    assert moved["points"] == shown["points"] == "0.50"
    assert moved["total"] == score["points"]
    assert float(moved["total"]) < float(full["total"])
