"""What the API answers, as marshmallow schemas: only for the OpenAPI
document (services/gateway/openapi.py). The services build their answers as
plain dicts (their `*_view` functions); these describe them field by field,
and the schemathesis run and tests/test_openapi.py check real answers
against them. Unknown fields are not allowed (additionalProperties: false),
so a field a service adds without documenting it fails those checks."""
from marshmallow import INCLUDE, Schema, fields, validate

from einspection import auth, paging
from einspection.contract import (AUDIENCES, CHECKLIST_SCOPES, HAZARD_SOURCES, HAZARD_TYPES,
                                  INSPECTION_KINDS, ITEM_RESULTS, LANGUAGES, LEVELS,
                                  SAFETY_ACTION_KINDS, SCHEDULE_FREQUENCIES)
from einspection.money import CURRENCIES
from services.enforcement.campaigns import STATES as CAMPAIGN_STATES
from services.enforcement.cases import OUTCOMES as CASE_OUTCOMES
from services.enforcement.cases import STATES as CASE_STATES
from services.enforcement.statistics import GROUPINGS as ENFORCEMENT_GROUPINGS
from services.hazard.domain import STATES as HAZARD_STATES
from services.notify.schemas import DELIVERY_STATES, NOTICE_KINDS

from .statistics import ENFORCEMENT_AMOUNTS, ENFORCEMENT_COUNTS


def _text(**kwargs):
    return fields.String(required=True, **kwargs)


def _maybe_text(**kwargs):
    return fields.String(required=True, allow_none=True, **kwargs)


def _instant(nullable=False):
    """An instant as the API writes it: ISO 8601, UTC, 'Z'."""
    return fields.DateTime(required=True, allow_none=nullable)


def _day(nullable=False):
    return fields.Date(required=True, allow_none=nullable)


def _count(**kwargs):
    return fields.Integer(required=True, validate=validate.Range(min=0), **kwargs)


def _decimal_text(description):
    """Decimals travel as text so every reader gets them exact."""
    return fields.String(required=True, metadata={"description": description,
                                                  "example": "12.50"})


def _rate(description):
    """A ratio of two counts, 4 places, as text; null when nothing to divide by."""
    return fields.String(required=True, allow_none=True,
                         metadata={"description": description + " (null when 0 / 0)",
                                   "example": "0.8571"})


def _change(**kwargs):
    return fields.Integer(required=True, **kwargs)


def _one_of(choices, nullable=False, **kwargs):
    return fields.String(required=True, allow_none=nullable, validate=validate.OneOf(choices),
                         **kwargs)


def _list(item, **kwargs):
    return fields.List(item, required=True, **kwargs)


def _page_of(schema, name, sort=True, **extra):
    """The one list envelope (einspection.paging) around `schema` items."""
    declared = dict(
        items=_list(fields.Nested(schema)),
        page=fields.Integer(required=True, validate=validate.Range(min=1)),
        size=fields.Integer(required=True, validate=validate.Range(min=1, max=paging.MAX_SIZE)),
        total=_count(), pages=_count(), **extra)
    if sort:
        declared["sort"] = _text()
    return Schema.from_dict(declared, name=name)


# --- errors ---------------------------------------------------------------------------

class ErrorDetail(Schema):
    status = fields.Integer(required=True, metadata={"example": 400})
    message = _text(metadata={"example": "invalid request"})
    fields_ = fields.Dict(data_key="fields", metadata={
        "description": "what is wrong with each input: the field (or item, or category) and "
                       "its reasons; nested for nested input",
        "example": {"found_at": ["is in the future"]}})
    current = fields.Dict(metadata={"description": "on a 409: the state the request did not fit",
                                    "example": {"state": "closed"}})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --- health -------------------------------------------------------------------------

class DatabaseHealth(Schema):
    status = _one_of(("ok", "unavailable"))
    ms = fields.Float(metadata={"description": "how long its `SELECT 1` took"})
    error = fields.String(metadata={"description": "when unavailable: the driver's words"})


class SubscriptionsBrokerHealth(Schema):
    status = _one_of(("ok", "unavailable"), metadata={
        "description": "whether every event subscription of the process consumes from "
                       "the broker (the RPC that asked came over it)"})
    subscriptions = fields.Dict(keys=fields.String(), values=_one_of(
        ("connected", "disconnected")), metadata={"description": "by queue"})


class OutboxHealth(Schema):
    status = _one_of(("ok", "stalled", "stopped", "unknown"), metadata={
        "description": "stalled: its oldest unpublished event is older than "
                       "OUTBOX_STALLED_SECONDS (60); stopped: the relay does not run; "
                       "unknown: the database did not answer"})
    relay = _one_of(("running", "failing", "stopped", "none"), metadata={
        "description": "the outbox relay of the process that answered; failing: its last "
                       "attempt to publish failed (`error`)"})
    pending = fields.Integer(metadata={"description": "events not yet confirmed by the broker"})
    oldest_seconds = fields.Float(metadata={
        "description": "age of the oldest of them, when there is one"})
    error = fields.String()


class Dependencies(Schema):
    database = fields.Nested(DatabaseHealth, required=True)
    broker = fields.Nested(SubscriptionsBrokerHealth, required=True)
    outbox = fields.Nested(OutboxHealth, required=True)


class ServiceHealth(Schema):
    status = _one_of(("ok", "degraded", "unavailable"), metadata={
        "description": "degraded: a dependency is down or stalled; unavailable: the "
                       "service did not answer"})
    service = fields.String()
    outbox_pending = fields.Integer(allow_none=True, metadata={
        "description": "events recorded but not yet confirmed by the broker (= "
                       "dependencies.outbox.pending)"})
    dependencies = fields.Nested(Dependencies, metadata={
        "description": "what the service needs, each with its status (absent when it did "
                       "not answer)"})
    reason = fields.String(metadata={
        "description": "when not ok, why, each part separated by \"; \": its database is "
                       "away, its subscriptions are not connected, its outbox relay is "
                       "stalled, it did not answer within the check's deadline, it is not "
                       "running, or the broker is away"})


class BrokerHealth(Schema):
    status = _one_of(("ok", "unavailable"))


