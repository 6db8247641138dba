"""A hazard, its rectification and an inspection travel through HTTP, the
hazard and checklist event stores, the bus, the scoring projection and the
notify service — five separate processes on a real broker and database."""
import json
import os
import re

import jsonschema
import pytest

from einspection.contract import BY_TYPE

from . import factories, fixtures
from .support import EventTap, wait_until

CLOUDEVENTS_SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                  "cloudevents", "cloudevents.json")


@pytest.fixture
def tap(platform):
    tap = EventTap(platform.amqp_uri, platform.exchange, "#")
    yield tap
    tap.close()


def register(api, **kwargs):
    response = api.post("/api/v1/enterprises", factories.enterprise(**kwargs))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_hazard_rectification_and_inspection_reach_score_and_notice(api, tap):
    enterprise_id = register(api, name="Baide Fabrics")

    reported = api.post("/api/v1/hazards", factories.hazard(enterprise_id, found_hours_ago=2))
    assert reported.status_code == 201, reported.text
    hazard_id = reported.json()["id"]
    late = api.post("/api/v1/hazards", factories.hazard(enterprise_id, found_hours_ago=72))
    assert late.status_code == 201

    photo = fixtures.upload(api, enterprise_id)
    assert photo.status_code == 201, photo.text
    rectified = api.post("/api/v1/hazards/%s/rectification" % hazard_id,
                         {"measures": "cabinet locked, cover refitted",
                          "done_at": factories.iso(factories.ago(minutes=5)),
                          "evidence": [photo.json()["ref"]]})
    assert rectified.status_code == 201, rectified.text
    assert rectified.json()["status"] == "rectification_submitted"

    site = fixtures.site(api, enterprise_id)
    inspected = api.post("/api/v1/inspections", site.inspection(failed=(1,)))
    assert inspected.status_code == 201, inspected.text
    assert (inspected.json()["items_passed"], inspected.json()["items_failed"]) == (3, 1)

    def scored():
        response = api.get("/api/v1/enterprises/%s/score" % enterprise_id)
        if response.status_code != 200:
            return None
        score = response.json()
        detail = {i["key"]: i["detail"] for i in score["indicators"]}
        # the inspection's failed item became a third hazard, recorded in time
        return score if (detail["self_inspection"]["inspections"] == 1
                         and detail["timeliness"]["hazards_recorded"] == 3) else None

    score = wait_until(scored, message="the score to include the inspection and its hazard")
    indicators = {i["key"]: i for i in score["indicators"]}
    assert indicators["timeliness"]["detail"] == {"hazards_recorded": 3, "recorded_late": 1}
    assert indicators["timeliness"]["value"] == "0.6667"
    assert indicators["timeliness"]["points"] == "1.33"
    assert score["rule_version"] == "2026.4"
    assert score["window_end"] >= score["window_start"]
    total = sum(float(i["points"]) for i in score["indicators"])
    assert f"{total:.2f}" == score["points"]

    notices = wait_until(lambda: api.get("/api/v1/enterprises/%s/notices" % enterprise_id)
                         .json()["items"], message="a grade notice")
    assert notices[0]["kind"] == "grade" and notices[0]["language"] == "zh"   # the default
    grade = re.match(r"综合评定([A-E])级", notices[0]["title"]).group(1)
    assert "综合表现评定为%s级" % grade in notices[0]["body"]

    names = {"einspection.hazard.reported.v1", "einspection.hazard.rectification-done.v1",
             "einspection.inspection.logged.v1", "einspection.grade.assigned.v1",
             "einspection.notice.issued.v1"}
    tap.wait_for(lambda e: e["type"] == "einspection.notice.issued.v1"
                 and e["subject"] == enterprise_id)
    seen = {e["type"] for e in tap.bodies() if e["subject"] == enterprise_id}
    assert names <= seen

    history = api.get("/api/v1/hazards/%s/history" % hazard_id).json()["items"]
    assert [e["type"] for e in history] == ["einspection.hazard.reported.v1",
                                            "einspection.hazard.rectification-done.v1"]
    assert [e["streamversion"] for e in history] == [1, 2]


def test_published_events_follow_cloudevents_and_their_data_schemas(api, tap):
    with open(CLOUDEVENTS_SCHEMA) as handle:
        schema = json.load(handle)
    enterprise_id = register(api)
    hazard_id = api.post("/api/v1/hazards", factories.hazard(enterprise_id)).json()["id"]
    api.post("/api/v1/hazards/%s/rectification" % hazard_id,
             {"measures": "fixed", "done_at": factories.iso(factories.ago(minutes=1))})
    inspected = api.post("/api/v1/inspections", fixtures.site(api, enterprise_id).inspection())
    assert inspected.status_code == 201, inspected.text
    tap.wait_for(lambda e: e["type"] == "einspection.notice.issued.v1"
                 and e["subject"] == enterprise_id)
    tap.drain(0.5)
    mine = [m for m in tap.messages if json.loads(m.body)["subject"] == enterprise_id]
    assert len(mine) >= 6
    for message in mine:
        envelope = json.loads(message.body)
        jsonschema.validate(envelope, schema)
        assert message.delivery_info["routing_key"] == envelope["type"]
        assert message.properties["delivery_mode"] == 2           # persistent
        assert message.properties["message_id"] == envelope["id"]   # findable by event id
        assert message.properties["timestamp"] > 0
        assert envelope["specversion"] == "1.0"
        assert envelope["datacontenttype"] == "application/json"
        assert envelope["source"].startswith("/einspection/")
        errors = BY_TYPE[envelope["type"]].schema().validate(envelope["data"])
        assert errors == {}, (envelope["type"], errors)


