"""The append-only event store, its transactional outbox, the inbox in
which consumers record what they processed, and the journal of the
commands that were executed (einspection.journal).

All four are tables in the owning service's own database. Writes happen
inside the caller's transaction, so an event, its outbox entry and the
effect or command that caused it commit together or not at all.
"""
import json
from datetime import timezone

import sqlalchemy

from sqlalchemy import (BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, and_, bindparam, func, insert, select, update)
from sqlalchemy.exc import IntegrityError

from .contract import EVENT_TYPES, Event, utcnow
from .db import insert_ignoring_duplicates
from .metrics import EVENTS_APPENDED
from .errors import ConcurrencyConflict

Position = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only

metadata = MetaData()

events = Table(
    "events", metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("stream_id", String(128), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
    Column("metadata", Text, nullable=False),   # actor, correlation and causation ids
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
)

outbox = Table(
    "outbox", metadata,
    Column("position", Position, primary_key=True),   # = events.position
    Column("routing_key", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True, index=True),
)

inbox = Table(
    "inbox", metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("consumer", "event_id", name="uq_inbox_consumer_event"),
)

# Write-side bookkeeping like the inbox, not a read model: no replay drops it.
commands = Table(
    "commands", metadata,
    Column("command_id", String(64), primary_key=True),
    Column("command", String(64), primary_key=True),      # the RPC method's name
    Column("fingerprint", String(64), nullable=False),    # sha256 of the request
    Column("answer", Text, nullable=True),                # JSON; null only while it runs
    Column("concealed", Text, nullable=True),             # JSON list of keys not kept
    Column("actor", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, index=True),
)


# The hot statements, built once. A statement built per call costs SQLAlchemy
# more Python work (cache keys, result adaptation) than the query costs the
# database.
APPEND_EVENT = insert(events).returning(events.c.position)
APPEND_OUTBOX = insert(outbox)
STREAM_VERSION = (select(events.c.stream_version)
                  .where(events.c.stream_id == bindparam("stream_id"))
                  .order_by(events.c.stream_version.desc()).limit(1))
LOAD_STREAM = (select(events).where(events.c.stream_id == bindparam("stream_id"))
               .order_by(events.c.stream_version))
# the relay's, once or twice per batch
UNPUBLISHED = (select(outbox.c.position, outbox.c.routing_key, outbox.c.body, events.c.event_id)
               .join(events, events.c.position == outbox.c.position)
               .where(outbox.c.published_at.is_(None)).order_by(outbox.c.position)
               .limit(bindparam("limit")))
UNPUBLISHED_LOCKED = UNPUBLISHED.with_for_update(of=outbox)
MARK_PUBLISHED = (update(outbox)
                  .where(and_(outbox.c.position.in_(bindparam("positions", expanding=True)),
                              outbox.c.published_at.is_(None)))
                  .values(published_at=bindparam("published_at")))

SCHEMA_LOCK = 7243001   # PostgreSQL advisory lock id: one schema creator at a time


def create_tables(engine, *more_metadata):
    """Create what is missing, in one transaction: tables, and the indexes
    an existing table lacks (added to its declaration since the database was
    made: built in place, the table's rows kept). Replicas starting together
    would race on CREATE TABLE in PostgreSQL; an advisory lock queues them."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%d)" % SCHEMA_LOCK)
        for each in (metadata,) + more_metadata:
            each.create_all(conn)
        have = _index_names(conn)
        lacking = [index for each in (metadata,) + more_metadata
                   for table in each.sorted_tables for index in table.indexes
                   if index.name not in have]
        if lacking:
            # a table of an older shape gets none: it is rebuilt whole (missing_columns)
            outdated = {name.split(".")[0] for name in _missing_columns(conn, more_metadata)}
            for index in lacking:
                if index.table.name not in outdated:
                    index.create(conn)


def _index_names(conn):
    """Every index's name in the database (reflection would leave out the
    indexes on expressions)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    return set(conn.exec_driver_sql(query).scalars())


def missing_columns(engine, *more_metadata):
    """The columns the code declares that an existing table lacks ("table.column"):
    read models of an older shape, from a database of an earlier release. They are
    rebuilt in the current shape from their events (`make replay`); until then
    every read of them would fail."""
    return _missing_columns(engine, more_metadata)


