"""The position aggregate: a place in an enterprise with a QR code. Its code
is a secret token; rotating it issues a new one and the old one stops
working. A scan of the current code records presence (who, where, when).

| command  | checks                                   | records                               |
|----------|------------------------------------------|---------------------------------------|
| register | the checklists usable by the enterprise  | PositionRegistered, PositionCodeIssued |
| update   | not retired; the checklists usable       | PositionUpdated (the changed fields only; nothing if none changed) |
| retire   | —                                        | PositionRetired (nothing if retired already) |
| rotate   | not retired                              | PositionCodeIssued                    |
| scan     | not retired (Gone otherwise)             | PositionScanned                       |

A retired position keeps its history and its inspections; it is left out of
the listings by default, its code answers that it is retired, and no
schedule can be made at it (services/checklist/schedules.py)."""
import json
import secrets
import uuid

from einspection.contract import isoformat, new_event
from einspection.errors import Conflict, Gone, InvalidCommand

from .checklists import applies_to, no_usable_checklist


def stream_id(position_id):
    return "position-" + position_id


def new_token():
    return secrets.token_urlsafe(24)


# what PATCH /api/v1/positions/{id} may change; the enterprise and the code stay
EDITABLE = ("name", "latitude", "longitude", "checklist_ids")


def checklist_problems(checklist_ids, checklists, enterprise):
    """{"checklist_ids": [reasons]} for each id that is not a checklist the
    enterprise may use (`checklists`: {id: its read-model row or None})."""
    errors = [no_usable_checklist(checklist_id) for checklist_id in checklist_ids
              if checklists.get(checklist_id) is None
              or not applies_to(checklists[checklist_id], enterprise)]
    return {"checklist_ids": errors} if errors else {}


def scan_url(base_url, token):
    return "%s/scan/%s" % (base_url.rstrip("/"), token)


class Position:
    def __init__(self, position_id):
        self.id = position_id
        self.version = 0
        self.enterprise_id = None
        self.token = None
        self.retired_at = None
        self.current = {}           # the fields a manager may change, as they are
        self.pending = []

    @classmethod
    def from_snapshot(cls, row):
        """The positions read model holds everything the aggregate needs, its
        stream version included (it is written in the same transaction as the
        events), so scans never replay a long stream of earlier scans."""
        position = cls(row["position_id"])
        position.version, position.enterprise_id = row["version"], row["enterprise_id"]
        position.token = row["token"]
        position.retired_at = row["retired_at"]
        position.current = {"name": row["name"], "latitude": row["latitude"],
                            "longitude": row["longitude"],
                            "checklist_ids": json.loads(row["checklist_ids"])}
        return position

    def _record(self, name, data, actor, correlation_id, now):
        event = new_event(name, data, actor=actor, correlation_id=correlation_id, time=now)
        if name == "PositionCodeIssued":
            self.token = data["token"]
        self.pending.append(event)

    def _issue_code(self, actor, correlation_id, now):
        self._record("PositionCodeIssued", {
            "position_id": self.id, "enterprise_id": self.enterprise_id, "token": new_token(),
            "issued_at": now}, actor, correlation_id, now)

    @classmethod
    def register(cls, enterprise, command, checklists, *, actor, now, correlation_id=""):
        """`checklists`: {checklist_id: its read-model row or None} for the
        checklist_ids the command assigns."""
        problems = checklist_problems(command["checklist_ids"], checklists, enterprise)
        if problems:
            raise InvalidCommand(problems)
        position = cls(str(uuid.uuid4()))
        position.enterprise_id = enterprise["id"]
        position._record("PositionRegistered", dict(
            command, position_id=position.id, enterprise_id=enterprise["id"],
            checklist_ids=list(dict.fromkeys(command["checklist_ids"]))),
            actor, correlation_id, now)
        position._issue_code(actor, correlation_id, now)
        return position

    def _require_in_use(self, what):
        if self.retired_at is not None:
            raise Conflict("position %s is retired; it cannot %s" % (self.id, what),
                           {"retired_at": isoformat(self.retired_at)})

    def update(self, enterprise, command, checklists, *, actor, now, correlation_id=""):
        """PositionUpdated with the fields `command` changes (a merge: the
        fields it leaves out stay); None when it changes nothing.
        `checklists` as for register, for the checklist_ids it names."""
        self._require_in_use("be changed")
        wanted = {key: command[key] for key in EDITABLE if key in command}
        if "checklist_ids" in wanted:
            wanted["checklist_ids"] = list(dict.fromkeys(wanted["checklist_ids"]))
            problems = checklist_problems(wanted["checklist_ids"], checklists, enterprise)
            if problems:
                raise InvalidCommand(problems)
        changed = {key: value for key, value in wanted.items() if value != self.current[key]}
        if not changed:
            return None
        self._record("PositionUpdated", dict(
            {"position_id": self.id, "enterprise_id": self.enterprise_id}, **changed,
            updated_at=now), actor, correlation_id, now)
        self.current.update(changed)
        return self.pending[-1]

    def retire(self, reason, *, actor, now, correlation_id=""):
        """PositionRetired; None if it is retired already (a repeat changes nothing)."""
        if self.retired_at is not None:
            return None
        self._record("PositionRetired", {
            "position_id": self.id, "enterprise_id": self.enterprise_id, "reason": reason,
            "retired_at": now}, actor, correlation_id, now)
        self.retired_at = now
        return self.pending[-1]

    def rotate_code(self, *, actor, now, correlation_id=""):
        self._require_in_use("have a new code")
        self._issue_code(actor, correlation_id, now)

    def scan(self, scanned_by, *, now, correlation_id=""):
        if self.retired_at is not None:
            raise Gone("position %s was retired; its code is no longer in use" % self.id)
        self._record("PositionScanned", {
            "position_id": self.id, "enterprise_id": self.enterprise_id,
            "scanned_by": scanned_by, "scanned_at": now}, scanned_by, correlation_id, now)
