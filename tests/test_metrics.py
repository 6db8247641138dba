"""What an operator watches: every process's real /metrics output passes
`promtool check metrics` and carries the figures the alerts and the
dashboard ask for; the alert rules and the Prometheus config pass
`promtool check`, the rules their unit test (`promtool test rules`), and
every metric the Grafana dashboard queries exists in the real scrape.

promtool is Debian's `prometheus` package (`make test` installs it where
apt-get may); without it these tests are skipped, saying so."""
import json
import os
import re
import shutil
import subprocess

import pytest
import requests

from . import factories
from .support import wait_until
from .test_end_to_end import register

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMETHEUS = os.path.join(ROOT, "deploy", "prometheus")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "einspection.json")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian's prometheus package: "
                             "`apt-get install -y prometheus`, which `make test` tries)")

SERVICES = {"hazard", "checklist", "scoring", "notify", "enforcement"}   # each has a timer
CONSUMERS = SERVICES - {"checklist"}         # the ones that subscribe to events


def promtool(*args, stdin=None):
    done = subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=PROMETHEUS)
    return done.returncode, done.stdout + done.stderr


def scrape(platform):
    """{process: its /metrics text}: each service process's METRICS_PORT and
    the gateway's /metrics."""
    texts = {key: requests.get("http://127.0.0.1:%d/metrics" % port, timeout=10).text
             for key, port in platform.metrics_ports.items()}
    texts["gateway"] = requests.get(platform.base_url + "/metrics", timeout=10).text
    return texts


@pytest.fixture
def scraped(api, platform):
    """The platform's metrics after some traffic: an enterprise registered, a
    hazard reported (appended, published, consumed by scoring and notify,
    graded), a few reads and a 404."""
    enterprise_id = register(api)
    assert api.post("/api/v1/hazards", factories.hazard(enterprise_id)).status_code == 201
    assert api.get("/api/v1/enterprises/%s" % enterprise_id).status_code == 200
    assert api.get("/no/such/path").status_code == 404
    assert api.get("/metrics").status_code == 200        # counted after it answered

    def graded():
        texts = scrape(platform)
        scoring = next(text for key, text in texts.items() if key.startswith("scoring"))
        return ('einspection_events_appended_total{event="GradeAssigned"}' in scoring
                and "einspection_consumer_messages_ready" in scoring and texts)
    return wait_until(graded, message="scoring graded the hazard and read its queue's length")


