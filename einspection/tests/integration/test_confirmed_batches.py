"""Publishing a batch and waiting once for the broker's confirms: every
message of a confirmed batch is in the queue; a batch the broker refuses a
part of raises, so the relay marks none of it published."""
import uuid

import pytest
from kombu import Exchange, Queue

from einspection import bus


def declared(connection, arguments=None):
    name = "batch-" + uuid.uuid4().hex[:8]
    channel = connection.channel()
    exchange = Exchange(name, type="topic", durable=True, auto_delete=True).bind(channel)
    exchange.declare()
    queue = Queue(name, exchange=exchange, routing_key="#", durable=False, auto_delete=False,
                  queue_arguments=arguments or {}).bind(channel)
    queue.declare()
    return exchange, queue


def test_a_confirmed_batch_is_in_the_queue_whole(broker):
    with bus.connect(broker, confirm=False) as connection:
        exchange, queue = declared(connection)
        batches = bus.ConfirmedBatches(connection)
        try:
            for round_ in range(3):
                for number in range(300):
                    bus.publish(batches.producer, exchange, "einspection.hazard.reported.v1",
                                b'{"n": %d}' % number, message_id="%d-%d" % (round_, number))
                    batches.sent()
                batches.wait()
                assert not batches._waiting
            assert queue.queue_declare(passive=True).message_count == 900
            first = queue.get(no_ack=True)
            assert first.properties["message_id"] == "0-0"
            assert first.delivery_info["routing_key"] == "einspection.hazard.reported.v1"
        finally:
            queue.delete()


def test_a_batch_the_broker_refuses_in_part_raises(broker):
    # a queue that takes 10 and refuses the rest (reject-publish): the broker nacks them
    with bus.connect(broker, confirm=False) as connection:
        exchange, queue = declared(connection, {"x-max-length": 10,
                                                "x-overflow": "reject-publish"})
        batches = bus.ConfirmedBatches(connection)
        try:
            for number in range(25):
                bus.publish(batches.producer, exchange, "k", b"{}", message_id=str(number))
                batches.sent()
            with pytest.raises(bus.Unconfirmed, match="refused 15 message"):
                batches.wait()
        finally:
            queue.delete()