class Health(Schema):
    status = _one_of(("ok", "degraded"))
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceHealth),
                           required=True)
    broker = fields.Nested(BrokerHealth, required=True)
    down = fields.List(fields.String(), metadata={
        "description": "when degraded: what is down, e.g. \"the hazard service's database "
                       "is unavailable\""})


class Live(Schema):
    status = _one_of(("live",))


class Ready(Schema):
    status = _one_of(("ready", "unready"))
    down = fields.List(fields.String(), metadata={
        "description": "when unready: what this gateway needs and cannot reach (the broker)"})
    degraded = fields.List(fields.String(), metadata={
        "description": "when ready: backend services that are down (their routes answer "
                       "503; /health says more)"})


# --- accounts -------------------------------------------------------------------------

class Principal(Schema):
    """An account as its token carries it."""
    account_id = _text()
    username = _text()
    role = _one_of(auth.ROLES)
    enterprise_id = _maybe_text(metadata={"description": "enterprise roles"})
    grid = _maybe_text(metadata={"description": "grid officers"})
    town = _maybe_text(metadata={"description": "town officers"})
    grants = _list(fields.String(), metadata={
        "description": "integrators: the enterprise ids they may read, or *"})
    must_change_password = fields.Boolean(required=True, metadata={
        "description": "logged in with a temporary password: the token may only change it "
                       "(POST /api/v1/auth/password) and read /api/v1/auth/me"})


class Token(Schema):
    token = _text(metadata={"description": "send it as Authorization: Bearer <token>"})
    token_type = _one_of(("Bearer",))
    expires_at = _instant()
    account = fields.Nested(Principal, required=True)


class Account(Schema):
    account_id = _text()
    username = _text()
    role = _one_of(auth.ROLES)
    enterprise_id = _maybe_text()
    grid = _maybe_text()
    town = _maybe_text()
    grants = _list(fields.String())
    display_name = _text()
    disabled = fields.Boolean(required=True)
    must_change_password = fields.Boolean(required=True, metadata={
        "description": "a temporary password is set: changed at the next login"})
    created_at = _instant()


AccountPage = _page_of(Account, "AccountPage")


class PasswordReset(Schema):
    account = fields.Nested(Account, required=True)
    temporary_password = _text(metadata={
        "description": "one-time: give it to the account's owner, who must change it at the "
                       "next login; it is in this answer only"})


# --- the register ---------------------------------------------------------------------

class Enterprise(Schema):
    id = _text()
    credit_code = _text(metadata={"description": "unified social credit code, 18 characters"})
    name = _text()
    industry = _text()
    town = _text()
    grid = _text()
    address = _text()
    latitude = fields.Float(required=True, allow_none=True)
    longitude = fields.Float(required=True, allow_none=True)
    employees = fields.Integer(required=True, allow_none=True)
    registered_at = _instant()
    account_prefix = _text(metadata={
        "description": "its accounts' usernames are <account_prefix>.<name>"})


EnterprisePage = _page_of(Enterprise, "EnterprisePage")


# --- checklists -----------------------------------------------------------------------

class ChecklistItem(Schema):
    item_id = _text(metadata={"description": "kept across versions"})
    prompt = _text()
    category = _text()
    legal_basis = _text()
    weight = _decimal_text("points, 2 places")
    major = fields.Boolean(required=True, metadata={"description": "a failure is a major hazard"})
    photo_required = fields.Boolean(required=True, metadata={
        "description": "a failure needs a photo"})


class ChecklistVersion(Schema):
    checklist_id = _text()
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    status = _one_of(("draft", "published"))
    title = _text()
    items = _list(fields.Nested(ChecklistItem))
    saved_at = _instant()
    published_at = _instant(nullable=True)
    scope = _one_of(CHECKLIST_SCOPES)
    enterprise_id = _maybe_text()
    industry = _maybe_text()
    required_frequency = _one_of(SCHEDULE_FREQUENCIES, nullable=True, metadata={
        "description": "this version's: a universal checklist's least schedule frequency "
                       "for every enterprise it applies to; null: none"})


class ChecklistSummary(Schema):
    id = _text()
    scope = _one_of(CHECKLIST_SCOPES)
    enterprise_id = _maybe_text(metadata={"description": "an enterprise checklist's owner"})
    industry = _maybe_text(metadata={"description": "a universal checklist's industry; "
                                                    "null: every industry"})
    title = _text()
    latest_version = fields.Integer(required=True)
    published_version = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the latest published version, or null"})
    updated_at = _instant()
    required_frequency = _one_of(SCHEDULE_FREQUENCIES, nullable=True, metadata={
        "description": "the published version's (what is enforced): every enterprise the "
                       "universal checklist applies to must schedule it at least this often "
                       "(daily and shift > weekly > monthly); null: no requirement (always, "
                       "for an enterprise checklist)"})


class VersionStatus(Schema):
    version = fields.Integer(required=True)
    status = _one_of(("draft", "published"))
    published_at = _instant(nullable=True)


class Checklist(ChecklistSummary):
    versions = _list(fields.Nested(VersionStatus))
    latest = fields.Nested(ChecklistVersion, required=True, metadata={
        "description": "the latest version, with its items"})


ChecklistPage = _page_of(ChecklistSummary, "ChecklistPage")


# --- positions and scans --------------------------------------------------------------

class Position(Schema):
    id = _text()
    enterprise_id = _text()
    name = _text()
    latitude = fields.Float(required=True, allow_none=True)
    longitude = fields.Float(required=True, allow_none=True)
    checklist_ids = _list(fields.String())
    code_issued_at = _instant(nullable=True)
    retired = fields.Boolean(required=True, metadata={
        "description": "no longer in use: its code answers 410, no schedule can be made at "
                       "it; listed only with include_retired=true"})
    retired_at = _instant(nullable=True)
    retirement_reason = _maybe_text()


PositionPage = _page_of(Position, "PositionPage")


