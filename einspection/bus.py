"""Bus wiring: the one durable topic exchange every event is published on,
each consumer's durable queue, and its dead-letter queue.

Routing key = CloudEvents type, so an integrator binds `einspection.hazard.#`
to get every hazard event, or `#` to get everything.
"""
import contextlib
import logging
import os
import re
import time
from urllib.parse import urlsplit

import amqp.exceptions
import kombu.exceptions
from kombu import Connection, Exchange, Queue

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_EXCHANGE = "einspection.events"
DEFAULT_QUEUE_PREFIX = "einspection"
DEFAULT_STREAM_MAX_AGE = "30D"
DEFAULT_STREAM_MAX_BYTES = 20 * 1024 ** 3
MAX_SEGMENT_BYTES = 500 * 1000 * 1000       # RabbitMQ's default segment size

log = logging.getLogger(__name__)


def amqp_uri(config=None):
    """The broker for RPC (and events, unless EVENTS_AMQP_URI says otherwise)."""
    return (config or {}).get("AMQP_URI") or os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def broker_urls(uri):
    """The URLs an AMQP_URI names: one, or the nodes of a cluster separated by
    ';' (kombu connects to the first and fails over to the next in turn)."""
    return [url.strip() for url in uri.split(";") if url.strip()]


def redacted(uri):
    """The AMQP_URI for a log line or a document: every URL's password masked."""
    masked = []
    for url in broker_urls(uri):
        parts = urlsplit(url)
        if parts.password is not None:
            url = parts._replace(netloc="%s:****@%s" % (
                parts.username, parts.netloc.rpartition("@")[2])).geturl()
        masked.append(url)
    return ";".join(masked)


def exchange_name(config=None):
    return (config or {}).get("EVENTS_EXCHANGE") or os.environ.get("EVENTS_EXCHANGE",
                                                                   DEFAULT_EXCHANGE)


def events_exchange(name):
    return Exchange(name, type="topic", durable=True)


# What talking to a broker that went away raises: the socket's errors,
# py-amqp's ("connection already closed") and kombu's wrapping of both.
CONNECTION_ERRORS = (OSError, amqp.exceptions.ConnectionError, kombu.exceptions.OperationalError)


def dead_letter_queue_name(queue_name):
    return queue_name + ".dead-letter"


# --- the consumers' queues ----------------------------------------------------
# Quorum queues: replicated over the nodes of a RabbitMQ cluster (a node lost,
# the queue and its messages stay), with a delivery limit. A consumer settles
# every message itself (ack, or park it on its dead-letter queue with the
# reason); the limit is for what it never gets to settle, e.g. a message that
# crashes its process every time: after QUEUE_DELIVERY_LIMIT deliveries the
# broker moves it to the same dead-letter queue (at-least-once, so not lost).
DEFAULT_DELIVERY_LIMIT = 20


class OutdatedQueue(Exception):
    """The queue exists with other arguments than this version declares:
    a classic queue from before quorum queues, or another delivery limit.
    `python -m tools.queues migrate` re-creates it, keeping its
    messages (docs/operations.md, Moving to quorum queues)."""

    def __init__(self, queue_name, detail):
        super().__init__("queue %s exists with other arguments (%s); re-create it with "
                         "`python -m tools.queues migrate`" % (queue_name, detail))
        self.queue_name = queue_name


def delivery_limit(config=None):
    text = str(_setting(config, "QUEUE_DELIVERY_LIMIT", DEFAULT_DELIVERY_LIMIT)).strip()
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError("QUEUE_DELIVERY_LIMIT must be a whole number ≥ 1, not %r" % text)
    return limit


