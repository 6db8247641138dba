"""Assignment in the hazard aggregate: who may give a hazard to whom, the
assignee's reminders (days cut in the deployment's time zone, each once,
only those that begin after the assignment) and the escalation of an
assigned hazard left overdue (once)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from einspection.errors import Conflict, Forbidden, InvalidCommand
from services.hazard import commands, verification
from .test_domain import MANAGER, NOW, OFFICER, STAFF, acting, rectification, reloaded, report

SHANGHAI = ZoneInfo("Asia/Shanghai")
LI = {"account_id": "acc-li", "username": "baide.li", "enterprise_id": "e-1"}
ZHANG = {"account_id": "acc-zhang", "username": "baide.zhang", "enterprise_id": "e-1"}
OUTSIDER = {"account_id": "acc-x", "username": "other.x", "enterprise_id": "e-2"}
DAYS = (3, 1, 0)
# found 3 hours before NOW (2026-11-29 08:00 UTC): a general hazard's deadline is
# 7 days later, 2026-12-06 05:00 UTC = 13:00 in Shanghai
DEADLINE = datetime(2026, 12, 6, 5, 0, tzinfo=timezone.utc)


def at(day, hour=0, minute=0):
    """An instant of a Shanghai wall-clock time in December 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(timezone.utc)


def assigned(to=LI, by=MANAGER, now=NOW, **command):
    hazard = report()
    hazard.assign(command, to, by, now=now)
    return hazard


def test_the_manager_assigns_and_reassigns_and_the_view_and_stream_say_so():
    hazard = assigned(note="先拉警戒线")
    assert hazard.deadline == DEADLINE
    [event] = [e for e in hazard.pending if e.name == "HazardAssigned"]
    assert event.actor == MANAGER.actor
    assert event.data["assignee"] == {"account_id": "acc-li", "username": "baide.li"}
    assert (event.data["due"], event.data["previous_assignee"]) == (DEADLINE, None)
    view = reloaded(hazard).view()["assignment"]
    assert view["assignee"]["username"] == "baide.li" and view["assigned_by"] == MANAGER.actor
    assert view["note"] == "先拉警戒线" and view["reminded_days_before"] is None
    # the same assignment again records nothing; another person, or a new due, does
    assert hazard.assign({"note": "先拉警戒线"}, LI, MANAGER, now=NOW) is None
    again = hazard.assign({"due": at(4, 18)}, ZHANG, OFFICER, now=NOW + timedelta(hours=1))
    assert again.data["previous_assignee"]["username"] == "baide.li"
    assert again.actor == OFFICER.actor
    assert reloaded(hazard).view()["assignment"]["assignee"]["username"] == "baide.zhang"
    assert reloaded(hazard).assignment["due"] == at(4, 18)


@pytest.mark.parametrize("who", [STAFF, acting("api.partner", "integrator")])
def test_staff_and_integrators_may_not_assign(who):
    with pytest.raises(Forbidden, match="may not assign a hazard"):
        report().assign({}, LI, who, now=NOW)


def test_refused_assignments_name_the_field():
    with pytest.raises(InvalidCommand) as outsider:
        report().assign({}, OUTSIDER, acting("sun.admin", "authority_admin"), now=NOW)
    assert "assignee" in outsider.value.errors
    for due in (NOW - timedelta(minutes=1), DEADLINE + timedelta(minutes=1)):
        with pytest.raises(InvalidCommand) as late:
            report().assign({"due": due}, LI, MANAGER, now=NOW)
        assert "due" in late.value.errors
    hazard = report()
    hazard.submit_rectification(rectification(), MANAGER, now=NOW)
    hazard.verify({"outcome": "verified"}, OFFICER, verification.load(), now=NOW)
    with pytest.raises(Conflict, match="closed"):
        hazard.assign({}, LI, MANAGER, now=NOW)


def test_each_reminder_is_due_once_from_the_start_of_its_local_day():
    hazard = assigned()
    assert hazard.due_assignment_reminder(at(2, 23, 59), DAYS, SHANGHAI) is None
    first = hazard.remind_assignee(at(3), DAYS, SHANGHAI)         # 6 Dec - 3 days
    assert (first.data["days_before"], first.data["days_left"]) == (3, 3)
    assert first.data["assignee"]["username"] == "baide.li" and first.actor == "hazard-service"
    assert hazard.remind_assignee(at(3, 12), DAYS, SHANGHAI) is None
    assert hazard.due_assignment_reminder(at(4, 23, 59), DAYS, SHANGHAI) is None
    second = hazard.remind_assignee(at(5, 0, 1), DAYS, SHANGHAI)
    assert (second.data["days_before"], second.data["days_left"]) == (1, 1)
    last = hazard.remind_assignee(at(6, 8), DAYS, SHANGHAI)      # the due's day
    assert (last.data["days_before"], last.data["days_left"]) == (0, 0)
    assert hazard.remind_assignee(at(6, 12), DAYS, SHANGHAI) is None
    again = reloaded(hazard)
    assert again.view()["assignment"]["reminded_days_before"] == 0
    assert again.due_assignment_reminder(at(6, 12), DAYS, SHANGHAI) is None


