"""An overdue citation abatement in notify, on SQLite and PostgreSQL: the
enterprise and its grid are told once, in Chinese by default, however often
the event arrives (a redelivery, a second notify process); an event ahead of
its enterprise waits for it; a rebuild gives the same read models."""
from datetime import date, datetime, timezone

import pytest

from einspection import eventstore
from einspection.contract import new_event
from einspection.db import reading
from einspection.errors import ConcurrencyConflict
from services.notify import model

from .test_notify_store import handle, inbox, registered

DETECTED = datetime(2026, 3, 21, 0, 1, tzinfo=timezone.utc)


def overdue(citation_id="c-1", enterprise_id="e-1"):
    return new_event("CitationAbatementOverdue", {
        "case_id": "case-7", "enterprise_id": enterprise_id, "citation_id": citation_id,
        "clause": "《安全生产法》第九十九条", "violation_class": "serious",
        "abatement_date": date(2026, 3, 20),
        "overdue_since": datetime(2026, 3, 20, 16, tzinfo=timezone.utc),
        "hazard_ids": ["h-3"], "detected_at": DETECTED}, actor="enforcement-service")


def kinds(engine, recipient):
    return sorted(notice["kind"] for notice in inbox(engine, recipient))


def test_an_overdue_abatement_reaches_the_enterprise_and_its_grid_once(engine):
    handle(engine, registered())
    first, second = overdue("c-1"), overdue("c-2")
    for event in (first, second):
        assert handle(engine, event) is True
        assert handle(engine, event) is False              # a redelivery does nothing
    assert kinds(engine, "enterprise:e-1") == ["abatement_overdue"] * 2
    assert kinds(engine, "grid:Wukang-1") == ["abatement_overdue"] * 2
    assert kinds(engine, "authority") == []
    # a second notify process past the inbox: the notices' ids derive from
    # (event, recipient), so its transaction conflicts
    with engine.begin() as conn:
        conn.execute(eventstore.inbox.delete().where(eventstore.inbox.c.event_id == first.id))
    with pytest.raises(ConcurrencyConflict):
        handle(engine, first)
    assert kinds(engine, "grid:Wukang-1") == ["abatement_overdue"] * 2
    [notice] = [n for n in inbox(engine, "grid:Wukang-1") if n["cause_event_id"] == first.id]
    assert notice["language"] == "zh"
    assert notice["title"] == "Baide Fabrics e-1执法检查违法行为逾期未整改"
    assert "整改期限2026-03-20" in notice["body"]
    assert "违反条款：《安全生产法》第九十九条" in notice["body"]
    assert "关联隐患：h-3" in notice["body"] and "案件编号：case-7" in notice["body"]

    with reading(engine) as conn:
        before = model.snapshot(conn)
    model.rebuild(engine)
    with reading(engine) as conn:
        assert model.snapshot(conn) == before


def test_an_overdue_abatement_waits_for_its_enterprise(engine):
    assert handle(engine, overdue(enterprise_id="e-5")) is False
    assert inbox(engine, "enterprise:e-5") == []
    assert handle(engine, registered("e-5", grid="Xinshi-2")) is True
    assert kinds(engine, "enterprise:e-5") == ["abatement_overdue"]
    assert kinds(engine, "grid:Xinshi-2") == ["abatement_overdue"]
