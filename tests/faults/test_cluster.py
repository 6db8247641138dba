"""A consumer's queues on a 3-node RabbitMQ cluster of the test's own keep
their messages through the loss of a node. Declared by the project's own
code (bus.declare_consumer, through node 1) they are quorum queues with a
member on every node. 2,000 events are put on a consumer's queue with
publisher confirms, then 400 more on the exchange, for it and for the
scoring service (its AMQP_URI: the three nodes, kombu's failover list);
while scoring is working through those, the node that leads both queues is
killed (kill -9 of its Erlang VM). A consumer on a surviving node gets every
confirmed event exactly once, and scoring, failed over to a survivor,
processes every one of its events."""
import json
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from kombu import Exchange
from sqlalchemy import func, select

from einspection import bus, eventstore
from einspection.consumer import topic_matches
from einspection.db import make_engine
from services.scoring import projection
from services.scoring.service import SUBSCRIBED
from tools import launch

from ..eventgen import activity
from ..support import wait_until
from .nodes import RabbitCluster, free_port

QUEUED_EVENTS = 2000            # straight onto the test's queue (the default exchange)
SCORED_EVENTS = 400             # on the events exchange: the test's queue and scoring's
PREFIX = "einspection"
QUEUE = PREFIX + ".cluster-test"
SCORING_QUEUE = "%s.%s" % (PREFIX, projection.CONSUMER)
# scoring's own keys: not the events scoring publishes itself
BINDING_KEYS = SUBSCRIBED
WITHIN_SECONDS = 60
KILL_AFTER_SHARE = 0.25         # of its events scoring has processed when the leader is killed


@pytest.fixture(scope="module")
def cluster(fault_dir):
    cluster = RabbitCluster(fault_dir, size=3).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def scoring(cluster, tmp_path_factory):
    """The scoring service alone, on SQLite, its AMQP_URI every node of the
    cluster (node 1 first: it declares its queues there)."""
    directory = str(tmp_path_factory.mktemp("cluster-scoring"))
    env = launch.environment(";".join(uri(node) for node in cluster.nodes),
                             launch.sqlite_urls(directory), free_port(), queue_prefix=PREFIX)
    platform = launch.Platform(env, free_port(), directory, admin=None).start(["scoring"])
    platform.database_url = env[launch.DATABASE_KEYS["scoring"]]
    process = platform.processes["scoring-0"]
    try:
        yield platform
    finally:
        failed = process.poll() is not None
        # its RPC queue (nameko's, classic) was on the killed node: nameko
        # keeps trying to declare it again, and stops slowly; a clean stop
        # is not what is tested here
        platform.stop(timeout=3)
        if failed:
            platform.print_logs()


def uri(node):
    # the cluster is the test's own: its default vhost will do
    return "amqp://guest:guest@127.0.0.1:%d//" % node.port


def queues(node, names):
    """{name: (type, members, leader)} as `node` reports them."""
    result = node.ctl("list_queues", "name", "type", "members", "leader", "--formatter", "json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    return {name: (rows[name]["type"], sorted(rows[name]["members"]), rows[name]["leader"])
            for name in names if name in rows}