def samples(text):
    """{metric name: [label sets as text]} of an exposition."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2) or "")
    return found


@needs_promtool
def test_every_endpoint_passes_promtool_check_metrics(scraped):
    assert len(scraped) >= 6
    for key, text in scraped.items():
        code, output = promtool("check", "metrics", stdin=text)
        assert code == 0 and not output.strip(), "%s: %s" % (key, output)


def test_every_service_exports_what_the_alerts_watch(scraped):
    by_service = {}
    for key, text in scraped.items():
        by_service.setdefault(key.split("-")[0], []).append(samples(text))

    def has(service, name, labels=""):
        return any(labels in label_set for found in by_service[service]
                   for label_set in found.get(name, []))

    for service in SERVICES:
        assert has(service, "einspection_outbox_backlog", 'service="%s"' % service), service
        assert has(service, "einspection_outbox_oldest_unpublished_age_seconds"), service
        assert has(service, "einspection_outbox_scrape_success"), service
        assert has(service, "einspection_outbox_publish_failures_total"), service
        assert has(service, "einspection_timer_last_run_timestamp_seconds"), service
        assert has(service, "einspection_timer_interval_seconds"), service
        assert has(service, "einspection_timer_failures_total"), service
    for service in CONSUMERS:
        assert has(service, "einspection_consumer_messages_ready",
                   'consumer="%s"' % service), service
        assert has(service, "einspection_consumer_queue_consumers"), service
        assert has(service, "einspection_dead_letter_queue_messages",
                   'consumer="%s"' % service), service
        assert has(service, "einspection_events_dead_lettered_total"), service
    assert has("hazard", "einspection_events_appended_total", 'event="HazardReported"')
    assert has("hazard", "einspection_outbox_published_total", 'event="HazardReported"')
    assert has("scoring", "einspection_events_consumed_total",
               'consumer="scoring",event="HazardReported",outcome="acked"')
    assert has("scoring", "einspection_event_handler_seconds_bucket",
               'consumer="scoring",event="HazardReported"')
    assert has("scoring", "einspection_events_dead_lettered_total",
               'consumer="scoring",event="HazardReported"')
    assert has("hazard", "einspection_rpc_server_seconds_bucket", 'method="report_hazard"')
    assert has("checklist", "einspection_rpc_server_seconds_bucket", 'method="authenticate"')

    gateway = by_service["gateway"][0]
    routes = {re.search(r'route="([^"]*)"', labels).group(1)
              for labels in gateway["gateway_requests_total"]}
    assert {"hazards.report", "enterprises.get", "unmatched", "/metrics"} <= routes
    assert not any("/api/v1/enterprises/" in route for route in routes), \
        "a raw path (with an id) as a label: unbounded"
    assert any('method="report_hazard",service="hazard"' in labels
               for labels in gateway["gateway_rpc_client_seconds_bucket"])
    assert "gateway_request_seconds_bucket" in gateway


def test_the_outbox_backlog_is_zero_once_the_relay_caught_up(scraped):
    hazard = next(text for key, text in scraped.items() if key.startswith("hazard"))
    backlog = re.search(r'^einspection_outbox_backlog\{service="hazard"\} (\S+)$', hazard,
                        re.MULTILINE)
    assert backlog and float(backlog.group(1)) >= 0
    age = re.search(r'^einspection_outbox_oldest_unpublished_age_seconds\{service="hazard"\} '
                    r'(\S+)$', hazard, re.MULTILINE)
    assert age and float(age.group(1)) >= 0


@needs_promtool
def test_prometheus_config_and_alert_rules_pass_promtool():
    code, output = promtool("check", "rules", "alerts.yml")
    assert code == 0, output
    # the config names the rules file; check config checks it too
    code, output = promtool("check", "config", "prometheus.yml")
    assert code == 0, output


@needs_promtool
def test_alert_rules_unit_test():
    code, output = promtool("test", "rules", "alerts_test.yml")
    assert code == 0, output


def dashboard_metrics():
    with open(DASHBOARD, encoding="utf-8") as file:
        dashboard = json.load(file)
    assert dashboard["title"] and dashboard["panels"]
    exprs = [target["expr"] for panel in dashboard["panels"]
             for target in panel.get("targets", [])]
    assert exprs, "the dashboard queries nothing"
    names = set()
    for expr in exprs:
        for name in re.findall(r"\b((?:einspection|gateway)_[a-z0-9_]+)", expr):
            names.add(name)
    return names


def exported_names(scraped):
    """Every metric name the endpoints export: their samples', and those of a
    family declared (# TYPE) whose labelled children have no sample yet (a
    delivery attempt, a failed RPC: none in this traffic)."""
    exported = set()
    for text in scraped.values():
        exported |= set(samples(text))
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
            suffixes = {"histogram": ("_bucket", "_count", "_sum")}.get(kind, ("",))
            exported |= {name + suffix for suffix in suffixes}
    return exported


def test_the_dashboard_is_json_and_queries_only_metrics_that_exist(scraped):
    exported = exported_names(scraped)
    missing = dashboard_metrics() - exported
    assert not missing, "the dashboard queries metrics no endpoint exports: %s" % missing


def test_the_alerts_query_only_metrics_that_exist(scraped):
    exported = exported_names(scraped)
    with open(os.path.join(PROMETHEUS, "alerts.yml"), encoding="utf-8") as file:
        rules = file.read()
    queried = set(re.findall(r"\b((?:einspection|gateway)_[a-z0-9_]+)", rules))
    assert queried and not queried - exported, queried - exported


def test_consumer_lag_is_the_queue_length_the_broker_reports(broker):
    # what einspection_consumer_messages_ready says: the broker's count of
    # ready messages, read by a passive declare on a channel of its own
    import kombu
    from einspection import metrics
    from einspection.nameko_glue import EventSubscription
    subscription = EventSubscription("lag-probe", ["einspection.#"])
    subscription.queue_name = "lag-probe.test"
    with kombu.Connection(broker) as connection:
        channel = connection.channel()
        queue = kombu.Queue(subscription.queue_name, channel=channel, auto_delete=False)
        queue.declare()
        parked = kombu.Queue(subscription.queue_name + ".dead-letter", channel=channel,
                             auto_delete=False)
        parked.declare()
        producer = connection.Producer(channel=channel)
        for number in range(3):
            producer.publish({"n": number}, routing_key=subscription.queue_name,
                             exchange="", confirm=False)
        for number in range(2):     # e.g. parked by the broker at the delivery limit
            producer.publish({"n": number}, routing_key=parked.name, exchange="", confirm=False)
        lag_channel = connection.channel()
        wait_until(lambda: subscription._read_lag(lag_channel) or (
            metrics.CONSUMER_READY.labels("lag-probe")._value.get(),
            metrics.DEAD_LETTER_QUEUE_MESSAGES.labels("lag-probe")._value.get()) == (3, 2),
            message="3 messages ready, 2 dead letters")
        assert metrics.CONSUMER_CONSUMERS.labels("lag-probe")._value.get() == 0
        parked.delete()
        queue.delete()
        subscription._read_lag(lag_channel)        # the queue is gone: the gauge stays, no error
        assert metrics.CONSUMER_READY.labels("lag-probe")._value.get() == 3
