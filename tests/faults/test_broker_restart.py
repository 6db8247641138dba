"""The broker stopped for 15 s under load (8 clients posting hazards): no
service dies, none is restarted by hand, every service serves again within
seconds of the broker's return; meanwhile the API answers 503 with
Retry-After; nothing answered 201 is lost or doubled."""
import time
from types import SimpleNamespace

import pytest
import requests

from .harness import (assert_nothing_lost_or_doubled, outage, report, settle, statuses,
                      timed_health)

OUTAGE_SECONDS = 15
HAZARDS = 800
SERVING_AGAIN_WITHIN_SECONDS = 10


@pytest.fixture(scope="module")
def run(stream_platform):
    platform = stream_platform
    platform.revive()
    pids = platform.pids()
    cut = outage(platform, HAZARDS, platform.rabbit.stop_app, platform.rabbit.start_app,
                 OUTAGE_SECONDS, while_down=lambda: _while_down(platform))
    healthy_after = _wait_healthy(platform, timeout=60)
    if healthy_after is None:           # not serving again: count what there is, and fail
        cut.stream.stop()
    else:
        healthy_after -= cut.stream.started + cut.back
    cut.stream.wait(timeout=600)
    counted = settle(platform, cut.stream, cut.tap)
    during = cut.during()
    first_201 = cut.first_201_after()
    health, health_seconds, live, ready = cut.measured
    report("broker stopped %ds" % OUTAGE_SECONDS, counted,
           answers_during_outage=statuses(during),
           health_during_outage="%s in %.2fs" % (health.status_code, health_seconds),
           slowest_answer_during_outage="%.1fs" % max((o.seconds for o in during), default=0),
           healthy_again_after="%.1fs" % healthy_after if healthy_after is not None else "never",
           first_201_after_return="%.1fs" % first_201 if first_201 is not None else "never")
    return SimpleNamespace(platform=platform, pids=pids, stream=cut.stream, counted=counted,
                           during=during, healthy_after=healthy_after, first_201_after=first_201,
                           health=health, health_seconds=health_seconds, live=live,
                           ready=ready)


def _while_down(platform):
    """/health as timed_health measures it, then /health/live and /health/ready."""
    health, seconds = timed_health(platform, after=1.0)
    live = requests.get(platform.base_url + "/health/live", timeout=30)
    ready = requests.get(platform.base_url + "/health/ready", timeout=30)
    return health, seconds, live, ready


def test_every_service_survives_and_serves_again_within_seconds(run):
    run.platform.require_alive()
    assert run.platform.pids() == run.pids, "a process was replaced"
    assert run.healthy_after is not None and run.healthy_after < SERVING_AGAIN_WITHIN_SECONDS
    assert run.first_201_after is not None
    assert run.first_201_after < SERVING_AGAIN_WITHIN_SECONDS


def test_while_the_broker_is_away_the_api_answers_503_with_retry_after(run):
    assert run.during, "no request was made during the outage"
    assert {o.status for o in run.during} <= {201, 503}
    assert 503 in {o.status for o in run.during}
    assert all(o.retry_after for o in run.during if o.status == 503)
    assert all("broker is unavailable" in o.message or "did not answer" in o.message
               for o in run.during if o.status == 503), \
        {o.message for o in run.during if o.status == 503}
    assert 500 not in run.stream.statuses()
    gateway_log = run.platform.log_text("gateway-0")
    assert "unexpected failure" not in gateway_log
    # one line per failed request, not a traceback each
    assert gateway_log.count("Traceback") < 10, "the gateway logs tracebacks"


def test_health_answers_within_two_seconds_that_the_broker_is_down(run):
    assert run.health.status_code == 503 and run.health_seconds < 2.0
    answer = run.health.json()
    assert answer["status"] == "degraded" and answer["broker"] == {"status": "unavailable"}
    assert answer["down"] == ["the message broker"]


def test_without_the_broker_the_gateway_is_live_but_not_ready(run):
    # an orchestrator keeps the gateway running (live) and sends it no traffic (unready)
    assert (run.live.status_code, run.live.json()) == (200, {"status": "live"})
    assert run.ready.status_code == 503
    assert run.ready.json() == {"status": "unready", "down": ["the message broker"]}


def test_nothing_answered_201_is_lost_or_doubled(run):
    assert_nothing_lost_or_doubled(run.counted)


def _wait_healthy(platform, timeout):
    """When /health first answered 200 (monotonic time), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if platform.exited():
            return None
        try:
            if requests.get(platform.base_url + "/health", timeout=5).status_code == 200:
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return None