class StoredEvent(Schema):
    """One event of a stream as a CloudEvents envelope."""
    specversion = _text()
    id = _text()
    source = _text()
    type = _text()
    time = _instant()
    subject = _text()
    datacontenttype = _text()
    actor = _text(metadata={"description": "who acted: the authenticated account's username, "
                                           "or the service that acted by itself"})
    correlationid = _text()
    causationid = _text()
    streamid = _text()
    streamversion = fields.Integer(required=True)
    data = fields.Dict(required=True, metadata={"description": "the event's data, per its type"})


class PositionChange(StoredEvent):
    """One change of the position: registered, code issued (without the
    token), updated (the changed fields only), retired. Scans are not
    changes and are left out."""
    type = _text(metadata={"example": "einspection.position.updated.v1"})


class PositionHistory(Schema):
    items = _list(fields.Nested(PositionChange))


class ScannedEnterprise(Schema):
    id = _text()
    name = _text()
    industry = _text()


class ScanResult(Schema):
    position = fields.Nested(Position, required=True)
    enterprise = fields.Nested(ScannedEnterprise, required=True)
    scanned_by = _text()
    scanned_at = _instant()
    checklists = _list(fields.Nested(ChecklistVersion), metadata={
        "description": "the latest published version of each checklist that applies here"})


# --- inspections ----------------------------------------------------------------------

class InspectionSummary(Schema):
    id = _text()
    enterprise_id = _text()
    position_id = _text()
    checklist_id = _text()
    checklist_version = fields.Integer(required=True)
    kind = _one_of(INSPECTION_KINDS)
    started_at = _instant()
    completed_at = _instant()
    items_passed = _count()
    items_failed = _count()
    items_not_applicable = _count()
    inspector = _text(metadata={"description": "who inspected, as named (data)"})
    campaign_id = _maybe_text(metadata={"description": "the enforcement campaign, if any"})
    inspectors = _list(fields.String(), metadata={
        "description": "the inspecting accounts (usernames): the one that logged it first"})


class InspectedItem(ChecklistItem):
    result = _one_of(ITEM_RESULTS)
    note = _text()
    photos = _list(fields.String())


class Inspection(InspectionSummary):
    items = _list(fields.Nested(InspectedItem), metadata={
        "description": "each item of the version used, as it was then, with its result"})


InspectionPage = _page_of(InspectionSummary, "InspectionPage")


# --- safety actions -------------------------------------------------------------------

class SafetyAction(Schema):
    id = _text()
    enterprise_id = _text()
    kind = _one_of(SAFETY_ACTION_KINDS)
    topic = _text()
    held_on = _day()
    people = _count()
    notes = _text()
    recorded_by = _text(metadata={"description": "the name written in the record"})
    recorded_at = _instant()
    recorded_by_account = _text(metadata={"description": "the account that recorded it"})


SafetyActionPage = _page_of(SafetyAction, "SafetyActionPage")


class Period(Schema):
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)


class InspectionCounts(Schema):
    inspections = _count()
    enterprises_inspected = _count(metadata={"description": "distinct enterprises (of the "
                                                            "group: not a sum of its parts)"})
    with_findings = _count(metadata={"description": "inspections with a failed item"})
    items_checked = _count(metadata={"description": "passed or failed (not applicable left "
                                                    "out)"})
    items_failed = _count()
    findings_rate = _rate("with_findings / inspections")
    failed_item_rate = _rate("items_failed / items_checked")


class InspectionCountChanges(Schema):
    """This period's counts less the compared period's."""
    inspections = _change()
    enterprises_inspected = _change()
    with_findings = _change()
    items_checked = _change()
    items_failed = _change()


class InspectionCountsCompared(InspectionCounts):
    previous = fields.Nested(InspectionCounts, metadata={
        "description": "with compare: the compared period's figures"})
    change = fields.Nested(InspectionCountChanges, metadata={"description": "with compare"})


class InspectionCountsGroup(InspectionCountsCompared):
    key = _text(metadata={"description": "the kind, month (YYYY-MM in the deployment's time "
                                         "zone), enterprise id, checklist id, town, grid or "
                                         "industry of the group"})


class InspectionStatistics(Schema):
    group_by = _one_of(("kind", "month", "enterprise", "checklist", "town", "grid", "industry"))
    groups = _list(fields.Nested(InspectionCountsGroup))
    totals = fields.Nested(InspectionCountsCompared, required=True)
    from_ = fields.String(data_key="from", allow_none=True)
    to = fields.String(allow_none=True)
    compare = fields.String(validate=validate.OneOf(("previous_period", "previous_year")))
    previous_period = fields.Nested(Period, metadata={"description": "with compare: its period"})


class TrainingFigures(Schema):
    sessions = _count()
    people_trained = _count()
    enterprises_covered = _count()
    enterprises_registered = _count()
    coverage = _decimal_text("covered / registered, 4 places")


class TrainingChanges(Schema):
    sessions = _change()
    people_trained = _change()
    enterprises_covered = _change()
    enterprises_registered = _change()


class TrainingStatistics(TrainingFigures):
    from_ = fields.Date(required=True, allow_none=True, data_key="from")
    to = _day(nullable=True)
    compare = fields.String(validate=validate.OneOf(("previous_period", "previous_year")))
    previous = fields.Nested(TrainingFigures, metadata={
        "description": "with compare: the compared period's figures"})
    change = fields.Nested(TrainingChanges, metadata={"description": "with compare"})
    previous_period = fields.Nested(Period, metadata={"description": "with compare: its period"})


# --- hazards --------------------------------------------------------------------------

class HazardSource(Schema):
    kind = _one_of(("report", "inspection"))
    inspection_id = fields.String()
    item_id = fields.String()
    origin = _one_of(HAZARD_SOURCES, metadata={
        "description": "HazardReported's `source`: a free report, or the kind of inspection "
                       "that found it (what the standing book's `source` filters)"})


def _account(what):
    return _text(metadata={"description": "the account (username) that %s: the actor of its "
                                          "event" % what})


def _rule_version():
    return _maybe_text(metadata={"description": "the verification rule's version that allowed "
                                                "it (null on records from before the rule)"})


class Plan(Schema):
    goal = _text()
    measures = _text()
    funds = _decimal_text("2 places")
    responsible_person = _text()
    deadline = _instant()
    interim_measures = _text()
    recorded_by = _account("recorded the plan")


