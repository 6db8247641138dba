"""Drop the scoring projection, replay the received events, get the same
scores to the last digit; and the same events in any order give the same
projection (what lets several scoring processes share one queue)."""
import random
from datetime import date

import pytest

from einspection import eventstore
from einspection.db import make_engine
from services.scoring import cli, projection
from services.scoring.rules import load_rules
from tests.eventgen import activity

EVENTS = 1000


def feed(url, events, batch=100):
    """As the consumer does, but `batch` events a transaction (faster; the
    projection does not care how events are grouped)."""
    engine = make_engine(url)
    eventstore.create_tables(engine, projection.metadata)
    grades = 0
    for start in range(0, len(events), batch):
        with engine.begin() as conn:
            for event in events[start:start + batch]:
                grades += projection.handle(conn, event, load_rules()) is not None
    return engine, grades


def as_of_scores(engine, days):
    rules = load_rules()
    with engine.connect() as conn:
        enterprises = sorted(projection.snapshot(conn))
        return {(e, d): projection.evaluate(conn, rules, e, d) for e in enterprises for d in days}


@pytest.fixture
def events():
    return activity(EVENTS, enterprises=15, seed=11)


def test_replay_rebuilds_identical_scores(backend, databases, events):
    url = databases.url(backend, "scoring")
    engine, grades = feed(url, events)
    assert grades > 0                                 # grade changes were recorded as events
    days = [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30), date(2026, 9, 1)]
    with engine.connect() as conn:
        before = projection.snapshot(conn)
    before_as_of = as_of_scores(engine, days)
    assert len(before) == 15

    assert cli.main(["replay", "--database-url", url]) == 0

    with engine.connect() as conn:
        after = projection.snapshot(conn)
        inbox = len(eventstore.received_events(conn, projection.CONSUMER, 0, EVENTS * 2))
    assert inbox == EVENTS
    assert after == before
    assert as_of_scores(engine, days) == before_as_of


def test_the_same_events_in_another_order_give_the_same_projection(backend, databases, events):
    events = events[:1500]
    in_order, _ = feed(databases.url(backend, "ordered"), events)
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    out_of_order, _ = feed(databases.url(backend, "shuffled"), shuffled + shuffled[:200])
    with in_order.connect() as a, out_of_order.connect() as b:
        assert projection.snapshot(a) == projection.snapshot(b)


def test_a_returned_rectification_does_not_count_until_redone(backend, databases):
    """report → rectified in time → returned → redone after the deadline: late.
    Fed in reverse, the result is the same (steps fold in stream order)."""
    from datetime import datetime, timedelta, timezone

    from einspection.contract import new_event
    found = datetime(2026, 10, 1, 8, tzinfo=timezone.utc)
    deadline = found + timedelta(days=7)
    common = {"hazard_id": "h-1", "enterprise_id": "e-1"}
    life = [
        new_event("HazardReported", dict(common, position_id=None, level="general",
                                         category="fire", description="blocked exit",
                                         found_at=found, reported_at=found, reporter="li",
                                         rectification_deadline=deadline), actor="t", time=found),
        new_event("RectificationDone", dict(common, measures="moved boxes",
                                            done_at=found + timedelta(days=2)), actor="t"),
        new_event("HazardReturned", dict(common, returned_at=found + timedelta(days=3),
                                         reason="boxes are back", verifier="grid"), actor="t"),
        new_event("RectificationDone", dict(common, measures="shelving installed",
                                            done_at=found + timedelta(days=9)), actor="t"),
    ]
    for version, event in enumerate(life, start=1):
        event.stream_id, event.stream_version = "hazard-h-1", version
        event.time = found + timedelta(days=version)
    as_of = date(2026, 10, 31)

    def rectification(events, name):
        engine, _ = feed(databases.url(backend, name), events)
        with engine.connect() as conn:
            score = projection.evaluate(conn, load_rules(), "e-1", as_of)
        return {i["key"]: i for i in score["indicators"]}["rectification_on_time"]

    forward = rectification(life, "forward")
    assert forward["detail"] == {"hazards_due": 1, "rectified_on_time": 0,
                                 "majors_late_or_open": 0}
    assert rectification(life[:3], "returned")["detail"]["rectified_on_time"] == 0
    assert rectification(life[:2], "rectified")["detail"]["rectified_on_time"] == 1
    assert rectification(list(reversed(life)), "reversed") == forward


def test_a_position_given_a_checklist_or_retired_counts_so_in_any_order(backend, databases):
    """The standardisation indicator's positions follow PositionUpdated
    (its checklists) and PositionRetired (no longer counted), whichever
    comes first."""
    from datetime import datetime, timezone

    from einspection.contract import new_event
    at = datetime(2026, 10, 1, 8, tzinfo=timezone.utc)

    def made(name, data):
        return new_event(name, dict(data, enterprise_id="e-pos"), actor="test", time=at)
    events = [made("EnterpriseRegistered", {
        "credit_code": "91330521MA2B3C4D5Q", "name": "Positions Ltd", "industry": "textiles",
        "town": "Wukang", "grid": "grid-1", "registered_at": at})]
    for number in range(3):
        events.append(made("PositionRegistered", {"position_id": "p-%d" % number,
                                                  "name": "Workshop", "checklist_ids": []}))
    events += [made("PositionUpdated", {"position_id": "p-0", "checklist_ids": ["c-1"],
                                        "updated_at": at}),
               made("PositionUpdated", {"position_id": "p-2", "name": "Renamed",
                                        "updated_at": at}),
               made("PositionRetired", {"position_id": "p-1", "reason": "", "retired_at": at})]
    for name, order in (("forwards", events), ("backwards", events[:1] + events[:0:-1])):
        engine, _ = feed(databases.url(backend, "positions-" + name), order)
        with engine.connect() as conn:
            rows = conn.execute(projection.POSITIONS_QUERY, {"enterprise_id": "e-pos"}).all()
        engine.dispose()
        assert [(r.position_id, bool(r.has_checklist)) for r in rows] == [
            ("p-0", True), ("p-2", False)], name
