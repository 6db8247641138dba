"""Scoring's clock slides every window with time: a clock step re-evaluates
the scores behind it (an enterprise that stopped recording falls, and says so
in GradeAssigned), a step into a new month states every score once for the
month that ended (GradeStated), and a replay gives the same projection."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from einspection import eventstore
from einspection.contract import new_event
from einspection.db import make_engine
from services.scoring import cli, clock, projection
from services.scoring.rules import load_rules

RULES = load_rules()
STEADY, NEWCOMER = "e-steady", "e-newcomer"


def at(day, hour=9):
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def event(name, data, time):
    return new_event(name, data, actor="test", time=time)


def registered(enterprise_id, name, time):
    return event("EnterpriseRegistered", {
        "enterprise_id": enterprise_id, "credit_code": "91330521MA2B3C4D5Q", "name": name,
        "industry": "textiles", "town": "Wukang", "grid": "Wukang-1",
        "registered_at": time}, time)


def position(enterprise_id, number, time):
    return event("PositionRegistered", {
        "position_id": "%s-p%d" % (enterprise_id, number), "enterprise_id": enterprise_id,
        "name": "Workshop %d" % number, "checklist_ids": ["c-1"]}, time)


def inspection(enterprise_id, number, completed_at):
    return event("InspectionLogged", {
        "inspection_id": "%s-i%d" % (enterprise_id, number), "enterprise_id": enterprise_id,
        "position_id": "%s-p%d" % (enterprise_id, number % 2), "checklist_id": "c-1",
        "checklist_version": 1, "kind": "self", "started_at": completed_at,
        "completed_at": completed_at, "items_passed": 4, "items_failed": 0,
        "items_not_applicable": 0, "inspector": "wang.wei"}, completed_at)


def training(enterprise_id, number, held_on):
    return event("SafetyActionRecorded", {
        "action_id": "%s-a%d" % (enterprise_id, number), "enterprise_id": enterprise_id,
        "kind": "training", "topic": "fire extinguishers", "held_on": held_on,
        "recorded_by": "safety.manager"}, at(held_on))


# Steady recorded from September to 10 October, then stopped: two positions
# with a checklist, self-inspected alternately every third day (1 Sep … 10 Oct:
# 14 inspections), a training each week of September.
INSPECTED = [date(2026, 9, 1) + timedelta(days=3 * n) for n in range(14)]
TRAINED = [date(2026, 9, 5), date(2026, 9, 12), date(2026, 9, 19), date(2026, 9, 26)]


def steady_events():
    start = at(date(2026, 8, 20))
    return ([registered(STEADY, "Steady Dyeing", start), position(STEADY, 0, start),
             position(STEADY, 1, start)]
            + [inspection(STEADY, n, at(day)) for n, day in enumerate(INSPECTED)]
            + [training(STEADY, n, day) for n, day in enumerate(TRAINED)])


def newcomer_events():
    first = at(date(2026, 12, 22))
    return [registered(NEWCOMER, "Newcomer Plastics", first), position(NEWCOMER, 0, first)]


def feed(engine, events):
    changed = []
    for each in events:
        with engine.begin() as conn:
            grade_event = projection.handle(conn, each, RULES)
        if grade_event is not None:
            changed.append(grade_event)
    return changed


def stored(engine, enterprise_id):
    with engine.connect() as conn:
        return projection.score_view(conn, enterprise_id)


def own_events(engine, name):
    with engine.connect() as conn:
        return [e for _, e in eventstore.read_all(conn, 0, 10000) if e.name == name]


def state(engine):
    with engine.connect() as conn:
        clock_row = projection.clock_state(conn)
        made = conn.execute(select(projection.statements)
                            .order_by(projection.statements.c.enterprise_id,
                                      projection.statements.c.period)).all()
        return (tuple(clock_row), [tuple(row) for row in made], projection.snapshot(conn))


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "clock"))
    eventstore.create_tables(engine, projection.metadata)
    yield engine
    engine.dispose()


def test_the_window_slides_with_the_clock_states_each_month_once_and_replays(engine,
                                                                            databases):
    feed(engine, steady_events())
    score = stored(engine, STEADY)
    # as of its latest event, 10 Oct (window 11 Jul … 10 Oct, 92 days):
    # timeliness nothing to measure 0.5 × 2 = 1.00; rectification nothing due 2.50;
    # 14 inspections ≥ 92/7 = 13.14 expected: 2.00; 4 trainings ≥ 92/30.4375 = 3.02:
    # 1.50; no daily record 0; both positions inspected 1.00 → 8.00, B
    assert (score["as_of"], score["points"], score["grade"]) == ("2026-10-10", "8.00", "B")

    # First clock step, to 20 Dec: window 21 Sep … 20 Dec, 91 days.
    # Inspections 22 Sep … 10 Oct: 7 against 91/7 = 13 → 0.5385 × 2 = 1.08;
    # trainings: 26 Sep, 1 against 91/30.4375 = 2.9897 → 0.3345 × 1.5 = 0.50;
    # both positions still inspected → 1.00. 1.00 + 2.50 + 1.08 + 0.50 + 0 + 1.00 = 6.08, D
    outcome = clock.step(engine, RULES, date(2026, 12, 20))
    assert outcome == {"day": "2026-12-20", "advanced": True, "period": "2026-11",
                       "grades_assigned": 1, "statements": 1}
    score = stored(engine, STEADY)
    assert (score["as_of"], score["points"], score["grade"]) == ("2026-12-20", "6.08", "D")
    [step] = own_events(engine, "ScoringClockAdvanced")
    [fell] = own_events(engine, "GradeAssigned")[-1:]
    assert (fell.data["previous_grade"], fell.data["grade"]) == ("B", "D")
    assert fell.causation_id == step.id and fell.data["as_of"] == date(2026, 12, 20)
    # the first step states November as of the step's day
    [november] = own_events(engine, "GradeStated")
    assert november.stream_id == "statement-%s-2026-11" % STEADY
    assert (november.data["period"], november.data["points"], november.data["grade"],
            november.data["previous_grade"]) == ("2026-11", "6.08", "D", None)
    assert {i["key"]: i["i18n"]["zh"]["advice"] for i in november.data["indicators"]}[
        "daily_management"] == "增加日常管理记录"

    # An enterprise whose first event comes after the step is scored as of the
    # clock's day or its own event's, whichever is later; it had no score in
    # November, so it gets no statement for November.
    feed(engine, newcomer_events())
    assert stored(engine, NEWCOMER)["as_of"] == "2026-12-22"

    # Within the month: no statement. 28 Dec: window 29 Sep … 28 Dec (91 days),
    # inspections 1 … 10 Oct: 4 / 13 = 0.3077 → 0.62, no training, both positions
    # inspected: 1.00 + 2.50 + 0.62 + 0 + 0 + 1.00 = 5.12, E
    assert clock.step(engine, RULES, date(2026, 12, 28)) == {
        "day": "2026-12-28", "advanced": True, "period": "2026-11", "grades_assigned": 1,
        "statements": 0}
    assert stored(engine, STEADY)["points"] == "5.12"
    assert stored(engine, NEWCOMER)["as_of"] == "2026-12-28"

    # Into January: December is stated for both, each once, as of 2 Jan (window
    # 3 Oct … 2 Jan, 92 days: 3 inspections / 13.14 = 0.2283 → 0.46; 4.96 E).
    assert clock.step(engine, RULES, date(2027, 1, 2))["statements"] == 2
    december = {e.subject: e.data for e in own_events(engine, "GradeStated")
                if e.data["period"] == "2026-12"}
    assert (december[STEADY]["points"], december[STEADY]["grade"],
            december[STEADY]["previous_grade"]) == ("4.96", "E", "D")
    assert december[NEWCOMER]["previous_grade"] is None

    # A day not after the clock's is no step; nothing is stated twice.
    assert clock.step(engine, RULES, date(2027, 1, 2)) == {
        "day": "2027-01-02", "advanced": False, "period": "2026-12", "grades_assigned": 0,
        "statements": 0}
    assert clock.step(engine, RULES, date(2026, 12, 1))["day"] == "2027-01-02"
    assert len(own_events(engine, "ScoringClockAdvanced")) == 3
    assert len(own_events(engine, "GradeStated")) == 3

    # Replay: the projection, the clock and the statements come out the same.
    before = state(engine)
    assert cli.main(["replay", "--database-url", engine.url.render_as_string(False)]) == 0
    assert state(engine) == before


def test_events_and_clock_steps_in_any_order_give_the_same_scores(backend, databases):
    events = steady_events() + newcomer_events()
    days = [date(2026, 12, 20), date(2026, 12, 28)]
    events_first = make_engine(databases.url(backend, "events_first"))
    clock_first = make_engine(databases.url(backend, "clock_first"))
    for engine in (events_first, clock_first):
        eventstore.create_tables(engine, projection.metadata)
    feed(events_first, events)
    for day in days:
        clock.step(events_first, RULES, day)
    clock.step(clock_first, RULES, days[0])
    feed(clock_first, events[::-1])
    clock.step(clock_first, RULES, days[1])
    with events_first.connect() as a, clock_first.connect() as b:
        assert projection.snapshot(a) == projection.snapshot(b)
    for engine in (events_first, clock_first):
        engine.dispose()


def test_replicas_stepping_together_record_one_step(engine, monkeypatch):
    feed(engine, steady_events())
    assert clock.advance(engine, date(2026, 12, 20)) is not None
    # The other replica read the clock before the first one's step committed:
    # its append conflicts, and with the clock it then reads, it has nothing to do.
    real_state = projection.clock_state
    reads = []

    def stale_then_real(conn):
        reads.append(1)
        return None if len(reads) == 1 else real_state(conn)
    monkeypatch.setattr(projection, "clock_state", stale_then_real)
    assert clock.advance(engine, date(2026, 12, 20)) is None
    monkeypatch.undo()
    with engine.connect() as conn:
        assert [e.data["day"] for e in eventstore.load_stream(conn, projection.CLOCK_STREAM)] \
            == [date(2026, 12, 20)]


def test_a_crash_after_the_step_is_repaired_by_the_next_tick(engine):
    feed(engine, steady_events())
    clock.advance(engine, date(2026, 12, 20))       # the process died right after this
    assert stored(engine, STEADY)["as_of"] == "2026-10-10"
    # after the restart the timer ticks with the same day: no new step, but the
    # score catches up and November is stated
    assert clock.step(engine, RULES, date(2026, 12, 20)) == {
        "day": "2026-12-20", "advanced": False, "period": "2026-11", "grades_assigned": 1,
        "statements": 1}
    assert stored(engine, STEADY)["as_of"] == "2026-12-20"


def test_the_operator_steps_the_clock_from_the_command_line(engine, capsys):
    feed(engine, steady_events())
    url = engine.url.render_as_string(False)
    assert cli.main(["advance-clock", "--to", "2026-12-20", "--database-url", url]) == 0
    assert "clock at 2026-12-20 (stepped); 1 grades changed, 1 statements for 2026-11" \
        in capsys.readouterr().out
    assert stored(engine, STEADY)["as_of"] == "2026-12-20"
    with pytest.raises(SystemExit):
        cli.main(["advance-clock", "--to", "20 Dec", "--database-url", url])
    assert "must be a date" in capsys.readouterr().err
