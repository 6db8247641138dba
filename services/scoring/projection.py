"""The scoring projection: per enterprise, the facts the rules measure and
the score they give.

Order-proof by design, so any number of scoring processes can share one
queue: every fact is keyed by its own id and merged (a rectification that
overtakes its report just fills in its column), and the score is recomputed
from all facts under a lock on the enterprise's row. The same set of events
gives the same projection, whatever order they arrived in."""
import json
from datetime import timezone

from sqlalchemy import (Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text,
                        and_, bindparam, or_, select)

from einspection import eventstore
from einspection.contract import new_event
from einspection.db import lock_row, upsert
from einspection.projection import paged

from . import rules as scoring_rules

CONSUMER = "scoring"

metadata = MetaData()

enterprises = Table(
    "score_enterprises", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("name", String(200)), Column("industry", String(100)),
    Column("town", String(100)), Column("grid", String(100)),
)

hazard_facts = Table(
    "hazard_facts", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("level", String(16)),
    Column("found_at", DateTime(timezone=True)),
    Column("reported_at", DateTime(timezone=True)),
    Column("deadline", DateTime(timezone=True)),
)

# Each step of a hazard's life after its report, keyed by its version in the
# hazard's stream: a set, so arrival order cannot matter; folded in version
# order when the score is computed.
hazard_steps = Table(
    "hazard_steps", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("stream_version", Integer, primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("step", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

STEPS = {"RectificationDone": ("rectified", "done_at"),
         "HazardReturned": ("returned", "returned_at"),
         "HazardVerified": ("verified", "verified_at"),
         "HazardOverdue": ("overdue", "detected_at")}
SCORED = {"HazardReported", "InspectionLogged", "SafetyActionRecorded",
          "PositionRegistered"} | set(STEPS)

inspection_facts = Table(
    "inspection_facts", metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("position_id", String(64)),
)

action_facts = Table(
    "action_facts", metadata,
    Column("action_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("held_on", Date, nullable=False),
)

position_facts = Table(
    "position_facts", metadata,
    Column("position_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("has_checklist", Boolean, nullable=False),
)

scores = Table(
    "scores", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("last_event_time", DateTime(timezone=True)),
    Column("as_of", String(10)),
    Column("points", String(8)),
    Column("grade", String(1)),
    Column("rule_version", String(32)),
    Column("evaluation", Text),           # the full explanation, as JSON
    Column("events_applied", Integer, nullable=False, default=0),
)

TABLES = [enterprises, hazard_facts, hazard_steps, inspection_facts, action_facts,
          position_facts, scores]


def _utc(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def apply_fact(conn, event):
    """Merge one event into the facts. Returns True if it bears on the score."""
    data = event.data
    if event.name == "EnterpriseRegistered":
        upsert(conn, enterprises, {k: data[k] for k in
                                   ("enterprise_id", "name", "industry", "town", "grid")},
               ["enterprise_id"], ["name", "industry", "town", "grid"])
        return False
    if event.name == "HazardReported":
        values = {"level": data["level"], "found_at": data["found_at"],
                  "reported_at": data["reported_at"], "deadline": data["rectification_deadline"]}
        upsert(conn, hazard_facts, dict(values, hazard_id=data["hazard_id"],
                                        enterprise_id=data["enterprise_id"]),
               ["hazard_id"], list(values))
    elif event.name in STEPS:
        step, at = STEPS[event.name]
        upsert(conn, hazard_steps, {"hazard_id": data["hazard_id"],
                                    "stream_version": event.stream_version,
                                    "enterprise_id": data["enterprise_id"], "step": step,
                                    "at": data[at]}, ["hazard_id", "stream_version"])
    elif event.name == "InspectionLogged":
        upsert(conn, inspection_facts, {"inspection_id": data["inspection_id"],
                                        "enterprise_id": data["enterprise_id"],
                                        "kind": data["kind"],
                                        "completed_at": data["completed_at"],
                                        "position_id": data["position_id"]},
               ["inspection_id"])
    elif event.name == "SafetyActionRecorded":
        upsert(conn, action_facts, {"action_id": data["action_id"],
                                    "enterprise_id": data["enterprise_id"],
                                    "kind": data["kind"], "held_on": data["held_on"]},
               ["action_id"])
    elif event.name == "PositionRegistered":
        upsert(conn, position_facts, {"position_id": data["position_id"],
                                      "enterprise_id": data["enterprise_id"],
                                      "has_checklist": bool(data["checklist_ids"])},
               ["position_id"])
    else:
        return False
    return True


def _in_window(column):
    return and_(column >= bindparam("start"), column < bindparam("end"))


# Built once: statements with bind parameters skip SQLAlchemy's per-call
# construction, which cost more than the queries themselves.
_HAZARDS_IN_WINDOW = and_(
    hazard_facts.c.enterprise_id == bindparam("enterprise_id"),
    hazard_facts.c.reported_at.is_not(None),          # steps whose report is yet to arrive
    or_(_in_window(hazard_facts.c.reported_at), _in_window(hazard_facts.c.deadline)))
HAZARDS_QUERY = select(hazard_facts).where(_HAZARDS_IN_WINDOW).order_by(hazard_facts.c.hazard_id)
STEPS_QUERY = (select(hazard_steps.c.hazard_id, hazard_steps.c.step, hazard_steps.c.at)
               .join(hazard_facts, hazard_facts.c.hazard_id == hazard_steps.c.hazard_id)
               .where(_HAZARDS_IN_WINDOW)
               .order_by(hazard_steps.c.hazard_id, hazard_steps.c.stream_version))
INSPECTIONS_QUERY = (select(inspection_facts.c.kind, inspection_facts.c.completed_at,
                            inspection_facts.c.position_id)
                     .where(inspection_facts.c.enterprise_id == bindparam("enterprise_id"),
                            _in_window(inspection_facts.c.completed_at))
                     .order_by(inspection_facts.c.inspection_id))
ACTIONS_QUERY = (select(action_facts.c.kind, action_facts.c.held_on)
                 .where(action_facts.c.enterprise_id == bindparam("enterprise_id"),
                        action_facts.c.held_on >= bindparam("first_day"),
                        action_facts.c.held_on <= bindparam("last_day"))
                 .order_by(action_facts.c.action_id))
POSITIONS_QUERY = (select(position_facts.c.position_id, position_facts.c.has_checklist)
                   .where(position_facts.c.enterprise_id == bindparam("enterprise_id"))
                   .order_by(position_facts.c.position_id))


def facts_of(conn, enterprise_id, window):
    """The facts the rules can see in `window`: hazards recorded or due in
    it (with their steps), inspections and safety actions in it, and the
    enterprise's positions. Bounded by three months of activity, however
    long the enterprise's history."""
    params = {"enterprise_id": enterprise_id, "start": window.start_instant,
              "end": window.end_instant, "first_day": window.start, "last_day": window.end}
    steps = {}
    for row in conn.execute(STEPS_QUERY, params):
        steps.setdefault(row.hazard_id, []).append((row.step, _utc(row.at)))
    hazards = []
    for r in conn.execute(HAZARDS_QUERY, params):
        rectified_at = None
        for step, at in steps.get(r.hazard_id, []):
            if step == "rectified":
                rectified_at = at
            elif step == "returned":
                rectified_at = None   # the rectification did not hold
        hazards.append(scoring_rules.HazardFact(
            found_at=_utc(r.found_at), reported_at=_utc(r.reported_at),
            deadline=_utc(r.deadline), level=r.level, rectified_at=rectified_at))
    return scoring_rules.Facts(
        hazards=hazards,
        inspections=[scoring_rules.InspectionFact(kind=r.kind, completed_at=_utc(r.completed_at),
                                                  position_id=r.position_id)
                     for r in conn.execute(INSPECTIONS_QUERY, params)],
        actions=[scoring_rules.ActionFact(kind=r.kind, held_on=r.held_on)
                 for r in conn.execute(ACTIONS_QUERY, params)],
        positions=[scoring_rules.PositionFact(r.position_id, bool(r.has_checklist))
                   for r in conn.execute(POSITIONS_QUERY, params)])


def evaluate(conn, rules, enterprise_id, as_of):
    window = scoring_rules.Window.ending(as_of, rules["window_months"])
    return scoring_rules.evaluate(rules, as_of, facts_of(conn, enterprise_id, window))


def _store_score(conn, enterprise_id, last_event_time, evaluation, events_applied):
    conn.execute(scores.update().where(scores.c.enterprise_id == enterprise_id).values(
        last_event_time=last_event_time, as_of=evaluation["as_of"], points=evaluation["points"],
        grade=evaluation["grade"], rule_version=evaluation["rule_version"],
        evaluation=json.dumps(evaluation, sort_keys=True), events_applied=events_applied))


def _locked_score_row(conn, enterprise_id):
    upsert(conn, scores, {"enterprise_id": enterprise_id, "events_applied": 0}, ["enterprise_id"])
    return lock_row(conn, select(scores).where(scores.c.enterprise_id == enterprise_id))


def handle(conn, event, rules):
    """Process one event exactly once, in the caller's transaction. Returns
    the GradeAssigned event it recorded, if the grade changed."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return None                                   # a duplicate: already applied
    if event.name not in SCORED:
        apply_fact(conn, event)
        return None
    enterprise_id = event.subject
    row = _locked_score_row(conn, enterprise_id)      # one writer per enterprise at a time
    apply_fact(conn, event)
    last = max(filter(None, [_utc(row.last_event_time), event.time]))
    evaluation = evaluate(conn, rules, enterprise_id, last.date())
    _store_score(conn, enterprise_id, last, evaluation, row.events_applied + 1)
    if evaluation["grade"] == row.grade:
        return None
    grade_event = new_event("GradeAssigned", {
        "enterprise_id": enterprise_id, "points": evaluation["points"],
        "grade": evaluation["grade"], "previous_grade": row.grade,
        "rule_version": evaluation["rule_version"],
        "as_of": last.date(), "window_start": _date(evaluation["window_start"]),
        "window_end": _date(evaluation["window_end"]),
        "indicators": [dict({k: i[k] for k in ("key", "title", "value", "points", "max_points")},
                            advice=i["to_gain"]) for i in evaluation["indicators"]],
    }, actor="scoring", correlation_id=event.correlation_id, causation_id=event.id)
    stream = "grade-" + enterprise_id
    eventstore.append(conn, stream, eventstore.stream_version(conn, stream), [grade_event])
    return grade_event


def _date(text):
    from datetime import date
    return date.fromisoformat(text)


def rebuild(engine, rules):
    """Drop the projection and replay every received event. Facts first, then
    one evaluation per enterprise: the same result as event-by-event, faster.
    Returns how many events were replayed."""
    applied, last_time = {}, {}
    replayed = 0
    # One transaction, DDL included: readers see the old projection until the
    # new one is complete, and a failed rebuild leaves the old one in place.
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
        def read_page(after, limit):
            return eventstore.received_events(conn, CONSUMER, after, limit)

        for _, event in paged(read_page):
            replayed += 1
            if apply_fact(conn, event):
                applied[event.subject] = applied.get(event.subject, 0) + 1
                last_time[event.subject] = max(last_time.get(event.subject, event.time),
                                               event.time)
        for enterprise_id, count in applied.items():
            conn.execute(scores.insert().values(enterprise_id=enterprise_id, events_applied=0))
            evaluation = evaluate(conn, rules, enterprise_id, last_time[enterprise_id].date())
            _store_score(conn, enterprise_id, last_time[enterprise_id], evaluation, count)
    return replayed


def score_view(conn, enterprise_id):
    row = conn.execute(select(scores).where(scores.c.enterprise_id == enterprise_id)).first()
    if row is None or row.evaluation is None:
        return None
    view = json.loads(row.evaluation)
    view["enterprise_id"] = enterprise_id
    return view


def snapshot(conn):
    """Every enterprise's stored score: what replay and replica tests compare."""
    return {row.enterprise_id: (row.points, row.grade, row.as_of, row.evaluation)
            for row in conn.execute(select(scores).order_by(scores.c.enterprise_id)).all()}