def consumer_queue_arguments(queue_name, limit=DEFAULT_DELIVERY_LIMIT):
    return {"x-queue-type": "quorum", "x-delivery-limit": limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead_letter_queue_name(queue_name),
            # at-least-once dead-lettering needs reject-publish; no length limit is set
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


DEAD_LETTER_QUEUE_ARGUMENTS = {"x-queue-type": "quorum"}


def declare_queue(connection, name, arguments):
    """Declare a durable queue on a channel of its own; OutdatedQueue if it
    exists with other arguments (the broker then closes that channel)."""
    channel = connection.channel()
    try:
        channel.queue_declare(name, durable=True, auto_delete=False, arguments=arguments)
    except amqp.exceptions.PreconditionFailed as exc:
        raise OutdatedQueue(name, exc) from None
    finally:
        close_quietly(channel)


def declare_consumer(connection, exchange, queue_name, binding_keys,
                     limit=DEFAULT_DELIVERY_LIMIT):
    """Declare exchange, dead-letter queue, queue and bindings; idempotent.
    Returns the names of the queues that exist with other arguments (see
    OutdatedQueue): they are left as they are, and bound all the same."""
    channel = connection.channel()
    try:
        exchange.bind(channel).declare()
    finally:
        close_quietly(channel)
    outdated = []
    for name, arguments in ((dead_letter_queue_name(queue_name), DEAD_LETTER_QUEUE_ARGUMENTS),
                            (queue_name, consumer_queue_arguments(queue_name, limit))):
        try:
            declare_queue(connection, name, arguments)
        except OutdatedQueue:
            outdated.append(name)
    bind_consumer(connection, exchange, queue_name, binding_keys)
    return outdated


@contextlib.contextmanager
def channel_of(connection):
    """A channel of its own for one step (a failed declare closes only it),
    closed afterwards whatever happened."""
    channel = connection.channel()
    try:
        yield channel
    finally:
        close_quietly(channel)


def bind_consumer(connection, exchange, queue_name, binding_keys):
    with channel_of(connection) as channel:
        for key in binding_keys:
            channel.queue_bind(queue_name, exchange.name, key)


def unbind(connection, exchange, queue_name, binding_keys):
    with channel_of(connection) as channel:
        for key in binding_keys:
            channel.queue_unbind(queue_name, exchange.name, key)


def consumer_queue(queue_name):
    """The kombu Queue to consume `queue_name` by, once it is declared (no
    arguments: kombu would declare it again with them)."""
    return Queue(queue_name, durable=True, no_declare=True)


def queue_state(connection, name, arguments):
    """'current' (it exists as `arguments` declare it; declaring it is then a
    no-op), 'outdated' (it exists with other arguments) or 'missing'."""
    channel = connection.channel()
    try:
        channel.queue_declare(name, passive=True)
    except amqp.exceptions.NotFound:
        return "missing"
    finally:
        close_quietly(channel)
    try:
        declare_queue(connection, name, arguments)
        return "current"
    except OutdatedQueue:
        return "outdated"


def close_quietly(channel):
    try:
        channel.close()
    except Exception:           # the broker closed it already
        pass


def connect(uri, confirm=True):
    """A kombu connection; with `confirm`, every publish waits for the
    broker's ack, so 'published' means 'the broker has it'."""
    return Connection(uri, transport_options={"confirm_publish": confirm},
                      connect_timeout=5, heartbeat=0)


class Unconfirmed(Exception):
    """The broker refused (nacked) a message of a batch, or did not confirm
    it in time: none of the batch counts as published."""


class ConfirmedBatches:
    """Publish many messages, then wait once for the broker's confirms
    (publisher confirms, acknowledged with `multiple`): "confirmed" still
    means the broker has every message, at a wait per batch, not per message.

        batches = ConfirmedBatches(connection)
        for ...: publish(batches.producer, ...)
        batches.wait()          # every one confirmed, or Unconfirmed
    """

    def __init__(self, connection, timeout=30.0):
        self.connection = connection
        self.timeout = timeout
        self.channel = connection.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._acked)
        self.channel.events["basic_nack"].add(self._nacked)
        self.producer = connection.Producer(channel=self.channel)
        self._tag = 0              # the delivery tag of the last publish on this channel
        self._waiting = set()      # tags published, not yet confirmed
        self._refused = 0

    def sent(self):
        """Count one publish (the broker numbers them 1, 2, … per channel)."""
        self._tag += 1
        self._waiting.add(self._tag)

    def _acked(self, tag, multiple):
        """How many of the waiting this settles (all up to `tag` if `multiple`)."""
        before = len(self._waiting)
        if multiple:
            self._waiting = {each for each in self._waiting if each > tag}
        else:
            self._waiting.discard(tag)
        return before - len(self._waiting)

    def _nacked(self, tag, multiple):
        self._refused += self._acked(tag, multiple)

    def wait(self):
        deadline = time.monotonic() + self.timeout
        while self._waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unconfirmed("the broker did not confirm %d message(s) in %.0f s"
                                  % (len(self._waiting), self.timeout))
            self.connection.drain_events(timeout=remaining)
        if self._refused:
            refused, self._refused = self._refused, 0
            raise Unconfirmed("the broker refused %d message(s) of the batch" % refused)


