"""What the hazard service does with a command or an event: load the aggregate,
let it decide, then append its events with an optimistic version check and
update the ledger in the caller's transaction. Every command takes the
`Acting` it is done in (einspection.acting): its scope limits what it may
touch, its actor is the actor of what it records. Plain: no nameko."""
import os
from datetime import timedelta

from einspection import eventstore
from einspection import scope as tenancy
from einspection.errors import Conflict, InvalidCommand, NotFound
from einspection.sweep import record_once_each

from einspection.acting import Acting

from . import evidence, ledger
from .domain import (DEFAULT_DEADLINE_DAYS, DEFAULT_ESCALATION_DAYS,
                     DEFAULT_LISTING_REMINDER_DAYS, DEFAULT_REMINDER_DAYS, SERVICE, Hazard,
                     stream_id)

CONSUMER = "hazard"          # the inbox name, and the queue <QUEUE_PREFIX>.hazard


def deadline_days(environ=os.environ):
    """Days allowed for rectification by level: HAZARD_DEADLINE_DAYS_GENERAL / _MAJOR."""
    days = {}
    for level, default in DEFAULT_DEADLINE_DAYS.items():
        key = "HAZARD_DEADLINE_DAYS_" + level.upper()
        value = int(environ.get(key) or default)
        if value < 1:
            raise ValueError("%s must be at least 1 day, not %r" % (key, value))
        days[level] = value
    return days


def _days_list(environ, key, default, least):
    text = environ.get(key)
    if not text:
        return default
    try:
        days = tuple(sorted({int(part) for part in text.split(",") if part.strip()},
                            reverse=True))
    except ValueError:
        raise ValueError("%s must be whole days separated by commas, not %r"
                         % (key, text)) from None
    if any(day < least or day > 366 for day in days):
        raise ValueError("%s must be %d to 366 days, not %r" % (key, least, text))
    return days


def listing_reminder_days(environ=os.environ):
    """Days before a listing's deadline to remind: HAZARD_LISTING_REMINDER_DAYS,
    comma-separated (default "7,1"); the deadline's day itself always counts."""
    return _days_list(environ, "HAZARD_LISTING_REMINDER_DAYS", DEFAULT_LISTING_REMINDER_DAYS, 1)


def reminder_days(environ=os.environ):
    """Days before an assignment's due to remind its assignee: HAZARD_REMINDER_DAYS,
    comma-separated, 0 for the due's day (default "3,1,0")."""
    return _days_list(environ, "HAZARD_REMINDER_DAYS", DEFAULT_REMINDER_DAYS, 0)


def escalation_days(environ=os.environ):
    """Days after the deadline's day that an assigned hazard still open is
    escalated to the grid: HAZARD_ESCALATION_DAYS (default 3)."""
    text = environ.get("HAZARD_ESCALATION_DAYS")
    try:
        days = int(text) if text else DEFAULT_ESCALATION_DAYS
    except ValueError:
        raise ValueError("HAZARD_ESCALATION_DAYS must be whole days, not %r" % text) from None
    if days < 0 or days > 366:
        raise ValueError("HAZARD_ESCALATION_DAYS must be 0 to 366 days, not %r" % text)
    return days


def load(conn, hazard_id, scope=None, actor=""):
    """The hazard, if it exists and its enterprise is in `scope`."""
    events = eventstore.load_stream(conn, stream_id(hazard_id))
    if not events:
        raise NotFound("hazard", hazard_id)
    hazard = Hazard.from_history(hazard_id, events)
    tenancy.require(scope, hazard.enterprise_id, "hazard", hazard_id, actor)
    return hazard


def save(conn, hazard):
    """Append the pending events (ConcurrencyConflict if the stream moved since
    it was loaded) and project them into the ledger, in `conn`'s transaction."""
    eventstore.append(conn, stream_id(hazard.id), hazard.version, hazard.pending)
    for event in hazard.pending:
        ledger.project(conn, event)
    hazard.version += len(hazard.pending)
    hazard.pending = []


def no_such_evidence(ref):
    return "no such evidence %s; upload it first (POST /api/v1/evidence)" % ref