class Rectification(Schema):
    measures = _text()
    done_at = _instant()
    evidence = _list(fields.String())
    cost = fields.String(required=True, allow_none=True, metadata={
        "description": "decimal text, 2 places"})
    rectified_by = _maybe_text(metadata={"description": "who did the work, as the submitter "
                                                        "named them (data)"})
    submitted_by = _account("submitted the rectification")


class Verification(Schema):
    verified_at = _instant()
    verifier = _text(metadata={"description": "who checked, as named in the verification "
                                              "(data; default the account)"})
    comment = _text()
    verified_by = _account("verified it")
    rule_version = _rule_version()


class Return(Schema):
    returned_at = _instant()
    reason = _text()
    verifier = _text(metadata={"description": "who checked, as named (data)"})
    returned_by = _account("returned it")
    rule_version = _rule_version()


class Listing(Schema):
    """Listed supervision (挂牌督办): by when, followed by which office; its
    sign-off (delisting) once the rectification is verified."""
    listed_at = _instant()
    deadline = _instant()
    office = _text()
    reason = _text()
    listed_by = _account("listed it")
    reminded_days_before = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the nearest reminder sent so far (days before the deadline's day; "
                       "0: on the day), none yet: null"})
    delisted_at = _instant(nullable=True)
    note = _maybe_text()
    delisted_by = _maybe_text(metadata={"description": "the account that signed it off"})


class AccountRef(Schema):
    account_id = _text()
    username = _text()


class Assignment(Schema):
    """To whom the hazard is given to rectify, by when; the latest
    HazardAssigned (the history holds the earlier ones)."""
    assignee = fields.Nested(AccountRef, required=True)
    due = _instant()
    note = _text()
    assigned_by = _account("assigned it")
    assigned_at = _instant()
    reminded_days_before = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the assignee's nearest reminder so far (days before the due's day; "
                       "0: on the day), none yet: null"})


class Hazard(Schema):
    id = _text()
    enterprise_id = _text()
    status = _one_of(HAZARD_STATES)
    level = _one_of(LEVELS)
    hazard_type = _one_of(HAZARD_TYPES)
    category = _text()
    description = _text()
    position_id = _maybe_text()
    source = fields.Nested(HazardSource, required=True)
    evidence = _list(fields.String())
    found_at = _instant()
    reported_at = _instant()
    rectification_deadline = _instant()
    reporter = _text(metadata={"description": "who found it, as the report named them (data)"})
    reported_by = _account("reported it (for a hazard from an inspection: that logged the "
                           "inspection)")
    version = fields.Integer(required=True, metadata={"description": "of the hazard's stream"})
    overdue = fields.Boolean(required=True)
    overdue_at = _instant(nullable=True)
    plan = fields.Nested(Plan, required=True, allow_none=True)
    rectification = fields.Nested(Rectification, required=True, allow_none=True)
    verification = fields.Nested(Verification, required=True, allow_none=True)
    returns = _list(fields.Nested(Return))
    listed = fields.Boolean(required=True, metadata={
        "description": "listed for supervision (挂牌督办) now"})
    listing = fields.Nested(Listing, required=True, allow_none=True, metadata={
        "description": "the latest listing, delisted or not; null if never listed"})
    assignment = fields.Nested(Assignment, required=True, allow_none=True, metadata={
        "description": "null if never assigned"})
    escalated_at = _instant(nullable=True)


class LedgerRow(Schema):
    """A hazard as a row of the standing book."""
    id = _text()
    enterprise_id = _text()
    position_id = _maybe_text()
    hazard_type = _one_of(HAZARD_TYPES)
    level = _one_of(LEVELS)
    category = _text()
    description = _text()
    source_inspection_id = _maybe_text()
    source_item_id = _maybe_text()
    reporter = _text(metadata={"description": "who found it, as named (data)"})
    reported_by = _account("reported it")
    found_at = _instant()
    reported_at = _instant()
    rectification_deadline = _instant()
    status = _one_of(HAZARD_STATES)
    overdue = fields.Boolean(required=True)
    overdue_at = _instant(nullable=True)
    has_plan = fields.Boolean(required=True)
    rectified_at = _instant(nullable=True)
    rectification_cost = _maybe_text()
    closed_at = _instant(nullable=True)
    closed_by = _maybe_text(metadata={"description": "the account that verified (closed) it"})
    returned_count = _count()
    source = _one_of(HAZARD_SOURCES)
    listed = fields.Boolean(required=True)
    listed_at = _instant(nullable=True)
    listing_deadline = _instant(nullable=True)
    listing_office = _maybe_text()
    delisted_at = _instant(nullable=True)
    assignee = _maybe_text(metadata={"description": "the username it is assigned to"})
    assignee_account_id = _maybe_text()
    assigned_at = _instant(nullable=True)
    assignment_due = _instant(nullable=True)
    escalated_at = _instant(nullable=True)


LedgerPage = _page_of(LedgerRow, "LedgerPage")


class WorkList(Schema):
    total = _count(metadata={"description": "how many there are (at most 100 are listed)"})
    items = _list(fields.Nested(LedgerRow))


class HazardCounts(Schema):
    total = _count()
    open = _count(metadata={"description": "reported or returned"})
    rectification_submitted = _count()
    closed = _count(metadata={"description": "rectified and verified"})
    closed_on_time = _count(metadata={"description": "closed, rectified by its deadline"})
    major = _count()
    overdue = _count(metadata={"description": "ever flagged overdue"})
    overdue_open = _count(metadata={"description": "flagged overdue and still open"})
    rectification_rate = _rate("closed / total")
    on_time_rate = _rate("closed_on_time / closed")


class HazardCountChanges(Schema):
    """This period's counts less the compared period's."""
    total = _change()
    open = _change()
    rectification_submitted = _change()
    closed = _change()
    closed_on_time = _change()
    major = _change()
    overdue = _change()
    overdue_open = _change()


class HazardCountsCompared(HazardCounts):
    previous = fields.Nested(HazardCounts, metadata={
        "description": "with compare: the compared period's figures"})
    change = fields.Nested(HazardCountChanges, metadata={"description": "with compare"})


