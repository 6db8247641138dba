"""Overdue citation abatement in scoring (rule set 2026.3), on SQLite and
PostgreSQL: each CitationAbatementOverdue takes half a point off
rectification on time, explained with its rule version; a redelivery counts
once; a withdrawal after the mark takes it back, whichever arrives first; the
withdrawals of citations never overdue (imported records) make no score;
a replay rebuilds identical rows."""
import json
import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from einspection import eventstore
from einspection.contract import Event, new_event
from einspection.db import make_engine
from services.scoring import cli, projection
from services.scoring.rules import load_rules

FIRM = "e-cited"
NOW = datetime(2026, 11, 20, 2, tzinfo=timezone.utc)


def overdue(citation_id, days_ago):
    day = (NOW - timedelta(days=days_ago)).date()
    return new_event("CitationAbatementOverdue", {
        "case_id": "case-1", "enterprise_id": FIRM, "citation_id": citation_id,
        "clause": "《安全生产法》第九十九条", "violation_class": "serious",
        "abatement_date": day - timedelta(days=1),
        "overdue_since": datetime.combine(day, datetime.min.time(), timezone.utc)
        - timedelta(hours=8), "hazard_ids": [], "detected_at": NOW - timedelta(days=days_ago)},
        actor="enforcement-service", time=NOW - timedelta(days=days_ago))


def withdrawn(citation_id, was_overdue=True, enterprise_id=FIRM):
    return new_event("CitationWithdrawn", {
        "case_id": "case-1", "enterprise_id": enterprise_id, "citation_id": citation_id,
        "reason": "复议撤销", "withdrawn_at": NOW, "abatement_overdue": was_overdue},
        actor="zhao.inspector", time=NOW)


def handle(engine, event):
    with engine.begin() as conn:        # through its wire form, as from the bus
        return projection.handle(conn, Event.from_json(event.to_json()), load_rules())


def rectification(engine, enterprise_id=FIRM):
    with engine.connect() as conn:
        view = projection.score_view(conn, enterprise_id)
    return view, {i["key"]: i for i in view["indicators"]}["rectification_on_time"]


def feed(url, events):
    engine = make_engine(url)
    eventstore.create_tables(engine, projection.metadata)
    for event in events:
        handle(engine, event)
    return engine


def test_overdue_citations_are_deducted_once_and_a_withdrawal_takes_it_back(backend,
                                                                             databases):
    engine = feed(databases.url(backend, "abatement"), [])
    first, second, third = overdue("c-1", 10), overdue("c-2", 5), overdue("c-3", 2)
    for event in (first, second):
        handle(engine, event)
        handle(engine, event)                             # a redelivery counts once
    view, indicator = rectification(engine)
    assert view["rule_version"] == "2026.4"
    [deduction] = indicator["deductions"]
    assert (deduction["count"], deduction["points"], deduction["rule_version"]) == (
        2, "-1.00", "2026.4")
    assert deduction["detail"] == {"citations": ["c-1", "c-2"]}
    assert "2026.4" in deduction["why"] and "共扣1.00分" in deduction["i18n"]["zh"]["why"]
    assert indicator["points"] == "1.50"                # 2.50 (nothing fell due) − 1.00
    handle(engine, third)
    handle(engine, withdrawn("c-2"))
    _, indicator = rectification(engine)
    assert indicator["deductions"][0]["detail"] == {"citations": ["c-1", "c-3"]}
    # a citation never overdue (an imported record's withdrawal) makes no score row
    handle(engine, withdrawn("c-7", was_overdue=False, enterprise_id="e-osha"))
    with engine.connect() as conn:
        assert "e-osha" not in projection.snapshot(conn)
        assert sorted(conn.execute(select(projection.citation_facts.c.citation_id)).scalars()) \
            == ["c-1", "c-2", "c-3"]

    with engine.connect() as conn:
        before = projection.snapshot(conn)
    assert cli.main(["replay", "--database-url", databases.url(backend, "abatement")]) == 0
    with engine.connect() as conn:
        assert projection.snapshot(conn) == before
        stored = json.loads(projection.snapshot(conn)[FIRM][3])
    assert stored["rule_version"] == "2026.4"


def test_a_withdrawal_before_its_mark_gives_the_same_score(backend, databases):
    events = [overdue("c-1", 10), overdue("c-2", 5), withdrawn("c-2")]
    ordered = feed(databases.url(backend, "cited_ordered"), events)
    backwards = feed(databases.url(backend, "cited_backwards"), list(reversed(events)))
    shuffled = list(events)
    random.Random(5).shuffle(shuffled)
    again = feed(databases.url(backend, "cited_shuffled"), shuffled + shuffled)
    with ordered.connect() as a, backwards.connect() as b, again.connect() as c:
        assert projection.snapshot(a) == projection.snapshot(b) == projection.snapshot(c)
    _, indicator = rectification(ordered)
    assert indicator["deductions"][0]["count"] == 1
    assert date.fromisoformat(rectification(ordered)[0]["as_of"]) == NOW.date()
