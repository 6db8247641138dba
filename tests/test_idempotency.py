"""One request, one effect, end to end: a POST repeated with its
Idempotency-Key is one hazard in the store, on the bus, in the score and in
the notices, and answers the same twice; the key names one request of one
account; an RPC request the broker delivers twice is executed once; one
that arrives after its caller's deadline is not executed at all; and a
hazard process killed while clients post doubles nothing they were told
was stored; an operator's import sent twice imports once."""
import json
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from einspection.db import make_engine
from services.hazard import ledger
from services.notify import model as notify_model
from services.scoring import projection


from . import factories, fixtures
from .conftest import own_platform
from .support import Api, EventTap, wait_until

threading = eventlet.patcher.original("threading")      # real threads for the clients


def count(url, table, *where):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()
    finally:
        engine.dispose()


def hazards_described(platform, description):
    return count(platform.database_urls["hazard"], ledger.hazards,
                 ledger.hazards.c.description == description)


def post(api, path, body, key):
    return api.session.post(api.base_url + path, data=json.dumps(body), timeout=30, headers={
        "Content-Type": "application/json", "Idempotency-Key": key})


def test_a_report_sent_twice_with_one_key_is_one_hazard_everywhere(platform, api):
    enterprise_id = fixtures.register_enterprise(api, grid="Wukang-7")
    tap = EventTap(platform.amqp_uri, platform.exchange, "einspection.hazard.reported.v1")
    try:
        body = factories.hazard(enterprise_id, level="major")
        key = str(uuid.uuid4())
        first, second = (post(api, "/api/v1/hazards", body, key) for _ in range(2))
        assert (first.status_code, second.status_code) == (201, 201), second.text
        assert second.json() == first.json()             # the same answer, not a second hazard
        assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == key
        hazard_id = first.json()["id"]

        urls = platform.database_urls
        facts = projection.hazard_facts
        notices = notify_model.notices
        wait_until(lambda: count(urls["scoring"], facts, facts.c.enterprise_id == enterprise_id),
                   message="the score to count the hazard")
        wait_until(lambda: count(urls["notify"], notices, notices.c.enterprise_id
                                 == enterprise_id, notices.c.kind == "major_hazard") >= 2,
                   message="the major hazard's notices")
        tap.drain(1.5)                                    # time for a second one to show up
        assert [m["data"]["hazard_id"] for m in tap.bodies()
                if m["subject"] == enterprise_id] == [hazard_id]
        assert count(urls["hazard"], eventstore.events,
                     eventstore.events.c.subject == enterprise_id) == 1
        assert count(urls["scoring"], facts, facts.c.enterprise_id == enterprise_id) == 1
        assert count(urls["notify"], notices, notices.c.enterprise_id == enterprise_id,
                     notices.c.kind == "major_hazard") == 2   # the grid's and the authority's
    finally:
        tap.close()


def test_a_key_names_one_request_of_one_account(platform, api):
    enterprise_id = fixtures.register_enterprise(api)
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=enterprise_id)
    key = "report-" + uuid.uuid4().hex
    body = factories.hazard(enterprise_id, description="key %s: first" % key)
    first = post(api, "/api/v1/hazards", body, key)
    assert first.status_code == 201, first.text

    other = post(api, "/api/v1/hazards", dict(body, description="key %s: other" % key), key)
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.json()["error"]["message"]
    assert hazards_described(platform, "key %s: other" % key) == 0

    # the same key is another account's own: another request, another hazard
    managers = post(manager, "/api/v1/hazards", body, key)
    assert managers.status_code == 201 and managers.json()["id"] != first.json()["id"]
    assert post(manager, "/api/v1/hazards", body, key).json() == managers.json()
    assert hazards_described(platform, "key %s: first" % key) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "café", "line\tbreak"])
def test_a_malformed_key_is_a_400_naming_the_header_and_records_nothing(platform, api, key):
    enterprise_id = fixtures.register_enterprise(api)
    description = "malformed key " + uuid.uuid4().hex
    response = api.session.post(api.base_url + "/api/v1/hazards", timeout=30, headers={
        "Content-Type": "application/json", "Idempotency-Key": key.encode("latin-1")},
        data=json.dumps(factories.hazard(enterprise_id, description=description)))
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert hazards_described(platform, description) == 0


