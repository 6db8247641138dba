"""The fault tests' platform, load and counts.

`FaultPlatform` is the whole platform (tools/launch.py, as `make run` starts
it) on the fault tests' own RabbitMQ node and PostgreSQL cluster, in a vhost
and databases of its own. `HazardStream` is N HTTP clients posting hazards,
each request tagged so that its effects can be found again. `tally` counts,
for the hazards of one stream:

    sent        requests made
    answered    201s, and every other answer by status
    stored      hazards in the hazard service's ledger (and HazardReported events)
    published   HazardReported messages an integrator's queue received
    scoring     hazards projected in scoring (its hazard facts)
    notify      HazardReported events notify took in (its inbox)
    dead        messages in the consumers' dead-letter queues

and from those: lost (answered 201, not stored), doubled (one request stored
more than once), stored-after-error (answered 5xx or no answer, stored) and,
of those answered 5xx, the ones whose answer did not say that the command
may have been done (`unwarned`: the client was told it failed, wrongly).
"""
import collections
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from kombu import Connection, Exchange, Queue
from sqlalchemy import func, select

from einspection import eventstore
from einspection.db import make_engine
from services.enforcement import facts
from services.hazard import ledger
from services.scoring import projection
from tools import launch

from .. import factories
from ..support import wait_until
from .nodes import free_port

CONSUMERS = ("hazard", "scoring", "notify", "enforcement")
# what the gateway adds to a command's 5xx when the command may have been done
# (services/gateway/http_json.py: with_idempotency_key)
MAY_HAVE_BEEN_DONE = "it may have been done all the same"
TAP_KEY = "einspection.hazard.reported.v1"


