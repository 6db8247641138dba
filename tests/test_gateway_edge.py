"""The gateway as an HTTP edge facing the internet: bad input of any shape
is a 4xx in the one error shape (never a 500, never a traceback in the
logs), every answer carries the security headers, QR tokens stay out of
the access log, and connections that go silent are closed.

Paths are sent with http.client: requests (and curl) would tidy a `//`
before sending it."""
import http.client
import os
import socket
import time
import uuid

import pytest
import requests

from services.gateway import openapi
from tools import launch

from . import factories, fixtures
from .fixtures import created, position_token
from .support import free_port, wait_until

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def raw_request(base_url, method, path, body=None, headers=None):
    """(status, headers, body) of a request sent exactly as given."""
    host, port = base_url.rsplit("//", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class LogTail:
    """What the platform's processes log from now on."""

    def __init__(self, platform):
        self.directory = platform.log_dir
        self.offsets = {name: os.path.getsize(os.path.join(self.directory, name))
                        for name in os.listdir(self.directory) if name.endswith(".log")}

    def text(self, name=None):
        texts = []
        for log, offset in self.offsets.items():
            if name is None or log.startswith(name):
                with open(os.path.join(self.directory, log), errors="replace") as handle:
                    handle.seek(offset)
                    texts.append(handle.read())
        return "\n".join(texts)


@pytest.mark.parametrize("path", ["/app//x", "/api//v1/hazards", "/api/v1//hazards",
                                  "/app//login.html", "/api/v1/hazards//x"])
def test_paths_with_a_double_slash_are_404_in_the_error_shape(platform, api, path):
    status, headers, body = raw_request(platform.base_url, "GET", path, headers={
        "Authorization": api.session.headers["Authorization"]})
    assert status == 404, body
    assert headers["Content-Type"] == "application/json"
    assert b'"status": 404' in body


def test_deeply_nested_json_is_a_400_on_every_route_that_takes_a_body(platform, api):
    """100,000 levels of [ to the public token endpoint and to every other
    route with a JSON body (as the authority admin, past the 401, or as an
    enterprise manager where only an enterprise's manager may: schedules);
    33 levels inside an object too: the limit is 32."""
    tail = LogTail(platform)
    manager = fixtures.account(api, "enterprise_manager",
                               enterprise_id=fixtures.register_enterprise(api))
    paths = [(method, openapi.openapi_path(path).format(**{
        name: "x" for name in openapi.path_parameter_names(path)}))
        for (method, path), operation in openapi.ROUTES.items()
        if operation.body is not None and not isinstance(operation.body, dict)]   # JSON bodies
    assert ("POST", "/api/v1/auth/token") in paths and len(paths) > 15
    for method, path in paths:
        for caller in (api, manager):
            response = caller.session.request(method, platform.base_url + path, data=DEEP_JSON,
                                              headers={"Content-Type": "application/json"},
                                              timeout=30)
            if response.status_code != 403:
                break
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["error"]["fields"]["_body"] == [
            "arrays and objects may nest at most 32 levels deep"], path
    just_too_deep = {"username": "a", "password": "b",
                     "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    answer = requests.post(platform.base_url + "/api/v1/auth/token", json=just_too_deep,
                           timeout=30)
    assert answer.status_code == 400 and "_body" in answer.json()["error"]["fields"]
    assert "Traceback" not in tail.text("gateway")


def test_expected_4xx_answers_log_no_traceback(platform, api):
    """A 404, a 400 and a 409 answered by the hazard service, a 400 from the
    checklist service and a 403 from the gateway: one line each at most."""
    tail = LogTail(platform)
    enterprise_id = fixtures.register_enterprise(api)
    assert api.get("/api/v1/hazards/" + str(uuid.uuid4())).status_code == 404
    assert api.post("/api/v1/hazards", factories.hazard(enterprise_id, level="loud")
                    ).status_code == 400
    hazard = created(api.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    assert api.post("/api/v1/hazards/%s/verification" % hazard["id"], {
        "outcome": "verified", "verifier": "chen.jie"}).status_code == 409
    assert api.post("/api/v1/enterprises", {"name": "no code"}).status_code == 400
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=enterprise_id)
    assert staff.post("/api/v1/enterprises", factories.enterprise()).status_code == 403
    logged = tail.text()
    assert "Traceback" not in logged, logged[-3000:]
    assert "not found" in tail.text("hazard")            # still said, in one line


def test_every_answer_carries_the_security_headers(platform, api):
    for path, token in (("/app/", None), ("/app/login.html", None), ("/docs", None),
                        ("/openapi.json", None), ("/api/v1/hazards", api), ("/nothing", None)):
        response = (token.session if token else requests).get(platform.base_url + path,
                                                              timeout=30)
        headers = response.headers
        policy = dict(part.strip().split(" ", 1)
                      for part in headers["Content-Security-Policy"].split(";"))
        assert policy["script-src"] == "'self'", path          # no inline script
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"], path
        assert policy["frame-ancestors"] == "'none'", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Content-Type-Options"] == "nosniff", path


def test_qr_tokens_are_not_written_to_the_access_log(platform, api):
    site = fixtures.site(api)
    token = position_token(platform, site.position_id)
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=site.enterprise_id)
    tail = LogTail(platform)
    created(staff.get("/api/v1/scan/" + token), 200)
    created(staff.get("/scan/" + token, headers={"Accept": "application/json"}), 200)
    assert staff.get("/api/v1/scan/" + token + "x").status_code == 404
    assert requests.get(platform.base_url + "/scan/" + token, allow_redirects=False, timeout=30,
                        headers={"Accept": "text/html"}).status_code == 303
    logged = wait_until(lambda: (lambda text: text if text.count("scan/") >= 4 else None)(
        tail.text("gateway")), message="four scans in the access log")
    assert token not in logged
    assert "GET /api/v1/scan/position:%s HTTP" % site.position_id in logged
    assert "GET /scan/position:%s HTTP" % site.position_id in logged
    assert "GET /scan/<token> HTTP" in logged                     # the browser's redirect


