"""Nothing reaches inside: the webhook address rule through the platform, as
deployed (NOTIFY_WEBHOOK_ALLOW_LOOPBACK off, the default). A platform of
this module's own: the session's lets loopback through for its receivers.

Every internal form is refused with a 400 naming `url` when subscribing; a
subscription that got in while the rule was looser (or whose name resolves
elsewhere by now) is refused at the try, permanently, with the rule as its
reason, and the internal receiver is never asked."""
import pytest


from .conftest import own_platform
from .fixtures import created, register_enterprise
from .support import Api, WebhookReceiver, wait_until

ENTERPRISE_REGISTERED = "einspection.enterprise.registered.v1"


# the address rule is the same whatever the store: one backend, the embedded default
@pytest.fixture(scope="module", params=["sqlite"])
def guarded(request, databases, run_id, tmp_path_factory):
    with own_platform(request, databases, run_id, tmp_path_factory, "webhooks", lambda _: None,
                      NOTIFY_WEBHOOK_ALLOW_LOOPBACK="false", NOTIFY_DISPATCH_SECONDS="0.2",
                      NOTIFY_BACKOFF_SECONDS="0.2", NOTIFY_MAX_ATTEMPTS="3") as running:
        running.api = Api(running.base_url, running.token)
        yield running


@pytest.fixture
def internal():
    """A service inside the network that would answer anyone who asks."""
    receiver = WebhookReceiver(status=418, body=b"internal: the database password is hunter2")
    yield receiver
    receiver.close()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://2130706433/hook",
    "http://0.0.0.0/hook", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
    "http://user:pw@hooks.example.com/hook", "file:///etc/passwd",
    "http://localhost:8080/hook",                 # a name that resolves to loopback
])
def test_an_internal_address_is_refused_when_subscribing(guarded, url):
    before = created(guarded.api.get("/api/v1/webhooks"), 200)["total"]
    response = guarded.api.post("/api/v1/webhooks", {"url": url,
                                                     "event_types": [ENTERPRISE_REGISTERED]})
    assert response.status_code == 400, response.text
    assert list(response.json()["error"]["fields"]) == ["url"]
    assert created(guarded.api.get("/api/v1/webhooks"), 200)["total"] == before


def restart_notify(platform, **env):
    platform.stop_service("notify-0")
    platform.start_service("notify", extra_env=env)
    platform.wait_healthy()


def test_a_host_that_resolves_to_loopback_at_send_time_is_refused_and_never_asked(
        guarded, internal):
    # It got in while loopback was allowed: as if its name pointed elsewhere then.
    restart_notify(guarded, NOTIFY_WEBHOOK_ALLOW_LOOPBACK="true")
    try:
        subscription = created(guarded.api.post("/api/v1/webhooks", {
            "url": "http://localhost:%d/hook" % internal.port,
            "event_types": [ENTERPRISE_REGISTERED]}))
    finally:
        restart_notify(guarded)
    register_enterprise(guarded.api)

    def finished():
        items = created(guarded.api.get(
            "/api/v1/webhooks/%s/deliveries" % subscription["subscription_id"]), 200)["items"]
        return [d for d in items if d["status"] != "pending"]
    [delivery] = wait_until(finished, message="the delivery to be decided")
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)      # permanently
    assert delivery["last_error"] == ("refused by the webhook address rule: the host "
                                      "localhost resolves to a loopback address")
    assert internal.received == []
