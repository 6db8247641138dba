"""The hazard service's store side on SQLite and PostgreSQL: events, ledger and
inbox in one transaction; hazards from inspections once; overdue once."""
import csv
import dataclasses
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl

import pytest
from sqlalchemy import func, select

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import new_event, utcnow
from einspection.db import make_engine
from einspection.errors import ConcurrencyConflict, Conflict, InvalidCommand
from einspection.nameko_glue import StoreHandle
from services.hazard import cli, commands, evidence, export, ledger, names, verification
from services.hazard.domain import hazard_id_for_item
from services.hazard.schemas import LedgerQuery

NOW = utcnow()
SHANGHAI = ZoneInfo("Asia/Shanghai")
MANAGER = Acting.by_account(Principal(account_id="a-1", username="li.manager",
                                      role="enterprise_manager", enterprise_id="e-1"))
OFFICER = Acting.by_account(Principal(account_id="a-2", username="chen.grid",
                                      role="grid_officer", grid="g-1"))


def command(**changes):
    body = {"enterprise_id": "e-1", "position_id": "p-1", "level": "general",
            "category": "electrical", "description": "cabinet open", "hazard_type":
            "unsafe_condition", "found_at": NOW - timedelta(hours=2), "reporter": "li",
            "rectification_deadline": None, "evidence": []}
    body.update(changes)
    return body


def report(store, **changes):
    with store.begin() as conn:
        return commands.report(conn, command(**changes), MANAGER, now=NOW)


def query(**args):
    return LedgerQuery().load({key: str(value) for key, value in args.items()})


def inspection_event(*items, event_id=None, kind="self"):
    event = new_event("InspectionLogged", {
        "inspection_id": "insp-1", "enterprise_id": "e-1", "position_id": "boiler",
        "checklist_id": "c-1", "checklist_version": 1, "kind": kind,
        "started_at": NOW - timedelta(hours=1), "completed_at": NOW - timedelta(minutes=30),
        "items_passed": 3, "items_failed": len(items), "items_not_applicable": 0,
        "inspector": "wang", "failed_items": list(items)}, actor="staff.account")
    if event_id:
        event.id = event_id
    return event


ITEMS = [{"item_id": "i-1", "prompt": "exit clear", "category": "fire", "major": True,
          "note": "pallets"},
         {"item_id": "i-2", "prompt": "extinguisher checked", "category": "fire"}]


def count(store, table):
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_each_command_updates_the_ledger_in_its_transaction(store):
    hazard = report(store)
    with store.begin() as conn:
        commands.submit_rectification(conn, hazard.id, {
            "measures": "locked", "done_at": NOW, "cost": Decimal("12.50")}, MANAGER, now=NOW)
    with store.connect() as conn:
        [row] = ledger.search(conn, query())["items"]
    assert row["status"] == "rectification_submitted" and row["rectification_cost"] == "12.50"
    assert (row["reporter"], row["reported_by"], row["closed_by"]) == ("li", "li.manager", None)
    with pytest.raises(Conflict):
        with store.begin() as conn:
            commands.record_plan(conn, hazard.id, {}, MANAGER, now=NOW)
    with store.begin() as conn:
        commands.verify(conn, hazard.id, {"outcome": "verified", "verifier": None}, OFFICER,
                        verification.load(), now=NOW)
    with store.connect() as conn:
        [row] = ledger.search(conn, query())["items"]
        exported = export.FORMATS["csv"][0](names.named(conn, ledger.rows_for_export(
            conn, query(), 10)), SHANGHAI)
    assert (row["status"], row["closed_by"]) == ("closed", "chen.grid")
    assert "报告账号 reported by (account)" in exported.decode("utf-8-sig")
    assert b"li.manager" in exported
    assert count(store, eventstore.events) == 3


