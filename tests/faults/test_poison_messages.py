"""Poison messages of every kind reach the consumers (hazard, scoring and
notify): each is dead-lettered with its exact reason and its AMQP properties,
the consumers carry on with the good events behind them, and the dead-letter
tool (python -m einspection.deadletters) lists them, and re-drives one, a
filtered set, or a batch parked by a bug once the bug is fixed."""
import contextlib
import io
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pytest
from kombu import Connection, Exchange
from sqlalchemy import text

from einspection import deadletters
from einspection.contract import new_event
from einspection.db import make_engine

from ..support import wait_until
from .harness import CONSUMERS, projected, queue_depths
from services.scoring import projection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIFTEEN_MB = 15 * 1024 * 1024
# notify's queue is bound to its handlers' types (services/notify/bindings.py):
# of the poisons it gets those sent as einspection.hazard.reported.v1
PARKED = {"hazard": 1, "scoring": 7, "notify": 4}


def hazard_reported(enterprise_id="ent-poison", **data):
    values = {"hazard_id": str(uuid.uuid4()), "enterprise_id": enterprise_id,
              "position_id": None, "level": "general", "category": "fire",
              "description": "blocked exit", "found_at": datetime.now(timezone.utc),
              "reported_at": datetime.now(timezone.utc),
              "rectification_deadline": datetime(2030, 1, 1, tzinfo=timezone.utc),
              "reporter": "staff"}
    values.update(data)
    event = new_event("HazardReported", values, actor="test")
    event.stream_id, event.stream_version = "hazard-" + values["hazard_id"], 1
    return event


def poisons():
    """(kind, routing key, body, expected part of the reason) of every kind."""
    valid = json.loads(hazard_reported().to_json())
    invalid_data = dict(valid, id=str(uuid.uuid4()),
                        data=dict(valid["data"], level="catastrophic"))
    unknown_type = dict(valid, id=str(uuid.uuid4()), type="einspection.hazard.exploded.v1")
    unknown_version = dict(valid, id=str(uuid.uuid4()), type="einspection.hazard.reported.v9")
    key = "einspection.hazard.reported.v1"
    return [
        ("bad JSON", key, b'{"specversion": "1.0", "id": ', "not JSON"),
        ("not UTF-8", key, b"\xff\xfe not text at all", "not UTF-8"),
        ("unknown type", unknown_type["type"], json.dumps(unknown_type),
         "unknown event type 'einspection.hazard.exploded.v1'"),
        ("unknown version", unknown_version["type"], json.dumps(unknown_version),
         "unknown event type 'einspection.hazard.reported.v9'"),
        ("invalid data", key, json.dumps(invalid_data), "Must be one of"),
        ("15 MB body", key, b"x" * FIFTEEN_MB, "larger than an event may be"),
        # the hazard service's own consumer takes inspections only
        ("bad JSON for hazard", "einspection.inspection.logged.v1", b"[1, 2", "not JSON"),
    ]


def publish(platform, routing_key, body, message_id, **headers):
    with Connection(platform.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        exchange = Exchange(platform.exchange, type="topic", durable=True)
        conn.Producer().publish(
            body, exchange=exchange, routing_key=routing_key, serializer=None,
            delivery_mode=2, content_type="application/cloudevents+json",
            content_encoding="utf-8", message_id=message_id, correlation_id="corr-" + message_id,
            timestamp=int(datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc).timestamp()),
            headers=dict(headers, **{"x-sender": "poison-test"}), declare=[exchange])


