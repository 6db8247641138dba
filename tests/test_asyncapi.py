"""The event stream's AsyncAPI document (einspection/asyncapi.py, served at
/asyncapi.json): generated from the contract, accepted by the official parser
(npm @asyncapi/parser, tools/asyncapi/), and true of what the platform really
publishes — an integrator's own queue receives a hazard, its rectification,
an inspection, a grade and a notice, and each message matches its message in
the document: routing key, AMQP properties, envelope and data."""
import html
import json
import os
import shutil
import subprocess

import jsonschema
import pytest
import requests

from einspection import asyncapi, contract
from services.gateway import messages

from . import factories, fixtures
from .support import EventTap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARSER_DIR = os.path.join(ROOT, "tools", "asyncapi")
PARSER = os.path.join(PARSER_DIR, "node_modules", "@asyncapi", "parser")


def message_validator(document, name):
    """A validator of one message's payload, references resolved in the document."""
    schema = dict(document, **{"$ref": "#/components/messages/%s/payload" % name})
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def test_a_channel_per_published_type_and_no_private_one():
    document = asyncapi.build("amqp://someuser:s3cr3t-pw@broker.example:5673/prod", "demo.events")
    published = [e for e in contract.EVENT_TYPES.values() if e.public]
    assert {c["address"] for c in document["channels"].values()} == {e.type for e in published}
    assert not any(c["address"] == e.type for e in contract.EVENT_TYPES.values()
                   if not e.public for c in document["channels"].values())
    assert "s3cr3t-pw" not in json.dumps(document) and "someuser" not in json.dumps(document)
    assert document["servers"]["broker"]["host"] == "broker.example:5673"
    assert document["servers"]["broker"]["pathname"] == "/prod"
    hazard = document["channels"]["HazardReported"]
    assert hazard["bindings"]["amqp"]["exchange"] == {
        "name": "demo.events", "type": "topic", "durable": True, "autoDelete": False,
        "vhost": "prod"}
    operation = document["operations"]["publishHazardReported"]
    assert operation["action"] == "send"
    assert operation["channel"] == {"$ref": "#/channels/HazardReported"}
    # the data schema is the marshmallow schema's: its required fields, its enums
    data = document["components"]["schemas"]["HazardReported"]
    required = {name for name, f in contract.HazardReportedV1().fields.items() if f.required}
    assert set(data["required"]) == required
    assert data["properties"]["level"]["enum"] == list(contract.LEVELS)


def test_a_wrong_message_does_not_validate():
    """The schemas say something: an event of the contract validates, the same
    with a field missing, a wrong enum or the wrong type does not."""
    document = asyncapi.build()
    event = contract.new_event("HazardReported", {
        "hazard_id": "h1", "enterprise_id": "e1", "level": "major", "category": "fire",
        "description": "exit blocked", "found_at": contract.utcnow(),
        "reported_at": contract.utcnow(), "rectification_deadline": contract.utcnow(),
        "reporter": "someone"}, actor="admin")
    validator = message_validator(document, "HazardReported")
    good = event.to_dict()
    assert list(validator.iter_errors(good)) == []
    for broken in (
            dict(good, data={k: v for k, v in good["data"].items() if k != "hazard_id"}),
            dict(good, data=dict(good["data"], level="huge")),
            dict(good, type="einspection.hazard.verified.v1"),
            {k: v for k, v in good.items() if k != "actor"}):
        assert list(validator.iter_errors(broken)), broken


