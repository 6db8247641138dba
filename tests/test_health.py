"""/health asks every service at once with a short deadline: with services
dead it still answers within two seconds, 503 degraded, naming each one that
is down; when they are back it is 200 again."""
import time

import pytest
import requests

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
    finally:
        running.start_service("scoring")
        running.start_service("notify")
    wait_until(lambda: timed_health(running)[0].status_code == 200, timeout=60,
               message="/health 200 with every service back")
    assert timed_health(running)[0].json()["broker"] == {"status": "ok"}
