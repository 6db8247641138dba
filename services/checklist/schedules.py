"""Inspection schedules: which checklist is done at which position how often,
by whom, from when — and their rounds, each done or missed once.

The schedule's stream ("schedule-<id>") holds InspectionScheduled, then
ScheduleEnded if ended, and one InspectionRoundDone or InspectionMissed per
round whose outcome is decided. A round is done by the first self-inspection
of the checklist at the position completed in its window: recorded with the
inspection (same transaction), or by the check at the window's end if the
inspection came first (before the schedule was made). The check (the
service's timer) records InspectionMissed for each round whose window ended
without one, appending with the version the schedule's row was read at: a
second process conflicts and skips it (einspection.sweep), so each round is
decided once however many processes run the check. An inspection submitted
after its round was recorded missed (a phone offline past the window's end)
stays an inspection; the round stays missed.

The read models (the `schedules` row, one `schedule_rounds` row per decided
round) are written in the same transaction as the events, and are what the
check reads: the row's version is the stream's."""
import json
import uuid
from datetime import timedelta, timezone

from sqlalchemy import (Column, Date, DateTime, Integer, MetaData, String, Text, Table, and_,
                        or_, select, update)

from einspection import auth
from einspection.contract import isoformat, new_event
from einspection.errors import Forbidden, InvalidCommand
from einspection.sweep import record_once_each

from . import rounds as calendar
from .checklists import applies_to, no_usable_checklist

SERVICE_ACTOR = "checklist-service"

metadata = MetaData()

