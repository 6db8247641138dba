"""One process of each service, or 3 scoring + 2 hazard + 2 notify: the same
randomised stream of events for 200 enterprises gives the same projections,
the same notices and the same webhook deliveries.

The stream goes onto each platform's bus as another service's events would:
registrations, positions, inspections (some with failed items, from which the
hazard processes raise hazards, overdue at once, so their overdue check runs
on every replica), hazards and rectifications, safety actions. Then each
platform's scoring clock is stepped to today, asked of every replica
at once, so grades are assigned and stated. What is compared:

    hazard    the events it recorded (hazards raised, overdue marks)
    scoring   every enterprise's score (points, grade, as of, evaluation)
    notify    its notices (recipient, kind, enterprise, title, body) and the
              webhook POSTs its receiver got

Events the platforms recorded themselves have ids, and a few instants, of
their own (when the overdue check ran, also written in an overdue notice's
text); those are left out of the comparison, and everything else must be
equal — and every webhook POST must be once, or a retry with the same
webhook-id after a try the platform recorded as failed.
"""
import collections
import json
import random
import re
from datetime import datetime, timezone

from kombu import Connection, Exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from einspection import days, eventstore
from einspection.db import make_engine
from services.notify import model
from services.scoring import projection

from ..eventgen import activity
from ..support import WebhookReceiver, wait_until

ENTERPRISES = 200
# eventgen registers each enterprise and its positions first (6 events each):
# 1,000 of activity after those
EVENTS = 6 * ENTERPRISES + 1000
REPLICAS = {"scoring": 3, "hazard": 2, "notify": 2}
# instants a platform takes from its own clock, not from the stream
OWN_INSTANTS = ("detected_at",)
# the line of a notice that writes detected_at (services/notify/templates/*/…overdue.txt)
OWN_INSTANT_LINES = re.compile(r"^(逾期发现时间：|Detected overdue: ).*$", re.MULTILINE)
FAST_TIMERS = {"HAZARD_OVERDUE_CHECK_SECONDS": "0.5", "NOTIFY_DISPATCH_SECONDS": "0.2",
               "NOTIFY_LEASE_SECONDS": "30"}


def stream(seed=11):
    """eventgen's activity, with failed items on a third of the inspections."""
    rng = random.Random(seed)
    events = activity(EVENTS, enterprises=ENTERPRISES, seed=seed)
    for event in events:
        if event.name == "InspectionLogged" and rng.random() < 0.33:
            failed = rng.randrange(1, 3)
            event.data["items_failed"] = failed
            event.data["failed_items"] = [{
                "item_id": "item-%d" % n, "prompt": "Exit %d kept clear" % n,
                "category": rng.choice(["fire", "electrical"]), "legal_basis": "",
                "major": rng.random() < 0.3, "note": "", "photos": []} for n in range(failed)]
    return events