def tool(platform, *args):
    env = dict(os.environ, EVENTS_AMQP_URI=platform.amqp_uri,
               QUEUE_PREFIX=platform.queue_prefix, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-m", "einspection.deadletters", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def listed(platform, *args):
    """`list --json` with `args`, in this process (the CLI's own process is
    tested by `tool`)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        env = {"EVENTS_AMQP_URI": platform.amqp_uri, "QUEUE_PREFIX": platform.queue_prefix}
        with _environment(env):
            assert deadletters.main(["list", "--json", *args]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@contextlib.contextmanager
def _environment(values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dead_counts(platform):
    names = ["%s.%s.dead-letter" % (platform.queue_prefix, c) for c in CONSUMERS if c in PARKED]
    return {name.split(".")[-2]: depth for name, depth in queue_depths(platform, names).items()}


@pytest.fixture(scope="module")
def parked(module_platform):
    """The consumers of a platform of their own, after every poison and a
    good event behind them."""
    platform = module_platform("poison", services=("hazard", "scoring", "notify"))
    queues = ["%s.%s" % (platform.queue_prefix, c) for c in CONSUMERS if c in PARKED]
    wait_until(lambda: None not in queue_depths(platform, queues).values(), timeout=60,
               message="the consumers' queues")
    sent = {}
    for kind, key, body, reason in poisons():
        message_id = "poison-%s" % uuid.uuid4().hex[:8]
        sent[message_id] = (kind, key, reason)
        publish(platform, key, body, message_id)
    good = hazard_reported()
    publish(platform, good.type, good.to_json(), good.id)
    began = time.monotonic()
    # all reach scoring and notify; the inspection one hazard too
    wait_until(lambda: dead_counts(platform) == PARKED,
               timeout=120, interval=0.5, message="every poison dead-lettered")
    wait_until(lambda: projected(platform.database_urls["scoring"], projection.hazard_facts,
                                  {good.data["hazard_id"]}) == 1, message="the good event")
    print("\n[poison messages] sent %d poisons + 1 good event / dead-lettered %s in %.1fs / "
          "the good event projected" % (len(sent), dead_counts(platform),
                                        time.monotonic() - began))
    return platform, sent, good


def test_every_poison_is_dead_lettered_with_its_reason_and_properties(parked):
    platform, sent, _good = parked
    letters = [json.loads(line) for line in tool(platform, "list", "--json").stdout.splitlines()]
    assert len(letters) == 12
    by_id = {}
    for letter in letters:
        by_id.setdefault(letter["message_id"], []).append(letter)
    assert set(by_id) == set(sent)
    for message_id, (kind, key, reason) in sent.items():
        for letter in by_id[message_id]:
            assert reason in letter["reason"], (kind, letter["reason"])
            assert letter["routing_key"] == key
            assert letter["original_queue"] == letter["queue"][:-len(".dead-letter")]
            assert letter["times"] == 1
            assert letter["properties"]["correlation_id"] == "corr-" + message_id
            assert letter["properties"]["timestamp"].startswith("2026-12-01T08:00:00")
            assert letter["content_type"] == "application/cloudevents+json"
            assert letter["headers"]["x-sender"] == "poison-test"
        consumers = sorted(letter["queue"].split(".")[-2] for letter in by_id[message_id])
        assert consumers == (["hazard", "scoring"] if kind == "bad JSON for hazard"
                             else ["notify", "scoring"] if key == "einspection.hazard.reported.v1"
                             else ["scoring"])
    huge = [letter for letter in letters if "larger than" in letter["reason"]]
    assert {letter["size"] for letter in huge} == {FIFTEEN_MB}


def test_the_tool_filters_by_queue_reason_routing_key_and_message_id(parked):
    platform, sent, _good = parked
    assert len(listed(platform, "--queue", "hazard")) == 1
    assert {letter["queue"].split(".")[-2] for letter in listed(platform, "--queue", "scoring")
            } == {"scoring"}
    assert len(listed(platform, "--reason", "not utf-8")) == 2
    assert len(listed(platform, "--routing-key", "einspection.hazard.#")) == 10
    assert len(listed(platform, "--routing-key", "*.hazard.reported.v9")) == 1
    one = next(m for m, (kind, _, _) in sent.items() if kind == "invalid data")
    assert [letter["queue"].split(".")[-2] for letter in
            listed(platform, "--message-id", one, "--queue", "notify")] == ["notify"]
    text_listing = tool(platform, "list").stderr
    assert "%s.scoring.dead-letter: 7 message(s)" % platform.queue_prefix in text_listing
    assert dead_counts(platform) == PARKED      # listing took nothing


def test_a_redriven_poison_is_parked_again_and_the_consumer_carries_on(parked):
    platform, sent, _good = parked
    one = next(m for m, (kind, _, _) in sent.items() if kind == "unknown version")
    done = tool(platform, "redrive", "--message-id", one, "--queue", "scoring")
    assert "1 message(s) re-driven" in done.stderr
    wait_until(lambda: [letter["times"] for letter in
                        listed(platform, "--message-id", one, "--queue", "scoring")] == [2],
               timeout=60, message="the poison parked again")
    again = listed(platform, "--message-id", one, "--queue", "scoring")[0]
    assert again["routing_key"] == "einspection.hazard.reported.v9"     # kept across the trip
    assert again["properties"]["correlation_id"] == "corr-" + one
    assert "x-redriven-at" in again["headers"]
    assert dead_counts(platform) == PARKED
    refused = subprocess.run([sys.executable, "-m", "einspection.deadletters", "redrive"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=ROOT))
    assert refused.returncode == 2 and "needs a filter" in refused.stderr


def test_events_parked_by_a_bug_are_redriven_after_the_fix(parked):
    """A bug (here: a trigger that fails scoring's inserts for one enterprise)
    parks good events; after the fix, re-driving them projects each once."""
    platform, _sent, _good = parked
    engine = make_engine(platform.database_urls["scoring"])
    with engine.begin() as conn:
        conn.execute(text("""
            CREATE FUNCTION refuse_buggy() RETURNS trigger AS $$ BEGIN
              IF NEW.enterprise_id = 'ent-buggy' THEN RAISE EXCEPTION 'the bug'; END IF;
              RETURN NEW; END $$ LANGUAGE plpgsql"""))
        conn.execute(text("CREATE TRIGGER the_bug BEFORE INSERT ON hazard_facts "
                          "FOR EACH ROW EXECUTE FUNCTION refuse_buggy()"))
    events = [hazard_reported("ent-buggy") for _ in range(3)]
    for event in events:
        publish(platform, event.type, event.to_json(), event.id)
    wait_until(lambda: len(listed(platform, "--queue", "scoring", "--reason", "the bug")) == 3,
               timeout=60, message="three events parked by the bug")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER the_bug ON hazard_facts"))
    dry = tool(platform, "redrive", "--queue", "scoring", "--reason", "the bug", "--dry-run")
    assert "3 message(s) would be re-driven" in dry.stderr
    assert len(listed(platform, "--queue", "scoring", "--reason", "the bug")) == 3
    done = tool(platform, "redrive", "--queue", "scoring", "--reason", "the bug")
    assert "3 message(s) re-driven" in done.stderr
    ids = {event.data["hazard_id"] for event in events}
    wait_until(lambda: projected(platform.database_urls["scoring"], projection.hazard_facts,
                                  ids) == 3, timeout=60, message="the re-driven events")
    assert listed(platform, "--queue", "scoring", "--reason", "the bug") == []
    # the rest is still parked; then re-drive all the remaining poisons: parked again
    assert dead_counts(platform)["scoring"] == PARKED["scoring"]
    done = tool(platform, "redrive", "--all", "--queue", "hazard")
    assert "1 message(s) re-driven" in done.stderr
    wait_until(lambda: [letter["times"] for letter in listed(platform, "--queue", "hazard")]
               == [2], timeout=60, message="the hazard poison parked again")
    engine.dispose()
    platform.require_alive()


def test_every_poison_re_driven_at_once_is_parked_again_and_the_consumers_carry_on(parked):
    """`redrive --all`: every kind of poison (the 15 MB body too) back to its
    consumer at once; each is parked again with its reason, routing key and
    message id, its count one higher, and a good event behind them is
    projected."""
    platform, sent, _good = parked
    before = {(letter["queue"], letter["message_id"]): letter["times"]
              for letter in listed(platform)}
    assert len(before) == sum(PARKED.values())
    done = tool(platform, "redrive", "--all")
    assert "%d message(s) re-driven" % len(before) in done.stderr
    good = hazard_reported()
    publish(platform, good.type, good.to_json(), good.id)

    def parked_again():
        now = {(letter["queue"], letter["message_id"]): letter for letter in listed(platform)}
        return (set(now) == set(before)
                and all(now[key]["times"] == times + 1 for key, times in before.items())
                and now)
    letters = wait_until(parked_again, timeout=120, interval=0.5,
                         message="every poison parked again")
    for (_queue, message_id), letter in letters.items():
        kind, key, reason = sent[message_id]
        assert reason in letter["reason"], (kind, letter["reason"])
        assert letter["routing_key"] == key
    assert {letter["size"] for letter in letters.values()
            if "larger than" in letter["reason"]} == {FIFTEEN_MB}
    wait_until(lambda: projected(platform.database_urls["scoring"], projection.hazard_facts,
                                  {good.data["hazard_id"]}) == 1, message="the good event")
    print("\n[poison messages re-driven] %d re-driven at once / parked again %s / the good "
          "event behind them projected" % (len(before), dead_counts(platform)))
    assert dead_counts(platform) == PARKED
    platform.require_alive()
