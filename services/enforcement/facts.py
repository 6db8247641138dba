"""What the enforcement service knows of each enterprise, for the weight of
the draw (services/enforcement/weights.py): a projection of other services'
events, received once each (the inbox of CONSUMER) and rebuilt from that
inbox by `python -m services.enforcement.cli replay`.

| event (owner) | fact |
| --- | --- |
| EnterpriseRegistered (checklist) | the enterprise: name, industry, town, grid |
| GradeAssigned, GradeStated (scoring) | its grade: the one of the latest `as_of` (then time, then id) |
| HazardReported, HazardOverdue (hazard) | a hazard and its level; overdue |
| HazardVerified (hazard) | the hazard closed: no longer open, overdue or counted as listed |
| HazardListed, HazardDelisted (hazard) | listed for supervision (挂牌督办), until signed off |
| InspectionLogged, kind enforcement (checklist) | a visit on the deployment's day of its completion |
| HazardReported, source enforcement (hazard) | a hazard found by inspectors, on the day reported (the figures, statistics.py) |

Order-proof, so any number of enforcement processes can share the queue:
each event sets its own column of its own row (a verification that overtakes
its report just fills in `verified_at`), and a grade replaces the stored one
only when it is later. The same events give the same facts in any order.

Per enterprise the weight function reads {enterprise_id, town, industry,
grade, open_major, overdue, listed, last_enforcement_visit,
visits_this_year}: counts of hazards not closed (open major ones, overdue
ones, listed ones), the day of the latest enforcement visit and the visits
in the calendar year of `today` (days cut in EINSPECTION_TIME_ZONE)."""
from datetime import date

from sqlalchemy import (Column, Date, DateTime, MetaData, String, Table, and_, func,
                        select)

from einspection import eventstore
from einspection.contract import isoformat
from einspection.days import local_day
from einspection.db import dialect_insert, upsert
from einspection.projection import paged

CONSUMER = "enforcement"          # the inbox name, and the queue <QUEUE_PREFIX>.enforcement
SUBSCRIBED = ["einspection.enterprise.registered.v1", "einspection.grade.assigned.v1",
              "einspection.grade.stated.v1", "einspection.hazard.reported.v1",
              "einspection.hazard.verified.v1", "einspection.hazard.overdue.v1",
              "einspection.hazard.listed.v1", "einspection.hazard.delisted.v1",
              "einspection.inspection.logged.v1"]

metadata = MetaData()

enterprises = Table(
    "facts_enterprises", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("industry", String(100), nullable=False),
    Column("town", String(100), nullable=False, index=True),
    Column("grid", String(100), nullable=False),
)