BAD_HAZARDS = [
    ("{not json", "_body"),
    ("[1, 2]", "_body"),
    ({"level": "general"}, "category"),
    ({"level": "catastrophic"}, "level"),
    ({"found_at": "yesterday"}, "found_at"),
    ({"found_at": "2999-01-01T00:00:00Z"}, "found_at"),
    ({"rectification_deadline": "2000-01-01T00:00:00Z"}, "rectification_deadline"),
    ({"description": ""}, "description"),
    ({"surprise": 1}, "surprise"),
    ({"enterprise_id": "no-such-enterprise"}, "enterprise_id"),
    ({"enterprise_id": 42}, "enterprise_id"),
]


@pytest.mark.parametrize("change,field", BAD_HAZARDS)
def test_bad_hazard_reports_get_400_naming_the_field(api, change, field):
    enterprise_id = register(api)
    if isinstance(change, str):
        response = api.post("/api/v1/hazards", raw=change)
    else:
        body = factories.hazard(enterprise_id)
        body.pop("category") if field == "category" else None
        body.update(change)
        response = api.post("/api/v1/hazards", body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]


def test_bad_ids_and_invalid_transitions(api):
    enterprise_id = register(api)
    assert api.get("/api/v1/hazards/nope").status_code == 404
    assert api.post("/api/v1/hazards/nope/rectification",
                    {"measures": "x", "done_at": factories.iso(factories.ago(minutes=1))}
                    ).status_code == 404
    assert api.get("/api/v1/enterprises/nope/score").status_code == 404
    assert api.get("/api/v1/enterprises/%s/score?as_of=not-a-date" % enterprise_id
                   ).status_code == 400
    hazard_id = api.post("/api/v1/hazards", factories.hazard(enterprise_id)).json()["id"]
    missing = api.post("/api/v1/hazards/%s/rectification" % hazard_id, {"measures": "x"})
    assert missing.status_code == 400 and "done_at" in missing.json()["error"]["fields"]
    body = {"measures": "x", "done_at": factories.iso(factories.ago(minutes=1))}
    assert api.post("/api/v1/hazards/%s/rectification" % hazard_id, body).status_code == 201
    again = api.post("/api/v1/hazards/%s/rectification" % hazard_id, body)
    assert again.status_code == 409
    assert again.json()["error"]["current"]["state"] == "rectification_submitted"
    bad_inspection = fixtures.site(api, enterprise_id).inspection()
    bad_inspection["completed_at"] = "2000-01-01T00:00:00Z"
    response = api.post("/api/v1/inspections", bad_inspection)
    assert response.status_code == 400 and "completed_at" in response.json()["error"]["fields"]
    assert api.post("/api/v1/enterprises", dict(factories.enterprise(), credit_code="X" * 18)
                    ).status_code == 400


def test_health_reports_every_service(api):
    health = api.get("/health").json()
    assert health["status"] == "ok"
    assert set(health["services"]) == {"hazard", "checklist", "scoring", "notify",
                                       "enforcement"}


def test_every_process_exports_its_metrics(api, platform):
    enterprise_id = register(api)
    api.post("/api/v1/hazards", factories.hazard(enterprise_id))
    import requests
    assert "gateway_requests_total" in api.get("/metrics").text

    def scraped(key, metric):
        text = requests.get("http://127.0.0.1:%d/metrics" % platform.metrics_ports[key],
                            timeout=10).text
        return metric in text and text

    hazard = wait_until(lambda: scraped("hazard-0", "einspection_outbox_published_total"))
    assert 'einspection_events_appended_total{event="HazardReported"}' in hazard
    scoring = wait_until(lambda: scraped("scoring-0", 'outcome="acked"'))
    assert 'einspection_events_appended_total{event="GradeAssigned"}' in scoring
    assert "einspection_event_handler_seconds_bucket" in scoring
    assert 'einspection_events_consumed_total{consumer="scoring",event="HazardReported",' \
        'outcome="acked"}' in scoring
    wait_until(lambda: _counter(scraped("scoring-0", "einspection_outbox_published_total"),
                                "einspection_outbox_published_total") >= 1)


def _counter(text, name):
    """The sum of a counter's samples (over its labels, e.g. event)."""
    total = 0.0
    for line in (text or "").splitlines():
        if line.startswith((name + " ", name + "{")):
            total += float(line.rsplit(None, 1)[1])
    return total
