"""With the event bus on a broker of its own (EVENTS_AMQP_URI) and RPC on
another (AMQP_URI), the event broker stopped for 15 s under load stops
nothing the clients see: every request is answered 201 and stored (the
outbox holds the events); when the broker is back everything is published
and projected, once. (With one broker for both, the API answers 503 for
the outage instead: test_broker_restart.py.)"""
import time
import uuid

from conftest import _rabbitmqctl, _vhost
from einspection import eventstore

from .harness import (assert_nothing_lost_or_doubled, outage, query_store, report, settle,
                      statuses)

OUTAGE_SECONDS = 15
HAZARDS = 600


def test_commands_are_accepted_while_the_event_broker_is_away(fault_platform):
    # RPC on a vhost of the machine's shared broker (used, never stopped);
    # the event bus on the fault tests' own node, which is stopped
    vhost = "einspection-faults-rpc-" + uuid.uuid4().hex[:6]
    try:
        platform = fault_platform("events", rpc_amqp_uri=_vhost(vhost))
        pids = platform.pids()
        cut = outage(platform, HAZARDS, platform.rabbit.stop_app, platform.rabbit.start_app,
                     OUTAGE_SECONDS, after=100, before_start=lambda: _outbox_pending(platform))
        stream, pending = cut.stream, cut.at_the_end
        stream.wait(timeout=600)
        caught_up = time.monotonic()
        counted = settle(platform, stream, cut.tap)
        during = cut.during()
        report("event broker stopped %ds, RPC broker up" % OUTAGE_SECONDS, counted,
               answers_during_outage=statuses(during), outbox_at_the_end_of_the_outage=pending,
               published_and_projected_after="%.1fs" % (time.monotonic() - caught_up))
        assert stream.statuses() == {201: HAZARDS}
        assert len(during) > 50 and pending > 50
        assert platform.pids() == pids
        assert_nothing_lost_or_doubled(counted)
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _outbox_pending(platform):
    return query_store(platform.database_urls["hazard"], eventstore.unpublished_count)
