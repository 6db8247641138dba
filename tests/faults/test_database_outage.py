"""PostgreSQL stopped for 10 s under load (8 clients posting hazards; every
service's database is on that one cluster): the API answers 503 naming the
database that is away, with Retry-After; /health answers within two seconds
naming what is down; no service is restarted, nothing is half-written, and
after the cluster is back everything answered 201 is stored once, published
and projected."""
import time
from types import SimpleNamespace

import pytest
import requests

from .harness import (HazardStream, Tap, assert_nothing_lost_or_doubled, half_written, report,
                      settle, statuses)

OUTAGE_SECONDS = 10
HAZARDS = 600


@pytest.fixture(scope="module")
def run(stream_platform):
    platform = stream_platform
    platform.revive()
    pids = platform.pids()
    tap = Tap(platform)
    stream = HazardStream(platform, HAZARDS, clients=8).start()
    stream.wait_for(120)

    platform.postgres.stop()
    stopped = time.monotonic() - stream.started
    time.sleep(1.0)
    began = time.monotonic()
    health = requests.get(platform.base_url + "/health", timeout=30)
    health_seconds = time.monotonic() - began
    time.sleep(OUTAGE_SECONDS - 1.0 - health_seconds)
    platform.postgres.start()
    back = time.monotonic() - stream.started
    stream.wait(timeout=600)
    counted = settle(platform, stream, tap)
    during = [o for o in stream.outcomes.values() if stopped + 0.5 <= o.started <= back]
    first_201 = min((o.started for o in stream.answered().values() if o.started >= back),
                    default=None)
    report("PostgreSQL stopped %ds" % OUTAGE_SECONDS, counted,
           answers_during_outage=statuses(during),
           slowest_answer_during_outage="%.1fs" % max((o.seconds for o in during), default=0),
           health_during_outage="%s in %.2fs" % (health.status_code, health_seconds),
           first_201_after_return="%.1fs" % (first_201 - back) if first_201 else "never")
    return SimpleNamespace(platform=platform, pids=pids, stream=stream, counted=counted,
                           during=during, health=health, health_seconds=health_seconds,
                           first_201_after=None if first_201 is None else first_201 - back)


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
        for name in ("checklist", "hazard", "notify", "scoring"))


def test_the_platform_recovers_without_restarts_and_nothing_is_half_written(run):
    run.platform.require_alive()
    assert run.platform.pids() == run.pids
    assert run.first_201_after is not None and run.first_201_after < 10
    assert half_written(run.platform) == {}
    assert_nothing_lost_or_doubled(run.counted)