@pytest.fixture(scope="module")
def parser():
    """The official parser, installed from tools/asyncapi/package-lock.json."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the AsyncAPI parser (npm @asyncapi/parser) needs it")
    if not os.path.isdir(PARSER):
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: cannot install tools/asyncapi/ (npm ci)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                       cwd=PARSER_DIR, check=True, capture_output=True, timeout=300)
    return os.path.join(PARSER_DIR, "validate.mjs")


def test_the_served_document_passes_the_official_parser(platform, parser, tmp_path):
    response = requests.get(platform.base_url + "/asyncapi.json", timeout=30)
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"].startswith("3.0")
    path = tmp_path / "asyncapi.json"
    path.write_text(response.text, encoding="utf-8")
    run = subprocess.run(["node", parser, str(path)], capture_output=True, text=True,
                         timeout=120)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("severity") == 0]
    assert run.returncode == 0 and errors == [], (run.stderr, errors)
    counts = lines[-1]
    assert counts["channels"] == counts["operations"] == counts["messages"] == len(
        [e for e in contract.EVENT_TYPES.values() if e.public])
    # what the document says of the platform's own exchange
    exchange = document["channels"]["HazardReported"]["bindings"]["amqp"]["exchange"]
    assert exchange["name"] == platform.exchange


def test_the_events_page_is_served_and_reads_the_document(platform):
    page = requests.get(platform.base_url + "/docs/events", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'src="/app/events.js"' in page.text and "<style" not in page.text
    script = requests.get(platform.base_url + "/app/events.js", timeout=30)
    assert script.status_code == 200 and 'fetch("/asyncapi.json")' in script.text


def test_published_messages_match_their_messages_in_the_document(platform, api):
    document = requests.get(platform.base_url + "/asyncapi.json", timeout=30).json()
    by_address = {channel["address"]: (name, channel)
                  for name, channel in document["channels"].items()}
    tap = EventTap(platform.amqp_uri, platform.exchange, "#")
    try:
        created = api.post("/api/v1/enterprises", factories.enterprise())
        assert created.status_code == 201, created.text
        enterprise_id = created.json()["id"]
        reported = api.post("/api/v1/hazards", factories.hazard(enterprise_id, level="major"))
        assert reported.status_code == 201, reported.text
        plan = api.post("/api/v1/hazards/%s/plan" % reported.json()["id"], {
            "goal": "exit clear", "measures": "move the pallets", "funds": "1200.50",
            "responsible_person": "Li Wei", "deadline": factories.iso(factories.ago(hours=-48)),
            "interim_measures": "a warden at the door"})
        assert plan.status_code == 201, plan.text
        done = api.post("/api/v1/hazards/%s/rectification" % reported.json()["id"],
                        {"measures": "pallets moved", "cost": "300.00",
                         "done_at": factories.iso(factories.ago(minutes=1))})
        assert done.status_code == 201, done.text
        inspected = api.post("/api/v1/inspections",
                             fixtures.site(api, enterprise_id).inspection(failed=(1,)))
        assert inspected.status_code == 201, inspected.text
        wanted = {"einspection.enterprise.registered.v1", "einspection.hazard.reported.v1",
                  "einspection.hazard.plan-recorded.v1",
                  "einspection.hazard.rectification-done.v1",
                  "einspection.inspection.logged.v1", "einspection.grade.assigned.v1",
                  "einspection.notice.issued.v1", "einspection.position.registered.v1"}
        tap.wait_for(lambda e: e["type"] == "einspection.grade.assigned.v1"
                     and e["subject"] == enterprise_id, timeout=60)
        tap.wait_for(lambda e: e["type"] == "einspection.notice.issued.v1"
                     and e["subject"] == enterprise_id, timeout=60)
        tap.drain(0.5)
    finally:
        tap.close()
    mine = [m for m in tap.messages if json.loads(m.body)["subject"] == enterprise_id]
    assert wanted <= {json.loads(m.body)["type"] for m in mine}
    for message in mine:
        envelope = json.loads(message.body)
        routing_key = message.delivery_info["routing_key"]
        name, channel = by_address[routing_key]          # a channel for every key it used
        described = document["components"]["messages"][name]
        errors = [error.message for error in
                  message_validator(document, name).iter_errors(envelope)]
        assert errors == [], (routing_key, errors, envelope)
        # the AMQP side as the document says: properties, not headers
        binding = document["operations"]["publish" + name]["bindings"]["amqp"]
        assert message.properties["delivery_mode"] == binding["deliveryMode"]
        assert message.properties["timestamp"] > 0 and binding["timestamp"]
        assert message.properties["content_type"] == described["contentType"]
        assert message.properties["content_encoding"] == \
            described["bindings"]["amqp"]["contentEncoding"]
        assert message.properties["message_id"] == envelope["id"]
        assert not message.headers and "headers" not in described


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_the_events_page_lists_every_channel_without_the_internet(platform, tmp_path):
    """/docs/events in headless Chromium that can resolve no host but this
    one: its script reads /asyncapi.json and lists every routing key."""
    document = requests.get(platform.base_url + "/asyncapi.json", timeout=30).json()
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--user-data-dir=" + str(tmp_path / "profile"),
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=10000", "--dump-dom", platform.base_url + "/docs/events"],
        capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="op"') == len(document["channels"])
    for channel in document["channels"].values():
        assert '<span class="path">%s</span>' % html.escape(channel["address"]) in dom
    for language in messages.LANGUAGES:                     # the page's "loading" is gone
        assert messages.catalogue(language)["docs.events_loading"] not in html.unescape(dom)
    assert messages.catalogue("zh")["docs.events_broker"].split("：")[0] in dom
