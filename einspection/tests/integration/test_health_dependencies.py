"""A service's health RPC per dependency, on SQLite and PostgreSQL: its
database (`SELECT 1`), its outbox (backlog, the age of the oldest entry,
stalled past OUTBOX_STALLED_SECONDS, a relay that stopped)."""
import pytest

from einspection import eventstore, nameko_glue
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from tests.eventgen import activity


class Relay:
    def __init__(self, state, error=None):
        self._state, self.last_error = state, error

    def state(self):
        return self._state


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "health"))
    eventstore.create_tables(engine)
    yield engine
    engine.dispose()


def outbox(engine, relay, **config):
    store = StoreHandle(engine, relay)
    return nameko_glue._outbox_health(store, nameko_glue._database_health(store), config)


def test_the_database_and_the_outbox_backlog(engine):
    assert nameko_glue._database_health(StoreHandle(engine, None))["status"] == "ok"
    with engine.begin() as conn:
        eventstore.mark_published(conn, [row.position for row in
                                         eventstore.claim_unpublished(conn, 10000, lock=False)])
    assert outbox(engine, Relay("running")) == {"status": "ok", "relay": "running", "pending": 0}
    with engine.begin() as conn:
        eventstore.append(conn, "s-health", 0, activity(2, enterprises=1))
    answer = outbox(engine, Relay("running"))
    assert answer["status"] == "ok" and answer["pending"] == 2 and answer["oldest_seconds"] < 60
    # older than the threshold: stalled; a relay that does not run: stopped
    assert outbox(engine, Relay("failing", "refused"), OUTBOX_STALLED_SECONDS="0")["status"] \
        == "stalled"
    assert outbox(engine, Relay("failing", "refused"),
                  OUTBOX_STALLED_SECONDS="0")["error"] == "refused"
    assert outbox(engine, Relay("stopped"))["status"] == "stopped"
    assert outbox(engine, None) == {"status": "ok", "relay": "none"}


def test_a_database_that_is_away():
    engine = make_engine("postgresql://nobody@127.0.0.1:1/nothing")
    try:
        database = nameko_glue._database_health(StoreHandle(engine, None))
        assert database["status"] == "unavailable" and database["error"]
        assert outbox(engine, Relay("running"))["status"] == "unknown"
    finally:
        engine.dispose()
