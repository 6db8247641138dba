"""Listed supervision (挂牌督办) in the hazard aggregate: who may list and
delist, which hazards, and which reminder is due when — days cut in the
deployment's time zone, each reminder once, a late check reminding once."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from einspection.errors import Conflict, Forbidden, InvalidCommand
from services.hazard import verification
from services.hazard.domain import Hazard

from .test_domain import FOUND, MANAGER, NOW, OFFICER, acting, plan, rectification, reloaded, report

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSPECTOR = acting("zhao.inspector", "authority_inspector")
ADMIN = acting("sun.admin", "authority_admin")
# 2026-12-10 10:00 in Shanghai: the deadline's day begins 2026-12-09 16:00 UTC
DEADLINE = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)
LISTING = {"deadline": DEADLINE, "office": "县应急管理局执法大队", "reason": "重大火灾隐患"}


def listed(**changes):
    hazard = report(level="major", **changes)
    hazard.list_for_supervision(LISTING, INSPECTOR, now=NOW)
    return hazard


def closed(hazard):
    hazard.record_plan(plan(), MANAGER, now=NOW)
    hazard.submit_rectification(rectification(), MANAGER, now=NOW)
    hazard.verify({"outcome": "verified", "verifier": "chen"}, OFFICER, verification.load(),
                  now=NOW)
    return hazard


def test_only_the_authority_lists_and_only_an_open_major_hazard_once():
    for who in (MANAGER, OFFICER):
        with pytest.raises(Forbidden, match="only the authority may list"):
            report(level="major").list_for_supervision(LISTING, who, now=NOW)
    with pytest.raises(Conflict, match="general hazard"):
        report().list_for_supervision(LISTING, INSPECTOR, now=NOW)
    with pytest.raises(InvalidCommand) as past:
        report(level="major").list_for_supervision(dict(LISTING, deadline=NOW), ADMIN, now=NOW)
    assert "deadline" in past.value.errors
    hazard = listed()
    assert reloaded(hazard).listed
    assert reloaded(hazard).view()["listing"]["listed_by"] == "zhao.inspector"
    with pytest.raises(Conflict, match="listed for supervision already"):
        hazard.list_for_supervision(LISTING, ADMIN, now=NOW)
    with pytest.raises(Conflict, match="closed"):
        closed(report(level="major")).list_for_supervision(LISTING, ADMIN, now=NOW)


def test_delisting_needs_the_verified_rectification_and_the_authority():
    hazard = listed()
    with pytest.raises(Conflict, match="delisting requires the verified rectification"):
        hazard.delist({"note": "ok"}, ADMIN, now=NOW)
    closed(hazard)
    with pytest.raises(Forbidden):
        hazard.delist({"note": "ok"}, OFFICER, now=NOW)
    hazard.delist({"note": "现场复查合格"}, ADMIN, now=NOW)
    hazard = reloaded(hazard)
    view = hazard.view()
    assert view["listed"] is False
    assert (view["listing"]["delisted_by"], view["listing"]["note"]) == ("sun.admin",
                                                                         "现场复查合格")
    with pytest.raises(Conflict, match="not listed"):
        hazard.delist({}, ADMIN, now=NOW)
    with pytest.raises(Conflict, match="not listed"):
        report(level="major").delist({}, ADMIN, now=NOW)


def at(day, hour=0, minute=0):
    """An instant of a Shanghai wall-clock time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


def test_each_reminder_is_due_once_from_the_start_of_its_local_day():
    hazard = listed()
    days = (7, 1)
    assert hazard.due_reminder(at(2, 23, 59), days, SHANGHAI) is None
    first = hazard.remind_listing(at(3), days, SHANGHAI)          # 10 Dec - 7 days
    assert (first.data["days_before"], first.data["days_left"]) == (7, 7)
    assert hazard.remind_listing(at(3, 12), days, SHANGHAI) is None
    assert hazard.due_reminder(at(8, 23, 59), days, SHANGHAI) is None
    second = hazard.remind_listing(at(9, 0, 1), days, SHANGHAI)
    assert (second.data["days_before"], second.data["days_left"]) == (1, 1)
    last = hazard.remind_listing(at(10, 8), days, SHANGHAI)      # the deadline's day
    assert (last.data["days_before"], last.data["days_left"]) == (0, 0)
    assert hazard.remind_listing(at(12), days, SHANGHAI) is None
    # the same from the stream: what was recorded stays recorded
    again = reloaded(hazard)
    assert again.reminded == 0 and again.due_reminder(at(12), days, SHANGHAI) is None


def test_a_late_check_reminds_once_with_the_nearest_and_a_utc_day_would_be_wrong():
    hazard = listed()
    # first run on the deadline's day: only that reminder, not the two it missed
    only = hazard.remind_listing(at(10, 1), (7, 1), SHANGHAI)
    assert only.data["days_before"] == 0
    assert hazard.remind_listing(at(10, 2), (7, 1), SHANGHAI) is None
    # 9 Dec 17:00 UTC is already the deadline's day in Shanghai, not in UTC
    other = listed()
    moment = datetime(2026, 12, 9, 17, 0, tzinfo=timezone.utc)
    assert other.due_reminder(moment, (7, 1), SHANGHAI) == 0
    assert other.due_reminder(moment, (7, 1), timezone.utc) == 1


def test_no_reminder_once_closed_or_delisted():
    hazard = closed(listed())
    assert hazard.due_reminder(at(10, 8), (7, 1), SHANGHAI) is None
    assert report(level="major").due_reminder(at(10, 8), (7, 1), SHANGHAI) is None


def test_a_hazard_from_an_inspection_takes_its_kind_as_source():
    inspection = {"enterprise_id": "e-1", "position_id": "p-1", "completed_at": FOUND,
                  "inspector": "zhao", "inspection_id": "insp-1", "kind": "enforcement"}
    item = {"item_id": "i-1", "prompt": "exit blocked", "category": "fire", "major": True}
    hazard = Hazard.from_failed_item(inspection, item, INSPECTOR, now=NOW)
    assert hazard.view()["source"] == {"kind": "inspection", "inspection_id": "insp-1",
                                       "item_id": "i-1", "origin": "enforcement"}
    assert report().view()["source"] == {"kind": "report", "origin": "report"}