def _missing_columns(bind, more_metadata):
    inspector = sqlalchemy.inspect(bind)
    existing = set(inspector.get_table_names())
    missing = []
    for each in (metadata,) + more_metadata:
        for table in each.sorted_tables:
            if table.name in existing:
                have = {column["name"] for column in inspector.get_columns(table.name)}
                missing += ["%s.%s" % (table.name, column.name) for column in table.columns
                            if column.name not in have]
    return missing


class OutdatedReadModels(RuntimeError):
    """The service's read models are of an older shape: it does not start on them."""


def _metadata_of(event):
    return json.dumps({"actor": event.actor, "correlation_id": event.correlation_id or event.id,
                       "causation_id": event.causation_id or event.id},
                      separators=(",", ":"))


def append(conn, stream_id, expected_version, new_events):
    """Append `new_events` to a stream that must be at `expected_version`.

    Raises ConcurrencyConflict when another writer got there first; the
    caller's transaction must then be rolled back, so nothing is half-written.
    """
    if not new_events:
        return []
    if stream_version(conn, stream_id) != expected_version:
        raise ConcurrencyConflict(stream_id, expected_version)
    now = utcnow()
    positions = []
    for offset, event in enumerate(new_events, start=1):
        event.stream_id = stream_id
        event.stream_version = expected_version + offset
        try:
            position = conn.execute(APPEND_EVENT, {
                "event_id": event.id, "stream_id": stream_id,
                "stream_version": event.stream_version, "name": event.name,
                "subject": event.subject, "time": event.time,
                "data": json.dumps(event.data_json(), ensure_ascii=False, separators=(",", ":")),
                "metadata": _metadata_of(event), "recorded_at": now}).scalar_one()
        except IntegrityError:
            # Another writer took this version. The caller's transaction is
            # spoilt and must roll back: exactly what the raise makes it do.
            raise ConcurrencyConflict(stream_id, expected_version) from None
        if EVENT_TYPES[event.name].public:
            conn.execute(APPEND_OUTBOX, {"position": position, "routing_key": event.type,
                                         "body": event.to_json()})
        positions.append(position)
        EVENTS_APPENDED.labels(event.name).inc()
    return positions


def _event_from_row(row):
    meta = json.loads(row.metadata)
    return Event.from_dict({
        "specversion": "1.0", "id": row.event_id, "source": "-", "subject": row.subject,
        "type": _type_of(row.name), "time": row.time.isoformat() if row.time.tzinfo
        else row.time.isoformat() + "+00:00",
        "data": json.loads(row.data), "actor": meta["actor"],
        "correlationid": meta["correlation_id"], "causationid": meta["causation_id"],
        "streamid": row.stream_id, "streamversion": row.stream_version,
    })


def _type_of(name):
    return EVENT_TYPES[name].type


def last_position(conn):
    """The position of the latest event in the store (0 if none)."""
    from sqlalchemy import func
    return conn.execute(select(func.max(events.c.position))).scalar() or 0


def load_stream(conn, stream_id, leaving_out=()):
    """The stream's events in order; `leaving_out`: names of events not to
    read (a position's scans, when only its changes are wanted)."""
    if leaving_out:
        rows = conn.execute(select(events).where(
            events.c.stream_id == stream_id, events.c.name.not_in(list(leaving_out)))
            .order_by(events.c.stream_version)).all()
    else:
        rows = conn.execute(LOAD_STREAM, {"stream_id": stream_id}).all()
    return [_event_from_row(row) for row in rows]


def read_all(conn, after_position=0, limit=1000):
    """Events in global order: (position, Event) pairs after `after_position`."""
    rows = conn.execute(select(events).where(events.c.position > after_position)
                        .order_by(events.c.position).limit(limit)).all()
    return [(row.position, _event_from_row(row)) for row in rows]


# --- outbox ----------------------------------------------------------------------------

def claim_unpublished(conn, limit, lock=True):
    """The oldest unpublished entries. On PostgreSQL the rows stay locked until
    the transaction ends, so relays of several replicas take batches one after
    another, in order, and never publish the same batch side by side."""
    query = UNPUBLISHED_LOCKED if lock and conn.dialect.name == "postgresql" else UNPUBLISHED
    return conn.execute(query, {"limit": limit}).all()


def mark_published(conn, positions):
    if positions:
        conn.execute(MARK_PUBLISHED, {"positions": list(positions), "published_at": utcnow()})


def unpublished_count(conn):
    from sqlalchemy import func
    return conn.execute(select(func.count()).select_from(outbox)
                        .where(outbox.c.published_at.is_(None))).scalar_one()


