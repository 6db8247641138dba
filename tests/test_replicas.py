"""Two scoring processes sharing one queue build the same projection as one
process alone, from the same events on the bus."""
import uuid

import pytest

from kombu import Connection, Exchange
from sqlalchemy import func, select

from einspection import eventstore
from einspection.db import make_engine
from services.scoring import projection
from tools import launch

from .eventgen import activity
from .support import free_port, wait_until

EVENTS = 1200


def received(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(eventstore.inbox)).scalar()
    finally:
        engine.dispose()


def snapshot(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return projection.snapshot(conn)
    finally:
        engine.dispose()


# On SQLite only: tests/faults/test_replica_equivalence.py compares 3 scoring
# (and 2 hazard, 2 notify) with one of each on PostgreSQL.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_two_scoring_replicas_give_the_same_projection_as_one(own_broker, databases, backend,
                                                             tmp_path):
    broker = own_broker             # no RPC or queue shared with the session's platform
    tag = uuid.uuid4().hex[:6]
    exchange = "replicas-%s.events" % tag
    one_db, two_db = databases.url(backend, "one"), databases.url(backend, "two")
    env = launch.environment(broker, {}, free_port(), exchange=exchange)
    # No clock step while the projections are compared: each would move its
    # database's scores to today on its own schedule.
    env["SCORING_CLOCK_CHECK_SECONDS"] = "3600"
    platform = launch.Platform(env, 0, str(tmp_path))
    try:
        platform.start_service("scoring", 0, {"QUEUE_PREFIX": "single-" + tag,
                                              "SCORING_DATABASE_URL": one_db})
        for replica in (1, 2):
            platform.start_service("scoring", replica, {"QUEUE_PREFIX": "pair-" + tag,
                                                        "SCORING_DATABASE_URL": two_db,
                                                        "MAX_WORKERS": "4"})
        # Let all three declare and bind their queues before anything is published.
        # Let all three consume before anything is published: the pair's queue
        # really has two competing consumers.
        wait_until(lambda: _consumers(broker, {"single-%s.scoring" % tag: 1,
                                               "pair-%s.scoring" % tag: 2}),
                   timeout=60, interval=0.5, message="the scoring consumers")
        events = activity(EVENTS, enterprises=10, seed=5)
        with Connection(broker, transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer()
            target = Exchange(exchange, type="topic", durable=True)
            for event in events:
                producer.publish(event.to_json(), exchange=target, routing_key=event.type,
                                 serializer=None, delivery_mode=2)
        for url in (one_db, two_db):
            wait_until(lambda: received(url) == EVENTS, timeout=240, interval=0.5,
                       message="all events to be processed")
        single, pair = snapshot(one_db), snapshot(two_db)
        assert len(single) == 10
        assert pair == single
        for key in list(platform.processes):
            assert platform.processes[key].poll() is None, key + " died"
    except Exception:
        platform.print_logs()
        raise
    finally:
        platform.stop()


def _consumers(amqp_uri, expected):
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for name, count in expected.items():
            try:
                if channel.queue_declare(name, passive=True).consumer_count != count:
                    return False
            except Exception:
                return False
        return True
