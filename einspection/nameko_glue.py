"""The nameko edge: dependency providers and the event-subscription entrypoint
that put the plain core (event store, outbox relay, consumer rules) into a
nameko service. Nothing else in the core imports nameko.

Every entrypoint of a service comes from here (`rpc`, `timer`, `subscribe`,
and the gateway's `RpcProxy`), so that all of them:
- outlive a broker restart: an ack, requeue or reply on a connection the
  broker already closed is logged, not fatal (nameko kills the whole
  container for it), and consumers reconnect within two seconds of the
  broker's return;
- name an outage: SQLAlchemy's connection errors become ServiceUnavailable
  ("the hazard service's database is unavailable; retry later"), which an
  RPC caller gets back as itself (HTTP 503) and the log shows in one line.
"""
import collections
import functools
import inspect
import logging
import os
import socket
import sys
import time
from contextlib import contextmanager
from functools import partial

import eventlet
import eventlet.corolocal
import eventlet.event
import eventlet.patcher
import kombu.serialization
from amqp import Message as AmqpMessage
from eventlet import wsgi
from eventlet.semaphore import Semaphore
from kombu import Connection as KombuConnection
from nameko.amqp.publish import Publisher
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY)
from nameko.exceptions import (ContainerBeingKilled, IncorrectSignature, UnserializableValueError,
                               deserialize_to_instance)
from nameko.exceptions import serialize as serialize_exception
from nameko.extensions import DependencyProvider, Entrypoint
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.rpc import RpcProxy as NamekoRpcProxy
from nameko.timer import Timer
from nameko.web import server as nameko_web
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request

from . import bus, consumer, errors, eventstore, journal, logs, metrics
from .contract import EVENT_TYPES, ContractError
from .db import make_engine, reading, unavailability
from .relay import OutboxRelay

log = logging.getLogger(__name__)

# An RPC caller gets InvalidCommand / NotFound / Conflict / ServiceUnavailable
# back as themselves, and ContractError (input that makes no valid event)
# too: the gateway answers it 400 naming the fields, like any invalid input.
for _error in errors.ALL + (ContractError,):
    deserialize_to_instance(_error)


# How often a consumer whose broker went away tries again (kombu's default
# grows to 30 s, so a service could stay deaf for that long after the broker
# is back).
RECONNECT_INTERVALS = {"interval_start": 0.5, "interval_step": 0.5, "interval_max": 2}
# Each connection error met publishing an RPC request, or connecting again
# for it: kombu calls the retry policy's errback with it, in the caller's
# greenthread, which keeps them while it watches (rpc_publish_watch).
_publish_errors = eventlet.corolocal.local()


def _publish_failed(exc, interval):
    seen = getattr(_publish_errors, "seen", None)
    if seen is not None:
        seen.append(exc)


# Publishing an RPC request: two quick retries on a fresh connection (a pooled
# one may be stale after a broker restart), then the caller answers 503.
RPC_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.3, "interval_step": 0.3,
                     "interval_max": 0.6, "errback": _publish_failed}


@contextmanager
def rpc_publish_watch():
    """Within it, the connection errors that RPC requests published by this
    greenthread met are kept in the list it yields (see never_sent)."""
    saved = getattr(_publish_errors, "seen", None)
    _publish_errors.seen = seen = []
    try:
        yield seen
    finally:
        _publish_errors.seen = saved


# What a publish can fail with only before the broker has the message: no
# connection (refused, or no such host), or the write itself refused by a
# socket already known dead (a message cut short is dropped by the broker).
# Anything else — a reset, "connection already closed", a forced close while
# waiting for the confirm — may come after the broker took the message.
_BEFORE_THE_BROKER_HAS_IT = (ConnectionRefusedError, BrokenPipeError, socket.gaierror)


def never_sent(errors):
    """Whether a request whose publish met `errors` (the attempts' and the
    last, raised one) certainly never reached the broker: each of them is a
    failure before the broker could have it (its cause, for kombu's wrapping)."""
    def before(exc):
        while exc is not None:
            if isinstance(exc, _BEFORE_THE_BROKER_HAS_IT):
                return True
            exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        return False
    return bool(errors) and all(before(exc) for exc in errors)


def _settle(action, message, what):
    """Ack or requeue; on a connection the broker closed, log it and go on:
    the broker has already put the unacknowledged message back in its queue."""
    try:
        action(message)
    except bus.CONNECTION_ERRORS as exc:
        log.warning("could not %s message %s: the broker connection is gone (%s); "
                    "the broker delivers it again", what,
                    message.delivery_info.get("routing_key", ""), exc)


def _naming_outages(method):
    """The entrypoint method, raising ServiceUnavailable that names the
    service's database where SQLAlchemy raises a connection error."""
    @functools.wraps(method)
    def entrypoint_method(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            kind = unavailability(exc)
            if kind is None:
                raise
            raise errors.ServiceUnavailable("the %s service's database is %s; retry later"
                                            % (self.name, kind)) from exc
    return entrypoint_method


class _QueueConsumer(QueueConsumer):
    """nameko's consumer of RPC requests and replies, made to outlive a broker
    restart (see the module's docstring)."""

    def ack_message(self, message):
        _settle(super().ack_message, message, "ack")

    def requeue_message(self, message):
        _settle(super().requeue_message, message, "requeue")

    def on_connection_error(self, exc, interval):
        # nameko's own masks the first URL's password only, not a cluster's others
        log.warning("Error connecting to broker at %s (%s). Retrying in %s seconds.",
                    bus.redacted(self.amqp_uri), exc, interval)

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                         **RECONNECT_INTERVALS)
            yield connection


class _Responder(Responder):
    """nameko's RPC reply, published without waiting for a confirm: it goes
    to the caller's reply queue (one per caller process, expiring 5 minutes
    after its last consumer), where a confirm would only say the broker has
    it, not that the caller will read it —
    a lost reply is what the caller's deadline is for, and every command is
    journaled by its id, so the caller's retry answers the first answer.
    The wait was a broker round trip per RPC in the worker. What
    _ReplyChannel falls back on when its connection fails."""
    publisher_cls = functools.partial(Publisher, use_confirms=False)


# Each readiness check of the kept reply connection: a poll of its socket,
# without a trip through eventlet's hub.
_original_select = eventlet.patcher.original("select")