class HazardCountsGroup(HazardCountsCompared):
    key = _text(metadata={"description": "the level, category, enterprise id, source, status, "
                                         "day (YYYY-MM-DD) or month (YYYY-MM) of the "
                                         "deployment's time zone, town, grid or industry of "
                                         "the group"})


class HazardStatistics(Schema):
    group_by = _one_of(("level", "day", "month", "category", "enterprise", "source", "status",
                        "town", "grid", "industry"))
    groups = _list(fields.Nested(HazardCountsGroup))
    totals = fields.Nested(HazardCountsCompared, required=True)
    from_ = fields.String(data_key="from", metadata={"description": "with compare"})
    to = fields.String(metadata={"description": "with compare"})
    compare = fields.String(validate=validate.OneOf(("previous_period", "previous_year")))
    previous_period = fields.Nested(Period, metadata={"description": "with compare: its period"})


class HistoryEntry(StoredEvent):
    """One event of the hazard's stream as a CloudEvents envelope, with the
    status it led to."""
    type = _text(metadata={"example": "einspection.hazard.reported.v1"})
    actor = _text(metadata={"description": "who acted: the authenticated account's username, "
                                           "or the service that acted by itself "
                                           "(hazard-service: the overdue check)"})
    status = _one_of(HAZARD_STATES)


class History(Schema):
    items = _list(fields.Nested(HistoryEntry))


class EvidenceStored(Schema):
    ref = _text(metadata={"example": "sha256:9b0f..."})
    content_type = _one_of(("image/jpeg", "image/png", "application/pdf"))
    size = _count()
    enterprise_id = _text(metadata={"description": "the enterprise that owns the file"})


# --- scoring --------------------------------------------------------------------------

class IndicatorText(Schema):
    title = _text()
    to_gain = _text()
    why = fields.String(metadata={"description": "how it is measured (rule set 2026.4 on)"})


class DeductionText(Schema):
    why = _text()


class Deduction(Schema):
    key = _text(metadata={"example": "abatement_overdue"})
    count = _count(metadata={"description": "the findings counted in the window"})
    per = _decimal_text("points per finding, 2 places")
    cap = _decimal_text("the most taken, 2 places")
    points = _decimal_text("the points taken off, as a negative number, 2 places")
    rule_version = _text(metadata={"example": "2026.3"})
    detail = fields.Dict(required=True, metadata={"description": "what was counted"})
    why = _text()
    i18n = fields.Dict(keys=fields.String(), values=fields.Nested(DeductionText),
                       required=True, metadata={"description": "why, by language"})


class Indicator(Schema):
    key = _text()
    title = _text()
    value = _decimal_text("the measure, 0 to 1, 4 places")
    points = _decimal_text("2 places")
    max_points = _decimal_text("2 places")
    missing_points = _decimal_text("2 places")
    nothing_to_measure = fields.Boolean(required=True)
    detail = fields.Dict(required=True, metadata={"description": "what was counted"})
    to_gain = _text(metadata={"description": "what would gain the missing points; "
                                             "empty when none is missing, or when the "
                                             "indicator had nothing to judge"})
    i18n = fields.Dict(keys=fields.String(), values=fields.Nested(IndicatorText),
                       required=True, metadata={"description": "title and to_gain by language"})
    deductions = fields.List(fields.Nested(Deduction), metadata={
        "description": "points taken off what the indicator measured, for findings "
                       "elsewhere (rule set 2026.3 on: citations overdue for abatement); "
                       "absent under earlier rule sets"})
    why = fields.String(metadata={
        "description": "how the indicator is measured, where the rule set says (2026.4 on: "
                       "self-inspection by scheduled rounds done of due, else the weekly "
                       "rhythm); absent under earlier rule sets"})


class Score(Schema):
    enterprise_id = _text()
    rule_version = _text()
    as_of = _day()
    window_start = _day()
    window_end = _day()
    points = _decimal_text("out of 10, 2 places")
    grade = _text(metadata={"example": "C"})
    indicators = _list(fields.Nested(Indicator))


class RankedEnterprise(Schema):
    rank = fields.Integer(required=True, validate=validate.Range(min=1))
    enterprise_id = _text()
    name = _maybe_text(metadata={"description": "null while its registration has not reached "
                                               "scoring"})
    town = _maybe_text()
    industry = _maybe_text()
    points = _decimal_text("2 places")
    grade = _text()
    as_of = _day()


class RankingGroup(Schema):
    """`town` or `industry` (as grouped by) names the group; null: not yet known."""
    town = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    enterprises = _count()
    items = _list(fields.Nested(RankedEnterprise))


class Ranking(Schema):
    by = _one_of(("overall", "town", "industry"))
    order = _one_of(("best", "worst"))
    limit = fields.Integer(required=True)
    items = fields.List(fields.Nested(RankedEnterprise), metadata={"description": "by=overall"})
    groups = fields.List(fields.Nested(RankingGroup), metadata={
        "description": "by=town or by=industry"})


class Excellent(Schema):
    grade = _text(metadata={"description": "the rule set's top grade"})
    count = _count()
    items = _list(fields.Nested(RankedEnterprise))


def _grade_counts():
    return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                       metadata={"example": {"A": 3, "B": 0, "C": 1, "D": 0, "E": 0}})


class DistributionGroup(Schema):
    town = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    counts = _grade_counts()
    total = _count()


class Distribution(Schema):
    by = _one_of(("overall", "town", "industry"))
    grades = _list(fields.String())
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "by=overall"})
    total = fields.Integer(metadata={"description": "by=overall"})
    groups = fields.List(fields.Nested(DistributionGroup), metadata={
        "description": "by=town or by=industry"})


# --- notices, publications, recipients, webhooks --------------------------------------

class Delivery(Schema):
    delivery_id = _text()
    channel = _one_of(("email", "webhook"))
    target = _text()
    event_type = _text()
    event_id = _maybe_text()
    notice_id = _maybe_text()
    status = _one_of(DELIVERY_STATES)
    attempts = _count()
    last_error = _text()
    scheduled_at = _instant()
    next_attempt_at = _instant(nullable=True)
    finished_at = _instant(nullable=True)


