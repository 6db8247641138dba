"""examples/subscriber.py as an integrator runs it, a process of its own
against the running platform: it receives the hazard events it bound its own
stream for; killed, it misses nothing — restarted, it gets exactly the events
of while it was down, once each, and none it had already handled."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pika

from . import factories
from .support import broker_now, read_stream, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBSCRIBER = os.path.join(ROOT, "examples", "subscriber.py")


class Subscriber:
    """The example as a subprocess; its stdout lines collected as they come."""

    def __init__(self, platform, queue, state):
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}  # no PYTHONPATH:
        self.process = subprocess.Popen(                                     # no project code
            [sys.executable, SUBSCRIBER, "--amqp", platform.amqp_uri,
             "--exchange", platform.exchange, "--queue", queue,
             "--bind", "einspection.hazard.#", "--state", state],
            cwd=os.path.dirname(state), env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines, self.errors = [], []
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.errors),
                         daemon=True).start()
        wait_until(lambda: any(line.startswith("reading ") for line in self.errors)
                   or self.process.poll() is not None, timeout=30, message="the subscriber")
        assert self.process.poll() is None, "".join(self.errors)

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.append(line)

    def events(self, subject):
        return [event for event in map(json.loads, list(self.lines))
                if event["subject"] == subject]

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def report(api, enterprise_id):
    response = api.post("/api/v1/hazards", factories.hazard(enterprise_id))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def reported(events):
    return [event for event in events if event["type"] == "einspection.hazard.reported.v1"]


def test_the_example_subscriber_resumes_after_a_restart_with_exactly_what_it_missed(
        api, platform, tmp_path):
    queue = "example-integrator-" + uuid.uuid4().hex[:8]
    state = str(tmp_path / "hazards.offset")
    response = api.post("/api/v1/enterprises", factories.enterprise(name="Example Feed Dyeing"))
    assert response.status_code == 201, response.text
    enterprise_id = response.json()["id"]

    first = Subscriber(platform, queue, state)
    try:
        for _ in range(2):
            report(api, enterprise_id)
        wait_until(lambda: len(reported(first.events(enterprise_id))) == 2, timeout=30,
                   message="the first two hazards at the subscriber")
        time.sleep(0.5)                                   # whatever follows them, too
    finally:
        first.kill()
    before = first.events(enterprise_id)
    handled = int(open(state).read())
    assert handled == max(json.loads(line)["offset"] for line in first.lines)
    assert all(event["type"].startswith("einspection.hazard.") for event in before)
    assert not first.errors[1:], first.errors           # every envelope was valid

    since = broker_now() - timedelta(seconds=1)
    missed = [report(api, enterprise_id) for _ in range(3)]
    # while it is down they land in its stream (and the platform's, routed together)
    read_stream(platform.amqp_uri, platform.queue_prefix + ".stream", since,
                until=lambda events: {e["data"].get("hazard_id") for _, _, e in events
                                      if e["type"] == "einspection.hazard.reported.v1"}
                >= set(missed))

    second = Subscriber(platform, queue, state)
    try:
        assert second.errors[0].startswith("reading %s from %d" % (queue, handled + 1))
        wait_until(lambda: len(reported(second.events(enterprise_id))) == 3, timeout=30,
                   message="the missed hazards at the restarted subscriber")
        time.sleep(1.0)
    finally:
        second.kill()
    after = second.events(enterprise_id)
    assert json.loads(second.lines[0])["offset"] == handled + 1
    ids = [event["id"] for event in after]
    assert len(ids) == len(set(ids)), "each once"
    assert not set(ids) & {event["id"] for event in before}, "none handed over twice"
    hazard_ids = [event["data"]["hazard_id"] for event in reported(after)]
    assert hazard_ids == missed
    offsets = [json.loads(line)["offset"] for line in first.lines + second.lines]
    assert offsets == sorted(set(offsets)), "one increasing sequence across the restart"



def test_the_example_refuses_what_is_not_a_cloudevent_as_published():
    import importlib.util
    spec = importlib.util.spec_from_file_location("subscriber", SUBSCRIBER)
    subscriber = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(subscriber)
    good = {"specversion": "1.0", "id": "e1", "source": "/einspection/hazard",
            "type": "einspection.hazard.reported.v1", "time": "2026-12-03T08:00:00Z",
            "subject": "x", "data": {}}

    def problems(body, content_type="application/cloudevents+json"):
        return subscriber.envelope_problems(pika.BasicProperties(content_type=content_type),
                                            json.dumps(body).encode())

    assert problems(good) == []
    assert problems(good, "application/json")[0].startswith("content type")
    assert problems(dict(good, specversion="0.3")) == ["specversion '0.3', not 1.0"]
    assert problems({k: v for k, v in good.items() if k != "data"}) == ["data missing"]
    assert problems({k: v for k, v in good.items() if k != "source"}) == ["source missing"]
    assert problems(dict(good, time="yesterday")) == ["time 'yesterday' is not an instant"]
    assert subscriber.start_offset(41, "next") == 42
    assert subscriber.start_offset(None, "first") == "first"
