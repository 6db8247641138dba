"""Listed supervision (挂牌督办) in notify, on SQLite and PostgreSQL: the
listing and its sign-off reach the enterprise and its grid, each reminder
the enterprise, its grid and the authority — once, however often the event
arrives (a redelivery, a second notify process) — in Chinese by default;
a rebuild gives the same read models."""
from datetime import timedelta

import pytest

from einspection import eventstore
from einspection.contract import new_event, utcnow
from einspection.errors import ConcurrencyConflict
from einspection.db import reading
from services.notify import model, policy

from .test_notify_store import handle, inbox, registered

NOW = utcnow()
DEADLINE = NOW + timedelta(days=7, hours=2)


def listed(hazard_id="h-9"):
    return new_event("HazardListed", {
        "hazard_id": hazard_id, "enterprise_id": "e-1", "listed_at": NOW, "deadline": DEADLINE,
        "office": "县应急管理局执法大队", "reason": "消防主管道阀门关闭"}, actor="zhao.inspector")


def due(days_before, days_left, hazard_id="h-9"):
    return new_event("HazardListingDue", {
        "hazard_id": hazard_id, "enterprise_id": "e-1", "deadline": DEADLINE,
        "office": "县应急管理局执法大队", "days_before": days_before, "days_left": days_left,
        "detected_at": NOW}, actor="hazard-service")


def delisted(hazard_id="h-9"):
    return new_event("HazardDelisted", {
        "hazard_id": hazard_id, "enterprise_id": "e-1", "delisted_at": NOW,
        "note": "复查合格"}, actor="sun.admin")


def kinds(engine, recipient):
    return sorted(notice["kind"] for notice in inbox(engine, recipient))


def test_listing_reminders_and_sign_off_reach_whom_they_concern_once(engine):
    handle(engine, registered())
    listing, seven, one, today, off = listed(), due(7, 7), due(1, 1), due(0, 0), delisted()
    for event in (listing, seven, one, today, off):
        assert handle(engine, event) is True
        assert handle(engine, event) is False              # a redelivery does nothing
    assert kinds(engine, "enterprise:e-1") == ["delisted", "listed"] + ["listing_due"] * 3
    assert kinds(engine, "grid:Wukang-1") == ["delisted", "listed"] + ["listing_due"] * 3
    assert kinds(engine, "authority") == ["listing_due"] * 3
    # a second notify process that took the same event past the inbox (as if
    # its receipt were lost): the notices' ids are derived from (event,
    # recipient), so its transaction conflicts and nothing is issued twice
    with engine.begin() as conn:
        conn.execute(eventstore.inbox.delete().where(eventstore.inbox.c.event_id == seven.id))
    with pytest.raises(ConcurrencyConflict):
        handle(engine, seven)
    assert kinds(engine, "authority") == ["listing_due"] * 3
    [enterprise_listing] = [n for n in inbox(engine, "enterprise:e-1") if n["kind"] == "listed"]
    assert enterprise_listing["language"] == "zh"
    assert enterprise_listing["title"] == "Baide Fabrics e-1重大隐患挂牌督办"
    assert "督办单位：县应急管理局执法大队" in enterprise_listing["body"]
    reminders = {n["cause_event_id"]: n for n in inbox(engine, "authority")}
    assert reminders[seven.id]["title"].endswith("距整改期限还有7天")
    assert reminders[today.id]["title"].endswith("今日到期")
    [sign_off] = [n for n in inbox(engine, "grid:Wukang-1") if n["kind"] == "delisted"]
    assert "签字：sun.admin" in sign_off["body"]

    with reading(engine) as conn:
        before = model.snapshot(conn)
    model.rebuild(engine)
    with reading(engine) as conn:
        assert model.snapshot(conn) == before


def test_a_listing_waits_for_its_enterprise(engine):
    assert handle(engine, listed("h-10")) is False
    assert inbox(engine, "enterprise:e-1") == []
    assert handle(engine, registered()) is True
    assert kinds(engine, "enterprise:e-1") == ["listed"]
    assert policy.needs_grid(due(1, 1))