OUTBOX_BACKLOG = (select(func.count(), func.min(outbox.c.position))
                  .where(outbox.c.published_at.is_(None)))
RECORDED_AT = select(events.c.recorded_at).where(events.c.position == bindparam("position"))


def outbox_backlog(conn):
    """(unpublished entries, seconds since the oldest of them was recorded;
    0 when none): one count over the published_at index, one primary-key
    lookup. For the metrics scrape, not for a hot path."""
    count, oldest = conn.execute(OUTBOX_BACKLOG).one()
    if not count:
        return 0, 0.0
    recorded = conn.execute(RECORDED_AT, {"position": oldest}).scalar_one_or_none()
    if recorded is None:
        return count, 0.0
    if recorded.tzinfo is None:                  # SQLite gives it back naive, in UTC
        recorded = recorded.replace(tzinfo=timezone.utc)
    return count, max(0.0, (utcnow() - recorded).total_seconds())


# --- inbox: what a consumer has processed ------------------------------------------------

def record_received(conn, consumer, event):
    """Record that `consumer` processed `event`, in the caller's transaction.
    The body kept is the event as it was received (a valid event's text:
    from_json read it), else its encoding.

    Returns False if it had already been processed: the caller then does
    nothing, so a redelivered or duplicated event has exactly one effect.
    """
    inserted = conn.execute(insert_ignoring_duplicates(conn, inbox),
                            _received_row(consumer, event))
    return inserted.rowcount == 1


def _received_row(consumer, event, received_at=None):
    """An inbox row: the event's text as it came (or encoded, if built here)."""
    return {"consumer": consumer, "event_id": event.id, "name": event.name,
            "subject": event.subject, "body": event.received_json or event.to_json(),
            "received_at": received_at or utcnow()}


_RECEIVE_MANY = {}      # by dialect: the inbox insert that says which rows went in


def _receive_many(conn):
    statement = _RECEIVE_MANY.get(conn.dialect.name)
    if statement is None:
        statement = _RECEIVE_MANY[conn.dialect.name] = insert_ignoring_duplicates(
            conn, inbox).returning(inbox.c.event_id)
    return statement


def record_received_many(conn, consumer, events):
    """`record_received` of each of `events`, in one statement (a batch
    taken from the queue): the events not processed before, in their order.
    A second copy of one within `events` counts as processed by the first."""
    fresh, ids = [], set()
    for event in events:
        if event.id not in ids:
            ids.add(event.id)
            fresh.append(event)
    if not fresh:
        return []
    now = utcnow()
    inserted = set(conn.execute(_receive_many(conn), [
        _received_row(consumer, event, now) for event in fresh]).scalars())
    return [event for event in fresh if event.id in inserted]


# A page of what a consumer received, by position. The consumer is compared as
# an expression (`|| ''`), so no index on it is taken: SQLite (without
# statistics) would otherwise read every row of the consumer through the
# (consumer, event_id) index and sort them all for each page, which makes a
# replay quadratic in the inbox's size; by position, a page is a range of the
# primary key.
RECEIVED_BODIES = (select(inbox.c.position, inbox.c.name, inbox.c.body)
                   .where(and_((inbox.c.consumer + "") == bindparam("consumer"),
                               inbox.c.position > bindparam("after")))
                   .order_by(inbox.c.position).limit(bindparam("limit")))


def received_events(conn, consumer, after_position=0, limit=1000):
    """What a consumer received, in the order it processed it: the log that
    its projections are rebuilt from."""
    return [(row.position, Event.from_json(row.body))
            for row in received_bodies(conn, consumer, after_position, limit)]



def received_bodies(conn, consumer, after_position=0, limit=5000):
    """`received_events` as stored, (position, name, body) rows: for replays
    that read only some of the events, and decode those themselves
    (Event.from_stored_json)."""
    return conn.execute(RECEIVED_BODIES, {"consumer": consumer, "after": after_position,
                                          "limit": limit}).all()


def received_ids(conn, consumer, event_ids):
    """Which of `event_ids` `consumer` has processed."""
    found = set()
    ids = list(event_ids)
    for start in range(0, len(ids), 500):           # bounded IN lists
        found.update(conn.execute(select(inbox.c.event_id).where(and_(
            inbox.c.consumer == consumer, inbox.c.event_id.in_(ids[start:start + 500]))))
            .scalars())
    return found


def stream_version(conn, stream_id):
    return conn.execute(STREAM_VERSION, {"stream_id": stream_id}).scalar() or 0
