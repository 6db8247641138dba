"""Re-creating a consumer's queues as this version declares them (quorum
queues with a delivery limit, einspection/bus.py), keeping every message.

A queue's arguments cannot be changed in place: a classic queue from before,
or one with another delivery limit, is moved through a queue of its own,
`<queue>.migrating`, bound like the queue while it is re-created, so nothing
published meanwhile is missed:

1. declare `<queue>.migrating` (quorum) and bind it with the consumer's keys;
2. move every message of the old queue there (each published with a confirm
   before it is acked), then delete the old queue — refused while a consumer
   is still attached, since it would lose its deliveries;
3. declare the queue anew and bind it;
4. unbind `<queue>.migrating`, move its messages back, delete it.

A message published while both are bound lands in both and reaches the
consumer twice; its inbox makes that harmless. Each step can be run again:
an interrupted migration goes on from where it stopped.
"""
import logging
from dataclasses import dataclass

import amqp.exceptions
from kombu import Queue

from . import bus
from .consumer import kept_properties

log = logging.getLogger(__name__)

# headers the broker adds to a delivery; a moved message starts afresh
BROKER_HEADERS = ("x-delivery-count",)


def migrating_name(queue_name):
    return queue_name + ".migrating"


class ConsumerAttached(Exception):
    """A consumer still reads the old queue: stop that service first."""


@dataclass
class Plan:
    """One queue and what its declaration is: its consumer's binding keys
    (none for a dead-letter queue) and the arguments it must have."""
    queue: str
    binding_keys: tuple
    arguments: dict


def plans(prefix, subscriptions, limit=bus.DEFAULT_DELIVERY_LIMIT):
    """The queues of `subscriptions` ({consumer name: binding keys}), each
    consumer's queue and its dead-letter queue."""
    found = []
    for name, keys in sorted(subscriptions.items()):
        queue = "%s.%s" % (prefix, name)
        found.append(Plan(bus.dead_letter_queue_name(queue), (),
                          bus.DEAD_LETTER_QUEUE_ARGUMENTS))
        found.append(Plan(queue, tuple(keys), bus.consumer_queue_arguments(queue, limit)))
    return found


def state(connection, plan):
    """bus.queue_state of the queue; 'migrating' when a migration of it was
    begun and not finished."""
    if bus.queue_state(connection, migrating_name(plan.queue),
                       bus.DEAD_LETTER_QUEUE_ARGUMENTS) != "missing":
        return "migrating"
    return bus.queue_state(connection, plan.queue, plan.arguments)


def _count(connection, name):
    channel = connection.channel()
    try:
        return channel.queue_declare(name, passive=True)
    finally:
        bus.close_quietly(channel)


def move(connection, publishing, source, target):
    """Every message of `source`, body, properties and headers as they were,
    into `target`; each is acked in `source` only after the broker confirmed
    it in `target`. Returns how many."""
    producer = publishing.Producer()
    moved = 0
    channel = connection.channel()
    try:
        bound = Queue(source, no_declare=True).bind(channel)
        while True:
            message = bound.get(no_ack=False)
            if message is None:
                return moved
            headers = {key: value for key, value in (message.headers or {}).items()
                       if key not in BROKER_HEADERS}
            producer.publish(message.body, exchange="", routing_key=target, delivery_mode=2,
                             headers=headers, serializer=None, retry=False,
                             **kept_properties(message))
            message.ack()
            moved += 1
    finally:
        bus.close_quietly(channel)


def _delete(connection, name):
    with bus.channel_of(connection) as channel:
        channel.queue_delete(name)


def migrate(connection, publishing, exchange, plan):
    """Re-create `plan.queue` as declared (module docstring); returns how
    many messages were moved, or None when it was current already."""
    current = state(connection, plan)
    if current == "current":
        return None
    if current == "missing":
        bus.declare_queue(connection, plan.queue, plan.arguments)
        bus.bind_consumer(connection, exchange, plan.queue, plan.binding_keys)
        return 0
    temporary = migrating_name(plan.queue)
    bus.declare_queue(connection, temporary, bus.DEAD_LETTER_QUEUE_ARGUMENTS)
    bus.bind_consumer(connection, exchange, temporary, plan.binding_keys)
    moved = 0
    if bus.queue_state(connection, plan.queue, plan.arguments) == "outdated":
        _name, _ready, consumers = _count(connection, plan.queue)
        if consumers:
            raise ConsumerAttached(
                "%s has %d consumer(s): stop the services that read it, then migrate"
                % (plan.queue, consumers))
        moved += move(connection, publishing, plan.queue, temporary)
        _delete(connection, plan.queue)
        log.info("%s: the old queue is deleted, %d message(s) kept in %s",
                 plan.queue, moved, temporary)
    bus.declare_queue(connection, plan.queue, plan.arguments)
    bus.bind_consumer(connection, exchange, plan.queue, plan.binding_keys)
    bus.unbind(connection, exchange, temporary, plan.binding_keys)
    back = move(connection, publishing, temporary, plan.queue)
    _delete(connection, temporary)
    log.info("%s: re-created, %d message(s) moved back", plan.queue, back)
    return max(moved, back)


def migrate_all(amqp_uri, exchange_name, all_plans, say=print):
    """Migrate every queue of `all_plans` that is not current; says what it did."""
    exchange = bus.events_exchange(exchange_name)
    with bus.connect(amqp_uri, confirm=False) as connection, \
            bus.connect(amqp_uri, confirm=True) as publishing:
        channel = connection.channel()
        try:
            exchange.bind(channel).declare()
        finally:
            bus.close_quietly(channel)
        for plan in all_plans:
            try:
                moved = migrate(connection, publishing, exchange, plan)
            except amqp.exceptions.NotFound as exc:       # deleted meanwhile by someone
                raise RuntimeError("%s: %s" % (plan.queue, exc)) from None
            say("%s: %s" % (plan.queue, "current" if moved is None
                            else "re-created as a quorum queue, %d message(s) kept" % moved))


def status(amqp_uri, all_plans):
    """{queue: state} for every queue of `all_plans`."""
    with bus.connect(amqp_uri, confirm=False) as connection:
        return {plan.queue: state(connection, plan) for plan in all_plans}
