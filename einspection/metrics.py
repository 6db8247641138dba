"""Prometheus metrics of the core: what operators watch on every service."""
from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter("einspection_events_appended_total",
                          "Events appended to this service's store", ["event"])
OUTBOX_PUBLISHED = Counter("einspection_outbox_published_total",
                           "Outbox entries published and confirmed by the broker")
OUTBOX_FAILURES = Counter("einspection_outbox_publish_failures_total",
                          "Relay batches that failed (broker or database away)")
CONSUMED = Counter("einspection_events_consumed_total",
                   "Messages taken from a consumer queue, by outcome",
                   ["queue", "outcome"])       # acked, requeued, dead_lettered
HANDLER_SECONDS = Histogram("einspection_event_handler_seconds",
                            "Time from message arrival to ack", ["queue"])
RELAY_LAG_SECONDS = Gauge("einspection_outbox_last_publish_timestamp_seconds",
                          "Unix time of the relay's last successful publish")
