"""Scoring's clock: the day every window slides to, so an enterprise that
stops recording falls; and the monthly statement of every score.

The clock is a stream of scoring's own private events, ScoringClockAdvanced
{day}, appended with optimistic concurrency: replicas stepping it together
record one step, and a day not after the clock's is no step at all. After a
step, `catch_up` re-evaluates every score that is behind the clock and
`state_month` makes the open month's GradeStated; each enterprise in its own
short transaction, and both look only at what is still to be done, so after
a crash the next step (or the next timer tick) just carries on."""
from sqlalchemy import and_, exists, select

from einspection import days, eventstore
from einspection.contract import new_event
from einspection.db import lock_row
from einspection.errors import ConcurrencyConflict

from . import projection
from .projection import CLOCK_STREAM, scores, statements

# A step that lost a race is tried again with the clock the winner left:
# usually it then is no step at all.
ADVANCE_ATTEMPTS = 3


def advance(store, day):
    """Step the clock to `day`. Returns the ScoringClockAdvanced recorded, or
    None if the clock is already at `day` or later."""
    for _ in range(ADVANCE_ATTEMPTS):
        try:
            with store.begin() as conn:
                state = projection.clock_state(conn)
                if state is not None and day <= state.day:
                    return None
                step = new_event("ScoringClockAdvanced", {"day": day}, actor="scoring")
                eventstore.append(conn, CLOCK_STREAM, state.version if state else 0, [step])
                projection.apply_clock(conn, step)
                return step
        except ConcurrencyConflict:
            continue
    return None


def catch_up(store, rules):
    """Re-evaluate every stored score evaluated as of a day before the
    clock's; returns the GradeAssigned events recorded (grade changed)."""
    with store.connect() as conn:
        state = projection.clock_state(conn)
        if state is None:
            return []
        behind = conn.execute(select(scores.c.enterprise_id)
                              .where(scores.c.as_of < state.day.isoformat())
                              .order_by(scores.c.enterprise_id)).scalars().all()
    assigned = []
    for enterprise_id in behind:
        with store.begin() as conn:
            grade_event = _catch_up_one(conn, rules, enterprise_id)
        if grade_event is not None:
            assigned.append(grade_event)
    return assigned


def _catch_up_one(conn, rules, enterprise_id):
    row = lock_row(conn, select(scores).where(scores.c.enterprise_id == enterprise_id))
    state = projection.clock_state(conn)
    if row is None or row.as_of >= state.day.isoformat():
        return None                       # another process caught it up meanwhile
    return projection.rescore(conn, rules, row, row.first_event_time, row.last_event_time,
                              row.events_applied, correlation_id=state.event_id,
                              causation_id=state.event_id)


def state_month(store, rules):
    """GradeStated for the clock's open period, for every enterprise that had
    a score before the period ended and has no statement for it yet; returns
    the statements made."""
    with store.connect() as conn:
        state = projection.clock_state(conn)
        if state is None:
            return []
        period_end = days.start_of(state.period_day.replace(day=1), days.deployment_zone())
        stated = exists().where(and_(statements.c.enterprise_id == scores.c.enterprise_id,
                                     statements.c.period == state.period))
        due = conn.execute(select(scores.c.enterprise_id)
                           .where(scores.c.first_event_time < period_end, ~stated)
                           .order_by(scores.c.enterprise_id)).scalars().all()
    made = []
    for enterprise_id in due:
        try:
            with store.begin() as conn:
                statement = _state_one(conn, rules, enterprise_id, state)
        except ConcurrencyConflict:
            continue                      # another process stated it first
        if statement is not None:
            made.append(statement)
    return made


def _state_one(conn, rules, enterprise_id, state):
    done = conn.execute(select(statements.c.event_id).where(
        statements.c.enterprise_id == enterprise_id,
        statements.c.period == state.period)).first()
    if done is not None:
        return None
    previous_grade = conn.execute(
        select(statements.c.grade)
        .where(statements.c.enterprise_id == enterprise_id, statements.c.period < state.period)
        .order_by(statements.c.period.desc()).limit(1)).scalar()
    evaluation = projection.evaluate(conn, rules, enterprise_id, state.period_day)
    statement = new_event(
        "GradeStated",
        dict(projection.grade_data(enterprise_id, evaluation, previous_grade),
             period=state.period),
        actor="scoring", correlation_id=state.period_event_id,
        causation_id=state.period_event_id, time=projection.dated(state.period_day))
    # Version 0 of its own stream: one statement per enterprise and period, ever.
    eventstore.append(conn, "statement-%s-%s" % (enterprise_id, state.period), 0, [statement])
    projection.record_statement(conn, statement)
    return statement


def step(store, rules, day):
    """Advance to `day` if it is later than the clock, then do whatever is
    left: catch scores up, state the month. What a timer tick and an
    operator's `advance_clock` do."""
    advanced = advance(store, day)
    assigned = catch_up(store, rules)
    stated = state_month(store, rules)
    with store.connect() as conn:
        state = projection.clock_state(conn)
    return {"day": state.day.isoformat() if state else None,
            "advanced": advanced is not None,
            "period": state.period if state else None,
            "grades_assigned": len(assigned), "statements": len(stated)}
