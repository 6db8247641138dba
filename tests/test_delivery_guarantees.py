"""Nothing accepted is lost, nothing is applied twice, nothing loops:
the outbox across a broker outage, idempotent consumers, dead letters."""
import json
import uuid

import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from einspection.db import make_engine
from services.scoring import projection
from tools import launch

from . import factories
from .eventgen import activity
from .support import EventTap, TcpProxy, free_port, publish_raw, wait_until


@pytest.fixture
def isolated(request, own_broker, databases, backend, tmp_path):
    """Names of our own for one test: vhost, exchange, queue prefix, databases."""
    broker = own_broker
    tag = uuid.uuid4().hex[:6]
    urls = {name: databases.url(backend, name) for name in launch.DATABASE_KEYS}
    port = free_port()
    env = launch.environment(broker, urls, port, exchange="t-%s.events" % tag,
                             queue_prefix="t-" + tag)
    platform = launch.Platform(env, port, str(tmp_path))
    platform.urls, platform.amqp_uri, platform.exchange = urls, broker, "t-%s.events" % tag
    platform.queue_prefix = "t-" + tag
    yield platform
    platform.stop()
    if request.session.testsfailed:
        platform.print_logs()


def rpc_ready(amqp_uri, service):
    def ping():
        try:
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=2) as rpc:
                return getattr(rpc, service).health()
        except Exception:
            return None
    return wait_until(ping, timeout=60, interval=0.3, message=service + " to answer RPC")


def test_reports_are_accepted_while_the_broker_is_unreachable_and_published_once_after(
        isolated):
    proxy = TcpProxy(5672)                     # not started: the event bus is unreachable
    isolated.env["EVENTS_AMQP_URI"] = proxy.uri(isolated.amqp_uri)
    isolated.start(services=("hazard",))
    rpc_ready(isolated.amqp_uri, "hazard")
    tap = EventTap(isolated.amqp_uri, isolated.exchange)
    try:
        with ClusterRpcProxy({"AMQP_URI": isolated.amqp_uri}, timeout=10) as rpc:
            admin = Principal(account_id="a-1", username="admin", role="authority_admin")
            # five commands, five command ids (one acting each)
            ids = [rpc.hazard.report_hazard(factories.hazard("ent-1"),
                                            Acting.by_account(admin).to_dict())["id"]
                   for _ in range(5)]
            assert rpc.hazard.health()["outbox_pending"] == 5
        engine = make_engine(isolated.urls["hazard"])
        with engine.connect() as conn:
            stored = [e.data["hazard_id"] for _, e in eventstore.read_all(conn)]
        assert stored == ids                    # accepted and stored, in order
        tap.drain(1.5)
        assert tap.messages == []               # nothing got out

        proxy.start()                           # the broker is back
        wait_until(lambda: len(tap.messages) >= 5 or tap.drain(0.2), timeout=30,
                   message="the five events")
        tap.drain(2.0)                          # time for any duplicate to show up
        published = [json.loads(m.body)["data"]["hazard_id"] for m in tap.messages]
        assert published == ids                 # each exactly once, in order
        with engine.connect() as conn:
            assert eventstore.unpublished_count(conn) == 0
    finally:
        tap.close()
        proxy.stop()


def queue_depth(amqp_uri, name):
    with Connection(amqp_uri) as connection:
        return Queue(name, durable=True).bind(connection.channel()).queue_declare(
            passive=True).message_count


def scoring_counts(url, event_id):
    engine = make_engine(url)
    with engine.connect() as conn:
        inbox = conn.execute(select(func.count()).select_from(eventstore.inbox).where(
            eventstore.inbox.c.event_id == event_id)).scalar()
        facts = conn.execute(select(func.count()).select_from(projection.hazard_facts)).scalar()
        applied = conn.execute(select(func.sum(projection.scores.c.events_applied))).scalar()
    engine.dispose()
    return inbox, facts, applied


def test_a_duplicated_event_has_one_effect(isolated):
    isolated.start(services=("scoring",))
    rpc_ready(isolated.amqp_uri, "scoring")
    report = [e for e in activity(200) if e.name == "HazardReported"][0]
    for _ in range(3):                          # the same event, three deliveries
        publish_raw(isolated.amqp_uri, isolated.exchange, report.type, report.to_json())
    queue = isolated.queue_prefix + ".scoring"
    wait_until(lambda: scoring_counts(isolated.urls["scoring"], report.id)[0] == 1,
               message="the event to be processed")
    wait_until(lambda: queue_depth(isolated.amqp_uri, queue) == 0, message="an empty queue")
    import time
    time.sleep(1.0)                             # the acks of the duplicates
    assert scoring_counts(isolated.urls["scoring"], report.id) == (1, 1, 1)


def test_bad_messages_go_to_the_dead_letter_queue_with_their_reason(isolated):
    isolated.start(services=("scoring",))
    rpc_ready(isolated.amqp_uri, "scoring")
    good = [e for e in activity(200) if e.name == "HazardReported"][:2]
    broken = json.loads(good[0].to_json())
    broken["data"]["level"] = "catastrophic"
    broken["id"] = str(uuid.uuid4())
    unknown = dict(broken, type="einspection.hazard.exploded.v1", id=str(uuid.uuid4()))
    for body in (b"\xff not json", json.dumps(broken), json.dumps(unknown),
                 json.dumps({"specversion": "1.0"})):
        publish_raw(isolated.amqp_uri, isolated.exchange, "einspection.hazard.reported.v1", body)
    publish_raw(isolated.amqp_uri, isolated.exchange, good[1].type, good[1].to_json())

    queue = isolated.queue_prefix + ".scoring"
    dead = queue + ".dead-letter"
    wait_until(lambda: queue_depth(isolated.amqp_uri, dead) == 4, message="four dead letters")
    wait_until(lambda: scoring_counts(isolated.urls["scoring"], good[1].id)[0] == 1,
               message="the good event after the bad ones")
    assert queue_depth(isolated.amqp_uri, queue) == 0          # nothing loops
    reasons = []
    with Connection(isolated.amqp_uri) as connection:
        channel = connection.channel()
        for _ in range(4):
            message = channel.basic_get(dead, no_ack=True)
            reasons.append(message.headers["x-dead-letter-reason"])
            assert message.headers["x-original-queue"] == queue
    joined = " | ".join(reasons)
    assert "not UTF-8" in joined or "not JSON" in joined
    assert "level" in joined and "Must be one of" in joined
    assert "unknown event type" in joined
    assert "missing" in joined