def require_evidence(conn, enterprise_id, refs_by_field):
    """Every evidence ref is a file `enterprise_id` owns (evidence.py): else
    InvalidCommand naming each bad one where it stands. `refs_by_field` nests
    like the command, lists of refs at the leaves: {"evidence": [...]}, or
    {"results": {"0": {"photos": [...]}}}. Another enterprise's file gets the
    same answer as a missing one."""
    leaves = []

    def collect(node, path):
        if isinstance(node, dict):
            for key, child in node.items():
                collect(child, path + (key,))
        elif isinstance(node, list):
            leaves.append((path, node))
    collect(refs_by_field, ())
    bad = evidence.unowned(conn, enterprise_id, [ref for _, refs in leaves for ref in refs])
    errors = {}
    for path, refs in leaves:
        missing = {index: [no_such_evidence(ref)] for index, ref in enumerate(refs)
                   if ref in bad}
        if missing:
            node = errors
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = missing
    if errors:
        raise InvalidCommand(errors)


def require_enterprise_in_scope(command, acting):
    if not tenancy.visible(acting.scope, command["enterprise_id"]):
        tenancy.log_attempt("enterprise", command["enterprise_id"], command["enterprise_id"],
                            acting.actor)
        raise InvalidCommand({"enterprise_id": ["no such enterprise"]})


def report(conn, command, acting, *, now, days=None):
    """A reported hazard. Its enterprise, position and source inspection item
    are the register's to vouch for (the gateway asked the checklist service,
    or names.vouch found them announced); its evidence is this service's."""
    require_enterprise_in_scope(command, acting)
    require_evidence(conn, command["enterprise_id"], {"evidence": command.get("evidence") or []})
    hazard = Hazard.report(command, acting, now=now, deadline_days=days)
    if eventstore.stream_version(conn, stream_id(hazard.id)):
        existing = load(conn, hazard.id)
        if existing.enterprise_id != command["enterprise_id"]:   # as if it did not exist
            tenancy.log_attempt("inspection", command["source_inspection_id"],
                                existing.enterprise_id, acting.actor)
            raise InvalidCommand({"source_inspection_id": ["no such inspection of this "
                                                           "enterprise"]})
        raise Conflict("inspection item %s of inspection %s has its hazard %s already"
                       % (command["source_item_id"], command["source_inspection_id"],
                          hazard.id), {"state": existing.state, "hazard_id": hazard.id})
    save(conn, hazard)
    return hazard


def change(conn, hazard_id, decide, acting):
    """Load a hazard (of the acting account's scope), let `decide(hazard)`
    record events, save them."""
    hazard = load(conn, hazard_id, acting.scope, acting.actor)
    decide(hazard)
    save(conn, hazard)
    return hazard


def record_plan(conn, hazard_id, command, acting, *, now):
    return change(conn, hazard_id, lambda hazard: hazard.record_plan(command, acting, now=now),
                  acting)


def submit_rectification(conn, hazard_id, command, acting, *, now):
    def decide(hazard):
        require_evidence(conn, hazard.enterprise_id, {"evidence": command.get("evidence") or []})
        hazard.submit_rectification(command, acting, now=now)
    return change(conn, hazard_id, decide, acting)


def verify(conn, hazard_id, command, acting, rule, *, now):
    """Close or return a hazard, as `rule` (verification.VerificationRule) allows."""
    return change(conn, hazard_id, lambda hazard: hazard.verify(command, acting, rule, now=now),
                  acting)


