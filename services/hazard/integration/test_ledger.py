"""The hazard service's store side on SQLite and PostgreSQL: events, ledger and
inbox in one transaction; hazards from inspections once; overdue once."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import new_event, utcnow
from einspection.db import make_engine
from einspection.errors import ConcurrencyConflict, Conflict, InvalidCommand
from einspection.nameko_glue import StoreHandle
from services.hazard import cli, commands, evidence, export, ledger, verification
from services.hazard.domain import hazard_id_for_item
from services.hazard.schemas import LedgerQuery

NOW = utcnow()
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
        exported = export.FORMATS["csv"][0](ledger.rows_for_export(conn, query(), 10))
    assert (row["status"], row["closed_by"]) == ("closed", "chen.grid")
    assert "reported by (account)" in exported.decode("utf-8-sig") and b"li.manager" in exported
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