def test_a_command_without_a_key_answers_none_and_each_such_request_is_its_own(platform, api):
    enterprise_id = fixtures.register_enterprise(api)
    body = factories.hazard(enterprise_id, description="no key " + uuid.uuid4().hex)
    answers = [api.post("/api/v1/hazards", body) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert "Idempotency-Key" not in answers[0].headers
    assert answers[0].json()["id"] != answers[1].json()["id"]


# --- RPC requests as the broker delivers them ------------------------------------------

class RawRpc:
    """RPC requests published with plain kombu to a service's queue, as the
    broker would deliver them (again), and their replies on a queue of our own."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri)
        self.exchange = Exchange("nameko-rpc", type="topic", durable=True)
        self.reply_to = "raw-rpc-replies-" + uuid.uuid4().hex[:8]
        channel = self.connection.channel()
        self.queue = Queue(self.reply_to, exchange=self.exchange, routing_key=self.reply_to,
                           exclusive=True, auto_delete=True).bind(channel)
        self.queue.declare()

    def publish(self, routing_key, args, kwargs, correlation_id, copies=1):
        producer = self.connection.Producer()
        for _ in range(copies):
            producer.publish({"args": args, "kwargs": kwargs}, exchange=self.exchange,
                             routing_key=routing_key, reply_to=self.reply_to,
                             correlation_id=correlation_id, serializer="json",
                             delivery_mode=2, mandatory=True)

    def replies(self, expected, timeout=30):
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < expected and time.monotonic() < deadline:
            message = self.queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            found.append(json.loads(message.body))
        return found

    def close(self):
        self.connection.release()


ADMIN = Principal(account_id="raw-rpc-admin", username="admin", role="authority_admin")


def admin_acting(deadline):
    """The acting context as the gateway sends it: a command id, a deadline."""
    return dict(Acting.by_account(ADMIN).to_dict(), command_id=str(uuid.uuid4()),
                deadline=deadline)


def test_an_rpc_request_delivered_twice_at_once_is_executed_once(platform, api):
    enterprise_id = fixtures.register_enterprise(api)
    description = "delivered twice " + uuid.uuid4().hex
    acting = admin_acting(time.time() + 30)
    rpc = RawRpc(platform.amqp_uri)
    try:
        rpc.publish("hazard.report_hazard",
                    [factories.hazard(enterprise_id, description=description)],
                    {"acting": acting}, correlation_id=str(uuid.uuid4()), copies=2)
        replies = rpc.replies(2)
    finally:
        rpc.close()
    assert len(replies) == 2 and replies[0]["error"] is None, replies
    assert replies[0] == replies[1]
    assert hazards_described(platform, description) == 1
    assert count(platform.database_urls["hazard"], eventstore.events,
                 eventstore.events.c.subject == enterprise_id) == 1


def test_an_rpc_request_past_its_callers_deadline_is_not_executed(platform, api):
    enterprise_id = fixtures.register_enterprise(api)
    description = "too late " + uuid.uuid4().hex
    acting = admin_acting(time.time() - 5)
    rpc = RawRpc(platform.amqp_uri)
    try:
        rpc.publish("hazard.report_hazard",
                    [factories.hazard(enterprise_id, description=description)],
                    {"acting": acting}, correlation_id=str(uuid.uuid4()))
        [reply] = rpc.replies(1)
    finally:
        rpc.close()
    assert reply["error"]["exc_type"] == "DeadlinePassed", reply
    time.sleep(0.5)
    assert hazards_described(platform, description) == 0
    assert count(platform.database_urls["hazard"], eventstore.events,
                 eventstore.events.c.subject == enterprise_id) == 0
    with open("%s/hazard-0.log" % platform.log_dir, errors="replace") as log:
        lines = log.read().splitlines()
    late = [n for n, line in enumerate(lines) if "after its caller's deadline" in line]
    assert late, "the late request is logged"
    assert all(not lines[n + 1:n + 2] or "Traceback" not in lines[n + 1] for n in late)


# --- kill -9 while clients post ---------------------------------------------------------

def statuses_end_badly(statuses):
    """A request that ends other than 201, or 503 retried until it was: a
    5xx without the key to retry with, or a client that gave up."""
    return statuses[-1] != 201

CLIENTS = 8


# on SQLite: the same kill -9 under load on PostgreSQL is the fault suite's
# (tests/faults/test_process_faults.py); the journal's own tests run on both
@pytest.fixture(params=["sqlite"])
def crash_platform(request, databases, run_id, tmp_path_factory):
    with own_platform(request, databases, run_id, tmp_path_factory, "crash",
                      lambda running: None) as running:
        yield running


def test_a_hazard_process_killed_while_clients_post_doubles_nothing(crash_platform):
    """Eight clients post hazards, each with its own description, and retry
    a 5xx with the Idempotency-Key it names (their own, or for half of them
    the one the gateway made); the hazard process is killed (-9) three times
    meanwhile and started again. Every description is then one hazard."""
    platform = crash_platform
    api = Api(platform.base_url, platform.token)
    enterprise_id = fixtures.register_enterprise(api)
    stop = threading.Event()
    outcomes, lock = [], threading.Lock()

    def client(number):
        session = requests.Session()
        session.headers.update({"Authorization": "Bearer " + platform.token,
                                "Content-Type": "application/json"})
        sent = 0
        while not stop.is_set():
            sent += 1
            description = "client %d, report %d, %s" % (number, sent, uuid.uuid4().hex[:6])
            body = json.dumps(factories.hazard(enterprise_id, description=description))
            key = str(uuid.uuid4()) if number % 2 else None     # half send none
            statuses = []
            for _ in range(20):
                headers = {"Idempotency-Key": key} if key else {}
                try:
                    response = session.post(platform.base_url + "/api/v1/hazards", data=body,
                                            headers=headers, timeout=40)
                except requests.RequestException:
                    statuses.append("no answer")      # the connection is ours to retry
                    if key is None:
                        break                         # it may have been done: we cannot know
                    continue
                statuses.append(response.status_code)
                if response.status_code < 500:
                    break
                key = response.headers.get("Idempotency-Key")  # the answer says how to retry
                if not key or key not in response.json()["error"]["message"]:
                    statuses.append("a 5xx without the key to retry with")
                    break
                time.sleep(0.5)
            with lock:
                outcomes.append((description, statuses))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            time.sleep(3)
            platform.stop_service("hazard-0", sig=signal.SIGKILL)
            time.sleep(1)
            platform.start_service("hazard")
        time.sleep(4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)

    answered = [description for description, statuses in outcomes if statuses[-1] == 201]
    assert len(answered) > 50, outcomes[-10:]
    assert [o for o in outcomes if statuses_end_badly(o[1])] == []
    engine = make_engine(platform.database_urls["hazard"])
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(
                select(ledger.hazards.c.description, func.count())
                .where(ledger.hazards.c.enterprise_id == enterprise_id)
                .group_by(ledger.hazards.c.description)).all())
    finally:
        engine.dispose()
    doubled = {d: n for d, n in stored.items() if n > 1}
    assert doubled == {}, "doubled: %s" % doubled
    assert all(stored.get(description) == 1 for description in answered)


# --- an operator's import, sent twice ------------------------------------------------------

def test_an_import_sent_twice_imports_each_record_once(platform, api):
    """Each imported record is a command of its own, its id derived from the
    record: the same import again (a redelivery, or the whole file after a
    fix) answers as the first did and records nothing more."""
    enterprise_id = fixtures.register_enterprise(api)
    description = "imported once " + uuid.uuid4().hex
    at = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    records = [{"command": "report_hazard", "at": at, "actor": "baide.staff",
                "payload": factories.hazard(enterprise_id, found_hours_ago=60,
                                            description=description)}]
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=30) as rpc:
        first = rpc.hazard.import_records({"records": records, "actor": "admin"})
        again = rpc.hazard.import_records({"records": records, "actor": "admin"})
    assert again["results"] == first["results"] and again["events"] == []
    assert [e["type"] for e in first["events"]] == ["einspection.hazard.reported.v1"]
    assert hazards_described(platform, description) == 1
