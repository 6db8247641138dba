"""The position aggregate: a place in an enterprise with a QR code. Its code
is a secret token; rotating it issues a new one and the old one stops
working. A scan of the current code records presence (who, where, when)."""
import secrets
import uuid

from einspection.contract import new_event
from einspection.errors import InvalidCommand

from .checklists import applies_to, no_usable_checklist


def stream_id(position_id):
    return "position-" + position_id


def new_token():
    return secrets.token_urlsafe(24)


def scan_url(base_url, token):
    return "%s/scan/%s" % (base_url.rstrip("/"), token)


class Position:
    def __init__(self, position_id):
        self.id = position_id
        self.version = 0
        self.enterprise_id = None
        self.token = None
        self.pending = []

    @classmethod
    def from_snapshot(cls, row):
        """The positions read model holds everything the aggregate needs, its
        stream version included (it is written in the same transaction as the
        events), so scans never replay a long stream of earlier scans."""
        position = cls(row["position_id"])
        position.version, position.enterprise_id = row["version"], row["enterprise_id"]
        position.token = row["token"]
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
        errors = [no_usable_checklist(checklist_id) for checklist_id in command["checklist_ids"]
                  if checklists.get(checklist_id) is None
                  or not applies_to(checklists[checklist_id], enterprise)]
        if errors:
            raise InvalidCommand({"checklist_ids": errors})
        position = cls(str(uuid.uuid4()))
        position.enterprise_id = enterprise["id"]
        position._record("PositionRegistered", dict(
            command, position_id=position.id, enterprise_id=enterprise["id"],
            checklist_ids=list(dict.fromkeys(command["checklist_ids"]))),
            actor, correlation_id, now)
        position._issue_code(actor, correlation_id, now)
        return position

    def rotate_code(self, *, actor, now, correlation_id=""):
        self._issue_code(actor, correlation_id, now)

    def scan(self, scanned_by, *, now, correlation_id=""):
        self._record("PositionScanned", {
            "position_id": self.id, "enterprise_id": self.enterprise_id,
            "scanned_by": scanned_by, "scanned_at": now}, scanned_by, correlation_id, now)
