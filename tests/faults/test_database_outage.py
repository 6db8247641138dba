"""PostgreSQL stopped for 10 s under load (8 clients posting hazards; every
service's database is on that one cluster): the API answers 503 naming the
database that is away, with Retry-After; /health answers within two seconds
naming what is down; no service is restarted, nothing is half-written, and
after the cluster is back everything answered 201 is stored once, published
and projected."""
from types import SimpleNamespace

import pytest

from .harness import (assert_nothing_lost_or_doubled, half_written, outage, report, settle,
                      statuses, timed_health)

OUTAGE_SECONDS = 10
HAZARDS = 600


@pytest.fixture(scope="module")
def run(stream_platform):
    platform = stream_platform
    platform.revive()
    pids = platform.pids()
    cut = outage(platform, HAZARDS, platform.postgres.stop, platform.postgres.start,
                 OUTAGE_SECONDS, while_down=lambda: timed_health(platform, after=1.0))
    cut.stream.wait(timeout=600)
    counted = settle(platform, cut.stream, cut.tap)
    health, health_seconds = cut.measured
    during = cut.during(margin=0.5)
    first_201 = cut.first_201_after()
    report("PostgreSQL stopped %ds" % OUTAGE_SECONDS, counted,
           answers_during_outage=statuses(during),
           slowest_answer_during_outage="%.1fs" % max((o.seconds for o in during), default=0),
           health_during_outage="%s in %.2fs" % (health.status_code, health_seconds),
           first_201_after_return="%.1fs" % first_201 if first_201 is not None else "never")
    return SimpleNamespace(platform=platform, pids=pids, stream=cut.stream, counted=counted,
                           during=during, health=health, health_seconds=health_seconds,
                           first_201_after=first_201)


def test_requests_during_the_outage_answer_503_naming_the_database(run):
    assert run.during
    seen = {o.status for o in run.during}
    assert seen <= {201, 503}, seen
    assert 503 in seen
    unavailable = [o for o in run.during if o.status == 503]
    assert all(o.retry_after for o in unavailable)
    assert all("service's database is unavailable; retry later" in o.message
               for o in unavailable), {o.message for o in unavailable}
    assert 500 not in run.stream.statuses()
    for key in run.platform.processes:
        text = run.platform.log_text(key)
        assert "unexpected failure" not in text
        # one line per failed request, not a traceback each
        assert text.count("Traceback") < 10, "%s logs tracebacks" % key


def test_health_answers_within_two_seconds_naming_every_database(run):
    assert run.health.status_code == 503
    assert run.health_seconds < 2.0
    answer = run.health.json()
    assert answer["status"] == "degraded"
    assert answer["broker"] == {"status": "ok"}
    assert sorted(answer["down"]) == sorted(
        "the %s service's database is unavailable" % name
        for name in ("checklist", "enforcement", "hazard", "notify", "scoring"))


def test_the_platform_recovers_without_restarts_and_nothing_is_half_written(run):
    run.platform.require_alive()
    assert run.platform.pids() == run.pids
    assert run.first_201_after is not None and run.first_201_after < 10
    assert half_written(run.platform) == {}
    assert_nothing_lost_or_doubled(run.counted)