def test_evidence_must_be_the_enterprises_own(store):
    with pytest.raises(InvalidCommand) as error:
        report(store, evidence=["sha256:" + "1" * 64])
    assert "evidence" in error.value.errors
    ref = "sha256:" + "2" * 64
    with store.begin() as conn:
        evidence.store(conn, ref, "e-2", "application/pdf", 10, lambda: None, quota=100,
                       acting=MANAGER)
    with pytest.raises(InvalidCommand) as error:               # another enterprise's file
        report(store, evidence=[ref])
    assert error.value.errors == {"evidence": {0: [commands.no_such_evidence(ref)]}}
    with store.begin() as conn:
        evidence.store(conn, ref, "e-1", "application/pdf", 10, lambda: None, quota=100,
                       acting=MANAGER)
    assert report(store, evidence=[ref]).view()["evidence"] == [ref]
    assert count(store, ledger.hazards) == 1


def test_an_inspection_raises_one_hazard_per_failed_item_exactly_once(store):
    event = inspection_event(*ITEMS)
    for _ in range(2):                                        # redelivered
        with store.begin() as conn:
            commands.raise_from_inspection(conn, event)
    republished = inspection_event(*ITEMS)                    # same facts, a new event id
    with store.begin() as conn:
        assert commands.raise_from_inspection(conn, republished) == []
    with store.connect() as conn:
        rows = ledger.search(conn, query(sort="category"))["items"]
    assert sorted(r["id"] for r in rows) == sorted(hazard_id_for_item("insp-1", i["item_id"])
                                                   for i in ITEMS)
    assert sorted(r["level"] for r in rows) == ["general", "major"]
    assert {r["source_inspection_id"] for r in rows} == {"insp-1"}
    # the account that logged the inspection reported them; the inspector is a name
    assert {(r["reporter"], r["reported_by"]) for r in rows} == {("wang", "staff.account")}
    assert count(store, eventstore.events) == 2


def test_a_free_report_of_an_inspection_item_that_has_its_hazard_is_a_conflict(store):
    with store.begin() as conn:
        commands.raise_from_inspection(conn, inspection_event(ITEMS[1]))
    with pytest.raises(Conflict) as error:
        report(store, source_inspection_id="insp-1", source_item_id="i-2")
    assert error.value.state["state"] == "reported"
    # another enterprise naming that item is told there is no such inspection of its own
    with pytest.raises(InvalidCommand) as error:
        with store.begin() as conn:
            commands.report(conn, command(
                enterprise_id="e-2", source_inspection_id="insp-1", source_item_id="i-2"),
                Acting.by_account(Principal(account_id="a-3", username="other",
                                            role="enterprise_manager", enterprise_id="e-2")),
                now=NOW)
    assert error.value.errors == {"source_inspection_id": ["no such inspection of this "
                                                           "enterprise"]}


def test_overdue_once_even_when_another_process_got_there_first(store, monkeypatch):
    due = report(store, found_at=NOW - timedelta(days=2),
                 rectification_deadline=NOW - timedelta(days=1))
    report(store)                                 # not due
    with store.connect() as conn:
        stale = commands.load(conn, due.id)                   # what a second process loaded
    assert commands.mark_overdue(store, NOW) == [due.id]
    assert commands.mark_overdue(store, NOW + timedelta(hours=1)) == []
    monkeypatch.setattr(commands, "load", lambda conn, hazard_id: stale)
    with store.begin() as conn:                               # as if the ledger lagged
        conn.execute(ledger.hazards.update().values(overdue=False))
    assert commands.mark_overdue(store, NOW) == []            # its append conflicted
    with store.connect() as conn:
        names = [e.name for e in eventstore.load_stream(conn, "hazard-" + due.id)]
    assert names == ["HazardReported", "HazardOverdue"]


def test_append_with_a_stale_version_conflicts(store):
    hazard = report(store)
    with store.connect() as conn:
        first, second = commands.load(conn, hazard.id), commands.load(conn, hazard.id)
    for copy in (first, second):
        copy.submit_rectification({"measures": "x", "done_at": NOW}, MANAGER, now=NOW)
    with store.begin() as conn:
        commands.save(conn, first)
    with pytest.raises(ConcurrencyConflict):
        with store.begin() as conn:
            commands.save(conn, second)