class Notice(Schema):
    notice_id = _text()
    recipient = _text()
    enterprise_id = _text(metadata={"description": "the enterprise it is about"})
    kind = _one_of(NOTICE_KINDS)
    language = _one_of(LANGUAGES)
    title = _text()
    body = _text()
    cause_event_id = _text()
    publication_id = _maybe_text()
    issued_at = _instant()
    read_at = _instant(nullable=True)
    read_by = _maybe_text()


class NoticeWithDeliveries(Notice):
    deliveries = _list(fields.Nested(Delivery))


Inbox = _page_of(Notice, "Inbox", recipient=_text(), unread=_count())


class UnreadInbox(Schema):
    recipient = _text()
    unread = _count()
    items = _list(fields.Nested(Notice), metadata={"description": "the newest unread (20)"})


class UnreadNotices(Schema):
    unread = _count(metadata={"description": "over the inboxes below"})
    inboxes = _list(fields.Nested(UnreadInbox))


class WorkAccount(Schema):
    username = _text()
    role = _one_of(auth.ROLES)


class MyWork(Schema):
    """What waits for the account asking, within its scope."""
    account = fields.Nested(WorkAccount, required=True)
    assigned = fields.Nested(WorkList, required=True, metadata={
        "description": "hazards assigned to it, not closed, soonest due first"})
    awaiting_verification = fields.Nested(WorkList, required=True, metadata={
        "description": "submitted rectifications it may verify (the verification rule for "
                       "its role, never one it planned or rectified), oldest first"})
    unread_notices = fields.Nested(UnreadNotices, required=True)
    rounds_due_today = _list(fields.Nested(lambda: Round()), metadata={
        "description": "today's scheduled rounds still due that are the account's: by "
                       "person, or by its role where the schedule names no person"})


class Shift(Schema):
    name = _text()
    start = _text(metadata={"example": "08:00"})
    end = _text(metadata={"example": "16:00", "description": "at or before start: the next "
                                                             "day"})


class Schedule(Schema):
    id = _text()
    enterprise_id = _text()
    checklist_id = _text()
    position_id = _text()
    frequency = _one_of(SCHEDULE_FREQUENCIES)
    weekdays = _list(fields.Integer(), metadata={"description": "ISO weekdays, 1 = Monday"})
    shifts = _list(fields.Nested(Shift))
    assignee = _maybe_text(metadata={"description": "a username of the enterprise"})
    assignee_role = _one_of(auth.ENTERPRISE_ROLES, nullable=True)
    starts_on = _day()
    ends_on = _day(nullable=True)
    scheduled_by = _text()
    scheduled_at = _instant()


class Requirement(Schema):
    checklist_id = _text()
    title = _text()
    required_frequency = _one_of(SCHEDULE_FREQUENCIES)
    satisfied = fields.Boolean(required=True, metadata={
        "description": "a schedule of the checklist with rounds from today on comes at "
                       "least that often"})
    schedule_ids = _list(fields.String(), metadata={"description": "those schedules"})


class ScheduleList(Schema):
    items = _list(fields.Nested(Schedule))
    requirements = _list(fields.Nested(Requirement), metadata={
        "description": "each universal checklist with a required frequency (published) "
                       "that applies to the enterprise"})


class Round(Schema):
    schedule_id = _text()
    enterprise_id = _text()
    checklist_id = _text()
    position_id = _text()
    round = _text(metadata={"example": "2026-12-03",
                            "description": "the local day, month (2026-12) or day/shift"})
    shift = _maybe_text()
    window_start = _instant()
    window_end = _instant()
    status = _one_of(("due", "done", "missed"), metadata={
        "description": "done: a self-inspection of the checklist at the position completed "
                       "in the window; missed: recorded at the window's end without one; "
                       "due: otherwise (to come, open, or ended and not yet checked)"})
    inspection_id = _maybe_text()
    assignee = _maybe_text()
    assignee_role = _maybe_text()


class RoundList(Schema):
    items = _list(fields.Nested(Round))
    from_ = fields.Date(required=True, data_key="from")
    to = _day()
    time_zone = _text(metadata={"example": "Asia/Shanghai"})


class PublicationSummary(Schema):
    publication_id = _text()
    title = _text()
    body = _text()
    audience = _one_of(AUDIENCES)
    audience_value = _maybe_text()
    published_by = _text()
    published_at = _instant()
    recipient_count = _count()


class PublicationRecipient(Schema):
    enterprise_id = _text()
    name = _maybe_text()
    notice_id = _text()
    read_at = _instant(nullable=True)
    read_by = _maybe_text()


class Publication(PublicationSummary):
    recipients = _list(fields.Nested(PublicationRecipient))
    read_count = _count()
    not_read = _list(fields.String(), metadata={"description": "who has not read it"})


PublicationPage = _page_of(PublicationSummary, "PublicationPage")


class RecipientSettingsView(Schema):
    recipient = _text()
    language = _one_of(LANGUAGES)
    emails = _list(fields.String())
    changed_at = _instant(nullable=True)


class DeliveryCounts(Schema):
    pending = _count()
    delivered = _count()
    failed = _count()


class Webhook(Schema):
    subscription_id = _text()
    url = _text()
    owner = _text(metadata={"description": "the account that subscribed"})
    event_types = _list(fields.String())
    description = _text()
    subscribed_at = _instant()
    cancelled_at = _instant(nullable=True)
    # suspended: the account that made it was disabled; disabled: its receiver
    # answered 410 Gone. Either way it schedules and sends nothing.
    status = _one_of(("active", "suspended", "disabled", "cancelled"))
    suspended_at = _instant(nullable=True)
    disabled_at = _instant(nullable=True)
    disabled_reason = _maybe_text(metadata={
        "description": "why it was disabled (the 410 Gone, which delivery, when)"})
    secret_rotated_at = _instant(nullable=True)
    # until when the secret replaced by the last rotation signs too
    previous_secret_until = _instant(nullable=True)
    deliveries = fields.Nested(DeliveryCounts, required=True)


