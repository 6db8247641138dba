"""A case command by its name, as an API route or an import record names it:
its schema, then the aggregate's method. Plain: no I/O, no nameko — the
service loads the case's events before and appends `case.pending` after.

| name | schema | method |
| --- | --- | --- |
| `open_case` | OpenCase | Case.open (a repeat of the same inspection's case records nothing) |
| `issue_citation` | IssueCitation | Case.issue_citation |
| `withdraw_citation` | WithdrawCitation | Case.withdraw_citation |
| `decide_penalty` | DecidePenalty | Case.decide_penalty |
| `record_payment` | RecordPayment | Case.record_payment |
| `abate_citation` | AbateCitation | Case.abate_citation |
| `close_case` | CloseCase | Case.close |

Every payload but `open_case`'s names its case by `case_id` (removed before
the schema sees it)."""
from einspection.contract import load_command
from einspection.errors import Conflict, InvalidCommand

from . import schemas
from .cases import Case, case_id_for

COMMANDS = {
    "issue_citation": (schemas.IssueCitation, "issue_citation"),
    "withdraw_citation": (schemas.WithdrawCitation, "withdraw_citation"),
    "decide_penalty": (schemas.DecidePenalty, "decide_penalty"),
    "record_payment": (schemas.RecordPayment, "record_payment"),
    "abate_citation": (schemas.AbateCitation, "abate_citation"),
    "close_case": (schemas.CloseCase, "close"),
}
NAMES = ("open_case",) + tuple(COMMANDS)


def case_of(name, payload):
    """The id of the case a command is about."""
    if name == "open_case":
        inspection_id = payload.get("inspection_id") if isinstance(payload, dict) else None
        if not isinstance(inspection_id, str) or not inspection_id:
            raise InvalidCommand({"inspection_id": ["required"]})
        return case_id_for(inspection_id)
    case_id = payload.get("case_id") if isinstance(payload, dict) else None
    if not isinstance(case_id, str) or not case_id:
        raise InvalidCommand({"case_id": ["required: the case this command is about"]})
    return case_id


def run(case, name, payload, acting, *, now, classes, today=None):
    """Run command `name` on `case` (None: no such case yet); returns the case,
    whose `pending` holds what it recorded (nothing for a repeat)."""
    if name == "open_case":
        command = load_command(schemas.OpenCase, payload)
        if case is not None and case.state is not None:
            if (case.enterprise_id, case.opened["inspection_id"]) != (
                    command["enterprise_id"], command["inspection_id"]):
                raise Conflict("case %s of inspection %s is opened already"
                               % (case.id, case.opened["inspection_id"]), {"state": case.state})
            return case
        return Case.open(command, acting, now=now)
    if name not in COMMANDS:
        raise InvalidCommand({"command": ["one of: %s" % ", ".join(NAMES)]})
    if case is None or case.state is None:
        raise InvalidCommand({"case_id": ["no case %s" % payload.get("case_id")]})
    schema, method = COMMANDS[name]
    command = load_command(schema, {k: v for k, v in payload.items() if k != "case_id"})
    if name == "issue_citation":
        case.issue_citation(command, acting, classes, now=now)
    elif name == "record_payment":
        case.record_payment(command, acting, now=now, today=today)
    else:
        getattr(case, method)(command, acting, now=now)
    return case