def test_the_local_day_decides_not_the_utc_one():
    # 2 Dec 17:00 UTC is 3 Dec 01:00 in Shanghai: the 3-day reminder has begun there
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)
    assert assigned().due_assignment_reminder(moment, DAYS, SHANGHAI) == 3
    assert assigned().due_assignment_reminder(moment, DAYS, timezone.utc) is None
    # a late check reminds once, with the nearest begun reminder only
    hazard = assigned()
    assert hazard.remind_assignee(at(5, 9), DAYS, SHANGHAI).data["days_before"] == 1
    assert hazard.remind_assignee(at(5, 10), DAYS, SHANGHAI) is None


def test_only_reminders_that_begin_after_the_assignment_count_and_a_new_assignee_starts_afresh():
    hazard = assigned(now=at(5, 12))           # the 3- and 1-day reminders began before
    assert hazard.due_assignment_reminder(at(5, 13), DAYS, SHANGHAI) is None
    assert hazard.remind_assignee(at(6, 0, 5), DAYS, SHANGHAI).data["days_before"] == 0
    early = assigned()
    assert early.remind_assignee(at(3, 1), DAYS, SHANGHAI).data["days_before"] == 3
    early.assign({}, ZHANG, MANAGER, now=at(3, 2))
    assert early.due_assignment_reminder(at(3, 3), DAYS, SHANGHAI) is None
    assert early.remind_assignee(at(5, 1), DAYS, SHANGHAI).data["assignee"]["username"] == \
        "baide.zhang"


def test_no_reminder_while_a_rectification_waits_for_verification_nor_after_the_due():
    hazard = assigned()
    hazard.submit_rectification(rectification(), MANAGER, now=NOW)
    assert hazard.due_assignment_reminder(at(3, 1), DAYS, SHANGHAI) is None
    hazard.verify({"outcome": "returned", "reason": "光线不足"}, OFFICER, verification.load(),
                  now=NOW)
    assert hazard.due_assignment_reminder(at(3, 1), DAYS, SHANGHAI) == 3   # open again
    assert assigned().due_assignment_reminder(DEADLINE + timedelta(minutes=1), DAYS,
                                              SHANGHAI) is None
    assert report().due_assignment_reminder(at(3, 1), DAYS, SHANGHAI) is None


def test_overdue_names_the_assignee_and_an_assigned_hazard_escalates_once():
    hazard = assigned()
    overdue = hazard.mark_overdue(DEADLINE + timedelta(minutes=1))
    assert overdue.data["assignee"] == {"account_id": "acc-li", "username": "baide.li"}
    assert report().mark_overdue(DEADLINE + timedelta(minutes=1)).data["assignee"] is None
    # the deadline's day is 6 Dec in Shanghai: escalated from the start of 9 Dec there
    assert not hazard.is_escalation_due(at(8, 23, 59), 3, SHANGHAI)
    escalated = hazard.escalate(at(9), 3, SHANGHAI)
    assert (escalated.data["days_overdue"], escalated.data["assignee"]["username"]) == (
        3, "baide.li")
    assert escalated.actor == "hazard-service"
    assert hazard.escalate(at(10), 3, SHANGHAI) is None
    assert reloaded(hazard).view()["escalated_at"] is not None
    assert not reloaded(hazard).is_escalation_due(at(12), 3, SHANGHAI)


def test_no_escalation_unassigned_not_overdue_or_with_a_rectification_submitted():
    unassigned = report()
    unassigned.mark_overdue(DEADLINE + timedelta(minutes=1))
    assert not unassigned.is_escalation_due(at(12), 3, SHANGHAI)
    not_marked = assigned()
    assert not not_marked.is_escalation_due(at(12), 3, SHANGHAI)    # the overdue check first
    submitted = assigned()
    submitted.mark_overdue(DEADLINE + timedelta(minutes=1))
    submitted.submit_rectification(rectification(), MANAGER, now=DEADLINE + timedelta(hours=1))
    assert not submitted.is_escalation_due(at(12), 3, SHANGHAI)


def test_reminder_and_escalation_days_from_the_environment():
    assert commands.reminder_days({}) == (3, 1, 0)
    assert commands.reminder_days({"HAZARD_REMINDER_DAYS": "1, 7"}) == (7, 1)
    assert commands.escalation_days({}) == 3
    assert commands.escalation_days({"HAZARD_ESCALATION_DAYS": "5"}) == 5
    for bad in ("x", "-1", "400"):
        with pytest.raises(ValueError, match="HAZARD_REMINDER_DAYS"):
            commands.reminder_days({"HAZARD_REMINDER_DAYS": bad})
        with pytest.raises(ValueError, match="HAZARD_ESCALATION_DAYS"):
            commands.escalation_days({"HAZARD_ESCALATION_DAYS": bad})


def test_the_levels_a_role_may_verify_under_the_rule():
    rule = verification.load()
    assert rule.levels_for("enterprise_manager") == ("general",)
    assert set(rule.levels_for("grid_officer")) == {"general", "major"}
    assert rule.levels_for("enterprise_staff") == () and rule.levels_for("integrator") == ()
