from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import new_event
from einspection.errors import Conflict, InvalidCommand
from services.hazard import verification
from services.hazard.domain import (CLOSED, REPORTED, RETURNED, SUBMITTED, Hazard,
                                    hazard_id_for_item)

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
FOUND = NOW - timedelta(hours=3)
RULE = verification.load()


def acting(username, role="enterprise_manager", **anchor):
    anchor.setdefault("enterprise_id", "e-1" if role.startswith("enterprise") else None)
    return Acting.by_account(Principal(account_id="id-" + username, username=username,
                                       role=role, **anchor), "corr-1")


STAFF = acting("li.account", "enterprise_staff")       # reports
MANAGER = acting("wang.account")                       # plans and rectifies
OFFICER = acting("chen.account", "grid_officer", grid="Wukang-1")   # verifies


def report(**changes):
    command = {"enterprise_id": "e-1", "position_id": None, "level": "general",
               "category": "fire", "description": "blocked exit",
               "found_at": FOUND, "rectification_deadline": None,
               "reporter": "li"}
    command.update(changes)
    return Hazard.report(command, STAFF, now=NOW)


def reloaded(hazard):
    """The hazard as the service would load it back from its stream."""
    history = list(hazard.pending)
    for version, event in enumerate(history, start=1):
        event.stream_version = version
    return Hazard.from_history(hazard.id, history)


def plan(**changes):
    command = {"goal": "no live parts exposed", "measures": "replace the cabinet",
               "funds": Decimal("1200.00"), "responsible_person": "zhang",
               "deadline": NOW + timedelta(days=10), "interim_measures": "fence it off"}
    command.update(changes)
    return command


def rectification(**changes):
    command = {"measures": "cleared", "done_at": NOW, "evidence": [], "cost": Decimal("50"),
               "rectified_by": "wang"}
    command.update(changes)
    return command


def verdict(outcome="verified", **changes):
    command = {"outcome": outcome, "verifier": "chen", "reason": None, "comment": ""}
    command.update(changes)
    return command


def rectify(hazard, now=NOW, **changes):
    hazard.submit_rectification(rectification(**changes), MANAGER, now=now)


def verify(hazard, outcome="verified", now=NOW, by=OFFICER, **changes):
    hazard.verify(verdict(outcome, **changes), by, RULE, now=now)


def test_report_records_hazard_reported_with_default_deadline_by_level():
    hazard = report()
    [event] = hazard.pending
    assert event.name == "HazardReported" and hazard.state == REPORTED
    assert event.actor == "li.account" and event.data["reporter"] == "li"
    assert event.correlation_id == "corr-1"
    assert event.data["reported_at"] == NOW
    assert event.data["hazard_type"] == "unsafe_condition"
    assert event.data["rectification_deadline"] == FOUND + timedelta(days=7)
    major = report(level="major")
    assert major.pending[0].data["rectification_deadline"] - major.found_at == timedelta(days=30)


def test_configured_deadline_days_replace_the_defaults():
    hazard = Hazard.report({"enterprise_id": "e-1", "level": "general", "category": "fire",
                            "description": "d", "found_at": FOUND, "reporter": "li"},
                           STAFF, now=NOW, deadline_days={"general": 3})
    assert hazard.deadline == FOUND + timedelta(days=3)


@pytest.mark.parametrize("changes,field", [
    ({"found_at": NOW + timedelta(hours=1)}, "found_at"),
    ({"rectification_deadline": NOW - timedelta(days=1)}, "rectification_deadline"),
    ({"source_inspection_id": "insp-1"}, "source_item_id"),
    ({"source_item_id": "item-1"}, "source_inspection_id"),
])
def test_report_refuses_impossible_input(changes, field):
    with pytest.raises(InvalidCommand) as error:
        report(**changes)
    assert field in error.value.errors


def test_hazard_ids_from_inspection_items_are_deterministic():
    first = report(source_inspection_id="insp-1", source_item_id="item-1")
    again = report(source_inspection_id="insp-1", source_item_id="item-1")
    other = report(source_inspection_id="insp-1", source_item_id="item-2")
    assert first.id == again.id == hazard_id_for_item("insp-1", "item-1")
    assert other.id != first.id
    assert report().id != report().id                # free reports: random ids


