"""The names of enterprises and positions, as the register (the checklist
service) announced them, for the standing book's exports: a name beside
each id, with no call to the register per row.

| event (owner) | row |
| --- | --- |
| EnterpriseRegistered (checklist) | `hazard_enterprise_names`: enterprise_id, name |
| PositionRegistered, PositionUpdated (checklist) | `hazard_position_names`: position_id, enterprise_id, name, the version of the position's stream the name is from |

Received once each through the hazard service's own queue (the inbox of
commands.CONSUMER, beside the InspectionLogged it raises hazards from) and
rebuilt from that inbox by `python -m services.hazard.cli replay`. An
enterprise's name is set by its registration; a position's by its
registration and renamed by a PositionUpdated that changes it, the later
version of the position's stream winning — so the same events give the same
rows in any order. An enterprise registered before the hazard service consumed these
events has no row: its exports show the id with an empty name."""
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select

from einspection import eventstore, scope as tenancy
from einspection.db import upsert
from einspection.errors import InvalidCommand, ReferencesUnvouched
from einspection.projection import paged

from .commands import CONSUMER

SUBSCRIBED = ["einspection.enterprise.registered.v1", "einspection.position.registered.v1",
              "einspection.position.updated.v1"]
NAMED = ("EnterpriseRegistered", "PositionRegistered", "PositionUpdated")

metadata = MetaData()

enterprise_names = Table(
    "hazard_enterprise_names", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)

position_names = Table(
    "hazard_position_names", metadata,
    Column("position_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_version", Integer, nullable=False),
)

TABLES = [enterprise_names, position_names]


def apply(conn, event):
    """Set the name an EnterpriseRegistered or PositionRegistered gives."""
    data = event.data
    if event.name == "EnterpriseRegistered":
        upsert(conn, enterprise_names, {"enterprise_id": data["enterprise_id"],
                                        "name": data["name"]}, ["enterprise_id"], ["name"])
    elif event.name in ("PositionRegistered", "PositionUpdated") and "name" in data:
        _name_position(conn, data, event.stream_version)


def _name_position(conn, data, version):
    c = position_names.c
    found = conn.execute(select(c.name_version).where(
        c.position_id == data["position_id"])).scalar()
    if found is None:
        conn.execute(position_names.insert().values(
            position_id=data["position_id"], enterprise_id=data["enterprise_id"],
            name=data["name"], name_version=version))
    elif version > found:
        conn.execute(position_names.update().where(c.position_id == data["position_id"])
                     .values(name=data["name"], name_version=version))


def receive(conn, event):
    """The event into the inbox and its name into the table, in the caller's
    transaction; False (nothing done) if it had been received already."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return False
    apply(conn, event)
    return True


def rebuild(conn):
    """Drop the names and replay every named event of the inbox into them;
    how many were replayed."""
    for table in reversed(TABLES):
        table.drop(conn, checkfirst=True)
    metadata.create_all(conn)
    replayed = 0
    for _, event in paged(lambda after, limit: eventstore.received_events(conn, CONSUMER,
                                                                          after, limit)):
        if event.name in NAMED:
            apply(conn, event)
            replayed += 1
    return replayed


def named(conn, rows):
    """`rows` (views with enterprise_id, position_id) with enterprise_name and
    position_name beside: two queries for the whole export."""
    def lookup(table, key, ids):
        found = {}
        ids = sorted({i for i in ids if i})
        for start in range(0, len(ids), 500):           # bounded IN lists
            found.update(conn.execute(select(table.c[key], table.c.name).where(
                table.c[key].in_(ids[start:start + 500]))).all())
        return found
    enterprises = lookup(enterprise_names, "enterprise_id", (r["enterprise_id"] for r in rows))
    positions = lookup(position_names, "position_id", (r["position_id"] for r in rows))
    return [dict(row, enterprise_name=enterprises.get(row["enterprise_id"]),
                 position_name=positions.get(row["position_id"])) for row in rows]


def snapshot(conn):
    """Every row, for comparing a rebuild with the live tables."""
    return {table.name: [tuple(row) for row in conn.execute(
        select(table).order_by(*table.primary_key.columns))] for table in TABLES}


# --- vouching for a report's references ------------------------------------------
# The register (the checklist service) owns enterprises, positions and
# inspections; what it announced is here. A position's enterprise never
# changes, so what is found here is the register's answer too; what is not
# found (not announced yet, or before these tables) the gateway asks the
# register, and the report comes again vouched for.

_ENTERPRISE_KNOWN = select(enterprise_names.c.enterprise_id).where(
    enterprise_names.c.enterprise_id == bindparam("enterprise_id"))
_POSITION_OWNER = select(position_names.c.enterprise_id).where(
    position_names.c.position_id == bindparam("position_id"))


def vouch(conn, command, actor=""):
    """Check a hazard report's enterprise and position against what the
    register announced: InvalidCommand for a position of another enterprise
    (answered as a missing one, as the register answers), ReferencesUnvouched
    naming what is not known here — then the register decides everything.
    A source inspection is always the register's to check."""
    enterprise_id = command["enterprise_id"]
    unknown = []
    if conn.execute(_ENTERPRISE_KNOWN, {"enterprise_id": enterprise_id}).first() is None:
        unknown.append("enterprise_id")
    owner = None
    if command.get("position_id"):
        owner = conn.execute(_POSITION_OWNER, {"position_id": command["position_id"]}).scalar()
        if owner is None:
            unknown.append("position_id")
    if command.get("source_inspection_id"):
        unknown.append("source_inspection_id")
    if unknown:
        raise ReferencesUnvouched(unknown)
    if owner is not None and owner != enterprise_id:
        tenancy.log_attempt("position", command["position_id"], owner, actor)
        raise InvalidCommand({"position_id": ["no such position of this enterprise"]})