schedules = Table(
    "schedules", metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("checklist_id", String(64), nullable=False),
    Column("position_id", String(64), nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("weekdays", Text, nullable=False),             # JSON list
    Column("shifts", Text, nullable=False),               # JSON list
    Column("assignee", String(100)),
    Column("assignee_role", String(32)),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("scheduled_by", String(200), nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    # the end of the last window decided (a round's outcome recorded), if any
    Column("decided_through", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),           # the stream's
)

schedule_rounds = Table(
    "schedule_rounds", metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("round", String(80), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("status", String(8), nullable=False),          # done | missed
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False, index=True),
    Column("inspection_id", String(64)),
    Column("completed_at", DateTime(timezone=True)),
)

TABLES = [schedules, schedule_rounds]


def stream_id(schedule_id):
    return "schedule-" + schedule_id


def _utc(moment):
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- commands ---------------------------------------------------------------------------

def require_manager(acting):
    role = acting.account.role if acting.account else None
    if role != "enterprise_manager":
        raise Forbidden("only the enterprise's manager may change its schedules; %s may not"
                        % auth.a_role(role))


def schedule(command, *, enterprise, position, checklist, assignee, actor, now, zone,
             correlation_id=""):
    """InspectionScheduled, checked: the position and the checklist the
    enterprise's own (or universal), the assignee one of its enabled
    accounts (`assignee`: its register row or None), the start not past."""
    problems = {}
    if position is None or position["enterprise_id"] != enterprise["id"]:
        problems["position_id"] = ["no such position in this enterprise"]
    elif position["retired"]:
        problems["position_id"] = ["position %s is retired: no schedule can be made at it"
                                   % position["id"]]
    if checklist is None or not applies_to(checklist, enterprise) \
            or not checklist.get("published_version"):
        problems["checklist_id"] = [no_usable_checklist(command["checklist_id"])]
    elif not calendar.at_least_as_often(command, required_frequency(checklist)):
        problems["frequency"] = [
            "checklist %s requires rounds at least %s (daily and shift > weekly > monthly); "
            "a %s schedule as given is rarer" % (command["checklist_id"],
                                                 checklist["required_frequency"],
                                                 command["frequency"])]
    if command["assignee"] and (assignee is None or assignee.disabled
                                or assignee.enterprise_id != enterprise["id"]):
        problems["assignee"] = ["no such account of this enterprise"]
    if command["starts_on"] < now.astimezone(zone).date():
        problems["starts_on"] = ["is before today: rounds are known in advance, from today on"]
    if problems:
        raise InvalidCommand(problems)
    data = dict(command, schedule_id=str(uuid.uuid4()), enterprise_id=enterprise["id"],
                assignee=assignee.username if assignee is not None else None,
                scheduled_at=now)
    return new_event("InspectionScheduled", data, actor=actor, correlation_id=correlation_id,
                     time=now)


def required_frequency(checklist):
    """The frequency a checklist (its read-model row) requires of the
    schedules of it: a universal checklist's published one, or None."""
    return checklist.get("required_frequency") if checklist["scope"] == "universal" else None


def requirements(checklists, enterprise, schedule_views, today):
    """For each universal checklist with a required frequency (published)
    that applies to the enterprise: whether a schedule of it that still has
    rounds from `today` on (not ended, or ending after today: `ends_on` has
    no round) comes at least that often, and which ones do."""
    found = []
    for checklist in checklists:
        frequency = checklist.get("published_version") and required_frequency(checklist)
        if not frequency or not applies_to(checklist, enterprise):
            continue
        meeting = [each["id"] for each in schedule_views
                   if each["checklist_id"] == checklist["id"]
                   and (each["ends_on"] is None or each["ends_on"] > today.isoformat())
                   and calendar.at_least_as_often(each, frequency)]
        found.append({"checklist_id": checklist["id"], "title": checklist["title"],
                      "required_frequency": frequency, "satisfied": bool(meeting),
                      "schedule_ids": meeting})
    return found


def ended_by_retirement(conn, position_id, *, actor, now, zone, correlation_id=""):
    """[(stream, expected version, ScheduleEnded)] for each schedule at a
    position being retired that runs past today: it ends today."""
    found = []
    for row in conn.execute(select(schedules).where(
            schedules.c.position_id == position_id).order_by(schedules.c.schedule_id)).all():
        event = end(row, {"ends_on": None, "reason": "position retired"}, actor=actor,
                    now=now, zone=zone, correlation_id=correlation_id)
        if event is not None:
            found.append((stream_id(row.schedule_id), row.version, event))
    return found


def end(row, command, *, actor, now, zone, correlation_id=""):
    today = now.astimezone(zone).date()
    ends_on = command["ends_on"] or today
    if ends_on < today:
        raise InvalidCommand({"ends_on": ["is before today: past rounds stand"]})
    if row.ends_on is not None and row.ends_on <= ends_on:
        return None                          # ended already, no later than that
    return new_event("ScheduleEnded", {
        "schedule_id": row.schedule_id, "enterprise_id": row.enterprise_id,
        "ends_on": max(ends_on, row.starts_on), "reason": command["reason"], "ended_at": now},
        actor=actor, correlation_id=correlation_id, time=now)


def terms_of(row):
    return {"frequency": row.frequency, "weekdays": json.loads(row.weekdays),
            "shifts": json.loads(row.shifts), "starts_on": row.starts_on, "ends_on": row.ends_on}


def _round_data(row, each):
    return {"schedule_id": row.schedule_id, "enterprise_id": row.enterprise_id,
            "checklist_id": row.checklist_id, "position_id": row.position_id,
            "round": each.key, "window_start": each.starts_at, "window_end": each.ends_at}


def _first_inspection(conn, inspections, row, each):
    c = inspections.c
    return conn.execute(select(c.inspection_id, c.completed_at).where(
        c.enterprise_id == row.enterprise_id, c.position_id == row.position_id,
        c.checklist_id == row.checklist_id, c.kind == "self",
        c.completed_at >= each.starts_at, c.completed_at < each.ends_at)
        .order_by(c.completed_at, c.inspection_id).limit(1)).first()


def rounds_done_by(conn, inspection, zone, *, correlation_id=""):
    """[(stream, expected version, InspectionRoundDone)] for each schedule of
    the inspection's checklist at its position whose round holds its
    completion and is not decided yet: a self-inspection only."""
    if inspection["kind"] != "self":
        return []
    found = []
    completed_at = inspection["completed_at"]
    for row in conn.execute(select(schedules).where(
            schedules.c.enterprise_id == inspection["enterprise_id"],
            schedules.c.position_id == inspection["position_id"],
            schedules.c.checklist_id == inspection["checklist_id"])).all():
        each = calendar.round_at(terms_of(row), completed_at, zone)
        if each is None or (row.decided_through is not None
                            and each.ends_at <= _utc(row.decided_through)):
            continue
        if conn.execute(select(schedule_rounds.c.round).where(
                schedule_rounds.c.schedule_id == row.schedule_id,
                schedule_rounds.c.round == each.key)).first():
            continue
        event = new_event("InspectionRoundDone", dict(
            _round_data(row, each), inspection_id=inspection["inspection_id"],
            completed_at=completed_at), actor=SERVICE_ACTOR, correlation_id=correlation_id,
            time=completed_at)
        found.append((stream_id(row.schedule_id), row.version, event))
    return found


def decide_ended_rounds(conn, row, inspections, now, zone):
    """The events deciding each round of the schedule whose window ended by
    `now` and is undecided: done by an inspection in it (one logged before
    the schedule existed), otherwise missed."""
    decided = {r.round for r in conn.execute(select(schedule_rounds.c.round).where(
        schedule_rounds.c.schedule_id == row.schedule_id))}
    events = []
    for each in calendar.rounds_ending_by(terms_of(row), _utc(row.decided_through), now, zone):
        if each.key in decided:
            continue
        done = _first_inspection(conn, inspections, row, each)
        if done is not None:
            events.append(new_event("InspectionRoundDone", dict(
                _round_data(row, each), inspection_id=done.inspection_id,
                completed_at=_utc(done.completed_at)), actor=SERVICE_ACTOR, time=now))
        else:
            events.append(new_event("InspectionMissed", dict(
                _round_data(row, each), assignee=row.assignee,
                assignee_role=row.assignee_role), actor=SERVICE_ACTOR, time=now))
    return events


def missed_check_candidates(conn, now):
    """Schedules that may have a round ended and undecided: those not ended
    before their last decided window (a cheap superset)."""
    return [r.schedule_id for r in conn.execute(select(schedules.c.schedule_id).where(
        schedules.c.starts_on <= now.date() + timedelta(days=1),
        or_(schedules.c.decided_through.is_(None), schedules.c.decided_through < now))
        .order_by(schedules.c.schedule_id)).all()]


def mark_missed(store, now, zone, record, inspections):
    """Decide every ended round of every schedule, each schedule in its own
    transaction, once across processes (einspection.sweep). `record(conn,
    stream, version, *events)` appends and projects. Returns the ids of the
    schedules this call recorded something for."""
    with store.connect() as conn:
        candidates = missed_check_candidates(conn, now)

    def step(conn, schedule_id):
        row = find(conn, schedule_id)
        events = decide_ended_rounds(conn, row, inspections, now, zone)
        if not events:
            return False
        record(conn, stream_id(schedule_id), row.version, *events)
        return True
    return record_once_each(store, candidates, step)


# --- keeping the read models in step -------------------------------------------------------

def _scheduled(conn, event, data):
    conn.execute(schedules.insert().values(
        schedule_id=data["schedule_id"], enterprise_id=data["enterprise_id"],
        checklist_id=data["checklist_id"], position_id=data["position_id"],
        frequency=data["frequency"], weekdays=json.dumps(data["weekdays"]),
        shifts=json.dumps(data["shifts"], ensure_ascii=False), assignee=data["assignee"],
        assignee_role=data["assignee_role"], starts_on=data["starts_on"],
        scheduled_by=event.actor, scheduled_at=data["scheduled_at"],
        version=event.stream_version))


def _of(data):
    return update(schedules).where(schedules.c.schedule_id == data["schedule_id"])


def _ended(conn, event, data):
    conn.execute(_of(data).values(ends_on=data["ends_on"], version=event.stream_version))


def _round(status):
    def project(conn, event, data):
        conn.execute(schedule_rounds.insert().values(
            schedule_id=data["schedule_id"], round=data["round"],
            enterprise_id=data["enterprise_id"], status=status,
            window_start=data["window_start"], window_end=data["window_end"],
            inspection_id=data.get("inspection_id"), completed_at=data.get("completed_at")))
        row = find(conn, data["schedule_id"])
        through = _utc(row.decided_through)
        conn.execute(_of(data).values(
            version=event.stream_version,
            decided_through=data["window_end"] if through is None
            else max(through, data["window_end"])))
    return project


HANDLERS = {"InspectionScheduled": _scheduled, "ScheduleEnded": _ended,
            "InspectionRoundDone": _round("done"), "InspectionMissed": _round("missed")}


# --- reading ------------------------------------------------------------------------------

def find(conn, schedule_id):
    return conn.execute(select(schedules).where(
        schedules.c.schedule_id == schedule_id)).first()


def view(row):
    return {"id": row.schedule_id, "enterprise_id": row.enterprise_id,
            "checklist_id": row.checklist_id, "position_id": row.position_id,
            "frequency": row.frequency, "weekdays": json.loads(row.weekdays),
            "shifts": json.loads(row.shifts), "assignee": row.assignee,
            "assignee_role": row.assignee_role, "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on and row.ends_on.isoformat(),
            "scheduled_by": row.scheduled_by, "scheduled_at": isoformat(_utc(row.scheduled_at))}


def of_enterprise(conn, enterprise_id):
    return [view(row) for row in conn.execute(select(schedules).where(
        schedules.c.enterprise_id == enterprise_id).order_by(
        schedules.c.scheduled_at, schedules.c.schedule_id)).all()]


def rounds_listing(conn, query, zone, scope, inspections):
    """The rounds of the schedules of the query's enterprise (or all in
    `scope`) whose window begins on a local day from `from` to `to`: each
    with its status — done or missed as decided, otherwise done if an
    inspection in its window is logged already, due while its window is
    open or to come, and (for an ended window not yet checked) due too
    until the check decides it."""
    c = schedules.c
    where = []
    if query["enterprise_id"]:
        where.append(c.enterprise_id == query["enterprise_id"])
    if scope is not None:
        where.append(c.enterprise_id.in_(sorted(scope)))
    if query["assignee"]:
        where.append(or_(c.assignee == query["assignee"],
                         and_(c.assignee.is_(None), c.assignee_role == query["role"])))
    found = []
    for row in conn.execute(select(schedules).where(*where).order_by(c.schedule_id)).all():
        decided = {r.round: r for r in conn.execute(select(schedule_rounds).where(
            schedule_rounds.c.schedule_id == row.schedule_id)).all()}
        for each in calendar.rounds_between(terms_of(row), query["from_"], query["to"], zone):
            outcome = decided.get(each.key)
            inspection_id = outcome and outcome.inspection_id
            if outcome is not None:
                status = outcome.status
            else:
                done = _first_inspection(conn, inspections, row, each)
                status = "done" if done else "due"
                inspection_id = done and done.inspection_id
            if query["status"] and status != query["status"]:
                continue
            found.append({"schedule_id": row.schedule_id, "enterprise_id": row.enterprise_id,
                          "checklist_id": row.checklist_id, "position_id": row.position_id,
                          "round": each.key, "shift": each.shift,
                          "window_start": isoformat(each.starts_at),
                          "window_end": isoformat(each.ends_at), "status": status,
                          "inspection_id": inspection_id, "assignee": row.assignee,
                          "assignee_role": row.assignee_role})
    found.sort(key=lambda r: (r["window_start"], r["schedule_id"], r["round"]))
    return found
