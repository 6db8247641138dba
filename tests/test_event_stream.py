"""The replayable stream, read as an integrator would: plain pika, no project
code. Every published event lands in <QUEUE_PREFIX>.stream; reading it from a
timestamp (or the start) twice gives the same events in the same order, each
delivery's `x-stream-offset` increasing; resuming at an offset gives the tail.

The session's platform has a stream of its own (its QUEUE_PREFIX, in its own
vhost), but other tests' events are in it too: the test reads from a timestamp
taken at its start and compares whole sequences up to an offset it has seen."""
import time
import uuid
from datetime import timedelta

import pytest

from einspection import bus

from . import factories
from .support import EventTap, broker_now, read_stream


def register(api, name):
    response = api.post("/api/v1/enterprises", factories.enterprise(name=name))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def report(api, enterprise_id):
    response = api.post("/api/v1/hazards", factories.hazard(enterprise_id))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_days_events_read_twice_from_a_timestamp_are_the_same_sequence(api, platform):
    stream = platform.queue_prefix + ".stream"
    assert stream == bus.stream_name({"QUEUE_PREFIX": platform.queue_prefix})
    started = broker_now() - timedelta(seconds=1)
    enterprise_id = register(api, "Stream Reader Dyeing")
    hazards = [report(api, enterprise_id) for _ in range(3)]

    def ours(events):
        return [envelope for _, _, envelope in events if envelope["subject"] == enterprise_id]

    def all_there(events):
        reported = {e["data"]["hazard_id"] for e in ours(events)
                    if e["type"] == "einspection.hazard.reported.v1"}
        registered = [e for e in ours(events) if e["type"].startswith("einspection.enterprise.")]
        return reported == set(hazards) and registered

    first = read_stream(platform.amqp_uri, stream, started, until=all_there)
    last = first[-1][0]
    second = read_stream(platform.amqp_uri, stream, started, until_offset=last)

    assert [(o, e["id"]) for o, _, e in second] == [(o, e["id"]) for o, _, e in first]
    offsets = [o for o, _, _ in first]
    assert offsets == sorted(set(offsets)), "offsets increase, one per event"
    # the routing key is the type, and every envelope is the CloudEvent the services publish
    for _, routing_key, envelope in first:
        assert routing_key == envelope["type"] and envelope["specversion"] == "1.0"
    # the first of ours came after the test started: the timestamp did not cut it off
    assert ours(first)[0]["type"] == "einspection.enterprise.registered.v1"

    # from the start: the same events, the timestamp's read its tail
    whole = read_stream(platform.amqp_uri, stream, "first", until_offset=last)
    assert whole[0][0] == 0
    assert [(o, e["id"]) for o, _, e in whole[-len(first):]] == \
        [(o, e["id"]) for o, _, e in first]

    # resuming after an offset one has handled: exactly the tail, nothing before it
    handled = next(o for o, _, e in first if e["subject"] == enterprise_id
                   and e["type"] == "einspection.hazard.reported.v1")
    tail = read_stream(platform.amqp_uri, stream, handled + 1, until_offset=last)
    assert [o for o, _, _ in tail] == [o for o in offsets if o > handled]
    assert [e["id"] for _, _, e in tail] == [e["id"] for o, _, e in first if o > handled]


def test_every_event_on_the_exchange_is_in_the_stream(api, platform):
    """What a queue of one's own receives, the stream holds too, same ids."""
    tap = EventTap(platform.amqp_uri, platform.exchange, "#")
    try:
        enterprise_id = register(api, "Stream Witness Printing")
        hazard_id = report(api, enterprise_id)
        tap.wait_for(lambda e: e["type"] == "einspection.hazard.reported.v1"
                     and e["data"]["hazard_id"] == hazard_id)
        time.sleep(0.5)
        tap.drain(0.3)
        ids = [e["id"] for e in tap.bodies() if e["subject"] == enterprise_id]
    finally:
        tap.close()
    seen = read_stream(platform.amqp_uri, platform.queue_prefix + ".stream", "first",
                       until=lambda events: set(ids) <= {e["id"] for _, _, e in events})
    assert len([e for _, _, e in seen if e["id"] in ids]) == len(ids)


def test_bad_retention_settings_are_refused_naming_the_setting():
    with pytest.raises(ValueError, match="EVENT_STREAM_MAX_AGE"):
        bus.stream_arguments({"EVENT_STREAM_MAX_AGE": "30 days"})
    with pytest.raises(ValueError, match="EVENT_STREAM_MAX_BYTES"):
        bus.stream_arguments({"EVENT_STREAM_MAX_BYTES": "20G"})
    arguments = bus.stream_arguments({"EVENT_STREAM_MAX_AGE": "7D",
                                      "EVENT_STREAM_MAX_BYTES": "100000000"})
    assert arguments == {"x-queue-type": "stream", "x-max-age": "7D",
                         "x-max-length-bytes": 100000000,
                         "x-stream-max-segment-size-bytes": 10000000}



def test_declaring_the_stream_again_is_harmless_even_with_other_retention(platform, caplog):
    """Six services' relays declare it, each replica on each (re)connect: the
    same arguments are a no-op; other ones (a changed setting) keep the
    stream as it is, logged, and its binding — the events still land in it."""
    name = "redeclared-%s.stream" % uuid.uuid4().hex[:8]
    exchange = bus.events_exchange(name + ".events")   # not the platform's: no one else reads it
    arguments = bus.stream_arguments({})
    connection = bus.connect(platform.amqp_uri)
    try:
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        exchange.bind(channel).declare()
        for _ in range(2):
            bus.declare_stream(connection, exchange.name, name, arguments)
        bus.declare_stream(connection, exchange.name, name,
                           dict(arguments, **{"x-max-age": "1D"}))
        assert "exists with other arguments" in caplog.text
        bus.publish(connection.Producer(channel=channel), exchange,
                    "einspection.test.redeclared.v1", '{"id":"r1"}', message_id="r1")
        seen = read_stream(platform.amqp_uri, name, "first", until=lambda events: events)
        assert [e["id"] for _, _, e in seen] == ["r1"]
        channel.queue_delete(name)
        channel.exchange_delete(exchange.name)
    finally:
        connection.release()