def test_failed_item_becomes_a_hazard_linked_to_its_inspection():
    inspection = {"inspection_id": "insp-9", "enterprise_id": "e-1", "position_id": "boiler",
                  "completed_at": FOUND, "inspector": "wang.wei", "kind": "grid"}
    item = {"item_id": "i-3", "prompt": "Exit kept clear", "category": "fire",
            "legal_basis": "GB 50016", "major": True, "note": "pallets in front of the exit",
            "photos": ["sha256:" + "a" * 64]}
    logged = new_event("InspectionLogged", {
        "inspection_id": "insp-9", "enterprise_id": "e-1", "position_id": "boiler",
        "checklist_id": "c-1", "checklist_version": 1, "kind": "self", "started_at": FOUND,
        "completed_at": FOUND, "items_passed": 0, "items_failed": 1,
        "items_not_applicable": 0, "inspector": "wang.wei"}, actor="staff.account",
        correlation_id="corr-9")
    hazard = Hazard.from_failed_item(inspection, item, Acting.following(logged), now=NOW)
    data = hazard.pending[0].data
    assert hazard.id == hazard_id_for_item("insp-9", "i-3")
    assert data["level"] == "major" and data["category"] == "fire"
    assert data["description"] == "Exit kept clear\npallets in front of the exit"
    assert data["found_at"] == FOUND and data["reporter"] == "wang.wei"
    assert data["position_id"] == "boiler" and data["evidence"] == item["photos"]
    assert (data["source_inspection_id"], data["source_item_id"]) == ("insp-9", "i-3")
    assert data["source"] == "grid"          # the kind of inspection that found it
    # who acted is the account that logged the inspection; the inspector is a name
    assert hazard.pending[0].actor == "staff.account"
    assert hazard.view()["reported_by"] == "staff.account"
    assert hazard.pending[0].causation_id == logged.id
    assert hazard.pending[0].correlation_id == "corr-9"
    general = Hazard.from_failed_item(inspection, dict(item, major=False, note=""),
                                      Acting.following(logged), now=NOW)
    assert general.level == "general" and general.pending[0].data["description"] == \
        "Exit kept clear"


def test_full_lifecycle_with_a_return_and_a_resubmission():
    hazard = reloaded(report())
    rectify(hazard)
    assert hazard.state == SUBMITTED
    verify(hazard, "returned", reason="cover still loose")
    assert hazard.state == RETURNED and hazard.returns[0]["reason"] == "cover still loose"
    rectify(hazard, measures="cover screwed down")
    assert hazard.state == SUBMITTED
    verify(hazard, comment="holds")
    assert hazard.state == CLOSED
    assert [e.name for e in hazard.pending] == ["RectificationDone", "HazardReturned",
                                                "RectificationDone", "HazardVerified"]
    # the actor is the account; the names in the commands are data beside it
    assert [e.actor for e in hazard.pending] == ["wang.account", "chen.account",
                                                "wang.account", "chen.account"]
    assert hazard.pending[0].data["cost"] == Decimal("50")
    assert hazard.pending[0].data["rectified_by"] == "wang"
    assert {e.data["rule_version"] for e in hazard.pending[1::2]} == {RULE.version}
    view = hazard.view()
    assert view["status"] == CLOSED and view["verification"]["verifier"] == "chen"
    assert view["verification"]["verified_by"] == "chen.account"
    assert view["verification"]["rule_version"] == RULE.version
    assert view["rectification"]["rectified_by"] == "wang"
    assert view["rectification"]["submitted_by"] == "wang.account"
    assert view["returns"][0]["returned_by"] == "chen.account"
    assert view["reported_by"] == "li.account" and view["reporter"] == "li"
    assert view["rectification"]["measures"] == "cover screwed down"
    assert len(view["returns"]) == 1


@pytest.mark.parametrize("steps,command", [
    ([], "verify"),                                   # nothing submitted to verify
    (["rectify"], "rectify"),                         # submitted already
    (["rectify", "verify"], "rectify"),               # closed
    (["rectify", "verify"], "verify"),                # closed
    (["rectify", "verify"], "plan"),                  # closed: no more plans
    (["rectify"], "plan"),                            # under verification
    (["rectify", "return"], "verify"),                # returned: nothing to verify
])
def test_invalid_transitions_are_conflicts_with_the_current_state(steps, command):
    hazard = reloaded(report())
    actions = {
        "rectify": lambda: rectify(hazard),
        "verify": lambda: verify(hazard),
        "return": lambda: verify(hazard, "returned", reason="no"),
        "plan": lambda: hazard.record_plan(plan(), MANAGER, now=NOW),
    }
    for step in steps:
        actions[step]()
    state = hazard.state
    pending = len(hazard.pending)
    with pytest.raises(Conflict) as error:
        actions[command]()
    assert error.value.state["state"] == state
    assert len(hazard.pending) == pending             # nothing recorded