class FaultPlatform(launch.Platform):
    """The platform on `rabbit` and `postgres` (tests/faults/nodes.py)."""

    def __init__(self, rabbit, postgres, log_dir, name, rpc_amqp_uri=None, **settings):
        """`rpc_amqp_uri`: a broker of its own for RPC (the gateway's calls);
        the event bus is then alone on `rabbit`."""
        self.tag = "%s-%s" % (name, uuid.uuid4().hex[:6])
        self.rabbit, self.postgres = rabbit, postgres
        self.vhost = self.tag
        self.amqp_uri = rabbit.vhost(self.vhost)      # the event bus
        self.database_urls = {service: postgres.database(
            ("%s_%s" % (self.tag, service)).replace("-", "_"))
            for service in launch.DATABASE_KEYS}
        port = free_port()
        self.exchange = self.tag + ".events"
        self.queue_prefix = self.tag
        self.rpc_amqp_uri = rpc_amqp_uri or self.amqp_uri
        env = launch.environment(self.rpc_amqp_uri, self.database_urls, port,
                                 exchange=self.exchange, queue_prefix=self.tag)
        env["EVENTS_AMQP_URI"] = self.amqp_uri
        env.update({"HAZARD_OVERDUE_CHECK_SECONDS": "3600",
                    "ENFORCEMENT_ABATEMENT_CHECK_SECONDS": "3600",
                    "SCORING_CLOCK_CHECK_SECONDS": "3600",
                    "NOTIFY_DISPATCH_SECONDS": "0.5",
                    # the tests' webhook receivers listen on 127.0.0.1
                    "NOTIFY_WEBHOOK_ALLOW_LOOPBACK": "true"})
        env.update({key: str(value) for key, value in settings.items()})
        super().__init__(env, port, log_dir)
        self.token = None
        self.enterprise_ids = []

    def start(self, services=tuple(launch.SERVICES), timeout=90, replicas=None):
        """Start the services, `replicas` ({service: n}) of some; wait until
        every process consumes its RPC queue and its event queue."""
        super().start(services, timeout)
        for name, count in (replicas or {}).items():
            for replica in range(1, count):
                self.start_service(name, replica)
        self.wait_consuming()
        return self

    def replica_counts(self):
        return collections.Counter(key.rsplit("-", 1)[0] for key in self.processes)

    def wait_consuming(self, timeout=90):
        counts = self.replica_counts()
        expected = {}
        for name, count in counts.items():
            if name != "gateway":
                expected["rpc-" + name] = count
            if name in CONSUMERS:
                expected["%s.%s" % (self.queue_prefix, name)] = count

        def consuming():
            self.require_alive()
            rpc = {k: v for k, v in expected.items() if k.startswith("rpc-")}
            events = {k: v for k, v in expected.items() if k not in rpc}
            return (queue_consumers(self, events) == events
                    and queue_consumers(self, rpc, self.rpc_amqp_uri) == rpc)
        wait_until(consuming, timeout=timeout, interval=0.3,
                   message="every process consuming its queues %s" % expected)

    def prepare(self, enterprises=10):
        """Log in as the admin, register `enterprises`, and bind an
        integrator's durable queue to HazardReported (counted as 'published')."""
        self.token = self.login()
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            exchange = Exchange(self.exchange, type="topic", durable=True).bind(channel)
            exchange.declare()
            Queue(self.tag + ".tap", exchange=exchange, routing_key=TAP_KEY,
                  durable=True).bind(channel).declare()
        session = self.session()
        for n in range(enterprises):
            response = session.post(self.base_url + "/api/v1/enterprises",
                                    json=factories.enterprise(name="Fault %s %d" % (self.tag, n)),
                                    timeout=30)
            assert response.status_code == 201, response.text
            self.enterprise_ids.append(response.json()["id"])
        return self

    def session(self):
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + self.token
        return session

    def pids(self):
        return {key: process.pid for key, process in self.processes.items()
                if process.poll() is None}

    def exited(self):
        return {key: process.returncode for key, process in self.processes.items()
                if process.poll() is not None}

    def deaths(self):
        """Each exited process with its exit status and the last lines of its
        log that say why: what a failing fault test prints."""
        lines = []
        for key, code in sorted(self.exited().items()):
            why = [line for line in self.log_text(key).splitlines()
                   if "killing" in line or "Error" in line or "error" in line][-3:]
            lines.append("%s exited with rc %s: %s" % (key, code, " | ".join(why)))
        return "\n".join(lines)

    def require_alive(self):
        assert not self.exited(), "processes died:\n" + self.deaths()

    def revive(self):
        """Start again whatever a test before left dead, and wait until serving."""
        for key in list(self.exited()):
            self.restart_service(key)
        self.wait_consuming()
        self.wait_healthy()

    def restart_service(self, key):
        """Start again a process that was stopped or killed (same name, same settings)."""
        name, replica = key.rsplit("-", 1)
        self.processes.pop(key, None)
        return self.start_service(name, int(replica))

    def log_text(self, key):
        with open("%s/%s.log" % (self.log_dir, key), errors="replace") as handle:
            return handle.read()

    def close(self):
        self.stop()
        self.rabbit.delete_vhost(self.vhost)


@dataclass
class Outcome:
    number: int
    status: int = 0               # 0: no answer (timeout, connection refused)
    hazard_id: str = ""
    error: str = ""
    started: float = 0.0
    seconds: float = 0.0
    retry_after: str = ""
    message: str = ""