class NewWebhook(Webhook):
    secret = _text(metadata={"description": "signs every delivery (whsec_ + base64 of the "
                                            "key bytes, Standard Webhooks); shown this once"})


WebhookPage = _page_of(Webhook, "WebhookPage")
DeliveryPage = _page_of(Delivery, "DeliveryPage")


# --- enforcement: campaigns and their draws ------------------------------------------------

def _towns(description):
    return fields.Dict(required=True, keys=fields.String(), values=fields.Integer(),
                       metadata={"description": description, "example": {"武康街道": 9}})


def _actor(description="the account that did it"):
    return _text(metadata={"description": description})


class CampaignConflict(Schema):
    inspector = _text()
    enterprise_id = _text()
    reason = _text()


class StepOf(Schema):
    """One event of an aggregate: what, when, by whom."""
    event = _text()
    at = _instant()
    actor = _actor()


class Commitment(Schema):
    snapshot_digest = _text(metadata={"description": "hex SHA-256 of the canonical JSON of the "
                                                     "snapshot, published before the seed"})
    inspectors = _list(fields.String(), metadata={
        "description": "the pool: the authority's inspector accounts when committed"})
    per_target = fields.Integer(required=True, allow_none=True)
    assignment_digest = _maybe_text(metadata={
        "description": "hex SHA-256 of the pool, the conflicts and per_target"})
    weights_version = _text()
    as_of = _day()
    candidates = _count()
    exclusions = _count()
    committed_at = _instant()
    committed_by = _actor()


class DrawnTarget(Schema):
    enterprise_id = _text()
    town = _text()
    mandatory = fields.Boolean(required=True)
    key = _text(metadata={"description": "the sampling key (Efraimidis–Spirakis), a decimal "
                                         "as text: the largest keys of a town win"})
    grid = _maybe_text()
    name = _maybe_text()


class Drawing(Schema):
    seed = _text()
    seed_source = _text()
    algorithm = _text(metadata={"example": "es-sha256-v1"})
    drawn_at = _instant()
    drawn_by = _actor()
    targets = _list(fields.Nested(DrawnTarget))
    shortfall = _towns("towns with fewer candidates than their quota, and by how many")


class Assignment(Schema):
    enterprise_id = _text()
    inspectors = _list(fields.String())


class Assigning(Schema):
    inspectors = _list(fields.String(), metadata={
        "description": "the pool: the authority's inspector accounts when assigned"})
    per_target = fields.Integer(required=True)
    conflicts = _list(fields.Nested(CampaignConflict))
    assignments = _list(fields.Nested(Assignment))
    assigned_at = _instant()
    assigned_by = _actor()


class CampaignSummary(Schema):
    campaign_id = _text()
    name = _text()
    legal_basis = _text(metadata={"example": "德安监发[2016]5号"})
    period_start = _day()
    period_end = _day()
    targets = fields.Integer(required=True)
    status = _one_of(CAMPAIGN_STATES)
    opened_at = _instant()
    opened_by = _actor()


class Campaign(CampaignSummary):
    quotas = _towns("targets per town")
    quota_basis = _one_of(("given", "proportional"))
    town_counts = _towns("registered enterprises per town when proportional quotas were "
                         "computed (empty when given)")
    mandatory = _list(fields.String())
    min_random_share = _decimal_text("the least share of the plan drawn at random")
    conflicts = _list(fields.Nested(CampaignConflict))
    per_target = fields.Integer(required=True)
    commitment = fields.Nested(Commitment, required=True, allow_none=True)
    draw = fields.Nested(Drawing, required=True, allow_none=True)
    assignment = fields.Nested(Assigning, required=True, allow_none=True)
    history = _list(fields.Nested(StepOf))
    version = fields.Integer(required=True)


CampaignPage = _page_of(CampaignSummary, "CampaignPage")


class _Open(Schema):
    """Shaped by the weight function (services/enforcement/weights.py): the
    keys listed are always there; a newer weights version may add more."""
    class Meta:
        unknown = INCLUDE


class Factor(_Open):
    name = _text()
    value = fields.Raw(required=True, allow_none=True)
    effect = _text()


class Candidate(_Open):
    enterprise_id = _text()
    town = _text()
    weight = fields.Integer(required=True, metadata={"description": "in thousandths"})
    mandatory = fields.Boolean(required=True)
    factors = _list(fields.Nested(Factor))


class Exclusion(_Open):
    enterprise_id = _text()
    town = _text()
    reason = _text()


class Candidates(Schema):
    campaign_id = _text()
    committed = fields.Boolean(required=True, metadata={
        "description": "false: a preview from the facts as they stand now, recorded nowhere"})
    snapshot_digest = _maybe_text()
    as_of = _day()
    weights_version = _maybe_text()
    quotas = _towns("targets per town")
    candidates = _list(fields.Nested(Candidate))
    exclusions = _list(fields.Nested(Exclusion))


class DrawVerification(Schema):
    campaign_id = _text()
    algorithm = _text()
    snapshot_digest = _text()
    seed = _text()
    identical = fields.Boolean(required=True, metadata={
        "description": "the re-run gives the recorded targets (and assignment)"})
    digest_matches = fields.Boolean(required=True)
    committed_before_revealed = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "the digests were published before the seed was fixed"})
    differences = _list(fields.Raw())


# --- enforcement: cases -----------------------------------------------------------------------

def _money(description="", nullable=False):
    return fields.String(required=True, allow_none=nullable, metadata={
        "description": description or "a decimal string in the case's currency",
        "example": "30000.00"})


class CaseTotals(Schema):
    proposed = _money()
    imposed = _money()
    paid = _money()
    balance = _money()


