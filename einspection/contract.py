"""The event contract: every event that crosses the bus, as a CloudEvents 1.0
structured-mode JSON message whose `data` has a versioned marshmallow schema.

Integrators bind to these types; a breaking change gets a new `.vN` type, it
never changes an old one.
"""
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

LEVELS = ("general", "major")
INSPECTION_KINDS = ("self", "grid", "enforcement")


def utcnow():
    return datetime.now(timezone.utc)


def isoformat(moment):
    """One textual form for instants everywhere: UTC, microseconds, 'Z'."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class Instant(fields.DateTime):
    """An aware UTC datetime; naive input is taken as UTC, output is ISO 'Z'."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else isoformat(value)


class Id(fields.String):
    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=1, max=64))
        super().__init__(**kwargs)


class _Data(Schema):
    class Meta:
        ordered = True


# --- the data of each event, one schema per version --------------------------------

class EnterpriseRegisteredV1(_Data):
    enterprise_id = Id(required=True)
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    industry = fields.String(required=True, validate=validate.Length(min=1, max=100))
    town = fields.String(required=True, validate=validate.Length(min=1, max=100))
    grid = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    employees = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    registered_at = Instant(required=True)


class HazardReportedV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    position_id = Id(load_default=None, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    found_at = Instant(required=True)
    reported_at = Instant(required=True)
    rectification_deadline = Instant(required=True)
    reporter = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RectificationDoneV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    measures = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    done_at = Instant(required=True)
    evidence = fields.List(fields.String(validate=validate.Length(min=1, max=300)), load_default=list)


class InspectionLoggedV1(_Data):
    inspection_id = Id(required=True)
    enterprise_id = Id(required=True)
    position_id = Id(required=True)
    checklist_id = Id(required=True)
    checklist_version = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(INSPECTION_KINDS))
    started_at = Instant(required=True)
    completed_at = Instant(required=True)
    items_passed = fields.Integer(required=True, validate=validate.Range(min=0))
    items_failed = fields.Integer(required=True, validate=validate.Range(min=0))
    items_not_applicable = fields.Integer(required=True, validate=validate.Range(min=0))
    inspector = fields.String(required=True, validate=validate.Length(min=1, max=200))


class IndicatorV1(_Data):
    key = fields.String(required=True)
    title = fields.String(required=True)
    value = fields.String(required=True)      # decimal as text: exact on every reader
    points = fields.String(required=True)
    max_points = fields.String(required=True)


class GradeAssignedV1(_Data):
    enterprise_id = Id(required=True)
    points = fields.String(required=True)
    grade = fields.String(required=True, validate=validate.OneOf(["A", "B", "C", "D", "E"]))
    previous_grade = fields.String(load_default=None, allow_none=True)
    rule_version = fields.String(required=True)
    as_of = fields.Date(required=True)
    window_start = fields.Date(required=True)
    window_end = fields.Date(required=True)
    indicators = fields.List(fields.Nested(IndicatorV1), required=True)


class NoticeIssuedV1(_Data):
    notice_id = Id(required=True)
    enterprise_id = Id(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    cause_event_id = Id(required=True)


@dataclass(frozen=True)
class EventType:
    name: str           # the past-tense domain name, e.g. HazardReported
    type: str           # the CloudEvents type and the routing key
    source: str         # the service that owns it
    schema: type


EVENT_TYPES = {
    e.name: e for e in [
        EventType("EnterpriseRegistered", "einspection.enterprise.registered.v1", "checklist",
                  EnterpriseRegisteredV1),
        EventType("HazardReported", "einspection.hazard.reported.v1", "hazard", HazardReportedV1),
        EventType("RectificationDone", "einspection.hazard.rectification-done.v1", "hazard",
                  RectificationDoneV1),
        EventType("InspectionLogged", "einspection.inspection.logged.v1", "checklist",
                  InspectionLoggedV1),
        EventType("GradeAssigned", "einspection.grade.assigned.v1", "scoring", GradeAssignedV1),
        EventType("NoticeIssued", "einspection.notice.issued.v1", "notify", NoticeIssuedV1),
    ]
}
BY_TYPE = {e.type: e for e in EVENT_TYPES.values()}


class ContractError(Exception):
    """A message that is not a valid event of this contract; `errors` says why."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Event:
    """One domain event in its CloudEvents envelope.

    `data` holds deserialized values (datetimes, not strings); `to_json` and
    `from_json` are the only ways in and out of the wire form.
    """
    name: str
    subject: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=utcnow)
    # metadata, carried as CloudEvents extension attributes
    actor: str = "system"
    correlation_id: str = ""
    causation_id: str = ""
    stream_id: str = ""
    stream_version: int = 0

    @property
    def type(self):
        return EVENT_TYPES[self.name].type

    @property
    def source(self):
        return "/einspection/" + EVENT_TYPES[self.name].source

    def data_json(self):
        return EVENT_TYPES[self.name].schema().dump(self.data)

    def to_dict(self):
        return {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": isoformat(self.time),
            "subject": self.subject,
            "datacontenttype": CONTENT_TYPE,
            "actor": self.actor,
            "correlationid": self.correlation_id or self.id,
            "causationid": self.causation_id or self.id,
            "streamid": self.stream_id,
            "streamversion": self.stream_version,
            "data": self.data_json(),
        }

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, envelope):
        errors = {}
        if not isinstance(envelope, dict):
            raise ContractError({"_schema": ["an event must be a JSON object"]})
        for attr in ("specversion", "id", "source", "type", "time", "subject", "data"):
            if attr not in envelope:
                errors[attr] = ["missing"]
        if errors:
            raise ContractError(errors)
        if envelope["specversion"] != SPECVERSION:
            raise ContractError({"specversion": ["must be 1.0"]})
        kind = BY_TYPE.get(envelope["type"])
        if kind is None:
            raise ContractError({"type": ["unknown event type %r" % envelope["type"]]})
        try:
            data = kind.schema().load(envelope["data"])
            time = parse_instant(envelope["time"])
            version = int(envelope.get("streamversion", 0))
        except ValidationError as exc:
            raise ContractError({"data": exc.messages}) from None
        except (TypeError, ValueError) as exc:
            raise ContractError({"time": [str(exc)]}) from None
        return cls(name=kind.name, subject=str(envelope["subject"]), data=data,
                   id=str(envelope["id"]), time=time,
                   actor=str(envelope.get("actor", "")),
                   correlation_id=str(envelope.get("correlationid", "")),
                   causation_id=str(envelope.get("causationid", "")),
                   stream_id=str(envelope.get("streamid", "")), stream_version=version)

    @classmethod
    def from_json(cls, body):
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError({"_body": ["not JSON: %s" % exc]}) from None
        return cls.from_dict(envelope)


def new_event(name, data, *, actor, correlation_id="", causation_id="", time=None):
    """Build an event from command-side values, validated against its schema."""
    kind = EVENT_TYPES[name]
    schema = kind.schema()
    errors = schema.validate(schema.dump(data))
    if errors:
        raise ContractError(errors)
    return Event(name=name, subject=data["enterprise_id"], data=data, actor=actor,
                 correlation_id=correlation_id, causation_id=causation_id,
                 time=time or utcnow())


def load_command(schema, payload):
    """Validate a command payload; bad input raises InvalidCommand {field: reasons}."""
    from .errors import InvalidCommand
    if not isinstance(payload, dict):
        raise InvalidCommand({"_body": ["must be a JSON object"]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidCommand(exc.messages) from None