def raise_from_inspection(conn, event, *, days=None):
    """One hazard per failed item of an InspectionLogged, exactly once: the
    event goes into the inbox in this transaction (a redelivery stops there),
    and each hazard's id is derived from (inspection, item), so a second
    attempt by any other path finds the stream taken instead of duplicating.
    Their actor is the InspectionLogged's (the account that logged the
    inspection), not the inspector it names. Returns the hazards raised now."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return []
    raised = []
    acting = Acting.following(event)
    for item in event.data.get("failed_items") or []:
        hazard = Hazard.from_failed_item(event.data, item, acting, now=event.time,
                                         deadline_days=days)
        if eventstore.stream_version(conn, stream_id(hazard.id)):
            continue                   # raised already (e.g. the event was re-published)
        save(conn, hazard)             # expected version 0: a concurrent twin conflicts
        raised.append(hazard)
    return raised


def list_for_supervision(conn, hazard_id, command, acting, *, now):
    return change(conn, hazard_id,
                  lambda hazard: hazard.list_for_supervision(command, acting, now=now), acting)


def delist(conn, hazard_id, command, acting, *, now):
    return change(conn, hazard_id, lambda hazard: hazard.delist(command, acting, now=now),
                  acting)


def assign(conn, hazard_id, command, assignee, acting, *, now):
    """Give the hazard to `assignee` (the register's account, checked by the
    gateway with the checklist service: enabled, of an enterprise)."""
    return change(conn, hazard_id,
                  lambda hazard: hazard.assign(command, assignee, acting, now=now), acting)


def _each_once(store, candidates, decide):
    """`decide(hazard)` for each candidate hazard, exactly once across
    processes (einspection.sweep): what it records is saved with the version
    the hazard was loaded at. Returns the ids it recorded something for."""
    def step(conn, hazard_id):
        hazard = load(conn, hazard_id)
        if decide(hazard) is None:
            return False
        save(conn, hazard)
        return True
    return record_once_each(store, candidates, step)


def remind_assignees(store, now, days, zone):
    """Record HazardRectificationDue for every assigned hazard whose reminder
    is due, exactly once each across processes (as remind_listings)."""
    horizon = timedelta(days=max(days, default=0) + 2)    # a day of margin, as for listings
    with store.connect() as conn:
        candidates = ledger.assignment_reminder_candidates(conn, now, horizon)
    return _each_once(store, candidates, lambda hazard: hazard.remind_assignee(now, days, zone))


def escalate_overdue(store, now, days, zone):
    """Record HazardEscalated for every assigned hazard still open `days`
    deployment days after its deadline's day, exactly once each."""
    # the deadline's day begins at most a day before the deadline
    with store.connect() as conn:
        candidates = ledger.escalation_candidates(conn, now - timedelta(days=days - 1))
    return _each_once(store, candidates, lambda hazard: hazard.escalate(now, days, zone))


def work_of(conn, username, role, scope, rule):
    """What waits for an account: the hazards assigned to it, and the
    submitted rectifications it may verify (`rule`'s levels for its role,
    minus the hazards it planned or rectified)."""
    return {"assigned": ledger.assigned_to(conn, username, scope),
            "awaiting_verification": ledger.awaiting_verification_by(
                conn, username, rule.levels_for(role) if role else (), scope)}


def remind_listings(store, now, reminder_days, zone):
    """Record HazardListingDue for every listed hazard whose reminder is due,
    each in its own transaction. As with the overdue check, a process that
    got there first makes the append conflict and the hazard is skipped, so
    each reminder is recorded exactly once whatever the number of hazard
    processes; notify then issues its notices from that one event (ids
    derived from it). Returns the ids reminded by this call."""
    # a day of margin: the deadline's day may begin up to a day before it in UTC terms
    horizon = timedelta(days=max(reminder_days, default=0) + 2)
    with store.connect() as conn:
        candidates = ledger.listing_reminder_candidates(conn, now, horizon)
    return _each_once(store, candidates,
                      lambda hazard: hazard.remind_listing(now, reminder_days, zone))


def mark_overdue(store, now):
    """Record HazardOverdue for every hazard that became overdue; each in its
    own transaction. Another process that got there first makes the append
    conflict: that hazard is skipped, so each is marked exactly once.
    Returns the ids marked by this call."""
    with store.connect() as conn:
        candidates = ledger.overdue_candidates(conn, now)
    return _each_once(store, candidates, lambda hazard: hazard.mark_overdue(now))


def check_overdue(conn, hazard_id, now, correlation_id=""):
    """The overdue check of one hazard as of `now` (an imported hazard's, as
    it ran then): HazardOverdue if it is due and not marked yet, recorded by
    the hazard service as the live check would."""
    hazard = load(conn, hazard_id)
    acting = Acting(SERVICE.actor, correlation_id=correlation_id)
    marked = hazard.mark_overdue(now, acting) is not None
    if marked:
        save(conn, hazard)
    return {"hazard_id": hazard_id, "overdue": hazard.overdue_at is not None, "marked": marked}


def history(conn, hazard_id, scope=None, actor=""):
    """Every event of the hazard's stream, each with who acted and the status it led to."""
    events = eventstore.load_stream(conn, stream_id(hazard_id))
    if not events:
        raise NotFound("hazard", hazard_id)
    tenancy.require(scope, events[0].data["enterprise_id"], "hazard", hazard_id, actor)
    return [dict(event.to_dict(), status=state)
            for event, state in Hazard(hazard_id).replay(events)]
