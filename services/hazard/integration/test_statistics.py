"""Hazard statistics over the standing book, on SQLite and PostgreSQL: counts
per level, category, enterprise and day or month found (of the deployment's
time zone, whatever the database session's), under the ledger's filters."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import load_command
from einspection.errors import InvalidCommand
from services.hazard import commands, ledger, verification
from services.hazard.schemas import StatisticsQuery

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
MANAGER = Acting.by_account(Principal(account_id="a-1", username="li.manager",
                                      role="enterprise_manager"))
OFFICER = Acting.by_account(Principal(account_id="a-2", username="chen.grid",
                                      role="grid_officer", grid="g-1"))


def report(store, found_at, enterprise_id="e-1", level="general",
           category="fire"):
    with store.begin() as conn:
        return commands.report(conn, {
            "enterprise_id": enterprise_id, "position_id": None, "level": level,
            "category": category, "description": "seen on the round",
            "hazard_type": "unsafe_condition", "found_at": found_at, "reporter": "li",
            "rectification_deadline": found_at + timedelta(days=7), "evidence": []}, MANAGER,
            now=NOW)


def statistics(store, zone=timezone.utc, **args):
    with store.connect() as conn:
        if conn.dialect.name == "postgresql":
            # a session far from the zone asked for: the month must still be the zone's
            conn.execute(text("SET TIME ZONE 'America/New_York'"))
        return ledger.statistics(conn, load_command(StatisticsQuery(), args), zone=zone)


def by_key(result):
    return {group["key"]: group for group in result["groups"]}


@pytest.fixture
def ledger_rows(store, tmp_path):
    """Five hazards of two enterprises, January to March 2026: two closed
    after their deadline, one rectified after it and waiting, one open past
    it, one open within it."""
    january_late = report(store, datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc))
    january = report(store, datetime(2026, 1, 5, 8, tzinfo=timezone.utc),
                     level="major", category="electrical")
    february = report(store, datetime(2026, 2, 14, 9, tzinfo=timezone.utc),
                      enterprise_id="e-2")
    march = report(store, datetime(2026, 3, 1, 0, 10, tzinfo=timezone.utc),
                   enterprise_id="e-2", category="electrical")
    report(store, datetime(2026, 3, 9, 7, tzinfo=timezone.utc), level="major")
    assert set(commands.mark_overdue(store, NOW)) == {january_late.id, january.id, february.id,
                                                     march.id}
    with store.begin() as conn:
        commands.record_plan(conn, january.id, {
            "goal": "g", "measures": "m", "funds": "0", "responsible_person": "p",
            "deadline": NOW, "interim_measures": "i"}, MANAGER, now=NOW)
    for hazard in (january_late, january, february):
        with store.begin() as conn:
            commands.submit_rectification(conn, hazard.id, {
                "measures": "fixed", "done_at": NOW}, MANAGER, now=NOW)
    for hazard in (january_late, january):
        with store.begin() as conn:
            commands.verify(conn, hazard.id, {"outcome": "verified", "verifier": "chen",
                                              "comment": ""}, OFFICER, verification.load(),
                            now=NOW)


def test_counts_by_the_deployments_day_and_month_found(store, ledger_rows):
    """23:30 UTC on 31 January is 07:30 on 1 February in Shanghai; 00:10 UTC
    on 1 March is 08:10 that day."""
    months = by_key(statistics(store, zone=ZoneInfo("Asia/Shanghai"), group_by="month"))
    assert {key: group["total"] for key, group in months.items()} == {
        "2026-01": 1, "2026-02": 2, "2026-03": 2}
    assert (months["2026-02"]["closed"], months["2026-02"]["rectification_submitted"]) == (1, 1)
    local_days = by_key(statistics(store, zone=ZoneInfo("Asia/Shanghai"), group_by="day"))
    assert {key: group["total"] for key, group in local_days.items()} == {
        "2026-01-05": 1, "2026-02-01": 1, "2026-02-14": 1, "2026-03-01": 1, "2026-03-09": 1}
    utc_days = by_key(statistics(store, group_by="day"))
    assert "2026-01-31" in utc_days and "2026-02-01" not in utc_days


def test_counts_by_month_found_in_utc(store, ledger_rows):
    result = statistics(store, group_by="month")
    months = by_key(result)
    assert list(months) == ["2026-01", "2026-02", "2026-03"]
    assert months["2026-01"] == {"key": "2026-01", "total": 2, "open": 0,
                                 "rectification_submitted": 0, "closed": 2, "major": 1,
                                 "overdue": 2, "overdue_open": 0,
                                 # both closed, both rectified after their deadline
                                 "closed_on_time": 0, "rectification_rate": "1.0000",
                                 "on_time_rate": "0.0000"}
    assert months["2026-02"]["rectification_submitted"] == 1
    # rectified after its deadline: overdue, but no longer open
    assert (months["2026-02"]["overdue"], months["2026-02"]["overdue_open"]) == (1, 0)
    assert months["2026-03"]["open"] == 2 and months["2026-03"]["overdue_open"] == 1
    assert result["totals"] == {"total": 5, "open": 2, "rectification_submitted": 1,
                                "closed": 2, "closed_on_time": 0, "major": 2, "overdue": 4,
                                "overdue_open": 1, "rectification_rate": "0.4000",
                                "on_time_rate": "0.0000"}


def test_counts_by_level_category_and_enterprise_under_the_ledger_filters(store, ledger_rows):
    levels = by_key(statistics(store, group_by="level"))
    assert {key: group["total"] for key, group in levels.items()} == {"general": 3, "major": 2}
    categories = by_key(statistics(store, group_by="category", status="open"))
    assert {key: group["total"] for key, group in categories.items()} == {
        "electrical": 1, "fire": 1}
    enterprises = by_key(statistics(store, group_by="enterprise", overdue="true"))
    assert {key: (group["total"], group["closed"]) for key, group in enterprises.items()} == {
        "e-1": (2, 2), "e-2": (2, 0)}
    february_on = statistics(store, group_by="enterprise", **{"from": "2026-02-01T00:00:00Z",
                                                             "to": "2026-02-28T23:59:59Z"})
    assert [(g["key"], g["total"]) for g in february_on["groups"]] == [("e-2", 1)]
    assert statistics(store, group_by="level", enterprise_id="nobody") == {
        "group_by": "level", "groups": [], "totals": dict(
            dict.fromkeys(ledger.COUNTS, 0), rectification_rate=None, on_time_rate=None)}


@pytest.mark.parametrize("args,field", [
    ({}, "group_by"), ({"group_by": "nonsense"}, "group_by"), ({"group_by": "level", "page": "1"},
                                                           "page"),
    ({"group_by": "month", "status": "lost"}, "status"),
    ({"group_by": "month", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
])
def test_bad_statistics_queries_name_the_field(args, field):
    with pytest.raises(InvalidCommand) as error:
        load_command(StatisticsQuery(), args)
    assert field in error.value.errors
