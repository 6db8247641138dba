"""The nameko edge: dependency providers and the event-subscription entrypoint
that put the plain core (event store, outbox relay, consumer rules) into a
nameko service. Nothing else in the core imports nameko.
"""
import logging
import os
import time
from functools import partial

import eventlet
from eventlet.semaphore import Semaphore
from nameko.exceptions import ContainerBeingKilled, deserialize_to_instance
from nameko.extensions import DependencyProvider, Entrypoint
from nameko.rpc import rpc as nameko_rpc

from . import bus, consumer, errors, eventstore, metrics
from .contract import ContractError
from .db import make_engine, reading
from .relay import OutboxRelay

log = logging.getLogger(__name__)

# An RPC caller gets InvalidCommand / NotFound / Conflict back as themselves,
# and ContractError (input that makes no valid event) too: the gateway
# answers it 400 naming the fields, like any invalid input.
for _error in errors.ALL + (ContractError,):
    deserialize_to_instance(_error)

# Services' RPC methods: a domain error is the caller's mistake, logged as
# expected rather than as a failure of the service.
rpc = nameko_rpc(expected_exceptions=errors.DomainError)


def setting(config, key, default=None):
    """Config file first, then the environment, then the default."""
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key, default)
    return value


class MetricsServer(DependencyProvider):
    """Serves this process's Prometheus metrics on METRICS_PORT, if set
    (each process of a service needs its own port; 0 or unset: off)."""

    def setup(self):
        port = int(setting(self.container.config, "METRICS_PORT", 0) or 0)
        if port:
            from prometheus_client import start_http_server
            start_http_server(port, addr=setting(self.container.config, "METRICS_ADDRESS",
                                                 "0.0.0.0"))


class StoreHandle:
    """What a worker sees: the service's engine and its relay's doorbell."""

    def __init__(self, engine, relay):
        self.engine = engine
        self._relay = relay

    def begin(self):
        return self.engine.begin()

    def connect(self):
        """For reads only."""
        return reading(self.engine)

    def committed(self):
        """Call after a transaction that appended events committed."""
        if self._relay is not None:
            self._relay.wake()


class EventStore(DependencyProvider):
    """The service's own database: event store, outbox, inbox and its
    projection tables, plus the relay that empties the outbox onto the bus."""

    def __init__(self, url_key, default_url, projections=(), relay=True):
        self.url_key = url_key
        self.default_url = default_url
        self.projections = projections
        self.with_relay = relay
        self.engine = None
        self.relay = None

    def setup(self):
        config = self.container.config
        self.engine = make_engine(setting(config, self.url_key, self.default_url))
        eventstore.create_tables(self.engine, *self.projections)
        if self.with_relay:
            self.relay = OutboxRelay(self.engine, bus.events_amqp_uri(config),
                                     bus.exchange_name(config))

    def start(self):
        if self.relay is not None:
            self._relay_thread = self.container.spawn_managed_thread(
                self.relay.run, identifier="outbox-relay")

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
            # Let it finish its batch and close its broker connection: a relay
            # killed mid-connection keeps the process from exiting.
            with eventlet.Timeout(10, False):
                self._relay_thread.wait()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return StoreHandle(self.engine, self.relay)