# --- connections that go silent: a gateway of this module's own, timeout 1 s ---------

@pytest.fixture(scope="module")
def quick_gateway(broker, tmp_path_factory):
    """A gateway process alone (no request here reaches a service) that
    closes connections after 1 s of silence."""
    port = free_port()
    env = launch.environment(broker, {}, port, exchange="edge-%s.events" % uuid.uuid4().hex[:6])
    env["HTTP_IDLE_TIMEOUT_SECONDS"] = "1"
    gateway = launch.Platform(env, port, str(tmp_path_factory.mktemp("logs-edge")), admin=None)
    gateway.start_service("gateway")
    try:
        wait_until(lambda: _listening(port), timeout=30, message="the gateway to listen")
        yield gateway
    finally:
        gateway.stop()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _silence_then_close(port, sent):
    """Seconds until the server closed a connection that sent `sent` and then
    nothing, and what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        started = time.monotonic()
        if sent:
            sock.sendall(sent)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return time.monotonic() - started, answer
            answer += chunk


@pytest.mark.parametrize("sent", [
    b"",                                                            # idle from the start
    b"GET /openapi.json HTTP/1.1\r\nHost: gateway\r\n",              # headers never finished
    b"GET /openapi.json HTTP/1.1\r\nHost: gateway\r\n\r\n",          # kept alive, then idle
], ids=["idle", "half-sent-headers", "idle-after-a-request"])
def test_silent_connections_are_closed_after_the_idle_timeout(quick_gateway, sent):
    seconds, answer = _silence_then_close(quick_gateway.port, sent)
    assert 0.8 < seconds < 5, seconds
    if sent.endswith(b"\r\n\r\n"):
        assert answer.startswith(b"HTTP/1.1 200")                  # answered, then closed


def test_a_body_that_stops_arriving_is_a_408_and_the_connection_closes(quick_gateway):
    seconds, answer = _silence_then_close(quick_gateway.port, (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\""))
    assert 0.8 < seconds < 5, seconds
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"Connection: close" in answer and b'"status": 408' in answer


def test_error_texts_read_as_english(platform, api):
    """Roles and states in sentences, with their articles: not
    'a authority_inspector may not do this'."""
    enterprise_id = fixtures.register_enterprise(api)
    integrator = fixtures.account(api, "integrator", grants=[enterprise_id])
    refused = integrator.post("/api/v1/hazards", factories.hazard(enterprise_id))
    assert refused.json()["error"]["message"] == "an integrator may not do this (hazards.report)"
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=enterprise_id)
    refused = manager.post("/api/v1/accounts", {"username": "officer-" + uuid.uuid4().hex[:6],
                                                "password": "long-enough-1",
                                                "role": "authority_inspector"})
    assert refused.json()["error"]["message"] == (
        "an enterprise manager may not create an authority inspector account")
    unanchored = api.post("/api/v1/accounts", {"username": "grid-" + uuid.uuid4().hex[:6],
                                               "password": "long-enough-1",
                                               "role": "grid_officer"})
    assert unanchored.json()["error"]["fields"]["grid"] == ["required for a grid officer"]
    hazard = created(api.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    path = "/api/v1/hazards/%s" % hazard["id"]
    created(api.post(path + "/rectification", {
        "measures": "fixed", "done_at": factories.iso(factories.ago(minutes=1))}))
    again = api.post(path + "/rectification", {
        "measures": "fixed", "done_at": factories.iso(factories.ago(minutes=1))})
    assert again.json()["error"]["message"] == (
        "hazard %s is awaiting verification of its rectification; only a reported or "
        "returned hazard can be rectified" % hazard["id"])
