"""Assignment on SQLite and PostgreSQL: the assignee in the ledger and its
filter, the reminders and the escalation recorded once each by the timer's
check whatever the number of processes, what waits for an account (assigned
to it, waiting for its verification with separation of duties), and a replay
that gives the same ledger."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from services.hazard import commands, ledger, verification

from .test_ledger import MANAGER, NOW, OFFICER, query, report

SHANGHAI = ZoneInfo("Asia/Shanghai")
LI = {"account_id": "acc-li", "username": "Baide.Li", "enterprise_id": "e-1"}
DEPUTY = Acting.by_account(Principal(account_id="a-3", username="zhou.manager",
                                     role="enterprise_manager", enterprise_id="e-1"))
RULE = verification.load()
DEADLINE = NOW + timedelta(days=10)


def assign(store, hazard_id, to=LI, by=MANAGER, **command):
    with store.begin() as conn:
        return commands.assign(conn, hazard_id, command, to, by, now=NOW)


def names(store, hazard_id):
    with store.connect() as conn:
        return [e.name for e in eventstore.load_stream(conn, "hazard-" + hazard_id)]


def moment(days_before_due_day, hour=9):
    """A Shanghai wall-clock hour, `days_before_due_day` days before the due's day."""
    day = DEADLINE.astimezone(SHANGHAI).date() - timedelta(days=days_before_due_day)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


def stale_process(store, monkeypatch, hazard_id):
    """What a second process sees: the hazard as it loaded it before the first recorded."""
    with store.connect() as conn:
        stale = commands.load(conn, hazard_id)
    return lambda: monkeypatch.setattr(commands, "load", lambda conn, ident: stale)


def test_reminders_are_recorded_once_each_even_by_two_processes(store, monkeypatch):
    hazard = report(store, rectification_deadline=DEADLINE)
    report(store, rectification_deadline=DEADLINE)          # not assigned: never reminded
    assign(store, hazard.id)
    days = (3, 1, 0)
    assert commands.remind_assignees(store, moment(4), days, SHANGHAI) == []
    assert commands.remind_assignees(store, moment(3), days, SHANGHAI) == [hazard.id]
    assert commands.remind_assignees(store, moment(3, 20), days, SHANGHAI) == []
    become_stale = stale_process(store, monkeypatch, hazard.id)
    assert commands.remind_assignees(store, moment(1), days, SHANGHAI) == [hazard.id]
    real_load = commands.load
    become_stale()
    assert commands.remind_assignees(store, moment(1, 10), days, SHANGHAI) == []
    monkeypatch.setattr(commands, "load", real_load)
    assert commands.remind_assignees(store, moment(0, 0), days, SHANGHAI) == [hazard.id]
    assert commands.remind_assignees(store, moment(-1), days, SHANGHAI) == []
    assert names(store, hazard.id) == ["HazardReported", "HazardAssigned"] + [
        "HazardRectificationDue"] * 3
    with store.connect() as conn:
        due = [e.data for e in eventstore.load_stream(conn, "hazard-" + hazard.id)][2:]
    assert [(d["days_before"], d["days_left"]) for d in due] == [(3, 3), (1, 1), (0, 0)]
    assert {d["assignee"]["username"] for d in due} == {"Baide.Li"}


