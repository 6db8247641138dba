"""Which events notify's queue is bound to: the types its handlers take
(policy.HANDLERS) and the patterns of the active webhook subscriptions —
not every event (`einspection.#`, what earlier versions bound), most of
which no subscriber asked for.

| when | does |
| --- | --- |
| the subscription starts (nameko_glue.EventSubscription) | declares the queue, binds HANDLED_KEYS |
| the service starts (`reconcile`) | binds HANDLED_KEYS and every active subscription's patterns; unbinds `einspection.#`, each event type's own key and each pattern ever subscribed that none of them needs |
| subscribe_webhook | binds the new subscription's patterns *before* it commits: an event published after the commit reaches the queue |
| a subscription cancelled, disabled (410) or suspended | nothing: its patterns stay bound until the next start; what they route matches no active subscription and is only recorded in the inbox |

`reconcile` and a subscription being made exclude each other (`exclusive`):
otherwise a replica starting could read the subscriptions just before
another replica commits a new one and unbind the pattern that replica had
just bound. Under the lock the reconcile either ends before the pattern is
bound (the bind wins) or reads the committed subscription (it keeps the
pattern). Cancelled, disabled and suspended are final states: no pattern
becomes needed again without a new subscription."""
import contextlib
import json
import threading

from sqlalchemy import select

from einspection import bus
from einspection.contract import EVENT_TYPES
from einspection.db import reading

from . import policy
from .model import subscriptions

HANDLED_KEYS = sorted(EVENT_TYPES[name].type for name in policy.HANDLERS)
LEGACY_KEYS = ("einspection.#",)      # every event: what notify bound before

LOCK_KEY = 7243014                    # PostgreSQL advisory lock id (eventstore's is 7243001)
_PROCESS_LOCK = threading.Lock()      # SQLite: one process per service (docs/architecture.md)


@contextlib.contextmanager
def exclusive(engine):
    """Held while the bindings are reconciled or a subscription is made,
    across processes: a PostgreSQL session advisory lock on a connection of
    its own (released by the server if the process dies); on SQLite, where
    a service runs as one process, a lock of the process."""
    if engine.dialect.name != "postgresql":
        with _PROCESS_LOCK:
            yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(%d)" % LOCK_KEY)
        try:
            yield
        finally:
            try:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%d)" % LOCK_KEY)
            except Exception:
                conn.invalidate()           # the session is gone, and its lock with it


def subscribed_patterns(conn):
    """Every pattern of every subscription recorded, whatever its state."""
    return {pattern for text in conn.execute(select(subscriptions.c.event_types)).scalars()
            for pattern in json.loads(text)}


def needed_keys(conn):
    return set(HANDLED_KEYS) | policy.active_patterns(conn)


def bind(amqp_uri, exchange_name, queue_name, patterns, limit=bus.DEFAULT_DELIVERY_LIMIT):
    """Bind `patterns` to the queue (declared, with the handled keys, if it is not yet)."""
    with bus.connect(amqp_uri, confirm=False) as connection:
        connection.ensure_connection(max_retries=1)
        _declare(connection, exchange_name, queue_name, limit)
        bus.bind_consumer(connection, bus.events_exchange(exchange_name), queue_name,
                          sorted(patterns))


def _declare(connection, exchange_name, queue_name, limit):
    bus.declare_consumer(connection, bus.events_exchange(exchange_name), queue_name,
                         HANDLED_KEYS, limit)


def reconcile(engine, amqp_uri, exchange_name, queue_name, limit=bus.DEFAULT_DELIVERY_LIMIT):
    """Bind what is needed, unbind what is not (module docstring); returns
    (the keys bound, the keys unbound — each of them, bound or not before)."""
    with exclusive(engine):
        with reading(engine) as conn:
            needed = needed_keys(conn)
            candidates = (set(LEGACY_KEYS) | {kind.type for kind in EVENT_TYPES.values()}
                          | subscribed_patterns(conn))
        unneeded = candidates - needed
        exchange = bus.events_exchange(exchange_name)
        with bus.connect(amqp_uri, confirm=False) as connection:
            connection.ensure_connection(max_retries=1)
            _declare(connection, exchange_name, queue_name, limit)
            bus.bind_consumer(connection, exchange, queue_name, sorted(needed))
            bus.unbind(connection, exchange, queue_name, sorted(unneeded))
    return sorted(needed), sorted(unneeded)