class HazardStream:
    """`clients` HTTP clients posting `total` hazards as fast as they are
    answered, round-robin over the platform's enterprises; after an answer
    that is not 201 a client waits `pause_after_error` seconds (as one that
    honours Retry-After would, only shorter). Each request's description
    carries the stream's tag and its number."""

    def __init__(self, platform, total, clients=8, timeout=30, pause=0.0,
                 pause_after_error=1.0):
        self.platform = platform
        self.total = total
        self.clients = clients
        self.timeout = timeout
        self.pause = pause
        self.pause_after_error = pause_after_error
        self.tag = "stream-" + uuid.uuid4().hex[:8]
        self.outcomes = {}
        self._next = 0
        self._lock = threading.Lock()
        self._threads = []
        self.started = None

    def description(self, number):
        return "%s #%d" % (self.tag, number)

    def start(self):
        self.started = time.monotonic()
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _take(self):
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next - 1

    def _client(self):
        session = self.platform.session()
        enterprises = self.platform.enterprise_ids
        while True:
            number = self._take()
            if number is None:
                return
            outcome = Outcome(number, started=time.monotonic() - self.started)
            body = factories.hazard(enterprises[number % len(enterprises)],
                                    description=self.description(number))
            began = time.monotonic()
            try:
                response = session.post(self.platform.base_url + "/api/v1/hazards",
                                        json=body, timeout=self.timeout)
                outcome.status = response.status_code
                outcome.retry_after = response.headers.get("Retry-After", "")
                if response.status_code == 201:
                    outcome.hazard_id = response.json()["id"]
                else:
                    outcome.message = response.text[:300]
            except requests.RequestException as exc:
                outcome.error = type(exc).__name__
            outcome.seconds = time.monotonic() - began
            self.outcomes[number] = outcome
            if outcome.status != 201 and self.pause_after_error:
                time.sleep(self.pause_after_error)
            elif self.pause:
                time.sleep(self.pause)

    def stop(self):
        """No new requests; those in flight finish."""
        with self._lock:
            self.total = self._next

    @property
    def done(self):
        return len(self.outcomes)

    def wait(self, timeout=600):
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in self._threads), "stream did not end"
        return self

    def wait_for(self, count, timeout=120):
        wait_until(lambda: self.done >= count, timeout=timeout, interval=0.1,
                   message="%d answers" % count)

    def statuses(self):
        return collections.Counter(o.status for o in self.outcomes.values())

    def answered(self):
        return {o.number: o for o in self.outcomes.values() if o.status == 201}

    def failed(self):
        return {o.number: o for o in self.outcomes.values() if o.status != 201}


@dataclass
class Tally:
    sent: int
    statuses: dict
    stored: int                  # ledger rows of this stream
    stored_requests: int         # distinct requests among them
    published: int               # HazardReported messages the integrator's queue got
    published_distinct: int
    scoring: int                 # of the stored hazards, projected in scoring
    notify: int                  # of the stored hazards, taken in by notify
    dead: dict
    enforcement: int = None      # of the stored hazards, in enforcement's facts (when it runs)
    lost: list = field(default_factory=list)
    doubled: dict = field(default_factory=dict)
    stored_after_error: list = field(default_factory=list)
    stored_after_error_kinds: dict = field(default_factory=dict)   # their answers
    unwarned: list = field(default_factory=list)   # of those, a 5xx not saying it may be done
    outbox_pending: int = 0

    def line(self):
        answered = self.statuses.get(201, 0)
        others = ", ".join("%s: %d" % (status or "no answer", count)
                           for status, count in sorted(self.statuses.items()) if status != 201)
        return ("sent %d / answered 201 %d (%s) / stored %d (%d requests) / published %d "
                "(%d distinct) / projected scoring %d, notify %d%s / dead-lettered %s / "
                "lost %d / doubled %d / stored after an error answer %d%s"
                % (self.sent, answered, others or "no other answers", self.stored,
                   self.stored_requests, self.published, self.published_distinct,
                   self.scoring, self.notify,
                   "" if self.enforcement is None else ", enforcement %d" % self.enforcement,
                   sum(self.dead.values()) if self.dead else 0, len(self.lost),
                   sum(n - 1 for n in self.doubled.values()), len(self.stored_after_error),
                   " %s" % self.stored_after_error_kinds if self.stored_after_error else "")
                + (" (%d of them answered 5xx without 'may have been done')" % len(self.unwarned)
                   if self.unwarned else ""))

    def settled(self):
        """Everything stored is out on the bus and projected downstream."""
        return (self.outbox_pending == 0 and self.scoring == self.stored
                and self.notify == self.stored and self.published_distinct == self.stored
                and self.enforcement in (None, self.stored))


def query_store(url, fn):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return fn(conn)
    finally:
        engine.dispose()


def stored_hazards(platform, stream):
    """{hazard_id: request number} of the stream's hazards in the ledger."""
    prefix = stream.tag + " #"

    def query(conn):
        rows = conn.execute(select(ledger.hazards.c.hazard_id, ledger.hazards.c.description)
                            .where(ledger.hazards.c.description.like(prefix + "%"))).all()
        pending = eventstore.unpublished_count(conn)
        return {row.hazard_id: int(row.description[len(prefix):]) for row in rows}, pending
    return query_store(platform.database_urls["hazard"], query)