class _ReplyChannel:
    """The RPC replies of a process, published on one kept connection and
    channel, without a confirm (see _Responder: the same message as
    nameko's, persistent, to the RPC exchange with the caller's reply_to).
    nameko's way made a kombu Connection per reply to find its pooled
    producer, wrapped the publish in kombu's ensure/retry and serialized the
    answer twice: more CPU than the publish itself.

    Before each publish the socket is polled: a broker that went away (a
    restart closes the connection, or the TCP connection is gone) has said
    so there, and the first write into such a connection would be lost
    without an error; the connection is then opened anew. A publish that
    fails raises: the caller sends that reply once more nameko's way (a
    fresh pooled connection, kombu's retries), as every reply went before.
    One publish at a time (a frame written by halves would interleave with
    another greenthread's)."""

    def __init__(self, amqp_uri, exchange_name, ssl=None, login_method=None):
        self.amqp_uri, self.exchange_name = amqp_uri, exchange_name
        self.ssl, self.login_method = ssl, login_method
        self._lock = Semaphore(1)
        self._connection = None

    def publish(self, body, content_type, content_encoding, routing_key, correlation_id):
        message = AmqpMessage(body, content_type=content_type,
                              content_encoding=content_encoding,
                              correlation_id=correlation_id, delivery_mode=2)
        with self._lock:
            try:
                self._ready_channel().basic_publish(message, exchange=self.exchange_name,
                                                    routing_key=routing_key)
            except Exception:
                self.close()
                raise

    def _ready_channel(self):
        if self._connection is not None:
            amqp_connection = self._connection.connection
            readable, _, _ = _original_select.select([amqp_connection.sock], [], [], 0)
            if readable:
                # what the broker said: its end (a close, or EOF), a channel
                # it closed, or connection.blocked (a memory alarm) — handled
                try:
                    amqp_connection.drain_events(timeout=0)
                except socket.timeout:
                    pass
                except Exception:
                    self.close()    # gone: opened anew below
        if self._connection is None:
            connection = KombuConnection(self.amqp_uri, ssl=self.ssl,
                                         login_method=self.login_method,
                                         connect_timeout=5, heartbeat=0)
            try:
                # each node of a cluster's list once, without a pause: a reply
                # waits on no retry (nameko's way, the fallback, has its own)
                connection.ensure_connection(max_retries=max(len(connection.alt), 1) - 1)
            except Exception:
                connection.release()
                raise
            self._connection = connection
        return self._connection.default_channel

    def close(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception:   # already broken: nothing more to release
                pass


class _RpcConsumer(RpcConsumer):
    queue_consumer = _QueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        self.replies = _ReplyChannel(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config).name,
                                     ssl=config.get(AMQP_SSL_CONFIG_KEY),
                                     login_method=config.get(LOGIN_METHOD_CONFIG_KEY))

    def stop(self):
        super().stop()
        self.replies.close()

    def kill(self):
        super().kill()
        self.replies.close()

    def _reply(self, message, result, exc_info):
        """What nameko's Responder.send_response sends, serialized once: an
        answer that cannot be serialized becomes UnserializableValueError."""
        error = None if exc_info is None else serialize_exception(exc_info[1])
        # encoded the same way as the request
        content_type = message.properties["content_type"]
        serializer = kombu.serialization.registry.type_to_name[content_type]
        try:
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": result, "error": error}, serializer)
        except Exception:
            exc_info = sys.exc_info()
            result, error = None, serialize_exception(UnserializableValueError(result))
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": None, "error": error}, serializer)
        try:
            self.replies.publish(body, content_type, encoding,
                                 routing_key=message.properties["reply_to"],
                                 correlation_id=message.properties.get("correlation_id"))
        except bus.CONNECTION_ERRORS as exc:
            log.info("the reply connection failed (%s); sending the reply anew", exc)
            config = self.container.config
            _Responder(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config), serializer,
                       message, ssl=config.get(AMQP_SSL_CONFIG_KEY),
                       login_method=config.get(LOGIN_METHOD_CONFIG_KEY)
                       ).send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def handle_result(self, message, result, exc_info):
        try:
            return self._reply(message, result, exc_info)
        except bus.CONNECTION_ERRORS as exc:
            # The reply is lost; the caller answers 503 when its deadline
            # passes. Ack anyway: on a live channel the request is done; on a
            # dead one the ack fails and the broker delivers the request again.
            log.warning("the reply to %s was not sent (%s)",
                        message.delivery_info.get("routing_key", ""), exc)
            self.queue_consumer.ack_message(message)
            return result, exc_info


def _check_arguments(entrypoint, method_of, args, kwargs):
    """IncorrectSignature unless the method `method_of()` gives (of the
    service class) takes the arguments; its signature read once per
    entrypoint (nameko's inspect.getcallargs reads it anew each call)."""
    signature = getattr(entrypoint, "_signature", None)
    if signature is None:
        signature = entrypoint._signature = inspect.signature(method_of(), follow_wrapped=False)
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise IncorrectSignature(str(exc)) from None


class _Rpc(Rpc):
    rpc_consumer = _RpcConsumer()

    def check_signature(self, args, kwargs):
        # the service's method is wrapped (_naming_outages): check the arguments
        # against the method itself
        _check_arguments(self, lambda: inspect.unwrap(getattr(self.container.service_cls,
                                                              self.method_name)), args, kwargs)


def _timed_rpc(method):
    """The RPC method, its time in einspection_rpc_server_seconds{method} and
    what it raised in einspection_rpc_server_errors_total{method, kind}."""
    name = method.__name__
    seconds = metrics.RPC_SERVER_SECONDS.labels(name)

    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        except errors.ServiceUnavailable:
            metrics.RPC_SERVER_ERRORS.labels(name, "unavailable").inc()
            raise
        except errors.DomainError:
            metrics.RPC_SERVER_ERRORS.labels(name, "domain").inc()
            raise
        except Exception:
            metrics.RPC_SERVER_ERRORS.labels(name, "error").inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)
    return timed


def rpc(method):
    """A service's RPC method. A domain error is the caller's mistake, logged
    as expected rather than as a failure of the service."""
    return _Rpc.decorator(expected_exceptions=errors.DomainError)(
        _timed_rpc(_naming_outages(method)))


