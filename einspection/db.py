"""Database engines: SQLite files under ./var by default, PostgreSQL by URL."""
import functools
import os
import sqlite3
import time

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc


def make_engine(url, **kwargs):
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg2 is cooperative under eventlet's monkey patch (psycopg 3 is not).
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite's own transaction handling is off so SQLAlchemy's BEGIN is
            # the real one; WAL lets readers run beside the single writer.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A writing transaction takes the write lock up front, so two
            # writers never deadlock on a lock upgrade; readers (see `reading`)
            # take none and run beside the writer. Straight to the driver (a
            # statement through SQLAlchemy costs more than SQLite's BEGIN),
            # its errors as SQLAlchemy's (a lock timeout: OperationalError).
            statement = ("BEGIN" if conn.get_execution_options().get("read_only")
                         else "BEGIN IMMEDIATE")
            try:
                conn.connection.dbapi_connection.execute(statement)
            except sqlite3.Error as exc:
                raise sa_exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

        return engine
    kwargs.setdefault("pool_size", 10)       # see nameko_glue.pool_settings
    kwargs.setdefault("max_overflow", 5)
    ping_idle = kwargs.pop("ping_idle_seconds", PING_IDLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle)
    return engine


# A pooled connection idle this long is pinged before it is handed out.
PING_IDLE_SECONDS = 1.0


def _ping_when_idle(engine, idle_seconds):
    """SQLAlchemy's pre-ping (a `SELECT 1` before a connection is handed out:
    one found dead after a database restart is replaced, not failed with)
    for connections idle `idle_seconds` or more only. A connection back in
    the pool a moment ago was alive then; a restart of the server takes
    longer than that. A round trip less per transaction under load, where
    every connection is used again within milliseconds."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return                  # new (just connected), or used a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as exc:
            # the pool drops it and hands out a new connection
            raise sa_exc.DisconnectionError("a pooled connection is dead: %s" % exc) from exc


def unavailability(exc):
    """'unavailable' if `exc` says the database cannot be reached now (down,
    restarting, refusing or dropping connections), 'busy' if it could not
    take the work now (a deadlock or serialization victim, SQLite's lock
    timeout); None for anything else. Either way the same work may succeed
    when tried again."""
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return "unavailable"
    if isinstance(exc, sa_exc.OperationalError):
        code = getattr(exc.orig, "pgcode", None) or ""
        if code.startswith("40") or "database is locked" in str(exc.orig):
            return "busy"
        return "unavailable"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "unavailable"
    return None


def is_sqlite(engine):
    return engine.dialect.name == "sqlite"


def _dialect_insert_for(dialect_name):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _dialect_insert(conn):
    return _dialect_insert_for(conn.dialect.name)


def dialect_insert(conn):
    """The dialect's insert() (its ON CONFLICT clauses), for upserts with
    more than `upsert` says (a condition on the update)."""
    return _dialect_insert(conn)


@functools.lru_cache(maxsize=None)
def _insert_ignoring(dialect_name, table):
    insert = _dialect_insert_for(dialect_name)
    return insert(table).on_conflict_do_nothing()


def insert_ignoring_duplicates(conn, table):
    """INSERT ... ON CONFLICT DO NOTHING (built once per dialect and table):
    rowcount tells whether it went in."""
    return _insert_ignoring(conn.dialect.name, table)


_UPSERTS = {}


def _upsert_statement(conn, table, columns, key_columns, update_columns):
    shape = (conn.dialect.name, table.name, tuple(columns), tuple(key_columns),
             tuple(update_columns))
    statement = _UPSERTS.get(shape)
    if statement is None:
        statement = _dialect_insert(conn)(table)
        if update_columns:
            statement = statement.on_conflict_do_update(
                index_elements=list(key_columns),
                set_={name: statement.excluded[name] for name in update_columns})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(key_columns))
        _UPSERTS[shape] = statement
    return statement


def upsert(conn, table, values, key_columns, update_columns=()):
    """INSERT, or on a key clash UPDATE `update_columns` (or do nothing).
    The statement is built once per shape and reused with new values.
    Returns the result: without `update_columns`, its rowcount tells
    whether the row went in."""
    return conn.execute(_upsert_statement(conn, table, values, key_columns, update_columns),
                        values)


def upsert_many(conn, table, rows, key_columns, update_columns=()):
    """`upsert` of each of `rows` (dicts of the same keys, no two with the same
    key: PostgreSQL takes them in one statement, which may not touch a row
    twice), in one round trip."""
    if rows:
        conn.execute(_upsert_statement(conn, table, rows[0], key_columns, update_columns),
                     rows)


def lock_row(conn, query):
    """SELECT ... FOR UPDATE where the database has row locks (SQLite's
    BEGIN IMMEDIATE already holds the whole database)."""
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def serialize(conn, key):
    """Hold a lock named `key` until the transaction ends, so that a
    look-then-insert on it runs one at a time: a PostgreSQL advisory
    transaction lock (SQLite's BEGIN IMMEDIATE already holds the whole
    database)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
                             {"key": key})


def reading(engine):
    """A connection for queries only: on SQLite it does not take the write lock."""
    return engine.connect().execution_options(read_only=True)