def publish_events(node, events, exchange, routing_key=None, publishers=4):
    """Publish with confirms through `node` (each publish returns once the
    broker confirmed it), on `publishers` connections side by side: a
    confirm takes a round trip through the queue's three members. The ids
    confirmed."""
    confirmed = []

    def publish(share):
        with bus.connect(uri(node)) as connection:
            producer = connection.Producer()
            for event in share:
                bus.publish(producer, exchange, routing_key or event.type, event.to_json(),
                            message_id=event.id)
                confirmed.append(event.id)
    threads = [threading.Thread(target=publish, args=(events[n::publishers],))
               for n in range(publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return confirmed


def consumers(node, name):
    with bus.connect(uri(node), confirm=False) as connection:
        channel = connection.channel()
        try:
            return channel.queue_declare(name, passive=True).consumer_count
        except Exception:           # not declared yet
            return 0
        finally:
            bus.close_quietly(channel)


def processed(platform):
    """How many events scoring has recorded in its inbox (each once)."""
    engine = make_engine(platform.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(eventstore.inbox).where(
                eventstore.inbox.c.consumer == projection.CONSUMER)).scalar()
    finally:
        engine.dispose()


def consume_all(node, expected, timeout):
    """Consume the test's queue with acks through `node` until `expected`
    messages came and nothing more for two seconds: the message ids in the
    order they came, the seconds until the first one and until the last."""
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


def wait_processed(platform, count, deadline):
    done = processed(platform)
    while done < count and time.monotonic() < deadline and platform.processes[
            "scoring-0"].poll() is None:
        time.sleep(0.2)
        done = processed(platform)
    return done


@pytest.fixture(scope="module")
def run(cluster, scoring):
    first = cluster.nodes[0]
    events = bus.events_exchange(bus.DEFAULT_EXCHANGE)
    with bus.connect(uri(first)) as connection:
        outdated = bus.declare_consumer(connection, events, QUEUE, BINDING_KEYS)
    began = time.monotonic()
    queued = activity(QUEUED_EVENTS, seed=3)[:QUEUED_EVENTS]
    confirmed = publish_events(first, queued, Exchange(""), routing_key=QUEUE)
    published_in = time.monotonic() - began
    wait_until(lambda: consumers(first, SCORING_QUEUE), timeout=60,
               message="the scoring service consuming")
    names = [QUEUE, bus.dead_letter_queue_name(QUEUE), SCORING_QUEUE,
             bus.dead_letter_queue_name(SCORING_QUEUE)]
    declared = queues(first, names)
    scored = [event for event in activity(SCORED_EVENTS, seed=5)[:SCORED_EVENTS]
              if any(topic_matches(key, event.type) for key in BINDING_KEYS)]
    confirmed += publish_events(first, scored, events)
    leader = cluster.node(declared[QUEUE][2])
    survivor = next(node for node in cluster.nodes if node is not leader)
    processed_at_kill = wait_until(
        lambda: (lambda n: n if n >= KILL_AFTER_SHARE * len(scored) else 0)(processed(scoring)),
        timeout=60, interval=0.05, message="scoring processing its events")
    leader.kill()
    killed_at = time.monotonic()
    sent = queued + scored
    received, first_after, last_after = consume_all(survivor, len(sent), WITHIN_SECONDS)
    scoring_done = wait_processed(scoring, len(scored), killed_at + WITHIN_SECONDS)
    scoring_done_after = time.monotonic() - killed_at
    after = queues(survivor, names)
    counts = Counter(received)
    sent_ids = {event.id for event in sent}
    lost = sorted(sent_ids - set(counts))
    doubled = {message_id: n for message_id, n in counts.items() if n > 1}
    unknown = sorted(set(counts) - sent_ids)
    print("\n[quorum queues' leader killed] sent %d / confirmed %d / consumed %d (%d distinct) "
          "/ lost %d / doubled %d / published %d in %.1fs / leader %s killed, consumed through "
          "%s: first message %s, last %s after the kill / cluster up in %.1fs (nodes "
          "listening after %.1fs)"
          % (len(sent), len(confirmed), len(received), len(counts), len(lost),
             sum(n - 1 for n in doubled.values()), len(queued), published_in, leader.name,
             survivor.name, _seconds(first_after), _seconds(last_after),
             cluster.timings["clustered"], cluster.timings["booted"]))
    print("[scoring through the leader's loss] sent %d / processed %d when the leader was "
          "killed / processed %d in all (%s after the kill) / lost %d / scoring alive: %s"
          % (len(scored), processed_at_kill, scoring_done, _seconds(scoring_done_after),
             len(scored) - scoring_done, scoring.processes["scoring-0"].poll() is None))
    return SimpleNamespace(cluster=cluster, outdated=outdated, declared=declared, after=after,
                           leader=leader, sent=sent, scored=scored, confirmed=confirmed,
                           received=received, lost=lost, doubled=doubled, unknown=unknown,
                           scoring=scoring, processed_at_kill=processed_at_kill,
                           scoring_done=scoring_done)


def _seconds(value):
    return "never" if value is None else "%.1fs" % value


def test_the_consumer_queues_are_quorum_queues_on_every_node(run):
    every_node = sorted(node.node for node in run.cluster.nodes)
    assert run.outdated == []
    assert len(run.declared) == 4
    for name, (queue_type, members, leader) in run.declared.items():
        assert (queue_type, members) == ("quorum", every_node), name
        assert leader in every_node
    # both declared through node 1: it leads both, and its loss is tried on both
    assert run.declared[QUEUE][2] == run.declared[SCORING_QUEUE][2]


def test_every_confirmed_event_is_consumed_exactly_once_after_the_leader_is_killed(run):
    assert len(run.confirmed) == len(run.sent) == QUEUED_EVENTS + len(run.scored)
    assert run.lost == [], "confirmed but never consumed: %s" % run.lost[:20]
    assert run.doubled == {}, "consumed more than once: %s" % dict(
        list(run.doubled.items())[:20])
    assert run.unknown == []


def test_a_surviving_node_leads_the_queues_and_all_keep_their_members(run):
    every_node = sorted(node.node for node in run.cluster.nodes)
    assert len(run.after) == 4
    for name, (queue_type, members, leader) in run.after.items():
        # the killed node stays a member: back, it would catch up from the others
        assert (queue_type, members) == ("quorum", every_node), name
    assert run.after[QUEUE][2] != run.leader.node
    assert run.after[SCORING_QUEUE][2] != run.leader.node


def test_the_scoring_service_fails_over_and_processes_every_event(run):
    # the kill came while scoring was working through its events, not after
    assert run.processed_at_kill < len(run.scored)
    assert run.scoring.processes["scoring-0"].poll() is None, "the scoring service died"
    assert run.scoring_done == len(run.scored)
