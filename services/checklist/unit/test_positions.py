"""The position aggregate's changes: only what changed is recorded, a change
of nothing records nothing, a retired position is out of use."""
import json
from datetime import datetime, timezone

import pytest

from einspection.errors import Conflict, Gone, InvalidCommand
from services.checklist.positions import Position

NOW = datetime(2026, 12, 3, 8, tzinfo=timezone.utc)
ENTERPRISE = {"id": "e-1", "industry": "textiles"}
OWN = {"scope": "enterprise", "enterprise_id": "e-1", "industry": None}


def position(**row):
    return Position.from_snapshot(dict({
        "position_id": "p-1", "enterprise_id": "e-1", "version": 2, "token": "t" * 32,
        "retired_at": None, "name": "Boiler room", "latitude": 30.5, "longitude": 119.9,
        "checklist_ids": json.dumps(["c-1"])}, **row))


def test_an_update_records_only_what_changed_and_nothing_for_no_change():
    one = position()
    event = one.update(ENTERPRISE, {"name": "Boiler house", "latitude": 30.5,
                                    "checklist_ids": ["c-1", "c-2", "c-2"]},
                       {"c-1": OWN, "c-2": OWN}, actor="boss", now=NOW)
    assert event.name == "PositionUpdated" and event.actor == "boss"
    assert {k: v for k, v in event.data.items() if k != "updated_at"} == {
        "position_id": "p-1", "enterprise_id": "e-1", "name": "Boiler house",
        "checklist_ids": ["c-1", "c-2"]}
    assert one.update(ENTERPRISE, {"name": "Boiler house"}, {}, actor="boss", now=NOW) is None
    assert len(one.pending) == 1


def test_an_update_names_a_checklist_the_enterprise_may_not_use():
    with pytest.raises(InvalidCommand) as refused:
        position().update(ENTERPRISE, {"checklist_ids": ["c-9"]}, {"c-9": dict(
            OWN, enterprise_id="e-2")}, actor="boss", now=NOW)
    assert list(refused.value.errors) == ["checklist_ids"]


def test_a_retired_position_is_retired_once_and_out_of_use():
    one = position()
    assert one.retire("demolished", actor="boss", now=NOW).name == "PositionRetired"
    assert one.retire("again", actor="boss", now=NOW) is None
    with pytest.raises(Conflict):
        one.update(ENTERPRISE, {"name": "x"}, {}, actor="boss", now=NOW)
    with pytest.raises(Conflict):
        one.rotate_code(actor="boss", now=NOW)
    with pytest.raises(Gone):
        one.scan("staff", now=NOW)
