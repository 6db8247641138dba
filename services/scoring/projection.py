"""The scoring projection: per enterprise, the facts the rules measure and
the score they give.

Order-proof by design, so any number of scoring processes can share one
queue: every fact is keyed by its own id and merged (a rectification that
overtakes its report just fills in its column), and the score is recomputed
from all facts under a lock on the enterprise's row. The same set of events
gives the same projection, whatever order they arrived in.

A stored score is evaluated as of max(day of the enterprise's latest event,
scoring's clock day): the clock (`clock.py`, its own ScoringClockAdvanced
events) slides every window with time, and the max keeps the result
independent of whether an event or a clock step came first."""
import json
from datetime import date, timezone

from sqlalchemy import (Boolean, Column, Date, DateTime, Index, Integer, MetaData, Numeric, String,
                        Table, Text, and_, bindparam, cast, or_, select, text)

from einspection import days, eventstore
from einspection.contract import Event, new_event, parse_instant, utcnow
from einspection.db import upsert, upsert_many
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

# Citations of enforcement cases overdue for abatement (rule set 2026.3):
# the overdue mark and a withdrawal after it, each filling in its column,
# so either may arrive first.
citation_facts = Table(
    "citation_facts", metadata,
    Column("citation_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("case_id", String(64), nullable=False),
    Column("overdue_since", DateTime(timezone=True)),
    Column("withdrawn_at", DateTime(timezone=True)),
)

# Scheduled rounds decided (rule set 2026.4): done at the inspection's
# completion, or missed at the end of the window; keyed by the round.
round_facts = Table(
    "round_facts", metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("round", String(80), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("done", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

STEPS = {"RectificationDone": ("rectified", "done_at"),
         "HazardReturned": ("returned", "returned_at"),
         "HazardVerified": ("verified", "verified_at"),
         "HazardOverdue": ("overdue", "detected_at")}
SCORED = {"HazardReported", "InspectionLogged", "SafetyActionRecorded",
          "PositionRegistered", "PositionUpdated", "PositionRetired",
          "CitationAbatementOverdue", "InspectionRoundDone",
          "InspectionMissed"} | set(STEPS)


def scored(event):
    """Whether an event bears on its enterprise's score. A withdrawn citation
    does only if it had been marked overdue (the event says so): the
    withdrawals of imported records make no score rows."""
    return event.name in SCORED or (event.name == "CitationWithdrawn"
                                    and event.data["abatement_overdue"])

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
    # added with position edits: a retired position no longer counts
    Column("retired", Boolean, nullable=False, default=False),
)

scores = Table(
    "scores", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("first_event_time", DateTime(timezone=True)),   # who a monthly statement is for
    Column("last_event_time", DateTime(timezone=True)),
    Column("as_of", String(10)),
    Column("points", String(8)),
    Column("grade", String(1)),
    Column("rule_version", String(32)),
    Column("evaluation", Text),           # the full explanation, as JSON
    Column("events_applied", Integer, nullable=False, default=0),
)

# The points as a number, in the order rankings read them (rankings.py): an
# index on the expression lets a top list stop after its `limit` rows instead
# of casting and sorting every score, and answers the counts by itself (grade
# and id in it). Indexes, not columns: nothing more is written per score,
# and a database made before them gets them in place at start
# (eventstore.create_tables), no replay needed.
RANKING_POINTS = cast(scores.c.points, Numeric)
Index("ix_scores_ranking", RANKING_POINTS, scores.c.grade, scores.c.enterprise_id)
# A town's or industry's size, counted from the register's side: its
# enterprises in id order, each looked up in the scores' (id, grade) — both
# read in order and from the indexes alone, no table row and no sort.
Index("ix_score_enterprises_town", enterprises.c.town, enterprises.c.enterprise_id)
Index("ix_score_enterprises_industry", enterprises.c.industry, enterprises.c.enterprise_id)
Index("ix_scores_grade_by_id", scores.c.enterprise_id, scores.c.grade)

# Scoring's clock, folded from its ScoringClockAdvanced events: one row. A
# clock step that enters a new month opens that month's statement: `period`
# (the month that just ended), stated as of `period_day`.
clock = Table(
    "scoring_clock", metadata,
    Column("stream_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("day", Date, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("period_day", Date, nullable=False),
    Column("period_event_id", String(64), nullable=False),
)

# The monthly statements made (GradeStated), from scoring's own events.
statements = Table(
    "score_statements", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("grade", String(1), nullable=False),
    Column("points", String(8), nullable=False),
    Column("event_id", String(64), nullable=False),
)

# Per enterprise, the tally of the facts in the window of its stored score
# (rules.tally_of): what lets an event cost one fact's marks instead of a
# re-evaluation of every fact in the window. Valid for the day, rule set and
# count of events it was kept at; anything else (a new day, another rule set,
# a database written by an older release) makes the next event count again.
tallies = Table(
    "score_tallies", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("as_of", String(10), nullable=False),
    Column("rule_version", String(32), nullable=False),
    Column("events_applied", Integer, nullable=False),
    Column("tally", Text, nullable=False),
)

CLOCK_STREAM = "scoring-clock"

TABLES = [enterprises, hazard_facts, hazard_steps, inspection_facts, action_facts,
          position_facts, citation_facts, round_facts, scores, clock, statements, tallies]


def _utc(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def apply_fact(conn, event):
    """Merge one event into the facts. Returns True if it bears on the score."""
    return _write_fact(conn, event) is not None


def _write_fact(conn, event):
    """Merge one event into the facts: the write's result, None if the
    event bears on no fact the score reads."""
    write, bears = fact_write(event)
    if write is None:
        return None
    result = upsert(conn, *write)
    return result if bears else None


def fact_write(event):
    """The upsert that merges one event into the facts, as (table, values,
    key columns, columns a key clash updates), or None; and whether the
    event bears on the score."""
    data = event.data
    if event.name == "EnterpriseRegistered":
        return (enterprises, {k: data[k] for k in
                              ("enterprise_id", "name", "industry", "town", "grid")},
                ("enterprise_id",), ("name", "industry", "town", "grid")), False
    if event.name == "HazardReported":
        values = {"level": data["level"], "found_at": data["found_at"],
                  "reported_at": data["reported_at"], "deadline": data["rectification_deadline"]}
        return (hazard_facts, dict(values, hazard_id=data["hazard_id"],
                                   enterprise_id=data["enterprise_id"]),
                ("hazard_id",), tuple(values)), True
    if event.name in STEPS:
        step, at = STEPS[event.name]
        return (hazard_steps, {"hazard_id": data["hazard_id"],
                               "stream_version": event.stream_version,
                               "enterprise_id": data["enterprise_id"], "step": step,
                               "at": data[at]}, ("hazard_id", "stream_version"), ()), True
    if event.name == "InspectionLogged":
        return (inspection_facts, {"inspection_id": data["inspection_id"],
                                   "enterprise_id": data["enterprise_id"],
                                   "kind": data["kind"],
                                   "completed_at": data["completed_at"],
                                   "position_id": data["position_id"]},
                ("inspection_id",), ()), True
    if event.name == "SafetyActionRecorded":
        return (action_facts, {"action_id": data["action_id"],
                               "enterprise_id": data["enterprise_id"],
                               "kind": data["kind"], "held_on": data["held_on"]},
                ("action_id",), ()), True
    if event.name == "CitationAbatementOverdue" or (event.name == "CitationWithdrawn"
                                                    and data["abatement_overdue"]):
        column, at = (("overdue_since", data["overdue_since"])
                      if event.name == "CitationAbatementOverdue"
                      else ("withdrawn_at", data["withdrawn_at"]))
        return (citation_facts, {"citation_id": data["citation_id"],
                                 "enterprise_id": data["enterprise_id"],
                                 "case_id": data["case_id"], column: at},
                ("citation_id",), (column,)), True
    if event.name in ("InspectionRoundDone", "InspectionMissed"):
        done = event.name == "InspectionRoundDone"
        return (round_facts, {"schedule_id": data["schedule_id"], "round": data["round"],
                              "enterprise_id": data["enterprise_id"], "done": done,
                              "at": data["completed_at"] if done else data["window_end"]},
                ("schedule_id", "round"), ()), True
    if event.name == "PositionRegistered":
        # a later event of the position may have come first: it stands
        return (position_facts, {"position_id": data["position_id"],
                                 "enterprise_id": data["enterprise_id"],
                                 "has_checklist": bool(data["checklist_ids"]),
                                 "retired": False},
                ("position_id",), ()), True
    if event.name == "PositionUpdated":
        if "checklist_ids" not in data:
            return None, False           # a new name or place: nothing the score reads
        return (position_facts, {"position_id": data["position_id"],
                                 "enterprise_id": data["enterprise_id"],
                                 "has_checklist": bool(data["checklist_ids"]),
                                 "retired": False},
                ("position_id",), ("has_checklist",)), True
    if event.name == "PositionRetired":
        return (position_facts, {"position_id": data["position_id"],
                                 "enterprise_id": data["enterprise_id"],
                                 "has_checklist": False, "retired": True},
                ("position_id",), ("retired",)), True
    return None, False


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
CITATIONS_QUERY = (select(citation_facts.c.citation_id, citation_facts.c.overdue_since,
                          citation_facts.c.withdrawn_at)
                   .where(citation_facts.c.enterprise_id == bindparam("enterprise_id"),
                          _in_window(citation_facts.c.overdue_since))
                   .order_by(citation_facts.c.citation_id))
ROUNDS_QUERY = (select(round_facts.c.done, round_facts.c.at)
                .where(round_facts.c.enterprise_id == bindparam("enterprise_id"),
                       _in_window(round_facts.c.at))
                .order_by(round_facts.c.schedule_id, round_facts.c.round))
POSITIONS_QUERY = (select(position_facts.c.position_id, position_facts.c.has_checklist)
                   .where(position_facts.c.enterprise_id == bindparam("enterprise_id"),
                          position_facts.c.retired.is_(False))
                   .order_by(position_facts.c.position_id))


def _rectified_at(steps):
    """When a hazard was rectified, from its steps (step, at) in version order."""
    rectified_at = None
    for step, at in steps:
        if step == "rectified":
            rectified_at = at
        elif step == "returned":
            rectified_at = None   # the rectification did not hold
    return rectified_at


def _hazard_fact(row, steps):
    """A hazard_facts row (or its values) and its steps, as the rules see it:
    None until its report has arrived."""
    if row is None or row.reported_at is None:
        return None
    return scoring_rules.HazardFact(
        found_at=_utc(row.found_at), reported_at=_utc(row.reported_at),
        deadline=_utc(row.deadline), level=row.level, rectified_at=_rectified_at(steps))


def facts_of(conn, enterprise_id, window):
    """The facts the rules can see in `window`: hazards recorded or due in
    it (with their steps), inspections and safety actions in it, and the
    enterprise's positions, and its citations overdue for abatement in it.
    Bounded by three months of activity, however long the enterprise's
    history."""
    params = {"enterprise_id": enterprise_id, "start": window.start_instant,
              "end": window.end_instant, "first_day": window.start, "last_day": window.end}
    steps = {}
    for row in conn.execute(STEPS_QUERY, params):
        steps.setdefault(row.hazard_id, []).append((row.step, _utc(row.at)))
    hazards = [_hazard_fact(r, steps.get(r.hazard_id, []))
               for r in conn.execute(HAZARDS_QUERY, params)]
    return scoring_rules.Facts(
        hazards=hazards,
        inspections=[scoring_rules.InspectionFact(kind=r.kind, completed_at=_utc(r.completed_at),
                                                  position_id=r.position_id)
                     for r in conn.execute(INSPECTIONS_QUERY, params)],
        actions=[scoring_rules.ActionFact(kind=r.kind, held_on=r.held_on)
                 for r in conn.execute(ACTIONS_QUERY, params)],
        positions=[scoring_rules.PositionFact(r.position_id, bool(r.has_checklist))
                   for r in conn.execute(POSITIONS_QUERY, params)],
        citations=[scoring_rules.CitationFact(r.citation_id, _utc(r.overdue_since),
                                              withdrawn=r.withdrawn_at is not None)
                   for r in conn.execute(CITATIONS_QUERY, params)],
        rounds=[scoring_rules.RoundFact(bool(r.done), _utc(r.at))
                for r in conn.execute(ROUNDS_QUERY, params)])


def evaluate(conn, rules, enterprise_id, as_of):
    window = scoring_rules.Window.ending(as_of, rules["window_months"])
    return scoring_rules.evaluate(rules, as_of, facts_of(conn, enterprise_id, window))


def full_tally(conn, rules, enterprise_id, as_of):
    """The tally of all the enterprise's facts in the window ending `as_of`."""
    window = scoring_rules.Window.ending(as_of, rules["window_months"])
    return scoring_rules.tally_of(rules, window, facts_of(conn, enterprise_id, window))


# --- a fact's change, for the tally -----------------------------------------------------------

HAZARD_ROW = select(hazard_facts).where(hazard_facts.c.hazard_id == bindparam("hazard_id"))
HAZARD_STEPS = (select(hazard_steps.c.stream_version, hazard_steps.c.step, hazard_steps.c.at)
                .where(hazard_steps.c.hazard_id == bindparam("hazard_id"))
                .order_by(hazard_steps.c.stream_version))
POSITION_ROW = select(position_facts).where(
    position_facts.c.position_id == bindparam("position_id"))
CITATION_ROW = select(citation_facts).where(
    citation_facts.c.citation_id == bindparam("citation_id"))


class _Values:
    """A row's values from an event's data, read like a row."""
    def __init__(self, **values):
        self.__dict__.update(values)


def _position_fact(row):
    if row is None or row.retired:
        return None
    return scoring_rules.PositionFact(row.position_id, bool(row.has_checklist))


def _citation_fact(citation_id, overdue_since, withdrawn_at):
    return scoring_rules.CitationFact(citation_id, _utc(overdue_since),
                                      withdrawn=withdrawn_at is not None)


HAZARD_ROWS = select(hazard_facts).where(
    hazard_facts.c.hazard_id.in_(bindparam("hazard_ids", expanding=True)))
HAZARDS_STEPS = (select(hazard_steps.c.hazard_id, hazard_steps.c.stream_version,
                        hazard_steps.c.step, hazard_steps.c.at)
                 .where(hazard_steps.c.hazard_id.in_(bindparam("hazard_ids", expanding=True)))
                 .order_by(hazard_steps.c.hazard_id, hazard_steps.c.stream_version))


def _reported_row(hazard_id, enterprise_id, data):
    """The hazard_facts row a HazardReported leaves (its enterprise: the first record's)."""
    return _Values(hazard_id=hazard_id, enterprise_id=enterprise_id, level=data["level"],
                   found_at=data["found_at"], reported_at=data["reported_at"],
                   deadline=data["rectification_deadline"])


class _Hazards:
    """The hazard rows and steps a batch's events touch, read in two
    statements, then kept as the batch's own writes change them: what
    _fact_change would read for each event."""

    def __init__(self, conn, events):
        ids = sorted({event.data["hazard_id"] for event in events
                      if event.name == "HazardReported" or event.name in STEPS})
        self.rows, self.steps = {}, {hazard_id: [] for hazard_id in ids}
        if ids:
            self.rows = {row.hazard_id: row for row in conn.execute(HAZARD_ROWS,
                                                                     {"hazard_ids": ids})}
            for row in conn.execute(HAZARDS_STEPS, {"hazard_ids": ids}):
                self.steps[row.hazard_id].append((row.stream_version, row.step, _utc(row.at)))

    def read(self, conn, hazard_id):
        return self.rows.get(hazard_id), list(self.steps[hazard_id])

    def reported(self, hazard_id, enterprise_id, data):
        row = self.rows[hazard_id] = _reported_row(hazard_id, enterprise_id, data)
        return row

    def stepped(self, hazard_id, step):
        self.steps[hazard_id] = sorted(self.steps[hazard_id] + [step])


class _HazardsRead:
    """_Hazards for one event: each read from the database."""

    def read(self, conn, hazard_id):
        key = {"hazard_id": hazard_id}
        return (conn.execute(HAZARD_ROW, key).first(),
                [(r.stream_version, r.step, _utc(r.at)) for r in conn.execute(HAZARD_STEPS, key)])

    def reported(self, hazard_id, enterprise_id, data):
        return _reported_row(hazard_id, enterprise_id, data)

    def stepped(self, hazard_id, step):
        pass


def _fact_change(conn, event, hazards=_HazardsRead()):
    """Merge one scored event into the facts (apply_fact) and say what it
    changed of the facts the rules read: (kind of fact, its enterprise, the
    fact before, after), each as the rules see it (None: not there), or None
    when nothing changed. A fact's enterprise is the one of its first record:
    the merges never move it. `hazards`: where the hazard's row and steps
    are read (a batch's _Hazards, kept up to date here)."""
    name, data = event.name, event.data
    if name == "HazardReported" or name in STEPS:
        hazard_id = data["hazard_id"]
        old, steps = hazards.read(conn, hazard_id)
        owner = old.enterprise_id if old else data["enterprise_id"]
        if name in STEPS:
            step = (event.stream_version, STEPS[name][0], _utc(data[STEPS[name][1]]))
        if old is None and name in STEPS:
            if _write_fact(conn, event).rowcount:   # a step before its report: counted with it
                hazards.stepped(hazard_id, step)
            return None
        written = _write_fact(conn, event)
        before = _hazard_fact(old, [(s, at) for _, s, at in steps])
        if name == "HazardReported":
            row = hazards.reported(hazard_id, owner, data)
        elif written.rowcount:
            row = old
            steps = sorted(steps + [step])
            hazards.stepped(hazard_id, step)
        else:
            return None                          # the step was known
        after = _hazard_fact(row, [(s, at) for _, s, at in steps])
        return "hazards", owner, before, after
    if name in ("InspectionLogged", "SafetyActionRecorded", "InspectionRoundDone",
                "InspectionMissed", "PositionRegistered"):
        if not _write_fact(conn, event).rowcount:
            return None                          # known: the first record stands
        if name == "InspectionLogged":
            kind, fact = "inspections", scoring_rules.InspectionFact(
                kind=data["kind"], completed_at=_utc(data["completed_at"]),
                position_id=data["position_id"])
        elif name == "SafetyActionRecorded":
            kind, fact = "actions", scoring_rules.ActionFact(kind=data["kind"],
                                                             held_on=data["held_on"])
        elif name == "PositionRegistered":
            kind, fact = "positions", scoring_rules.PositionFact(
                data["position_id"], bool(data["checklist_ids"]))
        else:
            done = name == "InspectionRoundDone"
            kind, fact = "rounds", scoring_rules.RoundFact(
                done, _utc(data["completed_at"] if done else data["window_end"]))
        return kind, data["enterprise_id"], None, fact
    if name in ("PositionUpdated", "PositionRetired"):
        old = conn.execute(POSITION_ROW, {"position_id": data["position_id"]}).first()
        if _write_fact(conn, event) is None:
            return None                          # a new name or place
        if name == "PositionRetired":
            after = None
        elif old is None or not old.retired:
            after = scoring_rules.PositionFact(data["position_id"], bool(data["checklist_ids"]))
        else:
            after = None                         # retired stays retired
        return ("positions", old.enterprise_id if old else data["enterprise_id"],
                _position_fact(old), after)
    if name in ("CitationAbatementOverdue", "CitationWithdrawn"):
        old = conn.execute(CITATION_ROW, {"citation_id": data["citation_id"]}).first()
        if _write_fact(conn, event) is None:
            return None                          # withdrawn, never overdue
        overdue_since = old.overdue_since if old else None
        withdrawn_at = old.withdrawn_at if old else None
        if name == "CitationAbatementOverdue":
            overdue_since = data["overdue_since"]
        else:
            withdrawn_at = data["withdrawn_at"]
        before = (_citation_fact(data["citation_id"], old.overdue_since, old.withdrawn_at)
                  if old else None)
        return ("citations", old.enterprise_id if old else data["enterprise_id"], before,
                _citation_fact(data["citation_id"], overdue_since, withdrawn_at))
    _write_fact(conn, event)
    return None


# --- stored tallies and scores; statements built once ----------------------------------------

TALLY_ROW = select(tallies.c.as_of.label("tally_as_of"),
                   tallies.c.rule_version.label("tally_rule_version"),
                   tallies.c.events_applied.label("tally_events_applied"), tallies.c.tally)
TALLY_ROW_BY_ID = TALLY_ROW.where(tallies.c.enterprise_id == bindparam("enterprise_id"))
FORGET_TALLY = tallies.delete().where(tallies.c.enterprise_id == bindparam("enterprise_id"))


class _Score:
    """An enterprise's score row and kept tally as events change them, in
    memory: written once, by _write_scores, however many events of the
    enterprise a batch holds. The tally is kept for the day it was counted
    on (`tally_as_of`); it holds for the rule set and the count of events by
    construction once an event changed it."""

    def __init__(self, conn, rules, row):
        self.enterprise_id = row.enterprise_id
        self.grade = row.grade
        self.first_event_time = _utc(row.first_event_time)
        self.last_event_time = _utc(row.last_event_time)
        self.events_applied = row.events_applied
        self.tally, self.tally_as_of = _kept_tally(conn, rules, row)
        self.evaluation = None
        self.changed = False         # the score and tally to write
        self.forgotten = False       # the stored tally to delete (unless counted again)

    def forget_tally(self):
        self.tally = self.tally_as_of = None
        self.forgotten = True


def _kept_tally(conn, rules, score_row):
    """The enterprise's stored tally and the day it is of, if it holds for
    the rule set and the score row's count of events, else (None, None).
    Read with the score row (SCORE_ROW) or on its own. On PostgreSQL a tally
    read beside a lock that had to wait may be the one from before the wait:
    the count tells."""
    row = score_row
    if "tally" not in row._fields:
        row = conn.execute(TALLY_ROW_BY_ID, {"enterprise_id": score_row.enterprise_id}).first()
    if (row is None or row.tally is None or row.tally_rule_version != rules["version"]
            or row.tally_events_applied != score_row.events_applied):
        return None, None
    return json.loads(row.tally), row.tally_as_of


STORE_SCORE = scores.update().where(scores.c.enterprise_id == bindparam("b_enterprise_id")).values(
    first_event_time=bindparam("b_first"), last_event_time=bindparam("b_last"),
    as_of=bindparam("b_as_of"), points=bindparam("b_points"), grade=bindparam("b_grade"),
    rule_version=bindparam("b_rule_version"), evaluation=bindparam("b_evaluation"),
    events_applied=bindparam("b_events_applied"))


def _store_score(conn, enterprise_id, first_event_time, last_event_time, evaluation,
                 events_applied):
    conn.execute(STORE_SCORE, _score_values(enterprise_id, first_event_time, last_event_time,
                                            evaluation, events_applied))


def _score_values(enterprise_id, first_event_time, last_event_time, evaluation, events_applied):
    return {"b_enterprise_id": enterprise_id, "b_first": first_event_time,
            "b_last": last_event_time, "b_as_of": evaluation["as_of"],
            "b_points": evaluation["points"], "b_grade": evaluation["grade"],
            "b_rule_version": evaluation["rule_version"],
            "b_evaluation": json.dumps(evaluation, sort_keys=True),
            "b_events_applied": events_applied}


def _tally_values(rules, enterprise_id, as_of, events_applied, tally):
    return {"enterprise_id": enterprise_id, "as_of": as_of, "rule_version": rules["version"],
            "events_applied": events_applied, "tally": json.dumps(tally, sort_keys=True)}


TALLY_COLUMNS = ["as_of", "rule_version", "events_applied", "tally"]


def _keep_tally(conn, rules, enterprise_id, as_of, events_applied, tally):
    upsert(conn, tallies, _tally_values(rules, enterprise_id, as_of.isoformat(), events_applied,
                                        tally), ["enterprise_id"], TALLY_COLUMNS)


def _write_scores(conn, rules, kept):
    """Store what events changed of the `kept` _Scores: each score row and
    tally once, a statement for all of them."""
    changed = sorted((score for score in kept if score.changed),
                     key=lambda score: score.enterprise_id)
    if changed:
        conn.execute(STORE_SCORE, [_score_values(
            s.enterprise_id, s.first_event_time, s.last_event_time, s.evaluation,
            s.events_applied) for s in changed])
        upsert_many(conn, tallies, [_tally_values(rules, s.enterprise_id, s.tally_as_of,
                                                  s.events_applied, s.tally)
                                    for s in changed if s.tally is not None],
                    ["enterprise_id"], TALLY_COLUMNS)
    for score in kept:
        if score.forgotten and score.tally is None:
            conn.execute(FORGET_TALLY, {"enterprise_id": score.enterprise_id})


# the score row and its kept tally in one round trip
SCORE_ROW = (TALLY_ROW.add_columns(*scores.c)
             .select_from(scores.outerjoin(tallies,
                                           tallies.c.enterprise_id == scores.c.enterprise_id))
             .where(scores.c.enterprise_id == bindparam("enterprise_id")))
SCORE_ROW_LOCKED = SCORE_ROW.with_for_update(of=scores)
# the same for several enterprises, locked in the order of their ids: two
# batches that lock some of the same rows take them in one order, no deadlock
SCORE_ROWS = (TALLY_ROW.add_columns(*scores.c)
              .select_from(scores.outerjoin(tallies,
                                            tallies.c.enterprise_id == scores.c.enterprise_id))
              .where(scores.c.enterprise_id.in_(bindparam("enterprise_ids", expanding=True)))
              .order_by(scores.c.enterprise_id))
SCORE_ROWS_LOCKED = SCORE_ROWS.with_for_update(of=scores)


def _locked_score_row(conn, enterprise_id):
    # SELECT ... FOR UPDATE where the database has row locks (SQLite's BEGIN
    # IMMEDIATE already holds the whole database); the row made first if new
    query = SCORE_ROW_LOCKED if conn.dialect.name == "postgresql" else SCORE_ROW
    row = conn.execute(query, {"enterprise_id": enterprise_id}).first()
    if row is None:
        upsert(conn, scores, {"enterprise_id": enterprise_id, "events_applied": 0},
               ["enterprise_id"])
        row = conn.execute(query, {"enterprise_id": enterprise_id}).first()
    return row


def _locked_scores(conn, rules, enterprise_ids):
    """_Score of each of `enterprise_ids` (sorted), their rows locked where
    the database has row locks, made first where new."""
    query = SCORE_ROWS_LOCKED if conn.dialect.name == "postgresql" else SCORE_ROWS
    rows = conn.execute(query, {"enterprise_ids": enterprise_ids}).all()
    missing = sorted(set(enterprise_ids) - {row.enterprise_id for row in rows})
    if missing:
        upsert_many(conn, scores, [{"enterprise_id": e, "events_applied": 0} for e in missing],
                    ["enterprise_id"])
        rows += conn.execute(query, {"enterprise_ids": missing}).all()
    return {row.enterprise_id: _Score(conn, rules, row) for row in rows}


CLOCK_ROW = select(clock).where(clock.c.stream_id == CLOCK_STREAM)


def clock_state(conn):
    """The clock's row, or None before its first step."""
    return conn.execute(CLOCK_ROW).first()


def clock_day(conn):
    state = clock_state(conn)
    return state.day if state is not None else None


def score_day(last_event_time, day_of_clock):
    """The day a stored score is evaluated as of: its latest event's or the
    clock's, whichever is later; a max, so arrival order cannot matter."""
    return max(filter(None, [days.local_day(_utc(last_event_time), days.deployment_zone()),
                             day_of_clock]))


def event_indicators(evaluation):
    """An evaluation's indicators as GradeAssigned and GradeStated carry them."""
    return [dict({k: i[k] for k in ("key", "title", "value", "points", "max_points")},
                 advice=i["to_gain"],
                 i18n={language: {"title": text["title"], "advice": text["to_gain"]}
                       for language, text in i["i18n"].items()})
            for i in evaluation["indicators"]]


def grade_data(enterprise_id, evaluation, previous_grade):
    """The data GradeAssigned and GradeStated share."""
    return {"enterprise_id": enterprise_id, "points": evaluation["points"],
            "grade": evaluation["grade"], "previous_grade": previous_grade,
            "rule_version": evaluation["rule_version"],
            "as_of": date.fromisoformat(evaluation["as_of"]),
            "window_start": date.fromisoformat(evaluation["window_start"]),
            "window_end": date.fromisoformat(evaluation["window_end"]),
            "indicators": event_indicators(evaluation)}


def dated(as_of, cause_time=None):
    """When a grade changed, or a month was stated: at its cause (the event
    scored), but never before the start of the day it is as of — a clock step
    slides the window at the start of its day — and never in the future. Live
    this is the moment of the cause; for imported history, a day in the past."""
    start_of_day = days.start_of(as_of, days.deployment_zone())
    return min(utcnow(), max(filter(None, [cause_time, start_of_day])))


def rescore(conn, rules, row, first_event_time, last_event_time, events_applied, *,
            correlation_id, causation_id, cause_time=None):
    """Evaluate the enterprise of the locked score `row` again (a clock
    step: no fact changed), store it, and record GradeAssigned if the grade
    changed; returns it."""
    score = _Score(conn, rules, row)
    score.first_event_time, score.last_event_time = (_utc(first_event_time),
                                                      _utc(last_event_time))
    score.events_applied = events_applied
    grade_event = _rescored(conn, rules, score, clock_day(conn), None, {},
                            correlation_id=correlation_id, causation_id=causation_id,
                            cause_time=cause_time)
    _write_scores(conn, rules, [score])
    return grade_event


def _rescored(conn, rules, score, day_of_clock, change, kept, *, correlation_id,
              causation_id, cause_time):
    """Evaluate `score` (a _Score) again after `change` (what an event
    changed of the facts, _fact_change; None if nothing), in memory, and
    record GradeAssigned if the grade changed; returns it. `kept`: the
    batch's _Scores by enterprise, whose tallies another enterprise's change
    may spoil.

    The kept tally, when it holds for the day, takes just the change; on a
    new day (the window moved) it is counted again from the facts in the
    window. Either way the same tally, so the same evaluation."""
    enterprise_id = score.enterprise_id
    as_of = score_day(score.last_event_time, day_of_clock)
    tally = score.tally if score.tally_as_of == as_of.isoformat() else None
    if change is not None:
        kind, owner, before, after = change
        if owner != enterprise_id:
            # another enterprise's fact (its first record named that one): its
            # tally no longer holds, this one's is not touched. Not made by the
            # services (a fact's events all name one enterprise); a replica
            # scoring that enterprise at the same moment could keep a tally
            # without this change until its day moves.
            if owner in kept:
                kept[owner].forget_tally()
            else:
                conn.execute(FORGET_TALLY, {"enterprise_id": owner})
        elif tally is not None:
            window = scoring_rules.Window.ending(as_of, rules["window_months"])
            marks = scoring_rules.MARKS[kind]
            if before is not None:
                scoring_rules.add_marks(tally, marks(rules, window, before), -1)
            if after is not None:
                scoring_rules.add_marks(tally, marks(rules, window, after))
    if tally is None:
        tally = full_tally(conn, rules, enterprise_id, as_of)
    evaluation = scoring_rules.evaluate_tally(rules, as_of, tally)
    score.tally, score.tally_as_of, score.evaluation = tally, as_of.isoformat(), evaluation
    score.changed = True
    if evaluation["grade"] == score.grade:
        return None
    previous_grade, score.grade = score.grade, evaluation["grade"]
    grade_event = new_event("GradeAssigned", grade_data(enterprise_id, evaluation, previous_grade),
                            actor="scoring", correlation_id=correlation_id,
                            causation_id=causation_id,
                            time=dated(date.fromisoformat(evaluation["as_of"]), cause_time))
    stream = "grade-" + enterprise_id
    eventstore.append(conn, stream, eventstore.stream_version(conn, stream), [grade_event])
    return grade_event


def handle(conn, event, rules):
    """Process one event exactly once, in the caller's transaction. Returns
    the GradeAssigned event it recorded, if the grade changed."""
    recorded = handle_batch(conn, [event], rules)
    return recorded[0] if recorded else None


def handle_batch(conn, events, rules):
    """Process each of `events` exactly once, in their order, in the
    caller's transaction: what `handle` of each in turn does, with what does
    not change between them done once — the inbox rows in one statement, the
    score rows and tallies of the events' enterprises read (and locked) in
    one, the clock read once, each score and tally written once at the end.
    Returns the GradeAssigned events recorded (a grade changed)."""
    fresh = eventstore.record_received_many(conn, CONSUMER, events)   # duplicates: applied
    scored_events = [event for event in fresh if scored(event)]
    if not scored_events:
        for event in fresh:
            apply_fact(conn, event)
        return []
    # One writer per enterprise at a time; the clock is read after the locks,
    # so a clock step's catch-up of these rows is never overwritten by an older day.
    kept = _locked_scores(conn, rules, sorted({event.subject for event in scored_events}))
    day_of_clock = clock_day(conn)
    hazards = _Hazards(conn, scored_events)
    recorded = []
    for event in fresh:
        if not scored(event):
            apply_fact(conn, event)
            continue
        score = kept[event.subject]
        change = _fact_change(conn, event, hazards)
        score.first_event_time = min(filter(None, [score.first_event_time, event.time]))
        score.last_event_time = max(filter(None, [score.last_event_time, event.time]))
        score.events_applied += 1
        grade_event = _rescored(conn, rules, score, day_of_clock, change, kept,
                                correlation_id=event.correlation_id, causation_id=event.id,
                                cause_time=event.time)
        if grade_event is not None:
            recorded.append(grade_event)
    _write_scores(conn, rules, kept.values())
    return recorded


def apply_clock(conn, event):
    """Fold one ScoringClockAdvanced into the clock's row (steps come in
    stream order: each one is later than the last)."""
    state = clock_state(conn)
    day = event.data["day"]
    values = {"version": event.stream_version, "day": day, "event_id": event.id}
    if state is None or (state.day.year, state.day.month) != (day.year, day.month):
        values.update(period=scoring_rules.period_before(day), period_day=day,
                      period_event_id=event.id)
    if state is None:
        conn.execute(clock.insert().values(stream_id=CLOCK_STREAM, **values))
    else:
        conn.execute(clock.update().where(clock.c.stream_id == CLOCK_STREAM).values(**values))


def record_statement(conn, event):
    data = event.data
    conn.execute(statements.insert().values(
        enterprise_id=data["enterprise_id"], period=data["period"], grade=data["grade"],
        points=data["points"], event_id=event.id))


# --- replay: the facts rebuilt from the inbox in SQL ----------------------------------------------
#
# Replay leaves the events in the database: each fact table is filled by one
# INSERT ... SELECT from the inbox, its fields read with the database's JSON
# functions, ordered by key and then inbox position, ON CONFLICT DO NOTHING:
# the first event of a key makes its row, as the first upsert did live. Where a table's events update
# a row (REPLAYED_MERGES) and a key had more than one event, those later
# events are applied after it in Python by fact_write, in inbox order: the
# rows are the ones the live upserts left, and merges stay defined once. A
# body is read as to_json wrote it: instants in isoformat's one form (UTC,
# microseconds, 'Z'), so they convert to a column's stored form in SQL, and
# compare as text in time order.

class _StoredBodies:
    """The SQL that reads fields of the inbox's stored bodies: SQLite's
    json_extract (its parse of a body is reused by the calls on the same row),
    PostgreSQL's jsonb operators on the body parsed once a row."""

    def __init__(self, dialect_name, inline=False, parsed="jsonb"):
        self.pg = dialect_name == "postgresql"
        # inline: for expressions on inbox rows themselves (PostgreSQL parses the body each time)
        self.body = "CAST(body AS jsonb)" if self.pg and inline else "body"
        # json: each operator parses the text again, but none builds jsonb (cheaper for one field)
        self.parsed = parsed

    def events(self, names, condition=None, columns="position, name, subject"):
        """FROM and WHERE: the received events of `names` (and `condition`)."""
        inner = "consumer || '' = :consumer AND name IN (%s)" % ", ".join(
            "'%s'" % name for name in sorted(names))
        if self.pg:
            # OFFSET 0: a subquery the planner does not merge, so the body is parsed once
            source = ("(SELECT %s, body AS raw, CAST(body AS %s) AS body FROM inbox WHERE %s "
                      "OFFSET 0) AS e" % (columns, self.parsed, inner))
            return source + (" WHERE " + condition if condition else "")
        return "inbox WHERE " + inner + (" AND " + condition if condition else "")

    def raw(self):
        return "raw" if self.pg else "body"

    def data(self, key):
        return ("%s->'data'->>'%s'" % (self.body, key) if self.pg
                else "json_extract(body, '$.data.%s')" % key)

    def data_at(self, key_sql):
        """A field of data named by an SQL expression."""
        return ("%s->'data'->>(%s)" % (self.body, key_sql) if self.pg
                else "json_extract(body, '$.data.' || (%s))" % key_sql)

    def envelope(self, key):
        return ("%s->>'%s'" % (self.body, key) if self.pg
                else "json_extract(body, '$.%s')" % key)

    def has(self, key):
        return ("%s->'data'->'%s' IS NOT NULL" % (self.body, key) if self.pg
                else "json_type(body, '$.data.%s') IS NOT NULL" % key)

    def non_empty(self, key):
        return ("coalesce(jsonb_array_length(%s->'data'->'%s'), 0) > 0" % (self.body, key)
                if self.pg
                else "coalesce(json_array_length(body, '$.data.%s'), 0) > 0" % key)

    def flag(self, key):
        """A boolean of data, false where the body has none (its load_default)."""
        return ("coalesce(CAST(%s AS boolean), false)" % self.data(key) if self.pg
                else "coalesce(%s, 0) = 1" % self.data(key))

    def instant(self, text_sql):
        """An isoformat instant as a DateTime column stores it: a timestamptz, or
        SQLAlchemy's SQLite form 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)."""
        return ("CAST(%s AS timestamptz)" % text_sql if self.pg
                else "replace(substr(%s, 1, 26), 'T', ' ')" % text_sql)

    def day(self, text_sql):
        return "CAST(%s AS date)" % text_sql if self.pg else text_sql

    def integer(self, text_sql):
        return "CAST(%s AS integer)" % text_sql if self.pg else text_sql

    def text_order(self, text_sql):
        """Text compared byte by byte, whatever the database's collation."""
        return '(%s) COLLATE "C"' % text_sql if self.pg else text_sql


def _case(sql_of, expressions):
    return "CASE name %s END" % " ".join("WHEN '%s' THEN %s" % (name, sql_of(value))
                                         for name, value in expressions.items())


def _withdrawn_only_overdue(sql):
    return "(name <> 'CitationWithdrawn' OR %s)" % sql.flag("abatement_overdue")


def _updates_checklists(sql):
    return "(name <> 'PositionUpdated' OR %s)" % sql.has("checklist_ids")


# For each fact table, as fact_write makes its rows: the events (and, for
# those fact_write takes only in part, a condition: SQL of a _StoredBodies),
# and each column's value in the first upsert of a key. REPLAYED_MERGES: the
# tables some of whose events update a row that is there.
def _replayed_tables(sql):
    return [
        (enterprises, {"EnterpriseRegistered"}, None, {
            column: sql.data(column)
            for column in ("enterprise_id", "name", "industry", "town", "grid")}),
        (hazard_facts, {"HazardReported"}, None, {
            "hazard_id": sql.data("hazard_id"), "enterprise_id": sql.data("enterprise_id"),
            "level": sql.data("level"), "found_at": sql.instant(sql.data("found_at")),
            "reported_at": sql.instant(sql.data("reported_at")),
            "deadline": sql.instant(sql.data("rectification_deadline"))}),
        (hazard_steps, set(STEPS), None, {
            "hazard_id": sql.data("hazard_id"),
            "stream_version": sql.integer(sql.envelope("streamversion")),
            "enterprise_id": sql.data("enterprise_id"),
            "step": _case(lambda step: "'%s'" % step[0], STEPS),
            "at": sql.instant(sql.data_at(_case(lambda step: "'%s'" % step[1], STEPS)))}),
        (inspection_facts, {"InspectionLogged"}, None, {
            "inspection_id": sql.data("inspection_id"), "enterprise_id": sql.data("enterprise_id"),
            "kind": sql.data("kind"), "completed_at": sql.instant(sql.data("completed_at")),
            "position_id": sql.data("position_id")}),
        (action_facts, {"SafetyActionRecorded"}, None, {
            "action_id": sql.data("action_id"), "enterprise_id": sql.data("enterprise_id"),
            "kind": sql.data("kind"), "held_on": sql.day(sql.data("held_on"))}),
        (citation_facts, {"CitationAbatementOverdue", "CitationWithdrawn"},
         _withdrawn_only_overdue, {
             "citation_id": sql.data("citation_id"), "enterprise_id": sql.data("enterprise_id"),
             "case_id": sql.data("case_id"),
             "overdue_since": _case(sql.instant, {
                 "CitationAbatementOverdue": sql.data("overdue_since")}),
             "withdrawn_at": _case(sql.instant, {
                 "CitationWithdrawn": sql.data("withdrawn_at")})}),
        (round_facts, {"InspectionRoundDone", "InspectionMissed"}, None, {
            "schedule_id": sql.data("schedule_id"), "round": sql.data("round"),
            "enterprise_id": sql.data("enterprise_id"),
            "done": "name = 'InspectionRoundDone'",
            "at": sql.instant(_case(sql.data, {"InspectionRoundDone": "completed_at",
                                               "InspectionMissed": "window_end"}))}),
        (position_facts, {"PositionRegistered", "PositionUpdated", "PositionRetired"},
         _updates_checklists, {
             "position_id": sql.data("position_id"), "enterprise_id": sql.data("enterprise_id"),
             "has_checklist": "CASE name WHEN 'PositionRetired' THEN false ELSE %s END"
                              % sql.non_empty("checklist_ids"),
             "retired": "name = 'PositionRetired'"}),
    ]


REPLAYED_MERGES = {enterprises.name, hazard_facts.name, citation_facts.name, position_facts.name}


def _replay_facts(conn):
    """Fill the (empty) fact tables from the inbox (see above); returns how
    many events the inbox holds."""
    sql = _StoredBodies(conn.dialect.name)
    params = {"consumer": CONSUMER}
    tables = _replayed_tables(sql)
    # the events of each table, and of all, in one pass over the inbox
    inline = _StoredBodies(conn.dialect.name, inline=True)
    counts = conn.execute(text("SELECT count(*), %s FROM inbox WHERE consumer || '' = :consumer" % (
        ", ".join("sum(CASE WHEN name IN (%s)%s THEN 1 ELSE 0 END)" % (
            ", ".join("'%s'" % name for name in sorted(names)),
            " AND " + condition(inline) if condition else "")
            for _, names, condition, _ in tables))), params).first()
    events = {table.name: count or 0 for (table, _, _, _), count in zip(tables, counts[1:])}
    for table, names, condition, values in tables:
        if not events[table.name]:
            continue                       # none: no pass over the inbox for it
        keys = [column.name for column in table.primary_key.columns]
        source = sql.events(names, condition and condition(sql))
        # in key order: each row goes in at the end of the key's index, not at a random place
        inserted = conn.execute(text(
            "INSERT INTO %s (%s) SELECT %s FROM %s ORDER BY %s, position "
            "ON CONFLICT (%s) DO NOTHING"
            % (table.name, ", ".join(values), ", ".join(values.values()), source,
               ", ".join(str(list(values).index(k) + 1) for k in keys), ", ".join(keys))),
            params).rowcount
        if table.name not in REPLAYED_MERGES or inserted == events[table.name]:
            continue                       # one event a key: nothing merges
        # the events after the first of their key, in inbox order
        later = conn.execute(text(
            "SELECT position, body FROM (SELECT position, %s AS body, row_number() OVER "
            "(PARTITION BY %s ORDER BY position) AS nth FROM %s) AS k WHERE nth > 1 "
            "ORDER BY position" % (sql.raw(), ", ".join(values[k] for k in keys), source)),
            params, execution_options={"yield_per": 1000})
        for row in later:
            write, _ = fact_write(Event.from_stored_json(row.body))
            if write is not None:
                upsert(conn, *write)
    return counts[0]


def _replayed_enterprises(conn):
    """Per enterprise (the subject) of the events that bear on its score, as
    `handle` counts them (`scored`: a position's new name counts too): how
    many, and the times of the first and the last."""
    sql = _StoredBodies(conn.dialect.name, parsed="json")
    bearing = SCORED | {"CitationWithdrawn"}
    condition = _withdrawn_only_overdue(sql)
    params = {"consumer": CONSUMER}
    moment = sql.envelope("time")
    if sql.pg:
        rows = conn.execute(text(
            "SELECT subject, count(*), min(%s), max(%s) FROM %s GROUP BY subject"
            % (sql.text_order(moment), sql.text_order(moment),
               sql.events(bearing, condition))), params)
    else:
        # SQLite sorts every row for a GROUP BY without an index: cheaper in Python
        seen = {}
        for subject, time in conn.execute(text(
                "SELECT subject, %s FROM %s" % (moment, sql.events(bearing, condition))),
                params, execution_options={"yield_per": 5000}):
            known = seen.get(subject)
            if known is None:
                seen[subject] = [1, time, time]
            else:
                known[0] += 1
                if time < known[1]:
                    known[1] = time
                elif time > known[2]:
                    known[2] = time
        rows = [(subject, *known) for subject, known in seen.items()]
    return {subject: (count, parse_instant(first), parse_instant(last))
            for subject, count, first, last in rows}


def rebuild(engine, rules):
    """Drop the projection and replay every received event. Facts first (in
    SQL, _replay_facts), then scoring's own clock steps and statements, then
    one evaluation per enterprise: the same result as event-by-event, faster.
    Returns how many received events were replayed.

    Memory is bounded by a few values per enterprise, however many events
    there are: the events stay in the database."""
    # One transaction, DDL included: readers see the old projection until the
    # new one is complete, and a failed rebuild leaves the old one in place.
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
        replayed = _replay_facts(conn)
        applied = _replayed_enterprises(conn)
        for step in eventstore.load_stream(conn, CLOCK_STREAM):
            apply_clock(conn, step)

        def read_own(after, limit):
            return eventstore.read_all(conn, after, limit)

        for _, event in paged(read_own):
            if event.name == "GradeStated":
                record_statement(conn, event)
        day_of_clock = clock_day(conn)
        for enterprise_id, (count, first_time, last_time) in applied.items():
            conn.execute(scores.insert().values(enterprise_id=enterprise_id, events_applied=0))
            as_of = score_day(last_time, day_of_clock)
            tally = full_tally(conn, rules, enterprise_id, as_of)
            _keep_tally(conn, rules, enterprise_id, as_of, count, tally)
            _store_score(conn, enterprise_id, first_time, last_time,
                         scoring_rules.evaluate_tally(rules, as_of, tally), count)
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