class _Timer(Timer):
    """nameko's Timer whose runs are measured: einspection_timer_last_run_timestamp_seconds,
    _interval_seconds, _failures_total and _run_seconds, labelled with the method's name."""

    def setup(self):
        super().setup()
        metrics.set_up_timer(self.method_name, self.interval)


def _timed_run(method):
    name = method.__name__

    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        started, failed = time.perf_counter(), True
        try:
            result = method(self, *args, **kwargs)
            failed = False
            return result
        finally:
            metrics.timer_ran(name, started, failed)
    return timed


def timer(interval):
    """A service's timer (nameko's), whose database outage is one log line a tick."""
    def decorate(method):
        return _Timer.decorator(interval=interval, expected_exceptions=errors.DomainError)(
            _timed_run(_naming_outages(method)))
    return decorate


class _ReplyQueueConsumer(_QueueConsumer):
    """The consumer of a caller's RPC replies, which the broker counts as
    acknowledged once sent (no basic.ack per reply from the caller, none
    for the broker to handle). A reply in flight when the connection breaks
    is then lost instead of delivered again after the reconnection: what
    the caller's deadline is for, as for any lost reply (see _Responder);
    every command is journaled, so the caller's retry answers the first
    answer."""

    def get_consumers(self, consumer_cls, channel):
        return super().get_consumers(partial(consumer_cls, no_ack=True), channel)


class _ReplyListener(ReplyListener):
    queue_consumer = _ReplyQueueConsumer()


class RpcProxy(NamekoRpcProxy):
    """nameko's RpcProxy for callers (the gateway): its reply listener
    outlives a broker restart, and a request the broker does not take fails
    within a second (a kombu OperationalError the caller answers 503)."""
    rpc_reply_listener = _ReplyListener()

    def __init__(self, target_service, **options):
        options.setdefault("retry_policy", RPC_PUBLISH_RETRY)
        super().__init__(target_service, **options)


class _ExpectedErrorsInOneLine(logging.Filter):
    """nameko logs a worker's expected exception (a DomainError: a 404, a
    400 — the caller's mistake, answered as such — or an outage already
    named) as a warning with its traceback. Keep it one line, at INFO: a
    traceback is for what went wrong here."""

    def filter(self, record):
        expected = (isinstance(record.msg, str) and record.msg.startswith("(expected)")) or (
            record.exc_info and isinstance(record.exc_info[1], errors.DomainError))
        if expected:
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("nameko.containers").addFilter(_ExpectedErrorsInOneLine())


def setting(config, key, default=None):
    """Config file first, then the environment, then the default."""
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key, default)
    return value


def pool_settings(config):
    """A PostgreSQL process's connection pool: DATABASE_POOL_SIZE kept open,
    up to DATABASE_MAX_OVERFLOW more while busy, and a wait of at most
    DATABASE_POOL_TIMEOUT seconds for one (then the command is refused as
    the database being unavailable, a 503, not a hang). The sum over every
    process of (size + overflow) must stay under the server's
    max_connections (docs/operations.md). Kept open: as many as a process
    has workers (max_workers, 10), or a busy process would open and close
    a connection (a PostgreSQL backend started and ended) per transaction
    past the fifth."""
    return {"pool_size": _whole(config, "DATABASE_POOL_SIZE", 10, least=1),
            "max_overflow": _whole(config, "DATABASE_MAX_OVERFLOW", 5, least=0),
            "pool_timeout": _whole(config, "DATABASE_POOL_TIMEOUT", 10, least=1)}


def _whole(config, key, default, least):
    text = setting(config, key, str(default))
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least:
        raise ValueError("%s must be a whole number ≥ %d, not %r" % (key, least, text))
    return value


class MetricsServer(DependencyProvider):
    """Serves this process's Prometheus metrics on METRICS_PORT, if set
    (each process of a service needs its own port; 0 or unset: off), at
    METRICS_ADDRESS: loopback unless the deployment opens it (a Prometheus
    in another container needs 0.0.0.0 there)."""

    server = None

    def setup(self):
        port = int(setting(self.container.config, "METRICS_PORT", 0) or 0)
        if port:
            from prometheus_client import start_http_server
            self.server, _thread = start_http_server(
                port, addr=setting(self.container.config, "METRICS_ADDRESS", "127.0.0.1"))

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def kill(self):
        self.stop()


class LogContext(DependencyProvider):
    """Every log line of a worker names what it works for (einspection.logs):
    an RPC's correlation id and actor (its `acting`, else `actor`, else
    what the caller's worker sent in the message headers), an event's
    correlation id, actor and type, a timer's name. Set in the worker's own
    greenthread, before the method runs; the service's name for every line
    of the process."""

    def setup(self):
        logs.set_service_name(self.container.service_name)

    # asked every few seconds by probes and /health: their lines at DEBUG
    QUIET_RPCS = ("health", "awaiting")

    def worker_setup(self, worker_ctx):
        worker_ctx.log_token = logs.bind(**context_of(worker_ctx))
        worker_ctx.log_started = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        """One line per RPC answered and per event handled (INFO; timers
        DEBUG), with its outcome and duration; a failure's own line is
        nameko's. A worker that handled a batch of events writes a line for
        each, naming the event (its fields, not the worker's context). At a
        level the log leaves out, nothing is computed."""
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, EventSubscription):
            level = logging.INFO
        elif isinstance(entrypoint, Rpc):
            level = logging.DEBUG if entrypoint.method_name in self.QUIET_RPCS else logging.INFO
        elif isinstance(entrypoint, Timer):
            level = logging.DEBUG
        else:
            return
        if not log.isEnabledFor(level):
            return
        ms = round((time.perf_counter() - getattr(worker_ctx, "log_started",
                                                  time.perf_counter())) * 1000, 1)
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        if isinstance(entrypoint, EventSubscription):
            events = events_of(worker_ctx)
            if len(events) == 1:
                log.info("handled %s (%s) in %.1f ms: %s", events[0].name,
                         entrypoint.consumer_name, ms, outcome, extra={"duration_ms": ms})
            for event in events if len(events) > 1 else ():
                log.info("handled %s (%s) in %.1f ms, one of %d: %s", event.name,
                         entrypoint.consumer_name, ms, len(events), outcome,
                         extra=dict(event_fields(event), duration_ms=ms))
        elif isinstance(entrypoint, Rpc):
            log.log(level, "rpc %s in %.1f ms: %s", entrypoint.method_name, ms, outcome,
                    extra={"duration_ms": ms})
        else:
            log.debug("timer %s in %.1f ms: %s", entrypoint.method_name, ms, outcome,
                      extra={"duration_ms": ms})

    def worker_teardown(self, worker_ctx):
        token = getattr(worker_ctx, "log_token", None)
        if token is not None:
            try:
                logs.unbind(token)
            except ValueError:      # set in another context: it dies with its greenthread
                pass


