"""The standing book: one row per hazard, the live ledger people filter,
page through and export. A read model kept in the same transaction as each
hazard event; `rebuild` makes it again from the event store alone."""
from datetime import timezone

from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, and_,
                        case, delete, func, literal_column, or_, select, true, update)

from einspection import eventstore, figures, paging
from einspection import scope as tenancy
from einspection.contract import isoformat
from einspection.errors import InvalidCommand
from einspection.projection import paged

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
    Column("version", Integer, nullable=False),
)

COLUMNS = ("hazard_id", "enterprise_id", "position_id", "hazard_type", "level", "category",
           "description", "source_inspection_id", "source_item_id", "reporter", "reported_by",
           "found_at", "reported_at", "rectification_deadline", "status", "overdue",
           "overdue_at", "has_plan", "rectified_at", "rectification_cost", "closed_at",
           "closed_by", "returned_count", "source", "listed", "listed_at", "listing_deadline",
           "listing_office", "delisted_at")


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
        conn.execute(hazards.insert().values(
            status=REPORTED, has_plan=False, returned_count=0, overdue=False, listed=False,
            version=event.stream_version, reported_by=event.actor, source=data["source"],
            **{key: data[key] for key in (
                "hazard_id", "enterprise_id", "position_id", "hazard_type", "level",
                "category", "description", "source_inspection_id", "source_item_id",
                "reporter", "found_at", "reported_at", "rectification_deadline")}))
        return
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
    }[event.name]()
    conn.execute(update(hazards).where(where).values(version=event.stream_version, **changes))


def rebuild(conn):
    """Drop every row and replay the hazard service's own event store."""
    conn.execute(delete(hazards))
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
                              "category", "source")
                  if query.get(key) is not None]
    if query.get("status") == OPEN:
        conditions.append(c.status.in_(OPEN_STATES))
    elif query.get("status") is not None:
        conditions.append(c.status == query["status"])
    if query.get("overdue") is not None:
        conditions.append(c.overdue.is_(query["overdue"]))
    if query.get("listed") is not None:
        conditions.append(c.listed.is_(query["listed"]))
    if query.get("from_") is not None:
        conditions.append(c.found_at >= query["from_"])
    if query.get("to") is not None:
        conditions.append(c.found_at <= query["to"])
    if scope is not None:
        conditions.append(tenancy.where(c.enterprise_id, scope))
    return and_(true(), *conditions)


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


def _month_found(conn):
    """'YYYY-MM' of found_at in UTC, in the database's own dialect."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", hazards.c.found_at), literal_column("'YYYY-MM'"))
    return func.strftime("%Y-%m", hazards.c.found_at)     # SQLite keeps UTC wall time


def statistics(conn, query, scope=None):
    """Counts per group of the filtered ledger: {group_by, groups: [{key,
    total, open, rectification_submitted, closed, closed_on_time, major,
    overdue, overdue_open, rectification_rate, on_time_rate}], totals}. `overdue` counts every hazard flagged
    overdue (the flag stays after a rectification and after closing);
    `overdue_open` only those still open (reported or returned)."""
    if query["group_by"] not in GROUPINGS:
        raise InvalidCommand({"group_by": ["the register's (%s): counted per enterprise here, "
                                           "summed by whoever holds the register"
                                           % query["group_by"]]})
    c = hazards.c
    key = {"level": lambda: c.level, "category": lambda: c.category,
           "enterprise": lambda: c.enterprise_id, "source": lambda: c.source,
           "status": lambda: c.status,
           "month": lambda: _month_found(conn)}[query["group_by"]]()
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
    totals = {name: sum(group[name] for group in groups) for name in COUNTS}
    return figures.with_rates({"group_by": query["group_by"], "groups": groups,
                               "totals": totals}, RATES)


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
                "rectified_at", "closed_at", "listed_at", "listing_deadline", "delisted_at"):
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
