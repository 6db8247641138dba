"""The standing book: one row per hazard, the live ledger people filter,
page through and export. A read model kept in the same transaction as each
hazard event; `rebuild` makes it again from the event store alone."""
from datetime import timezone

from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, and_,
                        case, delete, func, or_, select, true, update)

from einspection import days, db, eventstore, figures, paging
from einspection import scope as tenancy
from einspection.contract import isoformat
from einspection.errors import InvalidCommand
from einspection.projection import paged

from .categories import CATEGORIES
from .domain import CLOSED, OPEN_STATES, REPORTED, RETURNED, SUBMITTED
from .schemas import GROUPINGS, OPEN

metadata = MetaData()

hazards = Table(
    "hazard_ledger", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), index=True),
    Column("hazard_type", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("category", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("source_inspection_id", String(64), index=True),
    Column("source_item_id", String(64)),
    Column("reporter", String(200), nullable=False),          # the name given (data)
    Column("reported_by", String(200), nullable=False),       # the account that reported it
    Column("found_at", DateTime(timezone=True), nullable=False, index=True),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("rectification_deadline", DateTime(timezone=True), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("has_plan", Boolean, nullable=False, default=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("rectified_at", DateTime(timezone=True)),
    Column("rectification_cost", String(20)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", String(200)),                         # the account that verified it
    Column("returned_count", Integer, nullable=False, default=0),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("overdue_at", DateTime(timezone=True)),
    # added with enforcement: how it was found (HazardReported's source), its listing
    Column("source", String(16), nullable=False, index=True),
    Column("listed", Boolean, nullable=False, default=False, index=True),
    Column("listed_at", DateTime(timezone=True)),
    Column("listing_deadline", DateTime(timezone=True)),
    Column("listing_office", String(200)),
    Column("delisted_at", DateTime(timezone=True)),
    # added with assignments: to whom it is given (HazardAssigned), by when; its escalation
    Column("assignee", String(100), index=True),             # the account's username
    Column("assignee_account_id", String(64)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("assignment_due", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
)

# The accounts that recorded a remediation plan or a rectification of each
# hazard (returned ones included): whom separation of duties keeps from
# verifying it, so that the verification queue can be read without loading
# every aggregate.
fixers = Table(
    "hazard_fixers", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("account", String(200), primary_key=True),
)

COLUMNS = ("hazard_id", "enterprise_id", "position_id", "hazard_type", "level", "category",
           "description", "source_inspection_id", "source_item_id", "reporter", "reported_by",
           "found_at", "reported_at", "rectification_deadline", "status", "overdue",
           "overdue_at", "has_plan", "rectified_at", "rectification_cost", "closed_at",
           "closed_by", "returned_count", "source", "listed", "listed_at", "listing_deadline",
           "listing_office", "delisted_at", "assignee", "assignee_account_id", "assigned_at",
           "assignment_due", "escalated_at")


# HazardReported's row: its data's fields and the state a new hazard starts in,
# into one statement built once (a `.values(...)` per event is compiled again).
REPORTED_FIELDS = ("hazard_id", "enterprise_id", "position_id", "hazard_type", "level", "category",
                   "description", "source_inspection_id", "source_item_id", "reporter",
                   "found_at", "reported_at", "rectification_deadline", "source")
INSERT = hazards.insert()


def _utc(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:                  # SQLite gives naive datetimes back
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def project(conn, event):
    """Apply one hazard event (already appended in this transaction) to its row."""
    data = event.data
    row = hazards.c
    where = row.hazard_id == data["hazard_id"]
    if event.name == "HazardReported":
        row = {key: data[key] for key in REPORTED_FIELDS}
        row.update(status=REPORTED, has_plan=False, returned_count=0, overdue=False,
                   listed=False, version=event.stream_version, reported_by=event.actor)
        conn.execute(INSERT, row)
        return
    if event.name in ("RemediationPlanRecorded", "RectificationDone"):
        conn.execute(db.insert_ignoring_duplicates(conn, fixers),
                     {"hazard_id": data["hazard_id"], "account": event.actor})
    changes = {
        "RemediationPlanRecorded": lambda: {"has_plan": True},
        "RectificationDone": lambda: {
            "status": SUBMITTED, "submitted_at": event.time, "rectified_at": data["done_at"],
            "rectification_cost": None if data.get("cost") is None else str(data["cost"])},
        "HazardVerified": lambda: {"status": CLOSED, "closed_at": data["verified_at"],
                                   "closed_by": event.actor},
        "HazardReturned": lambda: {"status": RETURNED,
                                   "returned_count": row.returned_count + 1},
        "HazardOverdue": lambda: {"overdue": True, "overdue_at": data["detected_at"]},
        "HazardListed": lambda: {"listed": True, "listed_at": data["listed_at"],
                                 "listing_deadline": data["deadline"],
                                 "listing_office": data["office"], "delisted_at": None},
        "HazardListingDue": lambda: {},
        "HazardDelisted": lambda: {"listed": False, "delisted_at": data["delisted_at"]},
        "HazardAssigned": lambda: {"assignee": data["assignee"]["username"],
                                   "assignee_account_id": data["assignee"]["account_id"],
                                   "assigned_at": data["assigned_at"],
                                   "assignment_due": data["due"]},
        "HazardRectificationDue": lambda: {},
        "HazardEscalated": lambda: {"escalated_at": data["detected_at"]},
    }[event.name]()
    conn.execute(update(hazards).where(where).values(version=event.stream_version, **changes))


def rebuild(conn):
    """Drop every row and replay the hazard service's own event store."""
    conn.execute(delete(hazards))
    conn.execute(delete(fixers))
    count = 0
    for _, event in paged(lambda after, limit: eventstore.read_all(conn, after, limit)):
        if event.stream_id.startswith("hazard-"):
            project(conn, event)
            count += 1
    return count


def _filtered(query, scope=None):
    c = hazards.c
    conditions = [getattr(c, key) == query[key]
                  for key in ("enterprise_id", "position_id", "source_inspection_id", "level",
                              "source")
                  if query.get(key) is not None]
    if query.get("category") is not None:            # 消防 asks for fire
        conditions.append(c.category == CATEGORIES.normalised(query["category"]))
    if query.get("q"):
        conditions.append(_matching(query["q"]))
    if query.get("status") == OPEN:
        conditions.append(c.status.in_(OPEN_STATES))
    elif query.get("status") is not None:
        conditions.append(c.status == query["status"])
    if query.get("overdue") is not None:
        conditions.append(c.overdue.is_(query["overdue"]))
    if query.get("listed") is not None:
        conditions.append(c.listed.is_(query["listed"]))
    if query.get("assignee") is not None:          # usernames are case-insensitive
        conditions.append(func.lower(c.assignee) == query["assignee"].lower())
    if query.get("from_") is not None:
        conditions.append(c.found_at >= query["from_"])
    if query.get("to") is not None:
        conditions.append(c.found_at <= query["to"])
    if scope is not None:
        conditions.append(tenancy.where(c.enterprise_id, scope))
    return and_(true(), *conditions)


def _matching(text):
    """Descriptions containing `text` (any case; % and _ are literal), or a
    category whose key, label or synonym contains it: alike on SQLite and
    PostgreSQL (lower() on both sides; Chinese has no case)."""
    c = hazards.c
    needle = text.strip().lower()
    found = [func.lower(c.description).contains(needle, autoescape=True),
             func.lower(c.category).contains(needle, autoescape=True)]
    keys = CATEGORIES.names_matching(needle)
    if keys:
        found.append(c.category.in_(keys))
    return or_(*found)


def _ordering(sort):
    return paging.ordering(hazards.c, sort, hazards.c.hazard_id)


def search(conn, query, scope=None):
    """One page of the ledger (einspection.paging)."""
    return paging.page_of(conn, select(hazards).where(_filtered(query, scope)), query,
                          _ordering(query["sort"]), row_view)


COUNTS = ("total", "open", "rectification_submitted", "closed", "closed_on_time", "major",
          "overdue", "overdue_open")
# rate: (numerator, denominator) of COUNTS (einspection.figures): hazards closed
# (rectified and verified) of those found; of the closed, those rectified by
# their deadline
RATES = {"rectification_rate": ("closed", "total"), "on_time_rate": ("closed_on_time", "closed")}


# the local calendar's groupings: counted per instant found in SQL, folded into
# the deployment's days or months here, alike on SQLite and PostgreSQL
CALENDAR_GROUPINGS = {"day": "%Y-%m-%d", "month": "%Y-%m"}


def statistics(conn, query, scope=None, zone=None):
    """Counts per group of the filtered ledger: {group_by, groups: [{key,
    total, open, rectification_submitted, closed, closed_on_time, major,
    overdue, overdue_open, rectification_rate, on_time_rate}], totals}. `overdue` counts every hazard flagged
    overdue (the flag stays after a rectification and after closing);
    `overdue_open` only those still open (reported or returned). `day` and
    `month` are those of `zone` (the deployment's) the hazard was found in."""
    if query["group_by"] not in GROUPINGS:
        raise InvalidCommand({"group_by": ["the register's (%s): counted per enterprise here, "
                                           "summed by whoever holds the register"
                                           % query["group_by"]]})
    c = hazards.c
    key = {"level": lambda: c.level, "category": lambda: c.category,
           "enterprise": lambda: c.enterprise_id, "source": lambda: c.source,
           "status": lambda: c.status,
           "day": lambda: c.found_at, "month": lambda: c.found_at}[query["group_by"]]()
    flagged = c.overdue.is_(True)
    facts = select(key.label("key"), c.status.in_(OPEN_STATES).label("open"),
                   (c.status == SUBMITTED).label("rectification_submitted"),
                   (c.status == CLOSED).label("closed"),
                   and_(c.status == CLOSED, c.rectified_at <= c.rectification_deadline
                        ).label("closed_on_time"),
                   (c.level == "major").label("major"),
                   flagged.label("overdue"),
                   and_(flagged, c.status.in_(OPEN_STATES)).label("overdue_open")
                   ).where(_filtered(query, scope)).subquery()
    counted = [func.sum(case((facts.c[name], 1), else_=0)).label(name) for name in COUNTS[1:]]
    rows = conn.execute(select(facts.c.key, func.count().label("total"), *counted)
                        .group_by(facts.c.key).order_by(facts.c.key)).all()
    groups = [dict({name: int(getattr(row, name) or 0) for name in COUNTS}, key=row.key)
              for row in rows]
    if query["group_by"] in CALENDAR_GROUPINGS:
        groups = _by_calendar(groups, CALENDAR_GROUPINGS[query["group_by"]],
                              zone or days.deployment_zone())
    totals = {name: sum(group[name] for group in groups) for name in COUNTS}
    return figures.with_rates({"group_by": query["group_by"], "groups": groups,
                               "totals": totals}, RATES)


def _by_calendar(groups, pattern, zone):
    """Groups keyed by instant summed into the local days or months they fall on."""
    folded = {}
    for group in groups:
        key = days.local_day(_utc(group["key"]), zone).strftime(pattern)
        into = folded.setdefault(key, dict(dict.fromkeys(COUNTS, 0), key=key))
        for name in COUNTS:
            into[name] += group[name]
    return [folded[key] for key in sorted(folded)]


def rows_for_export(conn, query, limit, scope=None):
    """Every matching row (no paging), or None if there are more than `limit`."""
    rows = conn.execute(select(hazards).where(_filtered(query, scope))
                        .order_by(*_ordering(query["sort"])).limit(limit + 1)).all()
    if len(rows) > limit:
        return None
    return [row_view(r) for r in rows]


def row_view(row):
    view = {key: getattr(row, key) for key in COLUMNS}
    for key in ("found_at", "reported_at", "rectification_deadline", "overdue_at",
                "rectified_at", "closed_at", "listed_at", "listing_deadline", "delisted_at",
                "assigned_at", "assignment_due", "escalated_at"):
        moment = _utc(view[key])
        view[key] = None if moment is None else isoformat(moment)
    view["id"] = view.pop("hazard_id")
    return view


def listing_reminder_candidates(conn, now, horizon):
    """Ids of listed, open hazards whose listing deadline is within `horizon`
    of `now` (or past): a cheap superset; the aggregate decides which
    reminder is due (Hazard.due_reminder)."""
    c = hazards.c
    return conn.execute(select(c.hazard_id).where(and_(
        c.listed.is_(True), c.status != CLOSED, c.listing_deadline <= now + horizon))
        .order_by(c.listing_deadline, c.hazard_id)).scalars().all()


def overdue_candidates(conn, now):
    """Ids of hazards that may have become overdue: a cheap superset; the
    aggregate decides (Hazard.is_overdue)."""
    c = hazards.c
    return conn.execute(select(c.hazard_id).where(and_(
        c.overdue.is_(False), c.status != CLOSED, c.rectification_deadline < now,
        or_(c.status.in_(OPEN_STATES), c.submitted_at > c.rectification_deadline)))
        .order_by(c.rectification_deadline)).scalars().all()


def assignment_reminder_candidates(conn, now, horizon):
    """Ids of assigned, open hazards whose due is within `horizon` of `now`
    and not past: a cheap superset; the aggregate decides which reminder is
    due (Hazard.due_assignment_reminder)."""
    c = hazards.c
    return conn.execute(select(c.hazard_id).where(and_(
        c.assignee.is_not(None), c.status.in_(OPEN_STATES), c.assignment_due >= now,
        c.assignment_due <= now + horizon))
        .order_by(c.assignment_due, c.hazard_id)).scalars().all()


def escalation_candidates(conn, latest_deadline):
    """Ids of assigned, overdue, open hazards not escalated whose deadline is
    at or before `latest_deadline`: a cheap superset; the aggregate decides
    (Hazard.is_escalation_due)."""
    c = hazards.c
    return conn.execute(select(c.hazard_id).where(and_(
        c.assignee.is_not(None), c.overdue.is_(True), c.escalated_at.is_(None),
        c.status.in_(OPEN_STATES), c.rectification_deadline <= latest_deadline))
        .order_by(c.rectification_deadline, c.hazard_id)).scalars().all()


WORK_SIZE = 100      # the most of each list "my work" shows (its total says how many there are)


def _work_list(conn, where, order):
    total = conn.execute(select(func.count()).select_from(hazards).where(where)).scalar_one()
    rows = conn.execute(select(hazards).where(where).order_by(*order, hazards.c.hazard_id)
                        .limit(WORK_SIZE)).all()
    return {"total": total, "items": [row_view(r) for r in rows]}


def assigned_to(conn, username, scope=None):
    """The hazards assigned to `username` that are not closed (a submitted one
    is still its until verified), soonest due first."""
    c = hazards.c
    where = and_(true(), func.lower(c.assignee) == username.lower(), c.status != CLOSED,
                 *([tenancy.where(c.enterprise_id, scope)] if scope is not None else []))
    return _work_list(conn, where, (c.assignment_due,))


def awaiting_verification_by(conn, account, levels, scope=None):
    """The submitted rectifications `account` may verify: hazards of `levels`
    (those its role may verify by the rule) in `scope`, none of whose plans or
    rectifications it recorded (separation of duties); oldest first."""
    c = hazards.c
    if not levels:
        return {"total": 0, "items": []}
    recorded = select(fixers.c.hazard_id).where(fixers.c.hazard_id == c.hazard_id,
                                                fixers.c.account == account).exists()
    where = and_(true(), c.status == SUBMITTED, c.level.in_(list(levels)), ~recorded,
                 *([tenancy.where(c.enterprise_id, scope)] if scope is not None else []))
    return _work_list(conn, where, (c.submitted_at,))