def publish(producer, exchange, routing_key, body, headers=None, message_id=None):
    """Persistent, as a structured CloudEvent; `message_id` is the event's id
    (what an integrator or the dead-letter tool can find it by)."""
    producer.publish(body, exchange=exchange, routing_key=routing_key, delivery_mode=2,
                     content_type="application/cloudevents+json", content_encoding="utf-8",
                     headers=headers or {}, message_id=message_id,
                     timestamp=int(time.time()), mandatory=False, retry=False,
                     serializer=None)


def events_amqp_uri(config=None):
    """The broker the event bus lives on; the same as AMQP_URI unless set."""
    return ((config or {}).get("EVENTS_AMQP_URI") or os.environ.get("EVENTS_AMQP_URI")
            or amqp_uri(config))


# --- the replayable stream ------------------------------------------------------
# Every event published on the exchange also lands in one RabbitMQ stream,
# <QUEUE_PREFIX>.stream (bound with `#`), kept for EVENT_STREAM_MAX_AGE or up to
# EVENT_STREAM_MAX_BYTES, whichever ends first. Its offset is the events' one
# platform-wide order: a reader resumes at the last offset it handled + 1
# (docs/events.md, Reading the history). The outbox relays declare it before
# their first publish, every one with the same arguments.

def _setting(config, key, default):
    value = (config or {}).get(key)
    if value in (None, ""):
        value = os.environ.get(key) or default
    return value


def stream_name(config=None):
    return _setting(config, "QUEUE_PREFIX", DEFAULT_QUEUE_PREFIX) + ".stream"


_MAX_AGE = re.compile(r"^[1-9][0-9]*[YMDhms]$")


def stream_arguments(config=None):
    """The stream's x-arguments from EVENT_STREAM_MAX_AGE (a number and one of
    Y M D h m s, RabbitMQ's form: "30D") and EVENT_STREAM_MAX_BYTES; a bad
    value is refused here, naming the setting, not by the broker later.
    Retention drops whole segments: a segment is a tenth of the limit, at
    most RabbitMQ's default 500 MB, so the limit is kept to within a tenth."""
    max_age = str(_setting(config, "EVENT_STREAM_MAX_AGE", DEFAULT_STREAM_MAX_AGE)).strip()
    if not _MAX_AGE.match(max_age):
        raise ValueError("EVENT_STREAM_MAX_AGE must be a number and one of Y M D h m s "
                         "(e.g. 30D), not %r" % max_age)
    text = str(_setting(config, "EVENT_STREAM_MAX_BYTES", DEFAULT_STREAM_MAX_BYTES)).strip()
    try:
        max_bytes = int(text)
    except ValueError:
        max_bytes = 0
    if max_bytes < 1024 * 1024:
        raise ValueError("EVENT_STREAM_MAX_BYTES must be a whole number of bytes ≥ 1048576, "
                         "not %r" % text)
    return {"x-queue-type": "stream", "x-max-age": max_age,
            "x-max-length-bytes": max_bytes,
            "x-stream-max-segment-size-bytes": min(MAX_SEGMENT_BYTES, max_bytes // 10)}


def declare_stream(connection, exchange_name, name, arguments):
    """Declare the stream and bind it to the exchange for every key;
    idempotent. A stream that exists with other arguments (the retention
    was changed since) keeps its own: the broker refuses to redeclare it,
    which is logged, and the binding is made all the same — change a live
    stream's retention with a policy (docs/operations.md)."""
    channel = connection.channel()
    try:
        channel.queue_declare(name, durable=True, auto_delete=False, arguments=arguments)
    except amqp.exceptions.PreconditionFailed as exc:
        log.warning("event stream %s exists with other arguments than %s (%s); "
                    "it keeps them", name, arguments, exc)
        channel = connection.channel()          # the broker closed the other one
    try:
        channel.queue_bind(name, exchange_name, "#")
    finally:
        channel.close()