def test_filters_paging_sorting_and_rebuild(store):
    for hours, level, category in [(1, "general", "fire"), (30, "major", "fire"),
                                   (60, "general", "electrical"), (90, "general", "fire")]:
        report(store, found_at=NOW - timedelta(hours=hours), level=level,
               category=category, position_id="p-%d" % (hours % 2))
    with store.connect() as conn:
        page = ledger.search(conn, query(category="fire", size=2, sort="found_at"))
        second = ledger.search(conn, query(category="fire", size=2, page=2, sort="found_at"))
        major = ledger.search(conn, query(level="major"))
        period = ledger.search(conn, query(**{"from": (NOW - timedelta(hours=61)).isoformat(),
                                              "to": (NOW - timedelta(hours=2)).isoformat()}))
        before = ledger.search(conn, query(size=200))["items"]
    assert page["total"] == 3 and [r["found_at"] for r in page["items"]] == sorted(
        r["found_at"] for r in page["items"])
    assert len(second["items"]) == 1
    assert second["items"][0]["found_at"] > page["items"][-1]["found_at"]
    assert [r["level"] for r in major["items"]] == ["major"]
    assert period["total"] == 2
    with store.begin() as conn:
        assert ledger.rebuild(conn) == 4
    with store.connect() as conn:
        assert ledger.search(conn, query(size=200))["items"] == before


@pytest.mark.parametrize("args,field", [
    ({"size": "1000"}, "size"), ({"sort": "description"}, "sort"), ({"level": "x"}, "level"),
    ({"overdue": "maybe"}, "overdue"), ({"from": "yesterday"}, "from"), ({"colour": "red"},
                                                                         "colour"),
    ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
])
def test_bad_ledger_queries_name_the_field(args, field):
    from einspection.contract import load_command
    with pytest.raises(InvalidCommand) as error:
        load_command(LedgerQuery(), args)
    assert field in error.value.errors


def test_replay_brings_a_ledger_of_the_old_shape_back_with_the_accounts(backend, databases,
                                                                         capsys):
    """A ledger from before reported_by / closed_by: `make replay` drops it and
    rebuilds it from the events, in the current shape, with the accounts."""
    url = databases.url(backend, "hazard")
    engine = make_engine(url)
    eventstore.create_tables(engine, ledger.metadata, evidence.metadata)
    store = StoreHandle(engine, None)
    hazard = report(store)
    with engine.begin() as conn:
        conn.execute(ledger.hazards.update().values(reporter="edited"))      # drifted rows
        conn.exec_driver_sql("ALTER TABLE hazard_ledger DROP COLUMN closed_by")
    try:
        assert cli.main(["replay", "--database-url", url]) == 0
        assert "1 hazards in the ledger" in capsys.readouterr().out
        with engine.connect() as conn:
            [row] = ledger.search(conn, query())["items"]
    finally:
        engine.dispose()
    assert (row["id"], row["reporter"], row["reported_by"], row["closed_by"]) == (
        hazard.id, "li", "li.manager", None)


# --- the names beside the ids in the exports ------------------------------------------

def registered(event_name, version=1, **data):
    """An EnterpriseRegistered, PositionRegistered or PositionUpdated as the checklist
    service publishes it, `version` its place in its stream."""
    base = {"EnterpriseRegistered": {
        "credit_code": "91330521MA2B3C4D5E", "industry": "manufacturing", "town": "Wukang",
        "grid": "g-1", "registered_at": NOW}, "PositionRegistered": {},
        "PositionUpdated": {"updated_at": NOW}}[event_name]
    return dataclasses.replace(new_event(event_name, dict(base, **data), actor="admin"),
                               stream_version=version)


