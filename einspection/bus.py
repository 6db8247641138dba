"""Bus wiring: the one durable topic exchange every event is published on,
each consumer's durable queue, and its dead-letter queue.

Routing key = CloudEvents type, so an integrator binds `einspection.hazard.#`
to get every hazard event, or `#` to get everything.
"""
import os
import time

import amqp.exceptions
import kombu.exceptions
from kombu import Connection, Exchange, Queue

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_EXCHANGE = "einspection.events"


def amqp_uri(config=None):
    """The broker for RPC (and events, unless EVENTS_AMQP_URI says otherwise)."""
    return (config or {}).get("AMQP_URI") or os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


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


def declare_consumer(channel, exchange, queue_name, binding_keys):
    """Declare exchange, queue, bindings and dead-letter queue; idempotent."""
    exchange = exchange.bind(channel)
    exchange.declare()
    queue = Queue(queue_name, durable=True).bind(channel)
    queue.declare()
    for key in binding_keys:
        queue.bind_to(exchange=exchange, routing_key=key)
    Queue(dead_letter_queue_name(queue_name), durable=True).bind(channel).declare()
    return queue


def connect(uri, confirm=True):
    """A kombu connection; with `confirm`, every publish waits for the
    broker's ack, so 'published' means 'the broker has it'."""
    return Connection(uri, transport_options={"confirm_publish": confirm},
                      connect_timeout=5, heartbeat=0)


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
