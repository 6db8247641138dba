"""The register of enterprises, the inspections logged against them and the
safety actions they record.

Why here: the checklist service already owns the enterprise-side master data
(positions and their QR codes, checklists), and the register is what those
hang from. Other services learn of enterprises from EnterpriseRegistered."""
import uuid
from datetime import timedelta

from einspection import auth, days
from einspection.contract import new_event, parse_instant
from einspection.errors import Forbidden, InvalidCommand

from .checklists import PUBLISHED, applies_to, no_usable_checklist

CLOCK_SKEW = timedelta(minutes=5)


def enterprise_stream(enterprise_id):
    return "enterprise-" + enterprise_id


def inspection_stream(inspection_id):
    return "inspection-" + inspection_id


def safety_action_stream(action_id):
    return "safety-action-" + action_id


def default_account_prefix(credit_code):
    """An enterprise registered without an account prefix (or before there
    were any) has its credit code: unique in the register, as a prefix must be."""
    return credit_code.lower()


def register_enterprise(command, *, actor, now, correlation_id=""):
    enterprise_id = str(uuid.uuid4())
    credit_code = command["credit_code"].upper()
    data = dict(command, enterprise_id=enterprise_id, credit_code=credit_code,
                account_prefix=(command.get("account_prefix")
                                or default_account_prefix(credit_code)).lower(),
                registered_at=now)
    return new_event("EnterpriseRegistered", data, actor=actor, correlation_id=correlation_id,
                     time=now)


def hazard_reference_problems(references, position, inspection):
    """{field: [reason]} for each thing a hazard report of enterprise
    `references["enterprise_id"]` names that is not that enterprise's own:
    its position, its source inspection, and the item of that inspection.
    `position` and `inspection` are the named ones as found (or None);
    another enterprise's is answered exactly like a missing one."""
    enterprise_id = references["enterprise_id"]
    problems = {}
    if references["position_id"] and (position is None
                                      or position["enterprise_id"] != enterprise_id):
        problems["position_id"] = ["no such position of this enterprise"]
    if references["source_inspection_id"]:
        if inspection is None or inspection["enterprise_id"] != enterprise_id:
            problems["source_inspection_id"] = ["no such inspection of this enterprise"]
        elif references["source_item_id"] and references["source_item_id"] not in {
                item["item_id"] for item in inspection["items"]}:
            problems["source_item_id"] = ["not an item of inspection %s"
                                          % references["source_inspection_id"]]
    return problems


def _check_results(items, results):
    """{item_id: [reasons]} for every item without exactly one result, every
    result for an unknown item and every failed photo-required item without a photo."""
    by_id = {item["item_id"]: item for item in items}
    errors, seen = {}, set()
    for result in results:
        item_id = result["item_id"]
        item = by_id.get(item_id)
        if item is None:
            errors[item_id] = ["not an item of this checklist version"]
        elif item_id in seen:
            errors[item_id] = ["has more than one result"]
        elif result["result"] == "fail" and item["photo_required"] and not result["photos"]:
            errors[item_id] = ["a photo is required when this item fails"]
        seen.add(item_id)
    for item_id in by_id:
        if item_id not in seen:
            errors[item_id] = ["has no result"]
    return errors


ENFORCEMENT = "enforcement"
# who may be named among an inspection's inspectors, by its kind
INSPECTOR_ROLES = {ENFORCEMENT: auth.AUTHORITY_ROLES, "self": auth.ENTERPRISE_ROLES,
                   "grid": ("grid_officer", "town_officer") + auth.AUTHORITY_ROLES}


def require_may_log(kind, role):
    """An enforcement inspection is the authority's law enforcement: no
    other account may log one."""
    if kind == ENFORCEMENT and role not in auth.AUTHORITY_ROLES:
        raise Forbidden("only the authority's inspectors (an authority inspector or admin) "
                        "may log an enforcement inspection; %s may not" % auth.a_role(role))


