"""Batch subscriptions (`@subscribe(..., batch=n)`) on a real broker, in
process: a pre-filled queue is taken in batches applied in one transaction
each and acked with one `multiple` ack; a poison message inside a batch is
the only one dead-lettered; a transient failure retries the batch held; a
duplicate has one effect; stopping waits for the batch in flight and gives
back what waited."""
import uuid

import amqp
import eventlet
import pytest
from kombu import Connection, Queue
from nameko.containers import ServiceContainer

from einspection import bus, eventstore, metrics
from einspection.errors import InvalidCommand, ServiceUnavailable
from einspection.nameko_glue import EventStore, _Unsettled, subscribe
from tests.eventgen import activity
from tests.support import wait_until

BATCH = 25


class Script:
    """What the probe's handler does: set by each test."""

    def reset(self):
        self.calls = []            # the event ids of each call, in order
        self.applied = []          # event ids whose effect committed
        self.poison = set()
        self.transient = 0         # calls to fail with ServiceUnavailable first
        self.pause = 0.0
        self.started = eventlet.event.Event()


SCRIPT = Script()


class Probe:
    name = "batch_probe"
    store = EventStore("PROBE_DATABASE_URL", "sqlite:///unused.db", relay=False)

    @subscribe("probe", ["einspection.#"], batch=BATCH)
    def on_events(self, events):
        SCRIPT.calls.append([event.id for event in events])
        if not SCRIPT.started.ready():
            SCRIPT.started.send()
        if SCRIPT.transient:
            SCRIPT.transient -= 1
            raise ServiceUnavailable("the probe's database is busy; retry later")
        applied = []
        with self.store.begin() as conn:
            for event in events:
                if not eventstore.record_received(conn, "probe", event):
                    continue
                if event.id in SCRIPT.poison:
                    raise InvalidCommand("poison %s" % event.id)
                applied.append(event.id)
            if SCRIPT.pause:
                # Only where batches run one at a time: a worker yielding
                # inside SQLite's write lock would block the others' BEGIN
                # IMMEDIATE on the one OS thread (sqlite3 is not green).
                eventlet.sleep(SCRIPT.pause)
        SCRIPT.applied += applied


@pytest.fixture
def probe(request, own_broker, tmp_path):
    SCRIPT.reset()
    prefix = "t-batch-" + uuid.uuid4().hex[:6]
    config = {"AMQP_URI": own_broker, "QUEUE_PREFIX": prefix,
              "EVENTS_EXCHANGE": prefix + ".events",
              "PROBE_DATABASE_URL": "sqlite:///" + str(tmp_path / "probe.db"),
              # unset: one event a worker, as before batches
              "CONSUMER_PREFETCH": getattr(request, "param", str(2 * BATCH))}
    queue = prefix + ".probe"
    with Connection(own_broker) as connection:
        bus.declare_consumer(connection, bus.events_exchange(config["EVENTS_EXCHANGE"]), queue,
                             ["einspection.#"])
    container = ServiceContainer(Probe, config)
    container.queue, container.amqp_uri = queue, own_broker
    container.exchange = config["EVENTS_EXCHANGE"]
    yield container
    container.kill() if not container._died.ready() else None


