"""Notify's queue bound to what it needs, on a real broker (the bindings as
`rabbitmqctl list_bindings` shows them) and on each database backend: the
handlers' types and the active subscriptions' patterns, the legacy
`einspection.#` and unneeded patterns removed at start, a subscription made
meanwhile by another replica kept; and an event nothing needs leaves no
inbox row."""
import subprocess
import uuid
from datetime import timedelta

import eventlet
from sqlalchemy import func, select

from einspection import bus, eventstore
from einspection.contract import Event, new_event, utcnow
from services.notify import bindings, model, policy

from .test_notify_store import LOOPBACK, registered, subscribe

EXCHANGE = "einspection.events"
SUBSCRIBED = "einspection.position.*.v1"              # matches no type of policy.HANDLERS


def vhost_of(uri):
    return uri.rsplit("/", 1)[1]


def bound_keys(uri, queue):
    """The routing keys binding `queue` to the events exchange, as the broker lists them."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_bindings", "-p", vhost_of(uri), "source_name",
         "destination_name", "routing_key"], check=True, capture_output=True, text=True,
        timeout=60).stdout
    keys = set()
    for line in listed.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] == EXCHANGE and fields[1] == queue:
            keys.add(fields[2])
    return keys


def test_start_binds_the_handlers_types_and_active_patterns_and_unbinds_the_rest(
        engine, own_broker):
    queue = "einspection.notify-" + uuid.uuid4().hex[:6]
    with bus.connect(own_broker, confirm=False) as connection:        # as an earlier version
        bus.declare_consumer(connection, bus.events_exchange(EXCHANGE), queue,
                             ["einspection.#"])
    with engine.begin() as conn:
        subscribe(conn, "http://127.0.0.1:9/a", [SUBSCRIBED])
        cancelled = subscribe(conn, "http://127.0.0.1:9/b", ["einspection.case.#"])
        policy.cancel_subscription(conn, cancelled["subscription_id"], "admin")
    assert bound_keys(own_broker, queue) == {"einspection.#"}

    bound, unbound = bindings.reconcile(engine, own_broker, EXCHANGE, queue)
    expected = set(bindings.HANDLED_KEYS) | {SUBSCRIBED}
    assert bound_keys(own_broker, queue) == expected == set(bound)
    assert {"einspection.#", "einspection.case.#"} <= set(unbound)
    assert "einspection.hazard.reported.v1" in expected        # a handler's type: kept
    assert "einspection.hazard.verified.v1" not in expected    # no handler, no subscription

    # what the bindings route: a subscribed and a handled type, not the others
    with bus.connect(own_broker, confirm=True) as connection:
        producer = connection.Producer()
        for key in ("einspection.position.retired.v1", "einspection.hazard.verified.v1",
                    "einspection.grade.assigned.v1"):
            bus.publish(producer, EXCHANGE, key, "{}")
        channel = connection.channel()
        keys = []
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                break
            keys.append(message.delivery_info["routing_key"])
    assert sorted(keys) == ["einspection.grade.assigned.v1", "einspection.position.retired.v1"]


def test_a_subscription_made_while_another_replica_starts_keeps_its_binding(
        engine, own_broker):
    """The pattern is an event type's own key, which a reconcile that read the
    subscriptions before this one committed would unbind: under `exclusive`
    it waits for the commit and keeps it."""
    queue = "einspection.notify-" + uuid.uuid4().hex[:6]
    pattern = "einspection.position.retired.v1"
    bindings.reconcile(engine, own_broker, EXCHANGE, queue)
    inside, reconciled = eventlet.event.Event(), []

    def subscribing():
        with bindings.exclusive(engine):
            bindings.bind(own_broker, EXCHANGE, queue, [pattern])
            inside.send()
            eventlet.sleep(0.5)                  # the other replica starts now
            with engine.begin() as conn:
                subscribe(conn, "http://127.0.0.1:9/c", [pattern])

    def starting():
        inside.wait()
        reconciled.append(bindings.reconcile(engine, own_broker, EXCHANGE, queue))

    threads = [eventlet.spawn(subscribing), eventlet.spawn(starting)]
    for thread in threads:
        thread.wait()
    assert pattern in reconciled[0][0]
    assert pattern in bound_keys(own_broker, queue)


def inbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(eventstore.inbox)).scalar_one()


def minor_hazard(enterprise_id="e-1", hazard_id="h-2"):
    now = utcnow()
    return new_event("HazardReported", {
        "hazard_id": hazard_id, "enterprise_id": enterprise_id, "level": "general",
        "category": "fire", "description": "extinguisher out of date", "found_at": now,
        "reported_at": now, "rectification_deadline": now + timedelta(days=7),
        "reporter": "li"}, actor="li")


def receive(engine, event):
    return policy.receive(engine, Event.from_json(event.to_json()), policy.Settings())


def test_every_event_taken_in_is_recorded_and_a_subscribed_one_is_delivered(
        engine, receiver):
    receive(engine, registered())
    assert inbox_rows(engine) == 1
    receive(engine, minor_hazard())                 # not major, no webhook takes it
    assert inbox_rows(engine) == 2

    with engine.begin() as conn:
        subscription = subscribe(conn, receiver.url, ["einspection.hazard.#"], rule=LOOPBACK)
    receive(engine, minor_hazard(hazard_id="h-3"))
    assert inbox_rows(engine) == 3
    with engine.connect() as conn:
        scheduled = conn.execute(select(model.deliveries.c.target)).scalars().all()
    assert scheduled == [subscription["subscription_id"]]