class EventSubscription(Entrypoint):
    """`@subscribe("scoring", ["einspection.hazard.#"])`: the decorated method
    gets each valid Event. The message is acked after the method returned
    (its transaction committed); a transient failure requeues it; anything
    else goes to the dead-letter queue with the reason."""

    def __init__(self, consumer_name, binding_keys, **kwargs):
        self.consumer_name = consumer_name
        self.binding_keys = list(binding_keys)
        self.queue_name = None
        self._stopping = False
        self._in_flight = 0
        self._dlq_lock = Semaphore(1)
        self._dlq_connection = None
        super().__init__(**kwargs)

    def setup(self):
        config = self.container.config
        prefix = setting(config, "QUEUE_PREFIX", "einspection")
        self.queue_name = "%s.%s" % (prefix, self.consumer_name)
        self.amqp_uri = bus.events_amqp_uri(config)
        self.exchange = bus.events_exchange(bus.exchange_name(config))
        self.prefetch = int(setting(config, "max_workers", None) or
                            config.get("max_workers", 10) or 10)

    def start(self):
        self.container.spawn_managed_thread(self._consume_forever,
                                            identifier="subscription:" + self.queue_name)

    def stop(self):
        self._stopping = True

    def kill(self):
        self._stopping = True

    def _consume_forever(self):
        backoff = 0.2
        while not self._stopping:
            try:
                with bus.connect(self.amqp_uri, confirm=False) as connection:
                    channel = connection.channel()
                    queue = bus.declare_consumer(channel, self.exchange, self.queue_name,
                                                 self.binding_keys)
                    channel.basic_qos(0, self.prefetch, False)
                    with connection.Consumer(queues=[queue], channel=channel, on_message=self._on_message,
                                             no_ack=False):
                        backoff = 0.2
                        while not self._stopping:
                            try:
                                connection.drain_events(timeout=1)
                            except TimeoutError:
                                pass
                            except OSError as exc:
                                if "timed out" in str(exc):
                                    continue
                                raise
                    # Stopping: keep the channel open until the workers in
                    # flight have acked, or their messages would come back.
                    with eventlet.Timeout(30, False):
                        while self._in_flight:
                            eventlet.sleep(0.05)
            except Exception as exc:
                if self._stopping:
                    break
                log.warning("subscription %s: %s; reconnecting in %.1fs",
                            self.queue_name, exc, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _on_message(self, message):
        try:
            event, _body = consumer.decode(message)
        except Exception as exc:
            self._dead_letter(message, consumer.reason_for(exc))
            metrics.CONSUMED.labels(self.queue_name, "dead_lettered").inc()
            return
        try:
            self._in_flight += 1
            self.container.spawn_worker(self, (event,), {}, context_data={},
                                        handle_result=partial(self._finish, message,
                                                              time.perf_counter()))
        except ContainerBeingKilled:
            self._in_flight -= 1
            message.requeue()

    def _finish(self, message, arrived, worker_ctx, result=None, exc_info=None):
        try:
            if exc_info is None:
                message.ack()
                outcome = "acked"
            elif consumer.is_transient(exc_info[1]):
                log.warning("transient failure in %s, requeueing: %s", self.queue_name,
                            exc_info[1])
                time.sleep(1.0)      # no hot loop while the database is away
                message.requeue()
                outcome = "requeued"
            else:
                self._dead_letter(message, consumer.reason_for(exc_info[1]))
                outcome = "dead_lettered"
            metrics.CONSUMED.labels(self.queue_name, outcome).inc()
            metrics.HANDLER_SECONDS.labels(self.queue_name).observe(time.perf_counter() - arrived)
        finally:
            self._in_flight -= 1
        return result, exc_info

    def _dead_letter(self, message, reason):
        with self._dlq_lock:
            try:
                if self._dlq_connection is None:
                    self._dlq_connection = bus.connect(self.amqp_uri, confirm=True)
                producer = self._dlq_connection.Producer()
                consumer.dead_letter(producer, self.queue_name, message, reason)
            except Exception:
                # Could not park it: leave it unacked so the broker keeps it.
                if self._dlq_connection is not None:
                    self._dlq_connection.release()
                self._dlq_connection = None
                log.exception("dead-lettering failed; message stays on %s", self.queue_name)
                message.requeue()
                return
        message.ack()


subscribe = EventSubscription.decorator


def subscriptions_of(service_class):
    """(consumer name, binding keys) of each @subscribe method of a service."""
    for attribute in dir(service_class):
        method = getattr(service_class, attribute, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventSubscription):
                yield entrypoint.consumer_name, entrypoint.binding_keys


class HealthCheck:
    """Mixed into every service that has a `store`: the gateway's /health asks it."""

    @rpc
    def health(self):
        with self.store.connect() as conn:
            pending = eventstore.unpublished_count(conn)
        return {"status": "ok", "service": self.name, "outbox_pending": pending}

    @rpc
    def awaiting(self, events):
        """Of `events` ([{"id", "type"}], e.g. what an import appended), the ids
        this service's subscriptions will get but have not processed yet."""
        waiting = []
        with self.store.connect() as conn:
            for name, binding_keys in subscriptions_of(type(self)):
                waiting += consumer.awaiting(conn, name, binding_keys, events)
        return waiting
