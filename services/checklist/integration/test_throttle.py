"""The login throttle under parallel attempts, on SQLite and PostgreSQL: a
burst of guesses at one new username, all at once from real threads, gets
exactly the free tries and no more (each attempt is counted before its
password is checked, one at a time per key)."""
from datetime import datetime, timezone

import eventlet
import pytest
from sqlalchemy import select

from einspection import eventstore
from einspection.db import make_engine
from einspection.errors import TooManyAttempts
from services.checklist import throttle

threading = eventlet.patcher.original("threading")      # real threads: real concurrency

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
POLICY = throttle.Policy(username=throttle.Limit(3, 1, 60), address=throttle.Limit(50, 1, 60))


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "throttle"), pool_size=20)
    eventstore.create_tables(engine, throttle.metadata)
    yield engine
    engine.dispose()


def test_a_burst_of_parallel_guesses_gets_the_free_tries_and_no_more(engine):
    guesses = 16
    start = threading.Barrier(guesses)
    outcomes, lock = [], threading.Lock()

    def guess(number):
        start.wait()
        try:
            with engine.begin() as conn:
                throttle.admit(conn, POLICY, POLICY.keys("li.ming", "198.51.100.%d" % number),
                               NOW)
            outcome = "checked"
        except TooManyAttempts:
            outcome = "429"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["429"] * (guesses - 3) + ["checked"] * 3
    with engine.connect() as conn:
        row = conn.execute(select(throttle.login_throttle).where(
            throttle.login_throttle.c.key == "username:li.ming")).one()
    assert row.failures == 3
