"""The metrics the glue records around a timer's run and an RPC method:
a completed run moves the timer's last-run time, a failed one counts a
failure and leaves it; an RPC's time is observed and what it raised counted
by kind. The outbox collector says when a store could not be read."""
import time

import pytest

from einspection import errors, metrics
from einspection.nameko_glue import _timed_rpc, _timed_run


def value(metric, *labels):
    return metric.labels(*labels)._value.get()


class Service:
    name = "probe"

    @_timed_run
    def tick(self, fail=False):
        if fail:
            raise errors.ServiceUnavailable("the probe service's database is unavailable")

    @_timed_rpc
    def answer(self, kind=None):
        if kind == "domain":
            raise errors.NotFound("thing", "t-1")
        if kind == "unavailable":
            raise errors.ServiceUnavailable("away")
        if kind == "error":
            raise RuntimeError("bug")
        return 42


def test_a_timer_run_moves_its_last_run_and_a_failure_counts():
    metrics.set_up_timer("tick", 30)
    assert value(metrics.TIMER_INTERVAL, "tick") == 30
    set_up = value(metrics.TIMER_LAST_RUN, "tick")
    assert abs(set_up - time.time()) < 5 and value(metrics.TIMER_FAILURES, "tick") == 0
    metrics.TIMER_LAST_RUN.labels("tick").set(1000)
    with pytest.raises(errors.ServiceUnavailable):
        Service().tick(fail=True)
    assert value(metrics.TIMER_FAILURES, "tick") == 1
    assert value(metrics.TIMER_LAST_RUN, "tick") == 1000        # not a completed run
    Service().tick()
    assert abs(value(metrics.TIMER_LAST_RUN, "tick") - time.time()) < 5


def test_an_rpc_is_timed_and_what_it_raised_counted_by_kind():
    before = [s.value for s in metrics.RPC_SERVER_SECONDS.collect()[0].samples
              if s.name.endswith("_count") and s.labels["method"] == "answer"]
    assert Service().answer() == 42
    for kind, error in (("domain", errors.NotFound), ("unavailable", errors.ServiceUnavailable),
                        ("error", RuntimeError)):
        with pytest.raises(error):
            Service().answer(kind)
        assert value(metrics.RPC_SERVER_ERRORS, "answer", kind) == 1
    after = [s.value for s in metrics.RPC_SERVER_SECONDS.collect()[0].samples
             if s.name.endswith("_count") and s.labels["method"] == "answer"]
    assert after[0] - (before[0] if before else 0) == 4


def test_the_outbox_collector_reads_each_store_and_says_which_failed():
    collector = metrics.OutboxCollector()

    def away():
        raise OSError("connection refused")
    collector.add("good", lambda: (3, 12.5))
    collector.add("bad", away)
    families = {family.name: {s.labels["service"]: s.value for s in family.samples}
                for family in collector.collect()}
    assert families["einspection_outbox_backlog"] == {"good": 3}
    assert families["einspection_outbox_oldest_unpublished_age_seconds"] == {"good": 12.5}
    assert families["einspection_outbox_scrape_success"] == {"good": 1, "bad": 0}
    collector.remove("bad", away)
    assert {s.labels["service"] for s in collector.collect()[2].samples} == {"good"}


def test_a_hanging_database_costs_the_scrape_its_outbox_figures_only(monkeypatch):
    import eventlet
    from einspection.nameko_glue import EventStore

    class Hanging:
        def connect(self):
            eventlet.sleep(30)

    store = EventStore("PROBE_DATABASE_URL", "sqlite://")
    store.engine = Hanging()
    monkeypatch.setattr(EventStore, "OUTBOX_SCRAPE_SECONDS", 0.2)
    collector = metrics.OutboxCollector()
    collector.add("probe", store._outbox_backlog)
    began = time.monotonic()
    families = {family.name: [s.value for s in family.samples] for family in collector.collect()}
    assert time.monotonic() - began < 2
    assert families["einspection_outbox_scrape_success"] == [0]
    assert families["einspection_outbox_backlog"] == []