def test_an_assigned_hazard_left_overdue_escalates_once_even_by_two_processes(store, monkeypatch):
    late = report(store, found_at=NOW - timedelta(days=20),
                  rectification_deadline=NOW - timedelta(days=5))
    unassigned = report(store, found_at=NOW - timedelta(days=20),
                        rectification_deadline=NOW - timedelta(days=5))
    assign(store, late.id)
    assert commands.escalate_overdue(store, NOW, 3, SHANGHAI) == []    # not marked overdue yet
    assert sorted(commands.mark_overdue(store, NOW)) == sorted([late.id, unassigned.id])
    become_stale = stale_process(store, monkeypatch, late.id)
    real_load = commands.load
    assert commands.escalate_overdue(store, NOW, 3, SHANGHAI) == [late.id]
    become_stale()
    assert commands.escalate_overdue(store, NOW, 3, SHANGHAI) == []
    monkeypatch.setattr(commands, "load", real_load)
    assert commands.escalate_overdue(store, NOW + timedelta(days=1), 3, SHANGHAI) == []
    assert names(store, late.id) == ["HazardReported", "HazardAssigned", "HazardOverdue",
                                     "HazardEscalated"]
    assert names(store, unassigned.id) == ["HazardReported", "HazardOverdue"]
    with store.connect() as conn:
        overdue = eventstore.load_stream(conn, "hazard-" + late.id)[2]
        [row] = ledger.search(conn, query(assignee="baide.li"))["items"]
    assert overdue.data["assignee"] == {"account_id": "acc-li", "username": "Baide.Li"}
    assert row["escalated_at"] is not None and row["assignee"] == "Baide.Li"
    # not yet: 3 days after the deadline's day only
    fresh = report(store, found_at=NOW - timedelta(days=20),
                   rectification_deadline=NOW - timedelta(hours=1))
    assign(store, fresh.id)
    commands.mark_overdue(store, NOW)
    assert commands.escalate_overdue(store, NOW, 3, SHANGHAI) == []


def test_what_waits_for_an_account_and_the_ledger_replays_alike(store):
    mine = report(store)
    theirs = report(store)
    report(store)
    assign(store, mine.id)
    assign(store, theirs.id, to={"account_id": "acc-z", "username": "baide.zhang",
                                 "enterprise_id": "e-1"}, by=OFFICER, note="今天内")
    general, major = report(store), report(store, level="major")
    with store.begin() as conn:
        commands.record_plan(conn, major.id, {
            "goal": "g", "measures": "m", "funds": 1, "responsible_person": "zhang",
            "deadline": NOW + timedelta(days=5), "interim_measures": "fence"}, MANAGER, now=NOW)
        for hazard in (general, major):
            commands.submit_rectification(conn, hazard.id, {
                "measures": "fixed", "done_at": NOW, "evidence": []}, MANAGER, now=NOW)
    with store.connect() as conn:
        li = commands.work_of(conn, "baide.li", "enterprise_staff", ["e-1"], RULE)
        manager = commands.work_of(conn, MANAGER.actor, "enterprise_manager", ["e-1"], RULE)
        deputy = commands.work_of(conn, DEPUTY.actor, "enterprise_manager", ["e-1"], RULE)
        officer = commands.work_of(conn, OFFICER.actor, "grid_officer", ["e-1"], RULE)
        elsewhere = commands.work_of(conn, OFFICER.actor, "grid_officer", ["e-2"], RULE)
        by_filter = ledger.search(conn, query(assignee="BAIDE.ZHANG"))["items"]

    def ids(found):
        return sorted(h["id"] for h in found["items"])
    assert ids(li["assigned"]) == [mine.id] and li["assigned"]["total"] == 1
    assert li["awaiting_verification"] == {"total": 0, "items": []}   # staff verify nothing
    # the manager rectified both: separation of duties keeps them from it
    assert ids(manager["awaiting_verification"]) == []
    assert ids(deputy["awaiting_verification"]) == [general.id]        # a major one is not theirs
    assert ids(officer["awaiting_verification"]) == sorted([general.id, major.id])
    assert elsewhere["awaiting_verification"]["total"] == 0 and elsewhere["assigned"]["total"] == 0
    assert [(h["id"], h["assignee"]) for h in by_filter] == [(theirs.id, "baide.zhang")]

    with store.begin() as conn:
        snapshot = [select(ledger.hazards).order_by(ledger.hazards.c.hazard_id),
                    select(ledger.fixers).order_by(ledger.fixers.c.hazard_id)]
        before = [[tuple(r) for r in conn.execute(s).all()] for s in snapshot]
        ledger.rebuild(conn)
        after = [[tuple(r) for r in conn.execute(s).all()] for s in snapshot]
    assert after == before and len(before[1]) == 2
