"""Liveness and readiness of the gateway, apart from /health: live asks
nobody; ready is 503 only when the broker every call goes over is down, and
names it; backend services that are down leave it ready, listed as degraded."""
import json

import eventlet
import kombu.exceptions
from nameko.exceptions import UnknownService
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.service import SERVICES, GatewayService


def answer(gateway, method, path):
    made = Request(EnvironBuilder(method="GET", path=path).get_environ())
    response = getattr(gateway, method)(made)
    return response.status_code, json.loads(response.get_data())


def gateway_where(broken):
    """A gateway whose backends answer health, except `broken` ones: name → exception."""
    gateway = worker_factory(GatewayService)
    for name in SERVICES:
        proxy = getattr(gateway, name)
        proxy.health.service_name = name
        if name in broken:
            proxy.health.side_effect = broken[name]
        else:
            proxy.health.return_value = {"status": "ok", "service": name, "outbox_pending": 0}
    return gateway


def test_live_asks_nobody():
    gateway = gateway_where({name: kombu.exceptions.OperationalError("down")
                             for name in SERVICES})
    assert answer(gateway, "health_live", "/health/live") == (200, {"status": "live"})
    for name in SERVICES:
        assert not getattr(gateway, name).health.called


def test_ready_when_everything_answers():
    assert answer(gateway_where({}), "health_ready", "/health/ready") == (
        200, {"status": "ready"})


def test_ready_with_a_service_down_names_it_as_degraded():
    status, body = answer(gateway_where({"scoring": UnknownService("scoring")}),
                          "health_ready", "/health/ready")
    assert status == 200 and body == {
        "status": "ready", "degraded": ["the scoring service is not running"]}
    # /health itself still says 503 for the same
    status, body = answer(gateway_where({"scoring": UnknownService("scoring")}),
                          "health", "/health")
    assert status == 503 and body["down"] == ["the scoring service is not running"]


def test_unready_without_the_broker_names_it():
    status, body = answer(gateway_where({name: kombu.exceptions.OperationalError("refused")
                                         for name in SERVICES}), "health_ready", "/health/ready")
    assert (status, body) == (503, {"status": "unready", "down": ["the message broker"]})


def test_a_hung_service_does_not_hold_readiness_up():
    def hang():
        eventlet.sleep(30)
    status, body = answer(gateway_where({"notify": hang}), "health_ready", "/health/ready")
    assert status == 200 and body["degraded"] == ["the notify service did not answer in 1.5s"]
