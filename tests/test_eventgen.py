"""tests/eventgen.py builds its events without marshmallow: each must be the
event contract.new_event makes of the same data, and a seeded stream the
same as before that change."""
import hashlib
import json

from einspection.contract import Event, new_event
from tests.eventgen import activity, stream


def _without_ids(event):
    envelope = json.loads(event.to_json())
    for key in ("id", "correlationid", "causationid"):      # new for every event
        envelope.pop(key)
    return envelope


def test_each_event_is_the_one_new_event_makes():
    events = activity(3000, enterprises=20, seed=5)
    assert {e.name for e in events} >= {"EnterpriseRegistered", "PositionRegistered",
                                        "PositionUpdated", "PositionRetired", "HazardReported",
                                        "RectificationDone", "HazardReturned",
                                        "InspectionLogged", "SafetyActionRecorded"}
    for event in events:
        made = new_event(event.name, event.data, actor=event.actor, time=event.time)
        made.stream_id, made.stream_version = event.stream_id, event.stream_version
        assert event.data == made.data and list(event.data) == list(made.data), event.name
        assert event.subject == made.subject
        assert _without_ids(event) == _without_ids(made)
        assert Event.from_json(event.to_json()).data == event.data


def test_a_seeded_stream_is_the_one_the_marshmallow_generator_made():
    # sha256 of these streams (ids left out) as made with contract.new_event, before the change
    def digest(events):
        sha = hashlib.sha256()
        for event in events:
            sha.update(json.dumps(_without_ids(event)).encode())
            sha.update(repr(list(event.data)).encode())
        return sha.hexdigest()

    assert digest(stream(3000, 50, seed=1)) == (
        "526d9a335fef6ad1c17d2a47665c8a6d30da0b914fc6e0dc20b06c95413d2521")
    assert digest(stream(2000, 12, seed=7)) == (
        "54f569478574df00e1ca4b74e4c8a4817ffaeac51b0535d70f9cb4cb6d46446f")