class ContainerOf(DependencyProvider):
    """The worker's service container (its config, its entrypoints)."""

    def get_dependency(self, worker_ctx):
        return self.container


def events_of(worker_ctx):
    """The events an event subscription's worker handles: its one, or each of a batch."""
    handled = worker_ctx.args[0] if worker_ctx.args else None
    if isinstance(handled, (list, tuple)):
        return list(handled)
    return [] if handled is None else [handled]


def event_fields(event):
    """What a log line about `event` names it by."""
    return {"correlation_id": event.correlation_id or event.id, "actor": event.actor,
            "event_type": event.name, "event_id": event.id}


def context_of(worker_ctx):
    """The log context of a worker (see LogContext). A worker of a batch of
    events has none of an event: each of its lines names its own."""
    entrypoint, data = worker_ctx.entrypoint, worker_ctx.data or {}
    kwargs = worker_ctx.kwargs or {}
    if isinstance(entrypoint, EventSubscription):
        events = events_of(worker_ctx)
        return event_fields(events[0]) if len(events) == 1 else {}
    if isinstance(entrypoint, Rpc):
        acting = kwargs.get("acting")
        account = acting.get("account") if isinstance(acting, dict) else None
        actor = (account.get("username") if isinstance(account, dict) else None) or (
            kwargs.get("actor") if isinstance(kwargs.get("actor"), str) else None)
        correlation = acting.get("correlation_id") if isinstance(acting, dict) else None
        return {"rpc": entrypoint.method_name,
                "correlation_id": correlation or data.get("correlation_id"),
                "actor": actor or data.get("actor")}
    if isinstance(entrypoint, Timer):
        return {"timer": entrypoint.method_name}
    return {}


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

    def relay_state(self):
        """None (no relay in this process), "running" or "stopped"."""
        return None if self._relay is None else self._relay.state()

    def relay_error(self):
        return None if self._relay is None else self._relay.last_error

    def committed(self):
        """Call after a transaction that appended events committed."""
        if self._relay is not None:
            self._relay.wake()

    def command(self, acting, name, request):
        """Command `name` of `acting` (its command id) in the journal
        (einspection.journal): `.run(execute)` it, in one transaction."""
        return journal.Command(self.engine, acting, name, request, on_commit=self.committed)


class EventStore(DependencyProvider):
    """The service's own database: event store, outbox, inbox, command
    journal and its projection tables, plus the relay that empties the
    outbox onto the bus and the pruner that forgets commands older than
    COMMAND_JOURNAL_HOURS."""

    PRUNE_EVERY_SECONDS = 600

    def __init__(self, url_key, default_url, projections=(), relay=True):
        self.url_key = url_key
        self.default_url = default_url
        self.projections = projections
        self.with_relay = relay
        self.engine = None
        self.relay = None
        self._pruner = None

    def setup(self):
        config = self.container.config
        self.engine = make_engine(setting(config, self.url_key, self.default_url),
                                  **pool_settings(config))
        eventstore.create_tables(self.engine, *self.projections)
        outdated = eventstore.missing_columns(self.engine, *self.projections)
        if outdated:
            # a database of an earlier release: reading it would fail request by request
            raise eventstore.OutdatedReadModels(
                "%s: read models of an older shape (no %s): rebuild them from their events "
                "first (make replay, or python -m services.<service>.cli replay)"
                % (self.url_key, ", ".join(outdated)))
        self.journal_hours = journal.keep_hours(setting(config, "COMMAND_JOURNAL_HOURS"))
        if self.with_relay:
            self.relay = OutboxRelay(self.engine, bus.events_amqp_uri(config),
                                     bus.exchange_name(config),
                                     stream=(bus.stream_name(config),
                                             bus.stream_arguments(config)))
            metrics.OUTBOX.add(self.container.service_name, self._outbox_backlog)

    OUTBOX_SCRAPE_SECONDS = 3

    def _outbox_backlog(self):
        """For the metrics scrape (einspection.metrics.OutboxCollector): at most
        OUTBOX_SCRAPE_SECONDS, so a database that hangs costs the scrape its
        outbox figures (einspection_outbox_scrape_success 0), not all of them."""
        try:
            with eventlet.Timeout(self.OUTBOX_SCRAPE_SECONDS):
                with reading(self.engine) as conn:
                    return eventstore.outbox_backlog(conn)
        except eventlet.Timeout:
            raise TimeoutError("no answer in %ss" % self.OUTBOX_SCRAPE_SECONDS) from None

    def start(self):
        if self.relay is not None:
            self._relay_thread = self.container.spawn_managed_thread(
                self.relay.run, identifier="outbox-relay")
        self._stop_pruning = eventlet.event.Event()
        self._pruner = self.container.spawn_managed_thread(self._prune_journal,
                                                           identifier="journal-pruner")

    def _prune_journal(self):
        while not self._stop_pruning.ready():
            try:
                journal.prune(self.engine, self.journal_hours)
            except Exception as exc:       # the database away: next round
                log.warning("pruning the command journal failed: %s", exc)
            with eventlet.Timeout(self.PRUNE_EVERY_SECONDS, False):
                self._stop_pruning.wait()

    def stop(self):
        if self._pruner is not None:
            if not self._stop_pruning.ready():
                self._stop_pruning.send()
            with eventlet.Timeout(10, False):
                self._pruner.wait()
            self._pruner = None
        if self.relay is not None:
            self.relay.stop()
            # Let it finish its batch and close its broker connection: a relay
            # killed mid-connection keeps the process from exiting.
            with eventlet.Timeout(10, False):
                self._relay_thread.wait()
            metrics.OUTBOX.remove(self.container.service_name, self._outbox_backlog)
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return StoreHandle(self.engine, self.relay)


