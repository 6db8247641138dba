"""Listed supervision (挂牌督办) on SQLite and PostgreSQL: the listing and its
sign-off in the ledger, the reminders recorded once each by the timer's
check whatever the number of processes, source and listing filters, and a
replay that gives the same ledger."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from services.hazard import commands, ledger, verification

from .test_ledger import MANAGER, NOW, OFFICER, inspection_event, query, report

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN = Acting.by_account(Principal(account_id="a-9", username="sun.admin",
                                    role="authority_admin"))
DEADLINE = NOW + timedelta(days=10)


def list_it(store, hazard_id):
    with store.begin() as conn:
        return commands.list_for_supervision(conn, hazard_id, {
            "deadline": DEADLINE, "office": "执法大队", "reason": "重大火灾隐患"}, ADMIN, now=NOW)


def names(store, hazard_id):
    with store.connect() as conn:
        return [e.name for e in eventstore.load_stream(conn, "hazard-" + hazard_id)]


def moment(days_before_deadline_day, hour=9):
    """A Shanghai wall-clock hour, `days_before_deadline_day` days before the deadline's day."""
    day = DEADLINE.astimezone(SHANGHAI).date() - timedelta(days=days_before_deadline_day)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


def test_reminders_are_recorded_once_each_even_by_two_processes(store, monkeypatch):
    listed = report(store, level="major")
    list_it(store, listed.id)
    report(store, level="major")                      # not listed: never reminded
    days = (7, 1)
    assert commands.remind_listings(store, moment(8), days, SHANGHAI) == []
    assert commands.remind_listings(store, moment(7), days, SHANGHAI) == [listed.id]
    assert commands.remind_listings(store, moment(7, 20), days, SHANGHAI) == []
    # a second process that loaded the hazard before the first recorded the
    # 1-day reminder: its append conflicts, nothing is recorded twice
    with store.connect() as conn:
        stale = commands.load(conn, listed.id)
    assert commands.remind_listings(store, moment(1), days, SHANGHAI) == [listed.id]
    real_load = commands.load
    monkeypatch.setattr(commands, "load", lambda conn, hazard_id: stale)
    assert commands.remind_listings(store, moment(1, 10), days, SHANGHAI) == []
    monkeypatch.setattr(commands, "load", real_load)
    assert commands.remind_listings(store, moment(0), days, SHANGHAI) == [listed.id]
    assert commands.remind_listings(store, moment(-3), days, SHANGHAI) == []
    assert names(store, listed.id) == ["HazardReported", "HazardListed"] + [
        "HazardListingDue"] * 3
    with store.connect() as conn:
        due = [e.data for e in eventstore.load_stream(conn, "hazard-" + listed.id)][2:]
    assert [(d["days_before"], d["days_left"]) for d in due] == [(7, 7), (1, 1), (0, 0)]


def test_listing_and_delisting_show_in_the_ledger_and_replay_alike(store):
    with store.begin() as conn:
        [from_enforcement] = commands.raise_from_inspection(conn, inspection_event(
            {"item_id": "i-1", "prompt": "exit clear", "category": "fire", "major": True},
            kind="enforcement"))
    free = report(store)
    list_it(store, from_enforcement.id)
    with store.connect() as conn:
        listed = ledger.search(conn, query(listed="true"))["items"]
        enforcement = ledger.search(conn, query(source="enforcement"))["items"]
        reported = ledger.search(conn, query(source="report"))["items"]
    assert [r["id"] for r in listed] == [from_enforcement.id]
    assert (listed[0]["listing_office"], listed[0]["source"]) == ("执法大队", "enforcement")
    assert [r["id"] for r in enforcement] == [from_enforcement.id]
    assert [r["id"] for r in reported] == [free.id]

    # rectified and verified, then signed off by the authority
    with store.begin() as conn:
        commands.record_plan(conn, from_enforcement.id, {
            "goal": "g", "measures": "m", "funds": Decimal("100.00"), "responsible_person": "z",
            "deadline": NOW + timedelta(days=5), "interim_measures": "i"}, MANAGER, now=NOW)
        commands.submit_rectification(conn, from_enforcement.id, {
            "measures": "cleared", "done_at": NOW}, MANAGER, now=NOW)
        commands.verify(conn, from_enforcement.id, {"outcome": "verified", "verifier": "chen"},
                        OFFICER, verification.load(), now=NOW)
        hazard = commands.delist(conn, from_enforcement.id, {"note": "复查合格"}, ADMIN, now=NOW)
    assert hazard.view()["listing"]["delisted_by"] == "sun.admin"
    with store.connect() as conn:
        before = ledger.search(conn, query(size=200))["items"]
        assert ledger.search(conn, query(listed="true"))["items"] == []
    with store.begin() as conn:
        assert ledger.rebuild(conn) == 7
    with store.connect() as conn:
        assert ledger.search(conn, query(size=200))["items"] == before
    [row] = [r for r in before if r["id"] == from_enforcement.id]
    assert (row["listed"], row["delisted_at"] is not None, row["status"]) == (False, True,
                                                                              "closed")
