"""Records from before: a migration from a previous system, or the demo's history.

An import is a list of records, each a command of the receiving service and
the moment it was originally recorded:

    {"command": "report_hazard", "at": "2026-08-03T06:40:00Z", "actor": "li.ming",
     "payload": {...the command's body, as the live API takes it...}}

| step | what |
| --- | --- |
| check | every record: a command the service imports, `at` not in the future, times in order |
| run | each record through the live command's own code — its schema, domain rules and store — with `now` = `at`, in a transaction of its own |
| events | dated `at`, appended to the service's store and outbox like any others: the relay publishes them, consumers (scoring, notify) project them as usual |
| answer | each record's result, and the public events the import appended (`id`, `type`), so a caller can wait for consumers to have them (`awaiting`) |

`actor` is who did it in the previous system (the import's own actor if
absent), and the actor of what the record makes; where a command's rules ask
what the actor's account is (who may verify a hazard), the record says it:
`"account": {"role", and its "enterprise_id", "grid" or "town"}`. Every
event of one import call shares its correlation id. Each record is one
command of its own in the service's journal (einspection.journal), its
command id derived from the record itself: the same import sent again — a
redelivered RPC, or the whole file again after a failed record was fixed —
imports nothing twice within the journal's hours (the records already in
answer as they did). Importing
is an operator's migration, over the services' internal RPC; it is not on the
HTTP API, where nobody may back-date a record. A record that fails stops the
import there: the records before it stay imported (each was one command) and
the error names the record, so the rest can be imported after the fix.
"""
import hashlib
import json
import uuid

from marshmallow import Schema, fields, validate

from . import eventstore
from .acting import Acting
from .auth import ROLES, Principal
from .contract import EVENT_TYPES, Id, Instant, load_command
from .errors import DomainError, InvalidCommand

MAX_RECORDS = 1000


class ImportedAccount(Schema):
    """What the previous system knew of the actor's account."""
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    enterprise_id = Id(load_default=None)
    grid = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    town = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class ImportRecord(Schema):
    command = fields.String(required=True, validate=validate.Length(min=1, max=64))
    at = Instant(required=True)
    actor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    account = fields.Nested(ImportedAccount, load_default=None)
    payload = fields.Dict(keys=fields.String(), required=True)


def acting_of(record, actor, correlation_id):
    """Who acts in an imported record: its actor, with its account where the
    record says it (scope: every enterprise, as for the operator importing);
    the record's own command id."""
    account = record.get("account")
    command_id = record_command_id(record, actor)
    if account is None:
        return Acting(actor=actor, correlation_id=correlation_id, command_id=command_id)
    return Acting.by_account(Principal(account_id="imported:" + actor, username=actor,
                                       **account), correlation_id, command_id=command_id)


def record_command_id(record, actor):
    """The command id of an imported record: what it is, when and by whom."""
    text = json.dumps({"command": record["command"], "at": record["at"].isoformat(),
                       "actor": actor, "account": record.get("account"),
                       "payload": record["payload"]}, sort_keys=True, default=str)
    return "import-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:57]


class ImportRecords(Schema):
    records = fields.List(fields.Nested(ImportRecord), required=True,
                          validate=validate.Length(min=1, max=MAX_RECORDS))
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))


def run(store, payload, commands, *, now, skew):
    """Import `payload` ({"records", "actor"}) with `commands`: {name:
    handler(record payload, acting, now=)}, each called with `now` = the
    record's `at` and `acting` its actor (einspection.acting). Returns
    {"results", "events", "correlation_id"}."""
    loaded = load_command(ImportRecords, payload)
    records = loaded["records"]
    problems = {}
    for index, record in enumerate(records):
        if record["command"] not in commands:
            problems[index] = {"command": ["not a command this service imports; one of: %s"
                                           % ", ".join(sorted(commands))]}
        elif record["at"] > now + skew:
            problems[index] = {"at": ["is in the future"]}
        elif index and record["at"] < records[index - 1]["at"]:
            problems[index] = {"at": ["is before the record before it: import in time order"]}
    if problems:
        raise InvalidCommand({"records": problems})
    correlation_id = "import-" + str(uuid.uuid4())
    with store.connect() as conn:
        start = eventstore.last_position(conn)
    results = []
    for index, record in enumerate(records):
        try:
            acting = acting_of(record, record["actor"] or loaded["actor"], correlation_id)
            results.append(commands[record["command"]](record["payload"], acting,
                                                       now=record["at"]))
        except DomainError as exc:
            reasons = exc.errors if isinstance(exc, InvalidCommand) else [str(exc)]
            raise InvalidCommand({"records": {index: reasons}, "imported": [
                "records before %d were imported (%s); import the rest from record %d on"
                % (index, correlation_id, index)]}) from None
    with store.connect() as conn:
        appended = [event for _, event in eventstore.read_all(conn, start, limit=None)
                    if event.correlation_id == correlation_id and EVENT_TYPES[event.name].public]
    return {"results": results, "correlation_id": correlation_id,
            "events": [{"id": event.id, "type": event.type, "subject": event.subject}
                       for event in appended]}


def required(payload, key):
    """The id a record's payload names its target by (a hazard, a checklist)."""
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidCommand({key: ["required: the id of what this record is about"]})
    return value


def without(payload, key):
    return {name: value for name, value in payload.items() if name != key}