class _Delivery:
    """A decoded message of a batch subscription, from its arrival to its settling."""
    __slots__ = ("message", "event", "arrived", "unsettled")

    def __init__(self, message, event, arrived, unsettled):
        self.message, self.event, self.arrived, self.unsettled = message, event, arrived, unsettled


class _Unsettled:
    """The delivery tags of one channel's messages not yet acked or given
    back. AMQP's `basic_ack(multiple=True)` acks every outstanding tag up to
    the one named: one ack settles a batch only if the batch is exactly the
    channel's outstanding deliveries up to its last tag; else each is acked."""

    def __init__(self):
        self.tags = set()

    def ack(self, deliveries):
        tags = {d.message.delivery_tag for d in deliveries}
        last = max(deliveries, key=lambda d: d.message.delivery_tag)
        up_to_last = sum(1 for tag in self.tags if tag <= last.message.delivery_tag)
        if len(tags) > 1 and tags <= self.tags and up_to_last == len(tags):
            _settle(lambda m: m.ack(multiple=True), last.message, "ack")
        else:
            for delivery in deliveries:
                _settle(lambda m: m.ack(), delivery.message, "ack")
        self.tags -= tags

    def settled(self, delivery):
        self.tags.discard(delivery.message.delivery_tag)


class EventSubscription(Entrypoint):
    """`@subscribe("scoring", ["einspection.hazard.#"])`: the decorated method
    gets each valid Event. The message is acked after the method returned
    (its transaction committed); a transient failure requeues it; anything
    else goes to the dead-letter queue with the reason.

    `@subscribe(..., batch=200)`: the method gets a list of Events instead;
    with CONSUMER_PREFETCH set (see setup), up to that many (and up to the
    prefetch), to apply in one transaction: what the broker has delivered by the time the socket stays
    silent for COLLECT_SECONDS, so a lone event goes alone and at once.
    After the method returned the batch is acked with one `basic_ack`
    (`multiple`, see _Unsettled). Per message it is as above: an undecodable
    one is dead-lettered on arrival; a transient failure retries the whole
    batch in place, held; any other failure handles the batch's events again
    one at a time (a list of one each), so only the bad one is dead-lettered
    and the others are applied once (their inbox rows went with the rolled
    back transaction).

    A batch subscription runs its batches one after another in a process,
    in delivery order: an enterprise's events are applied in the order the
    broker delivered them, and two batches of one process never wait on
    each other's locks (SQLite has one writer anyway; on PostgreSQL they
    would lock overlapping rows). Replicas are what run batches side by side."""

    LAG_CHECK_SECONDS = 5       # how often the queue's length is read (a passive declare)

    def __init__(self, consumer_name, binding_keys, batch=None, **kwargs):
        self.consumer_name = consumer_name
        self.binding_keys = list(binding_keys)
        self.batch = batch
        self.batch_size = None           # batches taken (setup: CONSUMER_PREFETCH), or one a worker
        self.queue_name = None
        self._stopping = False
        self._in_flight = 0
        self._dlq_lock = Semaphore(1)
        self._dlq_connection = None
        self._unsettled = None           # the live channel's (batch subscriptions)
        self._pending = collections.deque()     # delivered, not in a batch yet
        self._ready = collections.deque()       # batches to run first: a failed one's events
        self._running = False            # a batch is in a worker or held for its retry
        self.connected = False           # consuming now: for /health
        self.outdated_queues = []        # declared before this version (bus.OutdatedQueue)
        super().__init__(**kwargs)

    def setup(self):
        config = self.container.config
        prefix = setting(config, "QUEUE_PREFIX", "einspection")
        self.queue_name = "%s.%s" % (prefix, self.consumer_name)
        self.amqp_uri = bus.events_amqp_uri(config)
        self.exchange = bus.events_exchange(bus.exchange_name(config))
        self.prefetch = int(setting(config, "max_workers", None) or
                            config.get("max_workers", 10) or 10)
        # Batches only where CONSUMER_PREFETCH says how many may be held (one
        # process per consumer: 400). Without it a batch subscription gets a
        # list of one event a worker, ten workers side by side, as before:
        # replicas that each apply batches one after another hold back the
        # events they were delivered while a batch runs, so two events of one
        # enterprise are applied out of order far more often across replicas,
        # which leaves the same scores but other grades on the way
        # (tests/faults/test_replica_equivalence.py).
        held = setting(config, "CONSUMER_PREFETCH", None)
        self.batch_size = None
        if self.batch and held:
            self.prefetch = int(held)
            self.batch_size = min(self.batch, self.prefetch)
        self.delivery_limit = bus.delivery_limit(config)
        # its counters start at 0 for every event type it takes: an alert on
        # their increase fires at the first dead letter, not only at the second
        for kind in EVENT_TYPES.values():
            if any(consumer.topic_matches(key, kind.type) for key in self.binding_keys):
                metrics.DEAD_LETTERED.labels(self.consumer_name, kind.name)
        metrics.DEAD_LETTERED.labels(self.consumer_name, metrics.UNDECODABLE)

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
                    outdated = bus.declare_consumer(connection, self.exchange, self.queue_name,
                                                    self.binding_keys, self.delivery_limit)
                    if outdated and not self.outdated_queues:
                        log.error("subscription %s: %s declared before this version (classic, "
                                  "or another delivery limit); consumed as they are until "
                                  "`python -m tools.queues migrate` re-creates them",
                                  self.queue_name, ", ".join(outdated))
                    self.outdated_queues = outdated
                    queue = bus.consumer_queue(self.queue_name)
                    channel = connection.channel()
                    channel.basic_qos(0, self.prefetch, False)
                    self._unsettled = _Unsettled()
                    lag_channel = connection.channel()
                    lag_checked = 0.0
                    with connection.Consumer(queues=[queue], channel=channel, on_message=self._on_message,
                                             no_ack=False):
                        backoff = 0.2
                        self.connected = True
                        # drain the very connection the consumer is on: once an
                        # ack failed (its node died), kombu's drain_events would
                        # connect again by itself, to the next node of a
                        # cluster's AMQP_URI list, where nothing is consumed
                        consuming = connection.connection
                        while not self._stopping:
                            if time.monotonic() - lag_checked >= self.LAG_CHECK_SECONDS:
                                lag_checked = time.monotonic()
                                self._read_lag(lag_channel)
                            try:
                                consuming.drain_events(timeout=1)
                            except TimeoutError:
                                pass
                            except OSError as exc:
                                if "timed out" not in str(exc):
                                    raise
                            if self._pending:          # batches (batch_size)
                                self._collect(consuming)
                                self._dispatch()
                    # Stopping: keep the channel open until the workers in
                    # flight have acked, or their messages would come back;
                    # what waits for a batch goes back now.
                    with eventlet.Timeout(30, False):
                        while self._in_flight:
                            self._give_back(self._take_waiting())
                            eventlet.sleep(0.05)
            except Exception as exc:
                self.connected = False
                # the channel is gone and the broker delivers its messages
                # again: what waited for a batch is forgotten
                self._unsettled = None
                self._in_flight -= len(self._take_waiting())
                if self._stopping:
                    break
                log.warning("subscription %s: %s; reconnecting in %.1fs",
                            self.queue_name, exc, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _read_lag(self, channel):
        """The consumer's lag: messages ready in its queue (delivered to no
        replica yet), from a passive declare on a channel of its own (a
        failed declare closes only that channel). Every LAG_CHECK_SECONDS,
        between deliveries: the broker's count, not a database query."""
        try:
            _name, ready, consumers = channel.queue_declare(queue=self.queue_name, passive=True)
        except Exception as exc:         # the connection's trouble shows on the consumer
            log.debug("subscription %s: could not read its length: %s", self.queue_name, exc)
            return
        metrics.CONSUMER_READY.labels(self.consumer_name).set(ready)
        metrics.CONSUMER_CONSUMERS.labels(self.consumer_name).set(consumers)
        metrics.CONSUMER_LAG_CHECKED.labels(self.consumer_name).set_to_current_time()
        try:
            # the consumer's own count misses what the broker parked (the delivery limit)
            parked = channel.queue_declare(queue=bus.dead_letter_queue_name(self.queue_name),
                                           passive=True).message_count
        except Exception as exc:
            log.debug("subscription %s: could not read its dead letters: %s",
                      self.queue_name, exc)
            return
        metrics.DEAD_LETTER_QUEUE_MESSAGES.labels(self.consumer_name).set(parked)

    def _count(self, event_name, outcome, arrived=None):
        metrics.CONSUMED.labels(self.consumer_name, event_name, outcome).inc()
        if outcome == "dead_lettered":
            metrics.DEAD_LETTERED.labels(self.consumer_name, event_name).inc()
        if arrived is not None:
            metrics.HANDLER_SECONDS.labels(self.consumer_name, event_name).observe(
                time.perf_counter() - arrived)

    def _on_message(self, message):
        try:
            event, _body = consumer.decode(message)
        except Exception as exc:
            parked = self._dead_letter(message, consumer.reason_for(exc))
            self._count(metrics.UNDECODABLE, "dead_lettered" if parked else "requeued")
            return
        self._in_flight += 1
        if self.batch_size:
            self._unsettled.tags.add(message.delivery_tag)
            self._pending.append(_Delivery(message, event, time.perf_counter(), self._unsettled))
            return
        self._spawn(message, event, time.perf_counter(), attempt=0)

    def _spawn(self, message, event, arrived, attempt):
        try:
            self.container.spawn_worker(self, ([event],) if self.batch else (event,), {},
                                        context_data={},
                                        handle_result=partial(self._finish, message, event,
                                                              arrived, attempt))
        except ContainerBeingKilled:
            self._in_flight -= 1
            _settle(lambda m: m.requeue(), message, "requeue")

    # A transient failure (the database away, a concurrent write) is tried
    # again here, the message held unacknowledged, after a growing pause: a
    # requeue would count as a delivery towards the queue's delivery limit,
    # and an outage longer than that many tries would park good events.
    RETRY_PAUSES = (0.5, 1.0, 2.0, 5.0)

    def _finish(self, message, event, arrived, attempt, worker_ctx, result=None,
                exc_info=None):
        retrying = False
        try:
            if exc_info is None:
                _settle(lambda m: m.ack(), message, "ack")
                outcome = "acked"
            elif consumer.is_transient(exc_info[1]) and not self._stopping:
                log.warning("transient failure in %s, trying again: %s", self.queue_name,
                            exc_info[1])
                pause = self.RETRY_PAUSES[min(attempt, len(self.RETRY_PAUSES) - 1)]
                self.container.spawn_managed_thread(
                    partial(self._retry, message, event, arrived, attempt + 1, pause),
                    identifier="retry:" + self.queue_name)
                retrying = True
                outcome = "retried"
            elif consumer.is_transient(exc_info[1]):
                _settle(lambda m: m.requeue(), message, "requeue")     # stopping
                outcome = "requeued"
            else:
                parked = self._dead_letter(message, consumer.reason_for(exc_info[1]))
                outcome = "dead_lettered" if parked else "requeued"
            self._count(event.name, outcome, None if retrying else arrived)
        finally:
            if not retrying:
                self._in_flight -= 1
        return result, exc_info

    def _retry(self, message, event, arrived, attempt, pause):
        eventlet.sleep(pause)
        if self._stopping:
            self._in_flight -= 1
            _settle(lambda m: m.requeue(), message, "requeue")
            return
        self._spawn(message, event, arrived, attempt)

    # --- batch subscriptions -------------------------------------------------------

    # How long the socket may stay silent before the batch goes as it is.
    # Not 0: py-amqp spins without yielding on a frame half-read from a
    # non-blocking socket; a timeout makes eventlet wait for the rest.
    COLLECT_SECONDS = 0.001

    def _collect(self, consuming):
        """Read what the broker has delivered already, until a batch is
        pending or the socket stays silent for COLLECT_SECONDS."""
        while len(self._pending) < self.batch_size:
            try:
                consuming.drain_events(timeout=self.COLLECT_SECONDS)
            except TimeoutError:
                return
            except OSError as exc:
                if "timed out" in str(exc):
                    return
                raise

    def _dispatch(self):
        """Hand the next batch to a worker, unless one is running or held."""
        if self._running or self._stopping:
            return
        if self._ready:
            batch = self._ready.popleft()
        elif self._pending:
            batch = [self._pending.popleft()
                     for _ in range(min(self.batch_size, len(self._pending)))]
        else:
            return
        self._running = True
        self._run(batch, attempt=0)

    def _run(self, batch, attempt):
        try:
            self.container.spawn_worker(self, ([d.event for d in batch],), {}, context_data={},
                                        handle_result=partial(self._batch_done, batch, attempt))
        except ContainerBeingKilled:
            self._give_back(batch)
            self._running = False

    def _batch_done(self, batch, attempt, worker_ctx, result=None, exc_info=None):
        held = False
        try:
            if exc_info is None:
                batch[0].unsettled.ack(batch)
                self._settled(batch, "acked")
            elif consumer.is_transient(exc_info[1]) and not self._stopping:
                log.warning("transient failure in %s (%d events), trying again: %s",
                            self.queue_name, len(batch), exc_info[1])
                for delivery in batch:
                    self._count(delivery.event.name, "retried")
                pause = self.RETRY_PAUSES[min(attempt, len(self.RETRY_PAUSES) - 1)]
                self.container.spawn_managed_thread(
                    partial(self._retry_batch, batch, attempt + 1, pause),
                    identifier="retry:" + self.queue_name)
                held = True
            elif consumer.is_transient(exc_info[1]):
                self._give_back(batch)                                   # stopping
            elif len(batch) > 1:
                log.warning("a batch of %d events failed in %s (%s); handling them one at a "
                            "time", len(batch), self.queue_name, consumer.reason_for(exc_info[1]))
                self._ready.extendleft([delivery] for delivery in reversed(batch))
            else:
                delivery, = batch
                parked = self._dead_letter(delivery.message, consumer.reason_for(exc_info[1]))
                delivery.unsettled.settled(delivery)
                self._settled(batch, "dead_lettered" if parked else "requeued")
        finally:
            if not held:
                self._running = False
                self._dispatch()
        return result, exc_info

    def _retry_batch(self, batch, attempt, pause):
        eventlet.sleep(pause)
        if self._stopping or batch[0].unsettled is not self._unsettled:
            self._give_back(batch)
            self._running = False
            self._dispatch()
            return
        self._run(batch, attempt)

    def _settled(self, batch, outcome):
        self._in_flight -= len(batch)
        for delivery in batch:
            self._count(delivery.event.name, outcome, delivery.arrived)

    def _give_back(self, batch):
        """Requeue what a batch holds; on a channel that is gone already the
        broker delivers it again by itself."""
        for delivery in batch:
            if delivery.unsettled is self._unsettled:
                _settle(lambda m: m.requeue(), delivery.message, "requeue")
                delivery.unsettled.settled(delivery)
        self._settled(batch, "requeued")

    def _take_waiting(self):
        """The deliveries no worker has taken yet, no longer waiting."""
        waiting = list(self._pending) + [d for batch in self._ready for d in batch]
        self._pending.clear()
        self._ready.clear()
        return waiting

    def _dead_letter(self, message, reason):
        """Park the message on the dead-letter queue; False if that failed
        (it is requeued then)."""
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
                _settle(lambda m: m.requeue(), message, "requeue")
                return False
        _settle(lambda m: m.ack(), message, "ack")
        return True


def subscribe(consumer_name, binding_keys, batch=None):
    """`@subscribe("scoring", ["einspection.hazard.#"])`, the method taking an
    Event; with `batch=n`, a list of up to n Events: see EventSubscription."""
    def decorate(method):
        return EventSubscription.decorator(consumer_name, binding_keys, batch=batch,
                                           expected_exceptions=errors.DomainError)(
            _naming_outages(method))
    return decorate


def subscriptions_of(service_class):
    """(consumer name, binding keys) of each @subscribe method of a service."""
    for attribute in dir(service_class):
        method = getattr(service_class, attribute, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventSubscription):
                yield entrypoint.consumer_name, entrypoint.binding_keys


class HealthCheck:
    """Mixed into every service that has a `store`: the gateway's /health asks it."""

    log_context = LogContext()
    process = ContainerOf()

    @rpc
    def health(self):
        """This process's dependencies, each {"status": ...}: its database
        (a `SELECT 1`), the broker its event subscriptions consume from, and
        its outbox relay (running, the backlog and the age of its oldest
        entry: "stalled" past OUTBOX_STALLED_SECONDS). Status "ok" when all
        are; else "degraded" with `reason` naming the first that is not."""
        name = self.name
        database = _database_health(self.store)
        outbox = _outbox_health(self.store, database, self.process.config)
        broker = _broker_health(self.process)
        answer = {"status": "ok", "service": name, "outbox_pending": outbox.get("pending"),
                  "dependencies": {"database": database, "broker": broker, "outbox": outbox}}
        problems = []
        if database["status"] != "ok":
            problems.append("the %s service's database is unavailable" % name)
        if broker["status"] != "ok":
            problems.append("the %s service's event subscriptions are not connected to the "
                            "broker" % name)
        if outbox["status"] not in ("ok", "unknown"):
            problems.append("the %s service's outbox relay is %s" % (name, outbox["status"]))
        if problems:
            answer.update(status="degraded", reason="; ".join(problems))
        return answer

    @rpc
    def awaiting(self, events):
        """Of `events` ([{"id", "type"}], e.g. what an import appended), the ids
        this service's subscriptions will get but have not processed yet."""
        waiting = []
        with self.store.connect() as conn:
            for name, binding_keys in subscriptions_of(type(self)):
                waiting += consumer.awaiting(conn, name, binding_keys, events)
        return waiting


DATABASE_CHECK_SECONDS = 1.0
DEFAULT_OUTBOX_STALLED_SECONDS = 60


def _database_health(store):
    began = time.perf_counter()
    try:
        with eventlet.Timeout(DATABASE_CHECK_SECONDS):
            with store.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
    except eventlet.Timeout:
        return {"status": "unavailable", "error": "no answer in %ss" % DATABASE_CHECK_SECONDS}
    except Exception as exc:
        return {"status": "unavailable", "error": str(exc).splitlines()[0][:200]}
    return {"status": "ok", "ms": round((time.perf_counter() - began) * 1000, 1)}


def _outbox_health(store, database, config):
    relay = store.relay_state()
    if relay is None:
        return {"status": "ok", "relay": "none"}           # a service that publishes nothing
    answer = {"status": "ok", "relay": relay}
    if database["status"] != "ok":
        answer["status"] = "unknown"                         # the database says it: ask later
        return answer
    try:
        with store.connect() as conn:
            answer["pending"], age = eventstore.outbox_backlog(conn)
    except Exception as exc:
        return dict(answer, status="unknown", error=str(exc).splitlines()[0][:200])
    if answer["pending"]:
        answer["oldest_seconds"] = round(age, 1)
    else:
        age = None
    stalled_after = float(setting(config, "OUTBOX_STALLED_SECONDS",
                                  DEFAULT_OUTBOX_STALLED_SECONDS))
    if relay == "failing":
        answer["error"] = store.relay_error()
    if relay == "stopped":
        answer["status"] = "stopped"
    elif age is not None and age > stalled_after:
        answer["status"] = "stalled"
    return answer


def _broker_health(container):
    subscriptions = {entrypoint.queue_name: entrypoint.connected
                     for entrypoint in container.entrypoints
                     if isinstance(entrypoint, EventSubscription)}
    answer = {"status": "ok" if all(subscriptions.values()) else "unavailable"}
    if subscriptions:
        answer["subscriptions"] = {queue: "connected" if up else "disconnected"
                                   for queue, up in sorted(subscriptions.items())}
    return answer


# --- HTTP: nameko's web server, made fit for a public edge ----------------------------

DEFAULT_IDLE_TIMEOUT_SECONDS = 30
ACCESS_LOG_PATH = "einspection.access_log_path"    # environ key: what the log shows instead


def idle_timeout_seconds(config):
    """HTTP_IDLE_TIMEOUT_SECONDS: how long a connection may stay silent, idle
    between requests or in the middle of one, before it is closed."""
    value = float(setting(config, "HTTP_IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT_SECONDS))
    if value <= 0:
        raise ValueError("HTTP_IDLE_TIMEOUT_SECONDS must be positive, not %r" % value)
    return value


class _Server(wsgi.Server):
    web_server = None           # the WebServer that made it: says what access logs show


class _Protocol(nameko_web.HttpOnlyProtocol):
    """eventlet's HTTP protocol; the access line is _WsgiApp's (eventlet's own is off)."""

    def handle_one_response(self):
        """An answer with `Connection: close` closes the connection: eventlet
        would keep it and try to skip the rest of a body that may never come."""
        app = self.application

        def application(environ, start_response):
            def start(status, headers, exc_info=None):
                closing = [(name, value) for name, value in headers
                           if name.lower() == "connection" and value.lower() == "close"]
                if closing:
                    self.close_connection = 1          # eventlet then writes the header
                    headers = [header for header in headers if header not in closing]
                return start_response(status, headers, exc_info)
            return app(environ, start)

        self.application = application
        super().handle_one_response()



access_log = logging.getLogger("einspection.access")


class _WsgiApp(nameko_web.WsgiApp):
    """nameko's WSGI app, with what no route takes answered by the web
    server (`routing_error`), every answer finished by it (`finish`), and
    one access line per request at INFO (logger einspection.access): method,
    the route's template, the path as the log may show it, status, duration,
    the account and the request id (from the endpoint, when a route ran)."""

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request = Request(environ, shallow=True)
        request.started = started
        request.rule = None          # the matched route's template (for metrics), if any
        route = None
        try:
            if "//" in environ.get("PATH_INFO", ""):
                raise NotFound()     # an empty path segment: werkzeug would match '//' as '/'
            provider, values = self.url_map.bind_to_environ(environ).match()
            request.rule = route = provider.url
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = self.server.routing_error(request, exc)
        response = self.server.finish(request, response)
        self._log_access(request, environ, route, response, started)
        return response(environ, start_response)

    def _log_access(self, request, environ, route, response, started):
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        shown = self.server.path_for_log(path, environ)
        principal = getattr(request, "principal", None)
        ms = round((time.perf_counter() - started) * 1000, 1)
        access_log.info("%s %s %s %s %.1f ms", request.method, shown,
                        environ.get("SERVER_PROTOCOL", "HTTP/1.1"), response.status_code, ms,
                        extra={"method": request.method, "route": route, "path": shown,
                               "status": response.status_code, "duration_ms": ms,
                               "actor": getattr(principal, "username", None),
                               "request_id": getattr(request, "request_id", None),
                               "correlation_id": getattr(request, "request_id", None)})


class WebServer(nameko_web.WebServer):
    """nameko's WebServer with:
    - connections closed after HTTP_IDLE_TIMEOUT_SECONDS of silence, idle
      between requests (keep-alive) or half-sent;
    - a URL map that takes a path as written: a path with '//' matches no
      route (werkzeug would merge the slashes by a redirect, which fails
      inside nameko), a trailing slash is a different path;
    - `routing_error(request, exc)` for a path or method no route takes,
      `finish(request, response)` for headers every answer carries, and
      `redact_path(path)` for access-log lines (a route may name what to show
      instead in `environ[ACCESS_LOG_PATH]`). Subclass to set them."""

    def get_wsgi_server(self, sock, wsgi_app, protocol=_Protocol, debug=False):
        timeout = idle_timeout_seconds(self.container.config)
        server = _Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                         log=logging.getLogger(nameko_web.__name__), socket_timeout=timeout,
                         keepalive=timeout, log_output=False)
        server.web_server = self
        return server

    def get_wsgi_app(self):
        return _WsgiApp(self)

    def make_url_map(self):
        url_map = Map(merge_slashes=False)
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def routing_error(self, request, exc):
        return exc

    def finish(self, request, response):
        return response

    def redact_path(self, path):
        return path

    def path_for_log(self, path, environ):
        return environ.get(ACCESS_LOG_PATH) or self.redact_path(path)


class HttpEntrypoint(HttpRequestHandler):
    """nameko's @http on this module's WebServer; a service subclasses it
    with its own `server = <its WebServer subclass>()`. The worker's context
    data is `request.context_data` too: what a route puts there (the
    gateway's request id and account) goes with every RPC it makes, in the
    message headers (the callee's LogContext reads them)."""
    server = WebServer()

    def check_signature(self, args, kwargs):
        _check_arguments(self, lambda: getattr(self.container.service_cls, self.method_name),
                         args, kwargs)

    def handle_request(self, request):
        request.shallow = False
        try:
            context_data = request.context_data = self.server.context_data_from_headers(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = eventlet.event.Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            result = event.wait()
            response = self.response_from_result(result)
        except Exception as exc:
            response = self.response_from_exception(exc)
        return response
