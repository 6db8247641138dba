"""Prometheus metrics of the core: what operators watch on every service.

Named by Prometheus conventions (base units, `_total` counters, `_seconds`,
`_timestamp_seconds`); every label takes a bounded set of values: event
names of the contract, consumer names, RPC method and timer names of the
code. Nothing here costs a database query per event: the outbox's backlog
is counted when Prometheus scrapes (OutboxCollector), once per scrape.
docs/operations.md ("Metrics and alerts") lists them with the alerts.
"""
import logging
import threading
import time

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

EVENTS_APPENDED = Counter("einspection_events_appended_total",
                          "Events appended to this service's store", ["event"])
OUTBOX_PUBLISHED = Counter("einspection_outbox_published_total",
                           "Outbox entries published and confirmed by the broker, by event type",
                           ["event"])
OUTBOX_FAILURES = Counter("einspection_outbox_publish_failures_total",
                          "Relay batches that failed (broker or database away)")
CONSUMED = Counter("einspection_events_consumed_total",
                   "Messages taken from a consumer queue, by event type and outcome "
                   "(acked; retried: a transient failure, tried again; requeued: "
                   "given back while stopping; dead_lettered)",
                   ["consumer", "event", "outcome"])
DEAD_LETTERED = Counter("einspection_events_dead_lettered_total",
                        "Messages a consumer parked on its dead-letter queue, by event type",
                        ["consumer", "event"])
HANDLER_SECONDS = Histogram("einspection_event_handler_seconds",
                            "Time from a message's arrival to its ack, by consumer and event type",
                            ["consumer", "event"])
RELAY_LAST_PUBLISH = Gauge("einspection_outbox_last_publish_timestamp_seconds",
                           "Unix time of the relay's last successful publish")
CONSUMER_READY = Gauge("einspection_consumer_messages_ready",
                       "Messages ready (not yet delivered) in the consumer's queue, as the "
                       "broker last answered a passive declare (every few seconds)",
                       ["consumer"])
CONSUMER_CONSUMERS = Gauge("einspection_consumer_queue_consumers",
                           "Consumers attached to the consumer's queue (every replica's)",
                           ["consumer"])
DEAD_LETTER_QUEUE_MESSAGES = Gauge(
    "einspection_dead_letter_queue_messages",
    "Messages in the consumer's dead-letter queue, read with its lag: what the consumer "
    "parked and what the broker parked at the queue's delivery limit",
    ["consumer"])
CONSUMER_LAG_CHECKED = Gauge("einspection_consumer_lag_checked_timestamp_seconds",
                             "Unix time the consumer's queue length was last read",
                             ["consumer"])
RPC_SERVER_SECONDS = Histogram("einspection_rpc_server_seconds",
                               "Time a service's RPC method took, by method", ["method"])
RPC_SERVER_ERRORS = Counter("einspection_rpc_server_errors_total",
                            "RPC calls that raised: the caller's mistake (domain), an outage "
                            "named (unavailable) or anything else (error)", ["method", "kind"])
TIMER_LAST_RUN = Gauge("einspection_timer_last_run_timestamp_seconds",
                       "Unix time of the timer's last completed run (before its first run: "
                       "when the process set it up)", ["timer"])
TIMER_INTERVAL = Gauge("einspection_timer_interval_seconds",
                       "How often the timer is meant to run", ["timer"])
TIMER_FAILURES = Counter("einspection_timer_failures_total",
                         "Timer runs that raised", ["timer"])
TIMER_SECONDS = Histogram("einspection_timer_run_seconds", "Time a timer's run took", ["timer"])

# A decoded message's event name is one of the contract's; what could not be
# decoded is counted under this one, never under what its routing key says.
UNDECODABLE = "undecodable"


def set_up_timer(name, interval):
    TIMER_INTERVAL.labels(name).set(interval)
    TIMER_LAST_RUN.labels(name).set(time.time())
    TIMER_FAILURES.labels(name)         # 0 until the first failure, not absent


def timer_ran(name, started, failed):
    TIMER_SECONDS.labels(name).observe(time.perf_counter() - started)
    if failed:
        TIMER_FAILURES.labels(name).inc()
    else:
        TIMER_LAST_RUN.labels(name).set_to_current_time()


class OutboxCollector:
    """`einspection_outbox_backlog` and `einspection_outbox_oldest_unpublished_age_seconds`
    of each event store in this process, read when Prometheus scrapes: one count
    over the outbox's published_at index and one primary-key lookup, per scrape."""

    def __init__(self):
        self._stores = {}          # service name → function answering (backlog, oldest age)
        self._lock = threading.Lock()

    def add(self, service, measure):
        with self._lock:
            self._stores[service] = measure

    def remove(self, service, measure):
        with self._lock:
            if self._stores.get(service) is measure:
                del self._stores[service]

    def collect(self):
        backlog = GaugeMetricFamily("einspection_outbox_backlog",
                                    "Outbox entries not yet published (read at scrape time)",
                                    labels=["service"])
        age = GaugeMetricFamily("einspection_outbox_oldest_unpublished_age_seconds",
                                "Age of the oldest unpublished outbox entry; 0 when none "
                                "(read at scrape time)", labels=["service"])
        up = GaugeMetricFamily("einspection_outbox_scrape_success",
                               "1 if the outbox could be read at this scrape, 0 if its "
                               "database did not answer", labels=["service"])
        with self._lock:
            stores = list(self._stores.items())
        for service, measure in stores:
            try:
                count, oldest = measure()
            except Exception as exc:      # the database away: say so, keep the rest
                log.warning("metrics: the %s outbox could not be read: %s", service, exc)
                up.add_metric([service], 0)
                continue
            up.add_metric([service], 1)
            backlog.add_metric([service], count)
            age.add_metric([service], oldest)
        return [backlog, age, up]

    def describe(self):
        return []       # samples depend on the stores set up: not checked at registration


OUTBOX = OutboxCollector()
REGISTRY.register(OUTBOX)