def test_the_names_come_from_the_registers_events_once_and_replay_to_the_same_rows(store):
    # 00:30 on 1 December in Shanghai: 16:30 UTC on 30 November
    found = datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc)
    events = [registered("EnterpriseRegistered", enterprise_id="e-1", name="德清百德机械"),
              registered("PositionRegistered", position_id="p-1", enterprise_id="e-1",
                         name="锅炉房 Boiler room"),
              registered("EnterpriseRegistered", enterprise_id="e-2", name="=cmd|' /C calc'!A0")]
    for event in events + events[:1]:                           # one redelivered
        with store.begin() as conn:
            names.receive(conn, event)
    hazard = report(store, found_at=found, rectification_deadline=found + timedelta(days=7))
    with store.begin() as conn:
        commands.submit_rectification(conn, hazard.id, {
            "measures": "fenced", "done_at": found + timedelta(days=1),
            "cost": Decimal("860.50")}, MANAGER, now=NOW)
    report(store, enterprise_id="e-2", position_id=None, found_at=found + timedelta(hours=9))
    with store.connect() as conn:
        rows = names.named(conn, ledger.rows_for_export(conn, query(sort="found_at"), 10))
        before = names.snapshot(conn)
    assert [(r["enterprise_name"], r["position_name"]) for r in rows] == [
        ("德清百德机械", "锅炉房 Boiler room"), ("=cmd|' /C calc'!A0", None)]
    assert len(before["hazard_enterprise_names"]) == 2

    # the CSV: instants UTC, the local day beside, booleans by language
    table = list(csv.DictReader(io.StringIO(export.FORMATS["csv"][0](rows, SHANGHAI, "zh")
                                            .decode("utf-8-sig"))))
    assert table[0]["企业名称 enterprise"] == "德清百德机械"
    assert table[0]["发现时间 found at (UTC)"] == "2026-11-30T16:30:00.000000Z"
    assert table[0]["发现日期 found on (Asia/Shanghai)"] == "2026-12-01"
    assert [r["是否逾期 overdue"] for r in table] == ["否", "否"]
    assert [r["企业名称 enterprise"] for r in table][1] == "'=cmd|' /C calc'!A0"   # inert
    english = list(csv.DictReader(io.StringIO(export.FORMATS["csv"][0](rows, SHANGHAI)
                                              .decode("utf-8-sig"))))
    assert [(r["是否逾期 overdue"], r["挂牌督办 listed"]) for r in english] == [("false", "false")] * 2
    assert english[0]["整改费用(元) cost (CNY)"] == "860.50"

    # the XLSX: real cells
    sheet = openpyxl.load_workbook(io.BytesIO(export.FORMATS["xlsx"][0](rows, SHANGHAI))).active
    header = [c.value for c in sheet[1]]
    cell = dict(zip(header, sheet[2]))
    assert cell["发现时间 found at (Asia/Shanghai)"].value == datetime(2026, 12, 1, 0, 30)
    assert cell["发现日期 found on (Asia/Shanghai)"].value == datetime(2026, 12, 1)
    assert cell["发现日期 found on (Asia/Shanghai)"].number_format == "yyyy-mm-dd"
    assert cell["整改费用(元) cost (CNY)"].value == 860.5
    assert cell["整改费用(元) cost (CNY)"].number_format == "0.00"
    assert cell["是否逾期 overdue"].value is False and cell["是否逾期 overdue"].data_type == "b"
    assert cell["退回次数 returned"].value == 0 and cell["退回次数 returned"].data_type == "n"
    assert cell["岗位名称 position"].value == "锅炉房 Boiler room"
    assert dict(zip(header, sheet[3]))["企业名称 enterprise"].data_type == "s"   # not a formula
    assert sheet.auto_filter.ref == "A1:AC3" and sheet.freeze_panes == "A2"

    # a renamed position: the later version of its stream wins, in whatever order
    # the registration and the renames arrive
    renames = [registered("PositionUpdated", version=4, position_id="p-2", enterprise_id="e-1",
                          name="二号库房"),
               registered("PositionRegistered", version=1, position_id="p-2",
                          enterprise_id="e-1", name="库房"),
               registered("PositionUpdated", version=3, position_id="p-2", enterprise_id="e-1",
                          name="一号库房"),
               registered("PositionUpdated", version=5, position_id="p-2", enterprise_id="e-1",
                          latitude=30.5)]                      # no name: no change of it
    for event in renames:
        with store.begin() as conn:
            names.receive(conn, event)
    with store.connect() as conn:
        before = names.snapshot(conn)
        assert conn.execute(select(names.position_names.c.name).where(
            names.position_names.c.position_id == "p-2")).scalar() == "二号库房"

    # `make replay` rebuilds the names from the inbox alone
    url = store.engine.url.render_as_string(hide_password=False)
    with store.engine.begin() as conn:
        conn.execute(names.enterprise_names.update().values(name="drifted"))
    assert cli.main(["replay", "--database-url", url]) == 0
    with store.connect() as conn:
        assert names.snapshot(conn) == before
        assert names.named(conn, ledger.rows_for_export(conn, query(sort="found_at"), 10)) == rows