def publish(platform, events):
    with Connection(platform.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        target = Exchange(platform.exchange, type="topic", durable=True)
        for event in events:
            producer.publish(event.to_json(), exchange=target, routing_key=event.type,
                             serializer=None, delivery_mode=2)


def with_engine(url, read):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return read(conn)
    finally:
        engine.dispose()


def received(platform, service):
    return with_engine(platform.database_urls[service], lambda conn: conn.execute(
        select(func.count()).select_from(eventstore.inbox)).scalar())


def recorded(platform, service):
    return with_engine(platform.database_urls[service], lambda conn: [
        event for _, event in eventstore.read_all(conn, limit=1000000)])


def plain(name, data):
    """An event's type and data without what the platform took from its own clock."""
    return (name, json.dumps({k: v for k, v in data.items() if k not in OWN_INSTANTS},
                             sort_keys=True, default=str))


def outcome(platform, receiver):
    hazard_events = collections.Counter(
        (event.stream_id, event.stream_version) + plain(event.name, event.data)
        for event in recorded(platform, "hazard"))
    scores = with_engine(platform.database_urls["scoring"], projection.snapshot)
    notices = collections.Counter(with_engine(platform.database_urls["notify"], lambda conn: [
        (row.recipient, row.kind, row.enterprise_id, row.title,
         OWN_INSTANT_LINES.sub("", row.body))
        for row in conn.execute(select(model.notices)).all()]))
    posts = [json.loads(body) for _, body in receiver.received]
    # what was delivered: a retry's POST repeats the same body
    delivered = [json.loads(body) for body in set(body for _, body in receiver.received)]
    webhooks = collections.Counter(plain(post["type"], post["data"]) + (post["subject"],)
                                   for post in delivered)
    attempts = dict(with_engine(platform.database_urls["notify"], lambda conn: conn.execute(
        select(model.deliveries.c.delivery_id, model.deliveries.c.attempts)).all()))
    return {"hazard events": hazard_events, "scores": scores, "notices": notices,
            "webhook posts": webhooks,
            "posts per event id": collections.Counter(post["id"] for post in posts),
            "posts per delivery": collections.Counter(headers["webhook-id"]
                                                      for headers, _ in receiver.received),
            "attempts per delivery": attempts}


def test_replicas_give_the_same_projections_notices_and_deliveries(fault_platform):
    events = stream()
    raised = sum(len(e.data.get("failed_items") or []) for e in events
                 if e.name == "InspectionLogged")
    receivers = {"single": WebhookReceiver(), "replicas": WebhookReceiver()}
    try:
        platforms = {"single": fault_platform("single", enterprises=0, **FAST_TIMERS),
                     "replicas": fault_platform("replicas", enterprises=0, replicas=REPLICAS,
                                                **FAST_TIMERS)}
        for name, platform in platforms.items():
            response = platform.session().post(
                platform.base_url + "/api/v1/webhooks", timeout=30,
                json={"url": receivers[name].url,
                      "event_types": ["einspection.hazard.#", "einspection.grade.#"]})
            assert response.status_code == 201, response.text
        for platform in platforms.values():
            publish(platform, events)

        # the stream, the hazards raised from it and their overdue marks, in scoring
        for platform in platforms.values():
            wait_until(lambda: received(platform, "scoring") == len(events) + 2 * raised,
                       timeout=240, interval=1.0,
                       message="scoring to take in the stream and the hazards raised")

        # today where the platforms cut their days (the deployment's zone), not
        # this machine's: between 16:00 and 24:00 UTC Shanghai is a day ahead,
        # and a step to the machine's day left the clock where each platform's
        # own check had put it at a moment of its own
        day = days.local_day(datetime.now(timezone.utc), days.deployment_zone()).isoformat()
        for platform in platforms.values():
            with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=120) as rpc:
                replies = [rpc.scoring.advance_clock.call_async(day) for _ in range(3)]
                [reply.result() for reply in replies]

        def settled(platform, receiver, last={}):
            """notify has taken in what it gets of the stream and of everything
            scoring and hazard recorded (its `awaiting`: its queue is bound to
            what its handlers and subscriptions take), and delivered every
            webhook: the same figures twice, a second apart."""
            sent = events + [e for s in ("hazard", "scoring") for e in recorded(platform, s)]
            with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=120) as rpc:
                waiting = rpc.notify.awaiting([{"id": e.id, "type": e.type} for e in sent])
            figures = (received(platform, "notify"), len(sent), len(receiver.received),
                       with_engine(platform.database_urls["notify"], lambda conn: conn.execute(
                           select(func.count()).select_from(model.deliveries).where(
                               model.deliveries.c.status == "pending")).scalar()))
            done = not waiting and figures[3] == 0 and last.get(platform.tag) == figures
            last[platform.tag] = figures
            return done

        for name, platform in platforms.items():
            wait_until(lambda: settled(platform, receivers[name]), timeout=240, interval=1.0,
                       message="notify to take in and deliver everything (%s)" % name)

        single = outcome(platforms["single"], receivers["single"])
        replicas = outcome(platforms["replicas"], receivers["replicas"])
        print("\n[replicas %s vs one of each] %d events for %d enterprises; hazards raised %d; "
              "hazard events %d; scores %d; notices %d; webhook POSTs %d"
              % (REPLICAS, len(events), ENTERPRISES, raised,
                 sum(single["hazard events"].values()), len(single["scores"]),
                 sum(single["notices"].values()), sum(single["webhook posts"].values())))
        assert len(single["scores"]) == ENTERPRISES
        # the stream reaches every service: hazards raised and marked overdue by the
        # hazard replicas, hazards and rectifications in the scores
        assert raised > 0 and sum(single["hazard events"].values()) >= 2 * raised
        assert sum(single["notices"].values()) > 0 and single["webhook posts"]
        for what in ("hazard events", "scores", "notices", "webhook posts"):
            assert replicas[what] == single[what], what
        for result in (single, replicas):
            # each event POSTed once, but for a retry after a failed try the platform
            # recorded (a receiver that did not answer in time on a loaded machine):
            # then the same webhook-id again, for the receiver to deduplicate. Two
            # processes sending one attempt would be more POSTs than attempts.
            for delivery_id, count in result["posts per delivery"].items():
                assert count == 1 or count == result["attempts per delivery"][delivery_id], \
                    (delivery_id, count, result["attempts per delivery"][delivery_id])
            assert len(result["posts per event id"]) == len(result["posts per delivery"])
        for platform in platforms.values():
            platform.require_alive()
    finally:
        for receiver in receivers.values():
            receiver.close()