def inspector_problem(kind, enterprise_id, account):
    """Why `account` (a row of the register, or None) cannot be named among
    the inspectors of an inspection of `kind` of `enterprise_id`, or None.
    A missing account and one that does not fit read the same."""
    if (account is None or account.disabled or account.role not in INSPECTOR_ROLES[kind]
            or (kind == "self" and account.enterprise_id != enterprise_id)):
        return "no such account that can inspect in an inspection of kind %s" % kind
    return None


def inspectors_of(actor, named):
    """The inspecting accounts: the one logging it first (always among
    them, whatever the request says), then the named, each once."""
    inspectors = [actor]
    for username in named:
        if username.lower() not in {each.lower() for each in inspectors}:
            inspectors.append(username)
    return inspectors


def log_inspection(command, *, enterprise, position, checklist, version, actor, now,
                   correlation_id="", inspectors=None):
    """An inspection done: one result per item of a published checklist
    version that applies to the enterprise, at one of its positions.
    `checklist` is the checklist as it stands (or None), `version` the
    version the inspection used (or None); an enforcement inspection uses
    one of the authority's universal checklists. `inspectors`: the
    accounts that inspected, as checked (default: the actor alone)."""
    if command["completed_at"] > now + CLOCK_SKEW:
        raise InvalidCommand({"completed_at": ["is in the future"]})
    if position is None or position["enterprise_id"] != enterprise["id"]:
        raise InvalidCommand({"position_id": ["no such position in this enterprise"]})
    # one done before the position was retired (a phone offline since) is still logged
    if position.get("retired_at") and command["completed_at"] >= parse_instant(
            position["retired_at"]):
        raise InvalidCommand({"position_id": ["position %s was retired at %s"
                                              % (position["id"], position["retired_at"])]})
    if checklist is None or not applies_to(checklist, enterprise):
        raise InvalidCommand({"checklist_id": [no_usable_checklist(command["checklist_id"])]})
    if command["kind"] == ENFORCEMENT and checklist["scope"] != "universal":
        raise InvalidCommand({"checklist_id": ["an enforcement inspection uses one of the "
                                               "authority's universal checklists"]})
    if version is None or version["status"] != PUBLISHED:
        raise InvalidCommand({"checklist_version": ["is not a published version of checklist "
                                                    "%s" % command["checklist_id"]]})
    checklist = version
    items = checklist["items"]
    errors = _check_results(items, command["results"])
    if errors:
        raise InvalidCommand({"results": errors})
    results = {r["item_id"]: r for r in command["results"]}
    counts = {outcome: sum(1 for r in results.values() if r["result"] == outcome)
              for outcome in ("pass", "fail", "na")}
    failed = [dict({key: item[key] for key in ("item_id", "prompt", "category", "legal_basis",
                                               "major")},
                   note=results[item["item_id"]]["note"],
                   photos=results[item["item_id"]]["photos"])
              for item in items if results[item["item_id"]]["result"] == "fail"]
    data = {key: command[key] for key in ("enterprise_id", "position_id", "checklist_id",
                                          "checklist_version", "kind", "started_at",
                                          "completed_at", "inspector")}
    data.update(campaign_id=command.get("campaign_id"),
                inspectors=inspectors if inspectors is not None else [actor])
    data.update(inspection_id=str(uuid.uuid4()), items_passed=counts["pass"],
                items_failed=counts["fail"], items_not_applicable=counts["na"],
                failed_items=failed,
                results=[results[item["item_id"]] for item in items])
    return new_event("InspectionLogged", data, actor=actor, correlation_id=correlation_id,
                     time=now)


def record_safety_action(enterprise_id, command, *, actor, now, correlation_id=""):
    # held_on is a day of the deployment: at 00:30 in Shanghai it is already
    # the day that UTC has not reached
    if command["held_on"] > days.local_day(now + CLOCK_SKEW, days.deployment_zone()):
        raise InvalidCommand({"held_on": ["is in the future"]})
    data = dict(command, action_id=str(uuid.uuid4()), enterprise_id=enterprise_id)
    return new_event("SafetyActionRecorded", data, actor=actor, correlation_id=correlation_id,
                     time=now)