grades = Table(
    "facts_grades", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("grade", String(1), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("ordering", String(128), nullable=False),   # as_of|time|event id: later wins
)

hazards = Table(
    "facts_hazards", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("level", String(16)),                        # None until its report arrives
    Column("overdue_at", DateTime(timezone=True)),
    Column("verified_at", DateTime(timezone=True)),
    Column("listed_at", DateTime(timezone=True)),
    Column("delisted_at", DateTime(timezone=True)),
)

visits = Table(
    "facts_enforcement_visits", metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("campaign_id", String(64)),
)

# hazards found by inspectors (HazardReported, source enforcement): the authority's figures
inspector_hazards = Table(
    "facts_inspector_hazards", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("inspection_id", String(64)),
    Column("day", Date, nullable=False),                # reported, the deployment's day
)

TABLES = [enterprises, grades, hazards, visits, inspector_hazards]

# which column of the hazard's row each hazard event sets
HAZARD_COLUMNS = {"HazardOverdue": ("overdue_at", "detected_at"),
                  "HazardVerified": ("verified_at", "verified_at"),
                  "HazardListed": ("listed_at", "listed_at"),
                  "HazardDelisted": ("delisted_at", "delisted_at")}


def _later_grade(conn, values):
    """Insert the grade, or replace the stored one if this one is later."""
    statement = dialect_insert(conn)(grades)
    statement = statement.on_conflict_do_update(
        index_elements=["enterprise_id"],
        set_={name: statement.excluded[name] for name in ("grade", "as_of", "ordering")},
        where=statement.excluded.ordering > grades.c.ordering)
    conn.execute(statement, values)


def apply(conn, event, zone):
    """Merge one received event into the facts (any other event: nothing)."""
    data = event.data
    if event.name == "EnterpriseRegistered":
        upsert(conn, enterprises, {key: data[key] for key in
                                   ("enterprise_id", "name", "industry", "town", "grid")},
               ["enterprise_id"], ["name", "industry", "town", "grid"])
    elif event.name in ("GradeAssigned", "GradeStated"):
        _later_grade(conn, {"enterprise_id": data["enterprise_id"], "grade": data["grade"],
                            "as_of": data["as_of"], "ordering": "%s|%s|%s" % (
                                data["as_of"].isoformat(), isoformat(event.time), event.id)})
    elif event.name == "HazardReported":
        upsert(conn, hazards, {"hazard_id": data["hazard_id"], "level": data["level"],
                               "enterprise_id": data["enterprise_id"]},
               ["hazard_id"], ["level"])
        if data.get("source") == "enforcement":
            upsert(conn, inspector_hazards, {
                "hazard_id": data["hazard_id"], "enterprise_id": data["enterprise_id"],
                "inspection_id": data.get("source_inspection_id"),
                "day": local_day(data["reported_at"], zone)}, ["hazard_id"])
    elif event.name in HAZARD_COLUMNS:
        column, field = HAZARD_COLUMNS[event.name]
        values = {"hazard_id": data["hazard_id"], "enterprise_id": data["enterprise_id"],
                  column: data[field]}
        if event.name == "HazardOverdue":
            values["level"] = data["level"]
        upsert(conn, hazards, values, ["hazard_id"], [k for k in values if k != "hazard_id"
                                                      and k != "enterprise_id"])
    elif event.name == "InspectionLogged" and data["kind"] == "enforcement":
        upsert(conn, visits, {"inspection_id": data["inspection_id"],
                              "enterprise_id": data["enterprise_id"],
                              "day": local_day(data["completed_at"], zone),
                              "campaign_id": data.get("campaign_id")}, ["inspection_id"])


def _counts(conn, condition):
    return dict(conn.execute(select(hazards.c.enterprise_id, func.count())
                             .where(condition).group_by(hazards.c.enterprise_id)).all())


def facts_list(conn, today):
    """The facts of every registered enterprise, by enterprise id."""
    not_closed = hazards.c.verified_at.is_(None)
    open_major = _counts(conn, and_(not_closed, hazards.c.level == "major"))
    overdue = _counts(conn, and_(not_closed, hazards.c.overdue_at.is_not(None)))
    listed = _counts(conn, and_(hazards.c.listed_at.is_not(None),
                                hazards.c.delisted_at.is_(None)))
    grade_of = dict(conn.execute(select(grades.c.enterprise_id, grades.c.grade)).all())
    last_visit = dict(conn.execute(select(visits.c.enterprise_id, func.max(visits.c.day))
                                   .where(visits.c.day <= today)
                                   .group_by(visits.c.enterprise_id)).all())
    this_year = dict(conn.execute(select(visits.c.enterprise_id, func.count())
                                  .where(visits.c.day >= date(today.year, 1, 1),
                                         visits.c.day <= today)
                                  .group_by(visits.c.enterprise_id)).all())
    found = []
    for row in conn.execute(select(enterprises).order_by(enterprises.c.enterprise_id)):
        enterprise_id = row.enterprise_id
        visited = last_visit.get(enterprise_id)
        found.append({"enterprise_id": enterprise_id, "town": row.town,
                      "industry": row.industry, "grade": grade_of.get(enterprise_id),
                      "open_major": open_major.get(enterprise_id, 0),
                      "overdue": overdue.get(enterprise_id, 0),
                      "listed": listed.get(enterprise_id, 0),
                      "last_enforcement_visit": visited and _day(visited).isoformat(),
                      "visits_this_year": this_year.get(enterprise_id, 0)})
    return found


def _day(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def directory(conn, enterprise_ids=None):
    """{enterprise_id: {name, town, grid, industry}} of the registered enterprises."""
    statement = select(enterprises)
    if enterprise_ids is not None:
        statement = statement.where(enterprises.c.enterprise_id.in_(list(enterprise_ids)))
    return {row.enterprise_id: {"name": row.name, "town": row.town, "grid": row.grid,
                                "industry": row.industry} for row in conn.execute(statement)}


def town_counts(conn):
    """{town: registered enterprises}: the basis of proportional quotas."""
    return dict(conn.execute(select(enterprises.c.town, func.count())
                             .group_by(enterprises.c.town)).all())


def verified_hazards(conn, hazard_ids):
    """{hazard_id: verified_at} of those among `hazard_ids` already verified."""
    if not hazard_ids:
        return {}
    return dict(conn.execute(select(hazards.c.hazard_id, hazards.c.verified_at).where(
        hazards.c.hazard_id.in_(list(hazard_ids)), hazards.c.verified_at.is_not(None))).all())


def rebuild(conn, zone):
    """Drop the facts and replay every received event into them, in the
    caller's transaction. Returns how many received events were replayed."""
    for table in reversed(TABLES):
        table.drop(conn, checkfirst=True)
    metadata.create_all(conn)
    replayed = 0

    def read_received(after, limit):
        return eventstore.received_events(conn, CONSUMER, after, limit)

    for _, event in paged(read_received):
        apply(conn, event, zone)
        replayed += 1
    return replayed


def snapshot(conn):
    """Every fact row, for comparing a rebuild with the live projection."""
    return {table.name: [tuple(row) for row in conn.execute(
        select(table).order_by(*table.primary_key.columns))] for table in TABLES}
