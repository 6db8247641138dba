"""The consumers' queues are quorum queues with a delivery limit: what the
broker itself reports of the running platform's queues, a message no
consumer ever settles parked by the broker and re-driven by the operator's
tool, and classic queues of an earlier release moved without losing a message.
"""
import json
import os
import subprocess
import uuid
from urllib.parse import unquote, urlsplit

import pika
import pytest
from kombu import Connection, Exchange, Queue

from einspection import bus, deadletters, queues
from tools import launch
from tools import queues as queue_tool

from .support import free_port, wait_until


def vhost_of(amqp_uri):
    return unquote(urlsplit(amqp_uri).path[1:]) or "/"


def broker_queues(amqp_uri):
    """{name: (type, {argument: value}, messages)} as the broker's own CLI
    lists them; the count from a passive declare (the CLI's count of a
    quorum queue is a few seconds old), None for a queue that went away
    between the listing and the count (other tests' taps come and go in
    the same vhost)."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost_of(amqp_uri), "name", "type",
         "arguments", "--formatter", "json"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    found = {}
    connection, channel = pika_channel(amqp_uri)
    try:
        for row in json.loads(listed):
            try:
                count = channel.queue_declare(row["name"], passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker:      # 404: deleted meanwhile
                count, channel = None, connection.channel()
            found[row["name"]] = (row["type"],
                                  {name: value for name, _kind, value in row["arguments"]},
                                  count)
        return found
    finally:
        connection.close()


def test_every_consumer_queue_of_the_platform_is_a_quorum_queue_with_a_delivery_limit(
        platform):
    found = broker_queues(platform.amqp_uri)
    consumers = sorted(queue_tool.subscriptions())
    assert {"hazard", "scoring", "notify", "enforcement"} <= set(consumers)
    for name in consumers:
        queue = "%s.%s" % (platform.queue_prefix, name)
        kind, arguments, _messages = found[queue]
        assert kind == "quorum", queue
        assert arguments["x-delivery-limit"] == bus.DEFAULT_DELIVERY_LIMIT
        # what the broker parks goes to the consumer's own dead-letter queue, at least once
        assert arguments["x-dead-letter-exchange"] == ""
        assert arguments["x-dead-letter-routing-key"] == queue + ".dead-letter"
        assert arguments["x-dead-letter-strategy"] == "at-least-once"
        assert found[queue + ".dead-letter"][0] == "quorum"


def test_the_delivery_limit_is_a_whole_number_named_when_wrong():
    assert bus.delivery_limit({"QUEUE_DELIVERY_LIMIT": "5"}) == 5
    for bad in ("0", "-1", "many", "2.5"):
        with pytest.raises(ValueError, match="QUEUE_DELIVERY_LIMIT"):
            bus.delivery_limit({"QUEUE_DELIVERY_LIMIT": bad})


def pika_channel(amqp_uri):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    return connection, connection.channel()


def test_a_message_no_consumer_settles_is_parked_by_the_broker_and_redriven(own_broker):
    # A consumer whose process dies on a message never acks it: each death
    # gives it back. After the delivery limit the broker parks it on the
    # consumer's dead-letter queue, where the operator's tool finds and re-drives it.
    prefix = "dl-" + uuid.uuid4().hex[:6]
    queue = prefix + ".scoring"
    exchange = bus.events_exchange(prefix + ".events")
    with bus.connect(own_broker) as connection:
        assert bus.declare_consumer(connection, exchange, queue, ["einspection.#"],
                                    limit=3) == []
    event_id = str(uuid.uuid4())
    connection, channel = pika_channel(own_broker)
    channel.confirm_delivery()
    channel.basic_publish(prefix + ".events", "einspection.hazard.reported", b'{"crash": 1}',
                          pika.BasicProperties(message_id=event_id, delivery_mode=2,
                                               content_type="application/cloudevents+json"))
    connection.close()
    deliveries = 0
    for _ in range(10):
        connection, channel = pika_channel(own_broker)
        method, _properties, _body = channel.basic_get(queue, auto_ack=False)
        connection.close()                    # "crashed": never acked, given back
        if method is None:
            break
        deliveries += 1
    assert deliveries == 4                    # the first delivery and three more
    dlq = queue + ".dead-letter"
    letters = wait_until(lambda: deadletters.list_letters(own_broker, [dlq])[0],
                         message="the broker to park the message")
    letter, = letters
    assert letter.message_id == event_id
    assert letter.original_queue == queue
    assert letter.routing_key == "einspection.hazard.reported"
    assert "delivery limit" in letter.reason
    assert letter.dead_lettered_at.endswith("Z")          # UTC, as every instant here

    moved = deadletters.redrive(own_broker, [dlq], deadletters.Filter(message_ids=(event_id,)))
    assert [each.message_id for each in moved] == [event_id]
    connection, channel = pika_channel(own_broker)
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    connection.close()
    assert body == b'{"crash": 1}' and properties.message_id == event_id
    # it starts afresh (its deliveries counted anew), its history in our headers
    assert "x-death" not in properties.headers
    assert properties.headers["x-original-routing-key"] == "einspection.hazard.reported"
    assert properties.headers["x-dead-letter-count"] == 1
    assert broker_queues(own_broker)[dlq][2] == 0


def old_release_queues(amqp_uri, prefix, subscriptions, count):
    """Classic queues as the release before quorum queues declared them,
    bound as they were, `count` messages in each consumer queue and one in
    each dead-letter queue."""
    exchange = Exchange(prefix + ".events", type="topic", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        exchange.bind(channel).declare()
        producer = connection.Producer()
        for name, keys in subscriptions.items():
            queue = Queue("%s.%s" % (prefix, name), durable=True).bind(channel)
            queue.declare()
            for key in keys:
                queue.bind_to(exchange=exchange, routing_key=key)
            dead = Queue("%s.%s.dead-letter" % (prefix, name), durable=True).bind(channel)
            dead.declare()
            for number in range(count):
                producer.publish(b'{"n": %d}' % number, exchange="", routing_key=queue.name,
                                 delivery_mode=2, serializer=None,
                                 message_id="%s-%d" % (name, number),
                                 headers={"x-original-routing-key": "k"})
            producer.publish(b"parked", exchange="", routing_key=dead.name, delivery_mode=2,
                             serializer=None, message_id=name + "-dead",
                             headers={"x-dead-letter-reason": "handler failed: old"})


def test_classic_queues_of_an_earlier_release_are_re_created_keeping_every_message(
        own_broker):
    prefix = "mig-" + uuid.uuid4().hex[:6]
    env = {"AMQP_URI": own_broker, "QUEUE_PREFIX": prefix, "EVENTS_EXCHANGE": prefix + ".events"}
    subscriptions = queue_tool.subscriptions()
    old_release_queues(own_broker, prefix, subscriptions, count=50)
    plans = queue_tool.plans(env)
    assert set(queues.status(own_broker, plans).values()) == {"outdated"}

    # a consumer of the old release still reading: refused, nothing touched
    blocker, channel = pika_channel(own_broker)
    channel.basic_consume(prefix + ".scoring", lambda *args: None)
    with pytest.raises(queues.ConsumerAttached, match=prefix + ".scoring"):
        queue_tool.migrate(env, say=lambda line: None)
    blocker.close()

    said = []
    queue_tool.migrate(env, say=said.append)
    assert set(queues.status(own_broker, plans).values()) == {"current"}
    assert any("re-created as a quorum queue" in line for line in said)
    found = broker_queues(own_broker)
    for name in subscriptions:
        queue = "%s.%s" % (prefix, name)
        assert found[queue][0] == "quorum" and found[queue][2] == 50, queue
        assert found[queue + ".dead-letter"][0] == "quorum"
        assert found[queue + ".dead-letter"][2] == 1
        assert queue + ".migrating" not in found
    # every message as it was, in its order, properties and headers kept
    connection, channel = pika_channel(own_broker)
    ids = []
    for _ in range(50):
        method, properties, body = channel.basic_get(prefix + ".scoring", auto_ack=True)
        ids.append(properties.message_id)
        assert properties.headers["x-original-routing-key"] == "k"
    assert ids == ["scoring-%d" % number for number in range(50)]
    # the new queue is bound as the old one was
    channel.confirm_delivery()
    channel.basic_publish(prefix + ".events", "einspection.hazard.reported", b"{}")
    assert wait_until(lambda: broker_queues(own_broker)[prefix + ".scoring"][2] == 1)
    connection.close()
    # a second run has nothing to do
    said.clear()
    queue_tool.migrate(env, say=said.append)
    assert all(line.endswith(": current") for line in said)


def test_an_interrupted_migration_goes_on_from_where_it_stopped(own_broker):
    prefix = "mig-" + uuid.uuid4().hex[:6]
    env = {"AMQP_URI": own_broker, "QUEUE_PREFIX": prefix, "EVENTS_EXCHANGE": prefix + ".events"}
    old_release_queues(own_broker, prefix, {"scoring": ["einspection.#"]}, count=20)
    plan = [each for each in queue_tool.plans(env) if each.queue == prefix + ".scoring"][0]
    exchange = bus.events_exchange(prefix + ".events")
    with bus.connect(own_broker, confirm=False) as connection, \
            bus.connect(own_broker) as publishing:
        # stopped after the old queue was emptied into <queue>.migrating and deleted
        temporary = queues.migrating_name(plan.queue)
        bus.declare_queue(connection, temporary, bus.DEAD_LETTER_QUEUE_ARGUMENTS)
        assert queues.move(connection, publishing, plan.queue, temporary) == 20
        connection.channel().queue_delete(plan.queue)
        assert queues.state(connection, plan) == "migrating"
        assert queues.migrate(connection, publishing, exchange, plan) == 20
        assert queues.state(connection, plan) == "current"
    found = broker_queues(own_broker)
    assert found[plan.queue][:1] == ("quorum",) and found[plan.queue][2] == 20
    assert temporary not in found


def test_a_service_on_a_queue_of_an_earlier_release_consumes_it_and_says_what_to_do(
        own_broker, databases, tmp_path):
    prefix = "old-" + uuid.uuid4().hex[:6]
    port = free_port()
    urls = {name: databases.url("sqlite", name) for name in launch.DATABASE_KEYS}
    env = launch.environment(own_broker, urls, port, exchange=prefix + ".events",
                             queue_prefix=prefix)
    old_release_queues(own_broker, prefix, {"scoring": ["einspection.#"]}, count=0)
    running = launch.Platform(env, port, str(tmp_path))
    try:
        running.start(services=("scoring",))
        log = os.path.join(str(tmp_path), "scoring-0.log")
        said = wait_until(lambda: "consumed as they are" in open(log).read() and open(log).read(),
                          timeout=60, message="scoring to say its queue is outdated")
        assert "python -m tools.queues migrate" in said
        # it reads the old queue all the same: what is published there is consumed
        connection, channel = pika_channel(own_broker)
        channel.confirm_delivery()
        channel.basic_publish(prefix + ".events", "einspection.unknown.thing", b"not json")
        connection.close()
        wait_until(lambda: broker_queues(own_broker)[prefix + ".scoring.dead-letter"][2] == 2,
                   timeout=30, message="the undecodable message to be parked")
    finally:
        running.stop()


def test_make_run_migrates_the_queues_of_its_broker_before_it_starts(own_broker, monkeypatch):
    from tools import run
    prefix = "run-" + uuid.uuid4().hex[:6]
    env = {"AMQP_URI": own_broker, "QUEUE_PREFIX": prefix, "EVENTS_EXCHANGE": prefix + ".events"}
    old_release_queues(own_broker, prefix, queue_tool.subscriptions(), count=3)
    said = []
    monkeypatch.setattr(run, "say", said.append)
    run._queues_up_to_date(env)
    assert set(queues.status(own_broker, queue_tool.plans(env)).values()) == {"current"}
    assert any("re-creating them as quorum queues" in line for line in said)
    said.clear()
    run._queues_up_to_date(env)
    assert said == []
