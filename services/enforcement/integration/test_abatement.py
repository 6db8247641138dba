"""Overdue abatement on SQLite and PostgreSQL: the enforcement service's
check records CitationAbatementOverdue once per citation past its abatement
day — not for one abated, withdrawn, without a day, of a closed case or of
an imported case — however often it runs and however many processes run
it; the case list filters on it; a replay rebuilds identical lists."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from einspection import eventstore
from einspection.acting import Acting
from einspection.errors import ConcurrencyConflict
from services.enforcement import commands, records
from services.enforcement.cases import case_id_for, case_view, violation_classes

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
OFFICER = Acting("zhao.inspector")
DUE = "2026-03-20"


def shanghai(day, hour=9):
    return datetime(2026, 3, day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


def command(store, name, payload, now=OPENED):
    with store.begin() as conn:
        return commands.case_command(conn, name, payload, OFFICER, now=now,
                                     classes=violation_classes(), zone=SHANGHAI)


def a_case(store, inspection_id, citations, **opening):
    case = command(store, "open_case", dict({"enterprise_id": "e-1",
                                             "inspection_id": inspection_id}, **opening))
    for citation_id, day in citations:
        command(store, "issue_citation", {
            "case_id": case.id, "citation_id": citation_id, "clause": "《安全生产法》第九十九条",
            "violation_class": "serious", "description": "安全出口堵塞",
            "fine_proposed": "1000.00", "abatement_date": day}, now=OPENED + timedelta(hours=1))
    return case.id


def marked(store):
    with store.connect() as conn:
        return sorted(event.data["citation_id"] for _, event in eventstore.read_all(conn)
                      if event.name == "CitationAbatementOverdue")


def listed(store, **query):
    with store.connect() as conn:
        return {row["case_id"]: row["abatements_overdue"] for row in records.case_page(
            conn, dict({"page": 1, "size": 50, "sort": "-opened_at"}, **query), None)["items"]}


def test_each_citation_past_its_day_is_marked_once_whatever_the_processes(store, monkeypatch):
    live = a_case(store, "i-live", [("c-due", DUE), ("c-later", "2026-03-25"),
                                    ("c-abated", DUE), ("c-withdrawn", DUE), ("c-none", None)])
    command(store, "abate_citation", {"case_id": live, "citation_id": "c-abated"},
            now=shanghai(19))
    command(store, "withdraw_citation", {"case_id": live, "citation_id": "c-withdrawn",
                                         "reason": "复议撤销"}, now=shanghai(19))
    closed = a_case(store, "i-closed", [("c-closed", DUE)])
    command(store, "close_case", {"case_id": closed, "outcome": "withdrawn"}, now=shanghai(19))
    imported = a_case(store, "i-osha", [("c-osha", DUE)], source_system="osha",
                      source_ref="317-1")
    assert listed(store)[imported] == 0

    # its day in Shanghai is not over at 23:00 (15:00Z): nothing yet
    assert commands.mark_abatement_overdue(store, shanghai(20, 23), SHANGHAI) == []
    # a second process that loaded the case before the first marked it: its
    # append conflicts and it records nothing
    with store.connect() as conn:
        stale = commands.load_case(conn, live)
    assert commands.mark_abatement_overdue(store, shanghai(21, 0), SHANGHAI) == [live]
    real_load = commands.load_case
    monkeypatch.setattr(commands, "load_case", lambda conn, case_id: (
        stale if case_id == live else real_load(conn, case_id)))
    assert commands.mark_abatement_overdue(store, shanghai(21, 1), SHANGHAI) == []
    monkeypatch.setattr(commands, "load_case", real_load)
    assert commands.mark_abatement_overdue(store, shanghai(22), SHANGHAI) == []    # run again
    assert marked(store) == ["c-due"]
    with store.connect() as conn:
        assert records.abatement_candidates(conn, date(2026, 3, 22)) == []
        assert records.abatement_candidates(conn, date(2026, 3, 26)) == [live]
    assert listed(store, abatement_overdue=True) == {live: 1}
    assert set(listed(store, abatement_overdue=False)) == {closed, imported}

    # the one after it, in its turn; a late abatement still abates, and the list follows
    assert commands.mark_abatement_overdue(store, shanghai(26), SHANGHAI) == [live]
    assert marked(store) == ["c-due", "c-later"]
    with store.connect() as conn:
        [due] = [e for _, e in eventstore.read_all(conn) if e.name == "CitationAbatementOverdue"
                 and e.data["citation_id"] == "c-due"]
    assert (due.actor, due.data["abatement_date"], due.subject) == (
        "enforcement-service", date(2026, 3, 20), "e-1")
    assert due.data["overdue_since"] == datetime(2026, 3, 20, 16, tzinfo=timezone.utc)
    case = command(store, "abate_citation", {"case_id": live, "citation_id": "c-due"},
                   now=shanghai(27))
    assert listed(store)[live] == 1                 # c-later is still overdue
    shown = {c["citation_id"]: c for c in case_view(case, zone=SHANGHAI)["citations"]}
    assert (shown["c-due"]["abated"], shown["c-due"]["abated_late"]) == (True, True)
    assert shown["c-abated"]["abated_late"] is False
    assert shown["c-later"]["abatement_overdue_at"] is not None

    with store.connect() as conn:
        before = records.snapshot(conn)
    with store.begin() as conn:
        records.rebuild(conn)
    with store.connect() as conn:
        assert records.snapshot(conn) == before


def test_two_processes_marking_the_same_case_at_once_record_it_once(store):
    """The same case loaded by two sweeps, the second appending after the
    first committed: ConcurrencyConflict, which the sweep skips."""
    live = a_case(store, "i-twice", [("c-1", DUE), ("c-2", DUE)])
    with store.connect() as conn:
        first, second = commands.load_case(conn, live), commands.load_case(conn, live)
    assert len(first.mark_abatement_overdue(shanghai(22), SHANGHAI)) == 2
    assert len(second.mark_abatement_overdue(shanghai(22), SHANGHAI)) == 2
    with store.begin() as conn:
        commands.save_case(conn, first)
    with pytest.raises(ConcurrencyConflict):
        with store.begin() as conn:
            commands.save_case(conn, second)
    assert marked(store) == ["c-1", "c-2"]
    assert case_id_for("i-twice") == live
