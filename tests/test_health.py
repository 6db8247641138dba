"""/health asks every service at once with a short deadline: with services
dead it still answers within two seconds, 503 degraded, naming each one that
is down; when they are back it is 200 again. /health/live and /health/ready
(services/gateway/unit/test_health_probes.py) answer beside it."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tools import launch

from .conftest import own_platform
from .support import wait_until


@pytest.fixture(scope="module", params=["sqlite"])     # the check does not touch a database
def running(request, databases, run_id, tmp_path_factory):
    with own_platform(request, databases, run_id, tmp_path_factory, "health",
                      lambda platform: None) as platform:
        yield platform


def timed_health(platform):
    began = time.monotonic()
    response = requests.get(platform.base_url + "/health", timeout=60)
    return response, time.monotonic() - began


def test_health_names_the_dead_services_within_two_seconds(running):
    response, _ = timed_health(running)
    assert response.status_code == 200 and response.json()["status"] == "ok"

    running.stop_service("scoring-0")
    running.stop_service("notify-0")
    try:
        response, seconds = timed_health(running)
        assert seconds < 2.0, "/health took %.1fs" % seconds
        assert response.status_code == 503
        answer = response.json()
        assert answer["status"] == "degraded"
        assert answer["broker"] == {"status": "ok"}
        assert sorted(answer["down"]) == ["the notify service did not answer in 1.5s",
                                          "the scoring service did not answer in 1.5s"]
        assert answer["services"]["scoring"]["status"] == "unavailable"
        assert answer["services"]["hazard"]["status"] == "ok"
        assert answer["services"]["checklist"]["status"] == "ok"
        # liveness asks nobody; readiness needs the broker only, and names the rest
        live = requests.get(running.base_url + "/health/live", timeout=5)
        assert (live.status_code, live.json()) == (200, {"status": "live"})
        ready = requests.get(running.base_url + "/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert sorted(ready.json()["degraded"]) == sorted(answer["down"])
    finally:
        running.start_service("scoring")
        running.start_service("notify")
    wait_until(lambda: timed_health(running)[0].status_code == 200, timeout=60,
               message="/health 200 with every service back")
    assert timed_health(running)[0].json()["broker"] == {"status": "ok"}


def probe(platform, mode, service, **settings):
    """deploy/healthcheck.py as a container's probe runs it: its exit status."""
    env = dict(os.environ, AMQP_URI=platform.amqp_uri, HEALTHCHECK_TIMEOUT="5",
               GATEWAY_ADDRESS=platform.env["GATEWAY_ADDRESS"])
    env.update(settings)
    return subprocess.run([sys.executable, "deploy/healthcheck.py", mode, service],
                          cwd=launch.ROOT, env=env, capture_output=True, timeout=60).returncode


def test_the_healthcheck_scripts_live_and_ready_modes(running):
    port = str(running.metrics_ports["hazard-0"])
    assert probe(running, "live", "hazard", METRICS_PORT=port) == 0
    assert probe(running, "ready", "hazard", METRICS_PORT=port) == 0
    assert probe(running, "live", "gateway") == 0
    assert probe(running, "ready", "gateway") == 0
    # live asks the process's own event loop: one that does not run (here the
    # process is frozen; its listening socket still takes the connection) is not live
    pid = running.processes["hazard-0"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        assert probe(running, "live", "hazard", METRICS_PORT=port, HEALTHCHECK_TIMEOUT="2") == 1
        assert time.monotonic() - began < 10
    finally:
        os.kill(pid, signal.SIGCONT)
    assert probe(running, "live", "hazard", METRICS_PORT=port) == 0
    # a process that is gone is not live
    running.stop_service("hazard-0")
    try:
        assert probe(running, "live", "hazard", METRICS_PORT=port) == 1
        assert probe(running, "ready", "hazard", METRICS_PORT=port) == 1   # nobody answers
        assert probe(running, "live", "gateway") == 0        # the gateway asks nobody
        assert probe(running, "ready", "gateway") == 0       # the broker is up
    finally:
        running.start_service("hazard")
    assert probe(running, "live", "hazard", METRICS_PORT="") == 1   # no METRICS_PORT: says so
