"""A process's PostgreSQL pool, from its settings: what is kept open, how
many more while busy, how long a command waits for one — and a pool that
stays exhausted is the database being unavailable (a 503), not a hang."""
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool

from einspection.db import make_engine, unavailability
from einspection.nameko_glue import pool_settings


def test_the_defaults_fit_the_workers_of_a_process(monkeypatch):
    for key in ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "DATABASE_POOL_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    assert pool_settings({}) == {"pool_size": 10, "max_overflow": 5, "pool_timeout": 10}


def test_the_config_file_comes_before_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    assert pool_settings({"DATABASE_POOL_SIZE": "7"})["pool_size"] == 7
    assert pool_settings({})["pool_size"] == 3 and pool_settings({})["max_overflow"] == 0


@pytest.mark.parametrize("key, text", [("DATABASE_POOL_SIZE", "0"), ("DATABASE_POOL_SIZE", "two"),
                                       ("DATABASE_MAX_OVERFLOW", "-1"),
                                       ("DATABASE_POOL_TIMEOUT", "1.5")])
def test_a_setting_that_is_not_a_whole_number_in_range_stops_the_service(monkeypatch, key, text):
    monkeypatch.setenv(key, text)
    with pytest.raises(ValueError, match=key):
        pool_settings({})


def test_an_exhausted_pool_is_the_database_being_unavailable(tmp_path):
    engine = make_engine("sqlite:///%s" % (tmp_path / "pool.db"), pool_size=1, max_overflow=0,
                         pool_timeout=1)
    assert isinstance(engine.pool, QueuePool)
    held = engine.connect()
    try:
        with pytest.raises(sa_exc.TimeoutError) as waited:
            engine.connect()
        assert unavailability(waited.value) == "unavailable"
    finally:
        held.close()
        engine.dispose()
