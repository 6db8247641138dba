import json
from datetime import datetime, timezone

import pytest

from einspection.contract import ContractError, Event, new_event


def hazard_event():
    moment = datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=timezone.utc)
    return new_event("HazardReported", {
        "hazard_id": "h-1", "enterprise_id": "e-1", "position_id": None, "level": "major",
        "category": "fire", "description": "blocked exit", "found_at": moment,
        "reported_at": moment, "rectification_deadline": moment, "reporter": "li"},
        actor="li", correlation_id="c-1", time=moment)


def test_round_trip_through_the_wire_form():
    event = hazard_event()
    envelope = json.loads(event.to_json())
    assert envelope["type"] == "einspection.hazard.reported.v1"
    assert envelope["subject"] == "e-1" and envelope["source"] == "/einspection/hazard"
    assert envelope["data"]["found_at"] == "2026-11-29T08:00:00.123456Z"
    back = Event.from_json(event.to_json())
    assert back.data == event.data and back.time == event.time and back.id == event.id
    assert back.correlation_id == "c-1" and back.actor == "li"


@pytest.mark.parametrize("mutate,field", [
    (lambda e: e.pop("id"), "id"),
    (lambda e: e.update(type="nope.v1"), "type"),
    (lambda e: e.update(specversion="0.3"), "specversion"),
    (lambda e: e["data"].update(level="huge"), "data"),
    (lambda e: e.update(time="yesterday"), "time"),
])
def test_invalid_envelopes_say_what_is_wrong(mutate, field):
    envelope = json.loads(hazard_event().to_json())
    mutate(envelope)
    with pytest.raises(ContractError) as error:
        Event.from_dict(envelope)
    assert field in error.value.errors


def test_not_json_at_all():
    with pytest.raises(ContractError) as error:
        Event.from_json("{")
    assert "_body" in error.value.errors


def test_a_stored_body_read_without_validation_gives_the_same_top_level_values():
    safety = new_event("SafetyActionRecorded", {
        "action_id": "a-1", "enterprise_id": "e-1", "kind": "drill", "topic": "fire",
        "held_on": datetime(2026, 11, 2).date(), "people": 3, "recorded_by": "li"}, actor="li")
    for event in (hazard_event(), safety):
        fast, full = Event.from_stored_json(event.to_json()), Event.from_json(event.to_json())
        assert fast == full
        assert {k: type(v) for k, v in fast.data.items()} == {
            k: type(v) for k, v in full.data.items()}


def test_a_stored_body_missing_a_defaulted_field_is_read_in_full():
    envelope = json.loads(hazard_event().to_json())
    del envelope["data"]["source"]                    # written before the field had a default
    fast = Event.from_stored_json(json.dumps(envelope))
    assert fast.data["source"] == "report" == Event.from_json(json.dumps(envelope)).data["source"]