def publish(container, events):
    with Connection(container.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        exchange = bus.events_exchange(container.exchange)
        for event in events:
            producer.publish(event.to_json(), exchange=exchange, routing_key=event.type,
                             serializer=None, delivery_mode=2)


def depth(container, name=None):
    with Connection(container.amqp_uri) as connection:
        return Queue(name or container.queue, no_declare=True).bind(
            connection.channel()).queue_declare(passive=True).message_count


@pytest.fixture
def acks(monkeypatch):
    """Every basic_ack sent: (delivery tag, multiple)."""
    sent = []
    original = amqp.channel.Channel.basic_ack

    def basic_ack(channel, delivery_tag, multiple=False, argsig="Lb"):
        sent.append((delivery_tag, multiple))
        return original(channel, delivery_tag, multiple, argsig)
    monkeypatch.setattr(amqp.channel.Channel, "basic_ack", basic_ack)
    return sent


def consumed(event_name, outcome):
    return metrics.CONSUMED.labels("probe", event_name, outcome)._value.get()


def test_a_prefilled_queue_is_taken_in_batches_each_acked_once(probe, acks):
    events = activity(120, seed=5)
    acked_before = {name: consumed(name, "acked") for name in {e.name for e in events}}
    publish(probe, events)
    probe.start()
    wait_until(lambda: len(SCRIPT.applied) == len(events), message="every event applied")
    wait_until(lambda: depth(probe) == 0, message="an empty queue")
    assert SCRIPT.applied == [e.id for e in events]          # once each, in delivery order
    assert max(len(call) for call in SCRIPT.calls) == BATCH
    assert len(SCRIPT.calls) < len(events) / 2
    multiple = [tag for tag, many in acks if many]
    assert len(multiple) == len([c for c in SCRIPT.calls if len(c) > 1])
    assert len(acks) == len(SCRIPT.calls)                     # one ack a batch
    for name in acked_before:                                 # counted per event
        assert consumed(name, "acked") - acked_before[name] == sum(
            1 for e in events if e.name == name)
    probe.stop()
    assert depth(probe) == 0                                  # nothing came back


@pytest.mark.parametrize("probe", [None], indirect=True)
def test_without_consumer_prefetch_each_event_is_a_list_of_one(probe, acks):
    # as before batches: one event a worker, workers side by side, one ack each
    events = activity(60, seed=4)
    publish(probe, events)
    probe.start()
    wait_until(lambda: len(SCRIPT.applied) == len(events), message="every event applied")
    assert all(len(call) == 1 for call in SCRIPT.calls)
    assert sorted(SCRIPT.applied) == sorted(e.id for e in events)
    assert not any(many for _, many in acks)


def test_a_lone_event_goes_at_once(probe):
    probe.start()
    event = activity(10, seed=6)[0]
    publish(probe, [event])
    wait_until(lambda: SCRIPT.applied == [event.id], timeout=5, message="the event")
    assert SCRIPT.calls == [[event.id]]


def test_a_poison_message_in_a_batch_is_the_only_one_dead_lettered(probe):
    events = activity(60, seed=7)
    poison = events[30]
    SCRIPT.poison = {poison.id}
    publish(probe, events)
    probe.start()
    dead = bus.dead_letter_queue_name(probe.queue)
    wait_until(lambda: depth(probe, dead) == 1, message="the poison dead-lettered")
    wait_until(lambda: len(SCRIPT.applied) == len(events) - 1, message="the others applied")
    wait_until(lambda: depth(probe) == 0, message="an empty queue")
    assert sorted(SCRIPT.applied) == sorted(e.id for e in events if e is not poison)
    # the failed batch was handled again one at a time
    failed = next(call for call in SCRIPT.calls if poison.id in call and len(call) > 1)
    index = SCRIPT.calls.index(failed)
    assert SCRIPT.calls[index + 1:index + 1 + len(failed)] == [[i] for i in failed]
    with Connection(probe.amqp_uri) as connection:
        message = connection.channel().basic_get(dead, no_ack=True)
    assert "poison" in message.headers["x-dead-letter-reason"]
    assert message.headers["x-original-queue"] == probe.queue


def test_a_transient_failure_retries_the_batch_held(probe):
    events = activity(40, seed=8)
    SCRIPT.transient = 2
    retried_before = sum(consumed(n, "retried") for n in {e.name for e in events})
    publish(probe, events)
    probe.start()
    wait_until(lambda: len(SCRIPT.applied) == len(events), message="every event applied")
    assert SCRIPT.calls[0] == SCRIPT.calls[1] == SCRIPT.calls[2]   # the same batch, held
    assert sorted(SCRIPT.applied) == sorted(e.id for e in events)
    retried = sum(consumed(n, "retried") for n in {e.name for e in events}) - retried_before
    assert retried == 2 * len(SCRIPT.calls[0])
    wait_until(lambda: depth(probe) == 0, message="an empty queue")


def test_a_duplicate_has_one_effect(probe):
    events = activity(20, seed=9)
    twice = events[:5] + events + events[3:8]
    publish(probe, twice)
    probe.start()
    wait_until(lambda: depth(probe) == 0 and sum(map(len, SCRIPT.calls)) == len(twice),
               message="every delivery handled")
    assert sorted(SCRIPT.applied) == sorted(e.id for e in events)


def test_stopping_waits_for_the_batch_in_flight_and_gives_back_the_rest(probe, acks):
    events = activity(200, seed=10)
    SCRIPT.pause = 1.5
    publish(probe, events)
    probe.start()
    SCRIPT.started.wait()
    probe.stop()                                   # while the first batch sleeps
    assert SCRIPT.applied == SCRIPT.calls[0]       # it finished and committed
    assert len(SCRIPT.calls) == 1
    assert acks and acks[-1][1]                    # and was acked before the channel closed
    wait_until(lambda: depth(probe) == len(events) - len(SCRIPT.applied),
               message="the rest back in the queue")


class FakeMessage:
    def __init__(self, tag, sent):
        self.delivery_tag, self.sent = tag, sent
        self.delivery_info = {}

    def ack(self, multiple=False):
        self.sent.append((self.delivery_tag, multiple))


class FakeDelivery:
    def __init__(self, tag, sent):
        self.message = FakeMessage(tag, sent)


@pytest.mark.parametrize("outstanding, batch, expected", [
    ({1, 2, 3}, [1, 2, 3], [(3, True)]),                # exactly what is outstanding
    ({1, 2, 3, 4, 5}, [1, 2, 3], [(3, True)]),          # later ones stay outstanding
    ({1, 2, 3, 4}, [2, 3], [(2, False), (3, False)]),   # 1 is outstanding: multiple would ack it
    ({3, 4, 6}, [3, 4], [(4, True)]),                   # 1 and 2 settled already
    ({2, 5, 7}, [2, 7], [(2, False), (7, False)]),      # 5 belongs to no batch of these
    ({4}, [4], [(4, False)]),                           # one: a plain ack
])
def test_one_multiple_ack_only_when_it_acks_exactly_the_batch(outstanding, batch, expected):
    sent = []
    unsettled = _Unsettled()
    unsettled.tags = set(outstanding)
    unsettled.ack([FakeDelivery(tag, sent) for tag in batch])
    assert sent == expected
    assert unsettled.tags == set(outstanding) - set(batch)

