from datetime import datetime, timedelta, timezone

import pytest

from einspection.errors import Conflict, InvalidCommand
from services.hazard.domain import OPEN, RECTIFIED, Hazard

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)


def report(**changes):
    command = {"enterprise_id": "e-1", "position_id": None, "level": "general",
               "category": "fire", "description": "blocked exit",
               "found_at": NOW - timedelta(hours=3), "rectification_deadline": None,
               "reporter": "li"}
    command.update(changes)
    return Hazard.report(command, actor="li", now=NOW)


def test_report_records_hazard_reported_with_default_deadline_by_level():
    hazard = report()
    [event] = hazard.pending
    assert event.name == "HazardReported" and hazard.state == OPEN
    assert event.data["reported_at"] == NOW
    assert event.data["rectification_deadline"] == NOW - timedelta(hours=3) + timedelta(days=7)
    major = report(level="major")
    assert major.pending[0].data["rectification_deadline"] - major.found_at == timedelta(days=30)


@pytest.mark.parametrize("changes,field", [
    ({"found_at": NOW + timedelta(hours=1)}, "found_at"),
    ({"rectification_deadline": NOW - timedelta(days=1)}, "rectification_deadline"),
])
def test_report_refuses_impossible_times(changes, field):
    with pytest.raises(InvalidCommand) as error:
        report(**changes)
    assert field in error.value.errors


def test_rectification_once_then_conflict_and_history_replays():
    hazard = report()
    history = list(hazard.pending)
    for event, version in zip(history, range(1, 10)):
        event.stream_version = version
    loaded = Hazard.from_history(hazard.id, history)
    loaded.submit_rectification({"measures": "cleared", "done_at": NOW, "evidence": []},
                                actor="wang", now=NOW)
    assert loaded.state == RECTIFIED and loaded.pending[0].name == "RectificationDone"
    with pytest.raises(Conflict) as error:
        loaded.submit_rectification({"measures": "again", "done_at": NOW}, actor="w", now=NOW)
    assert error.value.state == {"state": RECTIFIED}


def test_rectification_cannot_predate_the_finding():
    hazard = report()
    with pytest.raises(InvalidCommand) as error:
        hazard.submit_rectification({"measures": "x", "done_at": NOW - timedelta(days=1)},
                                    actor="w", now=NOW)
    assert "done_at" in error.value.errors