def test_a_major_hazard_needs_a_plan_before_its_rectification():
    hazard = reloaded(report(level="major"))
    with pytest.raises(Conflict) as error:
        rectify(hazard)
    assert "plan" in str(error.value) and error.value.state == {"state": REPORTED, "plan": None}
    hazard.record_plan(plan(), MANAGER, now=NOW)
    assert hazard.pending[-1].name == "RemediationPlanRecorded"
    assert hazard.pending[-1].actor == "wang.account"           # not the responsible person
    assert hazard.view()["plan"]["recorded_by"] == "wang.account"
    rectify(hazard)
    assert hazard.state == SUBMITTED
    assert hazard.view()["plan"]["funds"] == "1200.00"


def test_a_general_hazard_needs_no_plan_and_a_plan_cannot_predate_the_finding():
    hazard = reloaded(report())
    with pytest.raises(InvalidCommand) as error:
        hazard.record_plan(plan(deadline=FOUND - timedelta(days=1)), MANAGER, now=NOW)
    assert "deadline" in error.value.errors
    rectify(hazard)
    assert hazard.state == SUBMITTED


def test_a_return_needs_a_reason():
    hazard = reloaded(report())
    rectify(hazard)
    with pytest.raises(InvalidCommand) as error:
        verify(hazard, "returned", reason="")
    assert "reason" in error.value.errors and hazard.state == SUBMITTED


@pytest.mark.parametrize("done_at", [NOW + timedelta(hours=1), FOUND - timedelta(days=1)])
def test_rectification_time_must_be_possible(done_at):
    hazard = reloaded(report())
    with pytest.raises(InvalidCommand) as error:
        rectify(hazard, done_at=done_at)
    assert "done_at" in error.value.errors


def test_overdue_once_when_the_deadline_passes_open():
    hazard = report(rectification_deadline=NOW + timedelta(hours=1))
    assert hazard.mark_overdue(NOW) is None                        # not yet due
    later = NOW + timedelta(hours=2)
    event = hazard.mark_overdue(later)
    assert event.name == "HazardOverdue" and event.data["detected_at"] == later
    assert event.actor == "hazard-service"
    assert event.data["level"] == "general"
    assert hazard.mark_overdue(later + timedelta(days=1)) is None  # exactly once
    again = reloaded(hazard)                                      # from its whole stream
    assert again.mark_overdue(later + timedelta(days=2)) is None   # once, also after a reload
    assert again.view()["overdue"] is True and again.state == REPORTED


def test_a_rectification_submitted_before_the_deadline_is_not_overdue():
    deadline = NOW + timedelta(hours=1)
    hazard = reloaded(report(rectification_deadline=deadline))
    rectify(hazard)                                                # on time
    assert hazard.mark_overdue(deadline + timedelta(hours=5)) is None
    verify(hazard, now=deadline + timedelta(hours=6))              # closed late: still fine
    assert hazard.mark_overdue(deadline + timedelta(days=5)) is None


def test_returned_after_the_deadline_or_submitted_late_is_overdue():
    deadline = NOW + timedelta(hours=1)
    returned = reloaded(report(rectification_deadline=deadline))
    rectify(returned)
    verify(returned, "returned", reason="no", now=deadline + timedelta(minutes=1))
    assert returned.mark_overdue(deadline + timedelta(minutes=2)) is not None
    late = reloaded(report(rectification_deadline=deadline))
    rectify(late, now=deadline + timedelta(minutes=1))
    assert late.mark_overdue(deadline + timedelta(minutes=2)) is not None


def test_history_replay_gives_each_state():
    hazard = report(level="major")
    hazard.record_plan(plan(), MANAGER, now=NOW)
    rectify(hazard)
    reloaded(hazard)                                  # numbers its events 1, 2, 3
    events = hazard.pending
    states = [state for _, state in Hazard(hazard.id).replay(events)]
    assert states == [REPORTED, REPORTED, SUBMITTED]
