"""The hazard aggregate: command methods check the invariants, then record
past-tense events. No I/O here; the service loads and saves."""
import uuid
from datetime import timedelta

from einspection.contract import new_event
from einspection.errors import Conflict, InvalidCommand

# Default time allowed for rectification, by level (configurable per deployment).
DEFAULT_DEADLINE_DAYS = {"general": 7, "major": 30}
CLOCK_SKEW = timedelta(minutes=5)

OPEN, RECTIFIED = "reported", "rectification_done"


def stream_id(hazard_id):
    return "hazard-" + hazard_id


class Hazard:
    def __init__(self, hazard_id):
        self.id = hazard_id
        self.version = 0
        self.state = None
        self.enterprise_id = None
        self.level = None
        self.found_at = None
        self.deadline = None
        self.rectification = None
        self.pending = []

    # --- rebuilding from history -------------------------------------------------
    @classmethod
    def from_history(cls, hazard_id, events):
        hazard = cls(hazard_id)
        for event in events:
            hazard._apply(event)
            hazard.version = event.stream_version
        return hazard

    def _apply(self, event):
        data = event.data
        if event.name == "HazardReported":
            self.state = OPEN
            self.enterprise_id = data["enterprise_id"]
            self.level = data["level"]
            self.found_at = data["found_at"]
            self.deadline = data["rectification_deadline"]
            self.reported = data
        elif event.name == "RectificationDone":
            self.state = RECTIFIED
            self.rectification = data

    def _record(self, name, data, actor, correlation_id, now):
        event = new_event(name, data, actor=actor, correlation_id=correlation_id, time=now)
        self._apply(event)
        self.pending.append(event)
        return event

    # --- commands ----------------------------------------------------------------
    @classmethod
    def report(cls, command, *, actor, now, correlation_id="", deadline_days=None):
        days = dict(DEFAULT_DEADLINE_DAYS, **(deadline_days or {}))
        found_at = command["found_at"]
        if found_at > now + CLOCK_SKEW:
            raise InvalidCommand({"found_at": ["is in the future"]})
        deadline = command.get("rectification_deadline") or found_at + timedelta(
            days=days[command["level"]])
        if deadline <= found_at:
            raise InvalidCommand({"rectification_deadline": ["must be after found_at"]})
        hazard = cls(str(uuid.uuid4()))
        hazard._record("HazardReported", {
            "hazard_id": hazard.id, "enterprise_id": command["enterprise_id"],
            "position_id": command.get("position_id"), "level": command["level"],
            "category": command["category"], "description": command["description"],
            "found_at": found_at, "reported_at": now, "rectification_deadline": deadline,
            "reporter": command["reporter"],
        }, actor, correlation_id, now)
        return hazard

    def submit_rectification(self, command, *, actor, now, correlation_id=""):
        if self.state != OPEN:
            raise Conflict("hazard %s is %s; only a reported hazard can be rectified"
                           % (self.id, self.state), {"state": self.state})
        done_at = command["done_at"]
        if done_at > now + CLOCK_SKEW:
            raise InvalidCommand({"done_at": ["is in the future"]})
        if done_at < self.found_at:
            raise InvalidCommand({"done_at": ["is before the hazard was found"]})
        self._record("RectificationDone", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id,
            "measures": command["measures"], "done_at": done_at,
            "evidence": list(command.get("evidence") or []),
        }, actor, correlation_id, now)

    def view(self):
        from einspection.contract import isoformat
        reported = self.reported
        return {
            "id": self.id, "enterprise_id": self.enterprise_id, "status": self.state,
            "level": self.level, "category": reported["category"],
            "description": reported["description"], "position_id": reported["position_id"],
            "found_at": isoformat(reported["found_at"]),
            "reported_at": isoformat(reported["reported_at"]),
            "rectification_deadline": isoformat(self.deadline),
            "reporter": reported["reporter"], "version": self.version,
            "rectification": None if not self.rectification else {
                "measures": self.rectification["measures"],
                "done_at": isoformat(self.rectification["done_at"]),
                "evidence": self.rectification["evidence"]},
        }
