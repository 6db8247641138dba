import contextlib
import json
import uuid
from datetime import datetime, timezone

import pytest

from conftest import BACKENDS, _rabbitmqctl, _vhost
from einspection import days
from tools import launch

from .support import Api, EventTap, SmtpSink, free_port, wait_until
from .web_support import screenshots  # noqa: F401 (the browser tests' fixture)


def pytest_collection_modifyitems(config, items):
    """`pytestmark = pytest.mark.backends("postgres")`: a module's tests on
    the session platform run on those backends only (the rest deselected)."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("platform") if callspec else None
        (dropped if marker and backend and backend not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory):
    """The platform's mail server: a real SMTP server the tests read."""
    sink = SmtpSink(str(tmp_path_factory.mktemp("mail"))).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def platform(request, broker, databases, run_id, tmp_path_factory, smtp_sink):
    """All five services as separate processes, on the given database backend."""
    backend = request.param
    urls = {name: databases.url(backend, name) for name in launch.DATABASE_KEYS}
    port = free_port()
    prefix = "e2e-%s-%s" % (backend, run_id)
    env = launch.environment(broker, urls, port, exchange=prefix + ".events",
                             queue_prefix=prefix)
    env["HAZARD_OVERDUE_CHECK_SECONDS"] = "1"
    env["EVIDENCE_QUOTA_BYTES"] = str(1024 * 1024)    # per enterprise: test_hazards fills one
    env["EVIDENCE_DIR"] = str(tmp_path_factory.mktemp("blobs-" + backend))
    env.update(NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(smtp_sink.port),
               NOTIFY_DISPATCH_SECONDS="0.2", NOTIFY_BACKOFF_SECONDS="0.2",
               NOTIFY_MAX_ATTEMPTS="3", NOTIFY_LEASE_SECONDS="3",
               NOTIFY_WEBHOOK_TIMEOUT_SECONDS="2",     # within the lease: one send
               NOTIFY_WEBHOOK_ALLOW_LOOPBACK="true")   # the tests' receivers are on 127.0.0.1
    log_dir = str(tmp_path_factory.mktemp("logs-" + backend))
    running = launch.Platform(env, port, log_dir)
    running.backend = backend
    running.database_urls = urls
    running.amqp_uri = broker
    running.exchange = prefix + ".events"
    running.queue_prefix = prefix
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if request.session.testsfailed:
            running.print_logs()


@pytest.fixture(scope="session")
def admin_tokens():
    """The authority admin's token per platform: scrypt is slow on purpose."""
    return {}


@pytest.fixture
def api(platform, admin_tokens):
    """The API as the platform's authority admin."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    return Api(platform.base_url, admin_tokens[platform.base_url])


@contextlib.contextmanager
def own_platform(request, databases, run_id, tmp_path_factory, name, prepare, **settings):
    """A platform of a test module's own (vhost, exchange, queues, databases),
    for tests whose changes — a clock step, generated data — must not reach
    the session's platform. Started, logged in as the admin (`token`), then
    `prepare(platform)`; logs printed if that or a test in it failed. Webhooks
    may go to loopback (the tests' receivers) unless `settings` say otherwise."""
    vhost = "einspection-test-%s-%s-%s" % (run_id, name, uuid.uuid4().hex[:6])
    broker = _vhost(vhost)
    urls = {service: databases.url(request.param, service) for service in launch.DATABASE_KEYS}
    port = free_port()
    prefix = "%s-%s" % (name, uuid.uuid4().hex[:6])
    env = launch.environment(broker, urls, port, exchange=prefix + ".events",
                             queue_prefix=prefix)
    env["NOTIFY_WEBHOOK_ALLOW_LOOPBACK"] = "true"
    env["EVIDENCE_DIR"] = str(tmp_path_factory.mktemp("blobs-" + name))
    env.update(settings)
    running = launch.Platform(env, port, str(tmp_path_factory.mktemp("logs-" + name)))
    running.amqp_uri, running.exchange = broker, prefix + ".events"
    running.backend = request.param
    running.urls = running.database_urls = urls
    failed_before = request.session.testsfailed
    try:
        try:
            running.start()
            running.token = running.login()             # the authority admin's
            prepare(running)
        except Exception:
            running.print_logs()
            raise
        yield running
    finally:
        running.stop()
        if request.session.testsfailed > failed_before:
            running.print_logs()
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session", params=["sqlite"])
def demo_platform(request, databases, run_id, tmp_path_factory):
    """A platform with `make run`'s demo data, as a newcomer meets it (SQLite,
    like `make run`), shared by the session: tests/test_demo.py checks the
    history the load made, from what was taken right after it (`at_load`);
    tests/test_docs.py runs the documentation's examples on it afterwards."""
    from tools import demo

    def load(running):
        tap = EventTap(running.amqp_uri, running.exchange, "einspection.grade.#")
        try:
            running.today = days.local_day(datetime.now(timezone.utc), days.deployment_zone())
            running.ids, running.accounts = demo.load(
                running.base_url, running.token, running.amqp_uri, progress=lambda _: None)
            # the six with four months of history (the campaign's county comes after them)
            running.history_ids = running.ids[:len(demo.ENTERPRISES)]
            api = Api(running.base_url, running.token)
            running.at_load = wait_until(lambda: _what_the_load_made(running, api, tap),
                                         timeout=60, message="every grade event's notice")
        finally:
            tap.close()
    # Scoring's clock check (300 s in `make run`) would step the clock to today
    # once the load is done; held off here, so that what is checked is the load.
    with own_platform(request, databases, run_id, tmp_path_factory, "demo", load,
                      SCORING_CLOCK_CHECK_SECONDS="3600") as running:
        yield running


def _what_the_load_made(running, api, tap):
    """The grade events of the history's enterprises, once notify has a
    notice for each; their notices, hazards and inspections then."""
    tap.drain(0.5)
    events = [json.loads(message.body) for message in tap.messages]
    events = [event for event in events if event["subject"] in running.history_ids]
    notices = {}
    for enterprise_id in running.history_ids:
        notices[enterprise_id] = [n for n in api.get(
            "/api/v1/enterprises/%s/notices" % enterprise_id,
            params={"size": 200, "sort": "issued_at"}).json()["items"]
            if n["kind"] in ("grade", "monthly")]
    if not events or sum(len(n) for n in notices.values()) != len(events):
        return None
    return {"grade_events": events, "notices": notices,
            "hazards": [hazard for enterprise_id in running.history_ids
                        for hazard in api.get("/api/v1/hazards", params={
                            "enterprise_id": enterprise_id, "size": 200}).json()["items"]],
            "inspections": [inspection for enterprise_id in running.history_ids
                            for inspection in api.get("/api/v1/inspections", params={
                                "enterprise_id": enterprise_id, "size": 200}).json()["items"]]}
