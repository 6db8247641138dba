"""The event store on SQLite and PostgreSQL: append, load, optimistic
concurrency with nothing half-written."""
import eventlet
import pytest
from sqlalchemy import func, select

from einspection import eventstore
from einspection.db import make_engine
from einspection.errors import ConcurrencyConflict
from tests.eventgen import activity


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "store"))
    eventstore.create_tables(engine)
    yield engine
    engine.dispose()


def counts(engine):
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(eventstore.events)).scalar(),
                conn.execute(select(func.count()).select_from(eventstore.outbox)).scalar())


def test_append_load_and_read_all_in_order(engine):
    first, second = activity(2, enterprises=1)
    with engine.begin() as conn:
        positions = eventstore.append(conn, "s-1", 0, [first, second])
    assert positions == sorted(positions)
    with engine.connect() as conn:
        loaded = eventstore.load_stream(conn, "s-1")
        everything = eventstore.read_all(conn)
    assert [e.id for e in loaded] == [first.id, second.id]
    assert [e.stream_version for e in loaded] == [1, 2]
    assert loaded[1].data == second.data and loaded[1].time == second.time
    assert [e.id for _, e in everything] == [first.id, second.id]
    assert counts(engine) == (2, 2)                      # each event has its outbox entry


def test_wrong_expected_version_is_a_conflict_and_writes_nothing(engine):
    events = activity(3, enterprises=1)
    with engine.begin() as conn:
        eventstore.append(conn, "s-1", 0, events[:1])
    with pytest.raises(ConcurrencyConflict):
        with engine.begin() as conn:
            eventstore.append(conn, "s-1", 0, events[1:])
    assert counts(engine) == (1, 1)


def test_concurrent_writers_one_wins_the_rest_conflict(engine):
    """Six writers all read version 0, then all append on top of it: exactly
    one commits; the others get ConcurrencyConflict and leave no trace.
    (On PostgreSQL the losers really block on the unique index until the
    winner commits; SQLite serialises them at BEGIN IMMEDIATE.)"""
    writers = 6
    events = activity(writers + 1, enterprises=1)[1:]
    gate, arrived, outcomes = eventlet.event.Event(), [], []

    def writer(event):
        with engine.connect() as reader:
            version = eventstore.stream_version(reader, "s-2")
        arrived.append(version)
        if len(arrived) == writers:
            gate.send(True)
        gate.wait()
        try:
            with engine.begin() as conn:
                eventstore.append(conn, "s-2", version, [event])
            outcomes.append("ok")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    pool = eventlet.GreenPool()
    for event in events:
        pool.spawn(writer, event)
    pool.waitall()
    assert arrived == [0] * writers
    assert sorted(outcomes) == ["conflict"] * (writers - 1) + ["ok"]
    with engine.connect() as conn:
        stream = eventstore.load_stream(conn, "s-2")
    assert len(stream) == 1 and stream[0].stream_version == 1
    assert counts(engine) == (1, 1)


def test_outbox_backlog_counts_the_unpublished_and_ages_the_oldest(engine):
    # what the metrics scrape reads (einspection_outbox_backlog, _oldest_unpublished_age_seconds)
    from datetime import timedelta
    from sqlalchemy import update
    from einspection.contract import utcnow
    with engine.begin() as conn:
        conn.execute(update(eventstore.outbox).where(eventstore.outbox.c.published_at.is_(None))
                     .values(published_at=utcnow()))
        assert eventstore.outbox_backlog(conn) == (0, 0.0)
        positions = eventstore.append(conn, "s-backlog", 0, activity(2, enterprises=1))
    with engine.begin() as conn:
        count, age = eventstore.outbox_backlog(conn)
        assert count == 2 and 0 <= age < 60
        conn.execute(update(eventstore.events).where(eventstore.events.c.position == positions[0])
                     .values(recorded_at=utcnow() - timedelta(hours=1)))
        count, age = eventstore.outbox_backlog(conn)
        assert count == 2 and 3590 < age < 3660
        eventstore.mark_published(conn, positions[:1])
        count, age = eventstore.outbox_backlog(conn)
        assert count == 1 and age < 60
        eventstore.mark_published(conn, positions[1:])
        assert eventstore.outbox_backlog(conn) == (0, 0.0)


def test_the_inbox_keeps_a_received_event_as_it_came_and_reads_back_the_same_event(engine):
    """A received event's text is kept as it came, not encoded again: here a
    producer's field this version does not know, which from_json leaves out."""
    import json

    from einspection.contract import Event
    sent = activity(1, enterprises=1)[0]
    envelope = json.loads(sent.to_json())
    envelope["data"]["added_in_a_later_v1"] = "x"
    body = json.dumps(envelope, ensure_ascii=False)
    received = Event.from_json(body)
    made_here = activity(2, enterprises=1)[1]
    with engine.begin() as conn:
        assert eventstore.record_received(conn, "c", received)
        assert not eventstore.record_received(conn, "c", Event.from_json(body))
        assert eventstore.record_received(conn, "c", made_here)
    with engine.connect() as conn:
        rows = eventstore.received_bodies(conn, "c")
        replayed = eventstore.received_events(conn, "c")
    assert [row.body for row in rows] == [body, made_here.to_json()]
    assert [event.to_json() for _, event in replayed] == [received.to_json(),
                                                          made_here.to_json()]
    assert "added_in_a_later_v1" not in replayed[0][1].data