def projected(url, table, hazard_ids):
    def query(conn):
        found = set()
        ids = list(hazard_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update(conn.execute(select(table.c.hazard_id)
                                      .where(table.c.hazard_id.in_(chunk))).scalars())
        return len(found)
    return query_store(url, query)


def _notified(url, hazard_ids):
    def query(conn):
        bodies = conn.execute(select(eventstore.inbox.c.body).where(
            eventstore.inbox.c.consumer == "notify",
            eventstore.inbox.c.name == "HazardReported")).scalars()
        return len({json.loads(body)["data"]["hazard_id"] for body in bodies} & hazard_ids)
    return query_store(url, query)


def half_written(platform):
    """What a transaction cut short could have left behind, per store: an
    event without its row (or the reverse), an outbox entry without its
    event. Empty when every store is whole."""
    events, outbox, inbox = eventstore.events, eventstore.outbox, eventstore.inbox
    problems = {}

    def hazard(conn):
        reported = conn.execute(select(func.count()).select_from(events).where(
            events.c.name == "HazardReported")).scalar()
        rows = conn.execute(select(func.count()).select_from(ledger.hazards)).scalar()
        orphans = conn.execute(select(func.count()).select_from(
            outbox.outerjoin(events, events.c.position == outbox.c.position)).where(
            events.c.position.is_(None))).scalar()
        public = conn.execute(select(func.count()).select_from(events).where(
            events.c.name.in_([n for n, t in eventstore.EVENT_TYPES.items() if t.public]))
        ).scalar()
        entries = conn.execute(select(func.count()).select_from(outbox)).scalar()
        return {"HazardReported events vs ledger rows": (reported, rows),
                "outbox entries without an event": (orphans, 0),
                "public events vs outbox entries": (public, entries)}

    def scoring(conn):
        taken = conn.execute(select(func.count()).select_from(inbox).where(
            inbox.c.name == "HazardReported")).scalar()
        facts = conn.execute(select(func.count()).select_from(projection.hazard_facts)).scalar()
        return {"HazardReported taken in vs hazard facts": (taken, facts)}

    for service, check in (("hazard", hazard), ("scoring", scoring)):
        for what, (left, right) in query_store(platform.database_urls[service],
                                                 check).items():
            if left != right:
                problems["%s: %s" % (service, what)] = (left, right)
    return problems


def _declared(platform, names, attribute, amqp_uri=None):
    """{queue: its message_count or consumer_count} (None: no such queue)."""
    found = {}
    with Connection(amqp_uri or platform.amqp_uri, connect_timeout=5) as connection:
        for name in names:
            channel = connection.channel()
            try:
                found[name] = getattr(Queue(name, durable=True).bind(channel).queue_declare(
                    passive=True), attribute)
            except Exception:
                found[name] = None
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return found


def queue_depths(platform, names):
    return _declared(platform, names, "message_count")


def queue_consumers(platform, names, amqp_uri=None):
    return _declared(platform, names, "consumer_count", amqp_uri)


def dead_letters(platform):
    names = ["%s.%s.dead-letter" % (platform.queue_prefix, c) for c in CONSUMERS]
    return {name.rsplit(".", 2)[-2]: depth for name, depth in
            queue_depths(platform, names).items() if depth}


class Tap:
    """Counts what reached the integrator's durable queue, without draining
    it for good: every message read is acked, its event id kept."""

    def __init__(self, platform):
        self.platform = platform
        self.ids = collections.Counter()

    def read(self):
        with Connection(self.platform.amqp_uri, connect_timeout=5) as connection:
            channel = connection.channel()
            while True:
                message = channel.basic_get(self.platform.tag + ".tap", no_ack=True)
                if message is None:
                    break
                self.ids[json.loads(message.body)["data"]["hazard_id"]] += 1
        return self.ids


def tally(platform, stream, tap):
    stored, pending = stored_hazards(platform, stream)
    by_request = collections.Counter(stored.values())
    answered = stream.answered()
    stored_numbers = set(by_request)
    after_error = [o for n, o in stream.failed().items() if n in stored_numbers]
    ids = set(stored)
    published = tap.read()
    return Tally(
        sent=len(stream.outcomes), statuses=dict(stream.statuses()), stored=len(stored),
        stored_requests=len(by_request),
        published=sum(published[i] for i in ids), published_distinct=len(ids & set(published)),
        scoring=projected(platform.database_urls["scoring"], projection.hazard_facts, ids),
        notify=_notified(platform.database_urls["notify"], ids),
        enforcement=(projected(platform.database_urls["enforcement"], facts.hazards, ids)
                     if any(key.startswith("enforcement-") for key in platform.processes)
                     else None),
        dead=dead_letters(platform),
        lost=sorted(n for n, o in answered.items() if o.hazard_id not in stored),
        doubled={n: c for n, c in by_request.items() if c > 1},
        stored_after_error=sorted(o.number for o in after_error),
        stored_after_error_kinds=dict(collections.Counter(
            "%s %s" % (o.status or o.error, o.message[:90]) for o in after_error)),
        unwarned=sorted(o.number for o in after_error if o.status >= 500
                        and MAY_HAVE_BEEN_DONE not in o.message),
        outbox_pending=pending)


def settle(platform, stream, tap, timeout=180):
    """Wait until everything stored is published and projected (or time is
    up); returns the last tally."""
    deadline = time.monotonic() + timeout
    while True:
        counted = tally(platform, stream, tap)
        if counted.settled() or time.monotonic() > deadline:
            return counted
        time.sleep(1.0)


@dataclass
class Outage:
    """A stream with something stopped in its middle (see `outage`)."""
    stream: HazardStream
    tap: "Tap"
    stopped: float              # seconds into the stream: stopped
    back: float                 # seconds into the stream: started again
    measured: object = None     # what `while_down` returned
    at_the_end: object = None   # what `before_start` returned

    def during(self, margin=0.0):
        """The requests made while it was down (`margin` s after it stopped)."""
        return [o for o in self.stream.outcomes.values()
                if self.stopped + margin <= o.started <= self.back]

    def first_201_after(self):
        """Seconds from the return to the first request answered 201, or None."""
        first = min((o.started for o in self.stream.answered().values()
                     if o.started >= self.back), default=None)
        return None if first is None else first - self.back


def outage(platform, hazards, stop, start, seconds, after=120, while_down=None,
           before_start=None):
    """Stream `hazards`; after `after` answers `stop()`, wait `seconds`
    (`while_down()` right after the stop, `before_start()` at the end),
    `start()`; the stream goes on."""
    tap = Tap(platform)
    stream = HazardStream(platform, hazards, clients=8).start()
    stream.wait_for(after)
    stop()
    stopped = time.monotonic()
    measured = while_down() if while_down else None
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    at_the_end = before_start() if before_start else None
    start()
    return Outage(stream, tap, stopped - stream.started, time.monotonic() - stream.started,
                  measured, at_the_end)


def timed_health(platform, after=0.0):
    """GET /health `after` seconds from now: (response, seconds it took)."""
    time.sleep(after)
    began = time.monotonic()
    response = requests.get(platform.base_url + "/health", timeout=30)
    return response, time.monotonic() - began


def statuses(outcomes):
    """{status: count} of some outcomes ('no answer' for none)."""
    return dict(collections.Counter(o.status or "no answer" for o in outcomes))


def report(title, counted, **figures):
    """The line every fault test prints: what happened, counted."""
    extra = "".join(" / %s %s" % (key.replace("_", " "), value) for key, value in figures.items())
    print("\n[%s] %s%s" % (title, counted.line(), extra))


def assert_nothing_lost_or_doubled(counted):
    assert counted.lost == [], "answered 201 but not stored: requests %s" % counted.lost[:20]
    assert counted.doubled == {}, "stored more than once: %s" % dict(
        list(counted.doubled.items())[:20])
    # a client told its request failed (a 5xx) was told the truth, or told that it may
    # have been done and how to retry it safely (issue 10: "the answer says it may have been")
    assert counted.unwarned == [], "stored, but answered a 5xx that did not say it may have " \
        "been done: requests %s (%s)" % (counted.unwarned[:20], counted.stored_after_error_kinds)
    assert counted.settled(), "not everything stored reached the bus and the projections: %s" \
        % counted.line()