class Citation(Schema):
    citation_id = _text()
    clause = _text(metadata={"example": "《安全生产法》第九十九条"})
    violation_class = _text()
    violation_class_label = _text()
    description = _text()
    fine_proposed = _money(nullable=True)
    fine_imposed = _money("null until the penalty is decided (or not stated)", nullable=True)
    abatement_date = _day(nullable=True)
    hazard_ids = _list(fields.String())
    issued_at = _instant()
    issued_by = _actor()
    source_ref = _maybe_text()
    abated = fields.Boolean(required=True)
    abated_at = _instant(nullable=True)
    abated_by_hazard = _maybe_text()
    abated_late = fields.Boolean(required=True, metadata={
        "description": "abated after its abatement day (marked overdue first, or abated on a "
                       "later day of the deployment's time zone)"})
    abatement_overdue = fields.Boolean(required=True, metadata={
        "description": "its abatement day passed without abatement while the case was open "
                       "(CitationAbatementOverdue); stays true once abated late"})
    abatement_overdue_at = _instant(nullable=True)
    withdrawn = fields.Boolean(required=True)
    withdrawn_reason = _maybe_text()


class Payment(Schema):
    amount = _money()
    paid_on = _day()
    reference = _text()
    recorded_by = _actor()


class ViolationClass(Schema):
    key = _text(metadata={"example": "serious"})
    zh = _text(metadata={"example": "严重违法"})
    en = _text(metadata={"example": "serious"})


class HazardCategory(Schema):
    key = _text(metadata={"example": "fire"})
    zh = _text(metadata={"example": "消防"})
    en = _text(metadata={"example": "fire"})
    synonyms = _list(fields.String(), metadata={
        "description": "other names read as the key (any case)", "example": ["火灾", "防火"]})


class HazardCategories(Schema):
    version = _text(metadata={"description": "the shipped taxonomy's version, `+` each "
                                             "extension's (HAZARD_CATEGORIES)"})
    categories = _list(fields.Nested(HazardCategory))


class ViolationClasses(Schema):
    version = _text()
    classes = _list(fields.Nested(ViolationClass))


class CaseSource(Schema):
    system = _text()
    ref = _text()


class Case(Schema):
    case_id = _text()
    enterprise_id = _text()
    inspection_id = _text()
    campaign_id = _maybe_text()
    opened_at = _instant()
    opened_by = _actor()
    source = fields.Nested(CaseSource, required=True, allow_none=True)
    status = _one_of(CASE_STATES)
    currency = _one_of(CURRENCIES)
    citations = _list(fields.Nested(Citation))
    abatements_overdue = _count(metadata={
        "description": "citations in force overdue for abatement and not abated yet"})
    totals = fields.Nested(CaseTotals, required=True)
    decided_at = _instant(nullable=True)
    decided_by = _maybe_text()
    payments = _list(fields.Nested(Payment))
    outcome = _one_of(CASE_OUTCOMES, nullable=True)
    outcome_label = _maybe_text()
    closed_at = _instant(nullable=True)
    closed_by = _maybe_text()
    close_note = _maybe_text()
    history = _list(fields.Nested(StepOf))
    version = fields.Integer(required=True)


class CaseSummary(Schema):
    case_id = _text()
    enterprise_id = _text()
    inspection_id = _text()
    campaign_id = _maybe_text()
    status = _one_of(CASE_STATES)
    outcome = _one_of(CASE_OUTCOMES, nullable=True)
    outcome_label = _maybe_text()
    currency = _one_of(CURRENCIES)
    citations = _count(metadata={"description": "in force"})
    abatements_overdue = _count(metadata={
        "description": "citations in force overdue for abatement and not abated yet"})
    totals = fields.Nested(CaseTotals, required=True)
    opened_at = _instant()
    closed_at = _instant(nullable=True)
    source_system = _maybe_text()


CasePage = _page_of(CaseSummary, "CasePage")


# --- enforcement: the authority's figures -----------------------------------------------------

def _figures_schema(name, count, amount):
    declared = {figure: count() for figure in ENFORCEMENT_COUNTS}
    declared.update({figure: amount() for figure in ENFORCEMENT_AMOUNTS})
    return Schema.from_dict(declared, name=name)


ENFORCEMENT_FIGURE_WORDS = (
    "inspections: enforcement inspections (visits); enterprises_visited(_more_than_once): "
    "distinct enterprises with one (two) or more; hazards_found: by inspectors (source "
    "enforcement); cases_open: not closed; citations_in_force and per class: withdrawn (an "
    "OSHA delete_flag) excluded, counted in citations_withdrawn; fines_*: decimal strings in "
    "`currency` — proposed, imposed, paid, outstanding (imposed − paid of cases not closed), "
    "uncollected (imposed − paid of closed cases); null where a figure is not the group's "
    "(payments per violation class)")
EnforcementFigures = _figures_schema(
    "EnforcementFigures", _count,
    lambda: _money("a decimal string in `currency`; null: not the group's", nullable=True))
EnforcementChanges = _figures_schema(
    "EnforcementChanges", lambda: fields.Integer(required=True, allow_none=True),
    lambda: _money("this period's less the compared one's (may be negative)", nullable=True))


class EnforcementFiguresCompared(EnforcementFigures):
    previous = fields.Nested(EnforcementFigures, metadata={
        "description": "with compare: the compared period's figures"})
    change = fields.Nested(EnforcementChanges, metadata={"description": "with compare"})


class EnforcementFiguresGroup(EnforcementFiguresCompared):
    key = _text(metadata={"description": "the campaign id ((none) outside campaigns), town, "
                                         "grid, industry, year (the deployment's time zone), "
                                         "enterprise id or violation class of the group"})
    name = fields.String(allow_none=True, metadata={"description": "group_by=enterprise: its "
                                                                    "name"})
    town = fields.String(allow_none=True, metadata={"description": "group_by=enterprise: its "
                                                                    "town"})


class EnforcementStatistics(Schema):
    group_by = _one_of(ENFORCEMENT_GROUPINGS)
    currency = _one_of(CURRENCIES, metadata={"description": "of every fines_* figure"})
    groups = _list(fields.Nested(EnforcementFiguresGroup))
    totals = fields.Nested(EnforcementFiguresCompared, required=True)
    from_ = fields.String(data_key="from", metadata={"description": "with compare"})
    to = fields.String(metadata={"description": "with compare"})
    compare = fields.String(validate=validate.OneOf(("previous_period", "previous_year")))
    previous_period = fields.Nested(Period, metadata={"description": "with compare: its period"})
