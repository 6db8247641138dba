"""A consumer's queues on a 3-node RabbitMQ cluster of the test's own keep
their messages through the loss of a node: declared by the project's own
code (bus.declare_consumer) they are quorum queues with a member on every
node; 2,000 events published with confirms, the queue's leader is killed
(kill -9 of its Erlang VM), and a consumer on a surviving node gets every
confirmed event exactly once."""
import json
import time
from collections import Counter
from types import SimpleNamespace

import pytest

from einspection import bus
from einspection.consumer import topic_matches

from ..eventgen import activity
from .nodes import RabbitCluster

EVENTS = 2000
QUEUE = "einspection.cluster-test"
BINDING_KEYS = ["einspection.#"]
CONSUME_WITHIN_SECONDS = 60


@pytest.fixture(scope="module")
def cluster(fault_dir):
    cluster = RabbitCluster(fault_dir, size=3).start()
    yield cluster
    cluster.stop()


def uri(node):
    # the cluster is the test's own: its default vhost will do
    return "amqp://guest:guest@127.0.0.1:%d//" % node.port


def queues(node, names):
    """{name: (type, members, leader)} as `node` reports them."""
    result = node.ctl("list_queues", "name", "type", "members", "leader", "--formatter", "json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    return {name: (rows[name]["type"], sorted(rows[name]["members"]), rows[name]["leader"])
            for name in names if name in rows}


def publish_events(node, events):
    """Publish with confirms through `node`; the ids the broker confirmed."""
    exchange = bus.events_exchange(bus.DEFAULT_EXCHANGE)
    confirmed = []
    with bus.connect(uri(node)) as connection:
        producer = connection.Producer()
        for event in events:
            bus.publish(producer, exchange, event.type, event.to_json(), message_id=event.id)
            confirmed.append(event.id)
    return confirmed


def consume_all(node, expected, timeout):
    """Consume with acks through `node` until `expected` messages came and
    nothing more arrives for two seconds; the message ids in the order they
    came, the seconds until the first one and until the last."""
    received = []
    first = last = None
    began = time.monotonic()
    deadline = began + timeout
    while time.monotonic() < deadline:
        try:
            with bus.connect(uri(node), confirm=False) as connection:
                channel = connection.channel()
                channel.basic_qos(0, 500, False)

                def on_message(message):
                    received.append(message.properties.get("message_id"))
                    message.ack()
                with connection.Consumer(queues=[bus.consumer_queue(QUEUE)], channel=channel,
                                         on_message=on_message, no_ack=False):
                    quiet_since = time.monotonic()
                    while time.monotonic() < deadline:
                        before = len(received)
                        try:
                            connection.drain_events(timeout=0.5)
                        except TimeoutError:
                            pass
                        if len(received) != before:
                            last = time.monotonic() - began
                            first = first or last
                            quiet_since = time.monotonic()
                        elif len(received) >= expected and time.monotonic() - quiet_since > 2:
                            return received, first, last
        except Exception as exc:
            # no leader elected yet: the broker refuses the consume for a moment
            print("consume through %s: %s, again" % (node.name, str(exc).splitlines()[0][:120]))
            time.sleep(0.5)
    return received, first, last


@pytest.fixture(scope="module")
def run(cluster):
    first = cluster.nodes[0]
    events = activity(EVENTS)[:EVENTS]
    with bus.connect(uri(first)) as connection:
        outdated = bus.declare_consumer(connection, bus.events_exchange(bus.DEFAULT_EXCHANGE),
                                        QUEUE, BINDING_KEYS)
    dead_letter_queue = bus.dead_letter_queue_name(QUEUE)
    declared = queues(first, [QUEUE, dead_letter_queue])
    routed = [event for event in events
              if any(topic_matches(key, event.type) for key in BINDING_KEYS)]
    began = time.monotonic()
    confirmed = publish_events(first, events)
    published_in = time.monotonic() - began
    before = queues(first, [QUEUE])[QUEUE]
    leader = cluster.node(before[2])
    survivor = next(node for node in cluster.nodes if node is not leader)
    leader.kill()
    received, first_after, last_after = consume_all(survivor, len(routed), CONSUME_WITHIN_SECONDS)
    after = queues(survivor, [QUEUE, dead_letter_queue])
    counts = Counter(received)
    sent_ids = {event.id for event in routed}
    lost = sorted(sent_ids - set(counts))
    doubled = {message_id: n for message_id, n in counts.items() if n > 1}
    unknown = sorted(set(counts) - sent_ids)
    print("\n[quorum queue leader killed] sent %d / confirmed %d / consumed %d (%d distinct) / "
          "lost %d / doubled %d / published in %.1fs / leader %s killed, consumed through %s: "
          "first message %s, last %s after the kill / cluster up in %.1fs (nodes listening "
          "after %.1fs)"
          % (len(routed), len(confirmed), len(received), len(counts), len(lost),
             sum(n - 1 for n in doubled.values()), published_in, leader.name, survivor.name,
             _seconds(first_after), _seconds(last_after), cluster.timings["clustered"],
             cluster.timings["booted"]))
    return SimpleNamespace(cluster=cluster, outdated=outdated, declared=declared, before=before,
                           after=after, leader=leader, survivor=survivor, routed=routed,
                           confirmed=confirmed, received=received, lost=lost, doubled=doubled,
                           unknown=unknown)


def _seconds(value):
    return "never" if value is None else "%.1fs" % value


def test_the_consumer_queues_are_quorum_queues_on_every_node(run):
    every_node = sorted(node.node for node in run.cluster.nodes)
    assert run.outdated == []
    for name in (QUEUE, bus.dead_letter_queue_name(QUEUE)):
        queue_type, members, leader = run.declared[name]
        assert (queue_type, members) == ("quorum", every_node), name
        assert leader in every_node


def test_every_confirmed_event_is_consumed_exactly_once_after_the_leader_is_killed(run):
    assert len(run.confirmed) == len(run.routed) == EVENTS
    assert run.lost == [], "confirmed but never consumed: %s" % run.lost[:20]
    assert run.doubled == {}, "consumed more than once: %s" % dict(
        list(run.doubled.items())[:20])
    assert run.unknown == []


def test_a_surviving_node_leads_the_queues_and_both_keep_their_members(run):
    every_node = sorted(node.node for node in run.cluster.nodes)
    for name in (QUEUE, bus.dead_letter_queue_name(QUEUE)):
        queue_type, members, leader = run.after[name]
        # the killed node stays a member: back, it catches up from the others
        assert (queue_type, members) == ("quorum", every_node), name
    assert run.after[QUEUE][2] != run.leader.node
