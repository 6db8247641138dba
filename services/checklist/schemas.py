from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from einspection import paging, spreadsheet
from einspection.auth import ROLES
from einspection.contract import (CHECKLIST_SCOPES, INSPECTION_KINDS, ITEM_RESULTS,
                                  SAFETY_ACTION_KINDS, SCHEDULE_FREQUENCIES, Day, Id, Instant)

from . import credit_code, passwords


class _Command(Schema):
    class Meta:
        unknown = RAISE


class RegisterEnterprise(_Command):
    credit_code = fields.String(required=True, metadata={
        "pattern": "^[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{18}$",
        "description": "unified social credit code (GB 32100-2015): the 18th character is a "
                       "check character over the first 17"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    industry = fields.String(required=True, validate=validate.Length(min=1, max=100))
    town = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # a grid is addressed in a URL path (recipients/grid:<grid>/settings), where a '/' cannot be
    grid = fields.String(required=True, validate=[
        validate.Length(min=1, max=100),
        validate.Regexp(r"^[^/]*$", error="must not contain '/'")])
    address = fields.String(load_default="", validate=validate.Length(max=300))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True,
                             validate=validate.Range(-180, 180))
    employees = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, max=1_000_000))
    account_prefix = fields.String(load_default=None, allow_none=True, validate=[
        validate.Length(min=2, max=32),
        validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]*$",
                        error="letters, digits and - only, a letter or digit first")],
        metadata={"description": "its accounts' usernames are <account_prefix>.<name> "
                                 "(lower case, unique in the register); default: the "
                                 "credit code"})

    @validates("credit_code")
    def _valid_code(self, value, **_):
        reason = credit_code.problem(value)
        if reason:
            raise ValidationError(reason)


class Item(_Command):
    item_id = Id(load_default=None)        # leave out for a new item
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))
    weight = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=100000))
    major = fields.Boolean(load_default=False)
    photo_required = fields.Boolean(load_default=False)


def _required_frequency():
    # no default: left out, an edit keeps the draft's; null clears it
    return fields.String(allow_none=True, validate=validate.OneOf(SCHEDULE_FREQUENCIES),
                         metadata={"description": "a universal checklist only: every "
                                   "enterprise it applies to must schedule it at least this "
                                   "often (daily and shift > weekly > monthly); null: no "
                                   "requirement. Left out of an edit: unchanged"})


class CreateChecklist(_Command):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    scope = fields.String(required=True, validate=validate.OneOf(CHECKLIST_SCOPES))
    enterprise_id = Id(load_default=None, allow_none=True)
    industry = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=100))
    items = fields.List(fields.Nested(Item), load_default=list,
                        validate=validate.Length(max=2000))
    required_frequency = _required_frequency()


class EditChecklist(_Command):
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=300))
    items = fields.List(fields.Nested(Item), required=True, validate=validate.Length(max=2000))
    required_frequency = _required_frequency()


class ImportChecklist(_Command):
    """The query of POST /api/v1/checklists/import; the CSV is the body."""
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    industry = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    publish = fields.Boolean(load_default=False)


ENTERPRISE_SORTS = ("name", "registered_at", "credit_code", "town", "grid", "industry")


class EnterpriseQuery(_Command):
    """The register's filters (exact match), page and sort."""
    town = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    grid = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    industry = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(ENTERPRISE_SORTS, "name")


CHECKLIST_SORTS = ("title", "updated_at")


class ChecklistQuery(_Command):
    enterprise_id = Id(load_default=None, metadata={
        "description": "only what this enterprise may see: its own and the universal "
                       "checklists for its industry or all industries"})
    industry = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    scope = fields.String(load_default=None, validate=validate.OneOf(CHECKLIST_SCOPES))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(CHECKLIST_SORTS, "title")


class VisibleTo(_Command):
    """The query of a single checklist or version: `enterprise_id` hides
    what that enterprise may not see (404)."""
    enterprise_id = Id(load_default=None)


class PositionQuery(_Command):
    include_retired = fields.Boolean(load_default=False, metadata={
        "description": "list the retired positions too (default: only those in use)"})
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("name", "code_issued_at"), "name")


class QrSheetQuery(_Command):
    # some of the enterprise's positions, comma-separated ids; none: all of them
    position_ids = fields.String(load_default=None, validate=validate.Length(min=1, max=4000))


class RegisterPosition(_Command):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True,
                             validate=validate.Range(-180, 180))
    checklist_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=100))


class UpdatePosition(_Command):
    """A JSON merge: the fields sent change, those left out stay. Not the
    enterprise, not the QR code (rotate it: POST …/rotate-code)."""
    name = fields.String(validate=validate.Length(min=1, max=200))
    latitude = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    checklist_ids = fields.List(Id(), validate=validate.Length(max=100), metadata={
        "description": "the checklists done here, all of them (replaces the list)"})


class RetirePosition(_Command):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class Scan(_Command):
    """A scan's query: nothing. Who scanned is the account acting."""


class HazardReferences(_Command):
    """What a hazard report refers to in the register, to be checked there."""
    enterprise_id = Id(required=True)
    position_id = Id(load_default=None, allow_none=True)
    source_inspection_id = Id(load_default=None, allow_none=True)
    source_item_id = Id(load_default=None, allow_none=True)


class ItemResult(_Command):
    item_id = Id(required=True)
    result = fields.String(required=True, validate=validate.OneOf(ITEM_RESULTS))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    photos = fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                         load_default=list, validate=validate.Length(max=50))


class LogInspection(_Command):
    enterprise_id = Id(required=True)
    position_id = Id(required=True)
    checklist_id = Id(required=True)
    checklist_version = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(INSPECTION_KINDS))
    started_at = Instant(required=True)
    completed_at = Instant(required=True)
    inspector = fields.String(required=True, validate=validate.Length(min=1, max=200))
    results = fields.List(fields.Nested(ItemResult), required=True,
                          validate=validate.Length(min=1, max=2000))
    campaign_id = Id(load_default=None, allow_none=True, metadata={
        "description": "the enforcement campaign it was done for (kind enforcement only)"})
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             load_default=list, validate=validate.Length(max=20), metadata={
        "description": "the accounts (usernames) that inspected beside the one logging it, "
                       "which is always among them: of the authority for an enforcement "
                       "inspection, of the enterprise for a self-inspection, officers or the "
                       "authority for a grid inspection"})

    @validates_schema
    def _order(self, data, **_):
        if data["completed_at"] < data["started_at"]:
            raise ValidationError("must not be before started_at", "completed_at")
        if data.get("campaign_id") and data["kind"] != "enforcement":
            raise ValidationError("only an enforcement inspection belongs to a campaign",
                                  "campaign_id")


class _Period(_Command):
    """from / to: whole days, both included."""
    from_ = Day(data_key="from", load_default=None, metadata={
        "description": "from this day of the deployment's time zone, included"})
    to = Day(load_default=None, metadata={
        "description": "to this day of the deployment's time zone, included"})

    @validates_schema
    def _order(self, data, **_):
        if data["from_"] and data["to"] and data["to"] < data["from_"]:
            raise ValidationError("must not be before from", "to")


SORTS = ("completed_at", "started_at", "kind", "inspector", "items_failed")


class InspectionQuery(_Period):
    enterprise_id = Id(load_default=None)
    position_id = Id(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(INSPECTION_KINDS))
    campaign_id = Id(load_default=None)
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(SORTS, "-completed_at")


class InspectionExportQuery(InspectionQuery):
    """The ledger's filters and sort for an export: every row, no pages;
    `lang` says how the CSV writes booleans."""
    class Meta:
        exclude = ("page", "size")
    lang = spreadsheet.language_field()


class RecordSafetyAction(_Command):
    kind = fields.String(required=True, validate=validate.OneOf(SAFETY_ACTION_KINDS))
    topic = fields.String(required=True, validate=validate.Length(min=1, max=300))
    held_on = Day(required=True)
    people = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    notes = fields.String(load_default="", validate=validate.Length(max=4000))
    recorded_by = fields.String(required=True, validate=validate.Length(min=1, max=200))


SAFETY_ACTION_SORTS = ("held_on", "recorded_at", "kind", "people", "topic")


class SafetyActionQuery(_Period):
    kind = fields.String(load_default=None, validate=validate.OneOf(SAFETY_ACTION_KINDS))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(SAFETY_ACTION_SORTS, "-held_on")


class PeriodQuery(_Period):
    """from / to only: the training statistics."""


INSPECTION_GROUPINGS = ("kind", "month", "enterprise", "checklist", "town", "grid", "industry")


class InspectionStatisticsQuery(_Period):
    """The inspection statistics: from / to are days of the deployment's
    time zone, as the months of `group_by=month` are."""
    group_by = fields.String(load_default="kind", validate=validate.OneOf(INSPECTION_GROUPINGS),
                             metadata={"description": "kind (default), month (YYYY-MM of the "
                                                      "completion, in the deployment's time "
                                                      "zone), enterprise, checklist, or the "
                                                      "register's town, grid or industry"})
    kind = fields.String(load_default=None, validate=validate.OneOf(INSPECTION_KINDS))
    enterprise_id = Id(load_default=None)
    campaign_id = Id(load_default=None)


def _password(**kwargs):
    return fields.String(validate=validate.Length(max=passwords.MAX_LENGTH), metadata={
        "description": "at least %d characters; not the username, not one character "
                       "repeated, not a commonly used password" % passwords.MIN_LENGTH},
        **kwargs)


class CreateAccount(_Command):
    username = fields.String(required=True, validate=[
        validate.Length(min=3, max=100),
        validate.Regexp(r"^[A-Za-z0-9._@-]+$", error="letters, digits and . _ @ - only")],
        metadata={"description": "case-insensitive; an enterprise account's is "
                                 "<its enterprise's account_prefix>.<name>"})
    password = _password(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    enterprise_id = Id(load_default=None, allow_none=True)
    grid = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(min=1, max=100))
    town = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(min=1, max=100))
    grants = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                         load_default=list, validate=validate.Length(max=1000))
    display_name = fields.String(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def _policy(self, data, **_):
        problems = passwords.problems(data["password"], data["username"])
        if problems:
            raise ValidationError(problems, "password")


class ChangePassword(_Command):
    old_password = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                 metadata={"description": "the current (or temporary) one"})
    new_password = _password(required=True)


class Login(_Command):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AccountQuery(_Command):
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("username", "created_at", "role"), "username")


class DisableAccount(_Command):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


FREQUENCIES = SCHEDULE_FREQUENCIES
_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Shift(_Command):
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    start = fields.String(required=True, validate=validate.Regexp(_CLOCK, error="HH:MM"))
    end = fields.String(required=True, validate=validate.Regexp(_CLOCK, error="HH:MM"),
                        metadata={"description": "at or before start: the next day"})


class CreateSchedule(_Command):
    """Which checklist at which position how often, by whom, from when."""
    checklist_id = Id(required=True)
    position_id = Id(required=True)
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    weekdays = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
                           load_default=list, validate=validate.Length(max=7),
                           metadata={"description": "ISO weekdays (1 = Monday): required "
                                                    "for weekly, optional for shift"})
    shifts = fields.List(fields.Nested(Shift), load_default=list,
                         validate=validate.Length(max=6))
    assignee = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=100))
    assignee_role = fields.String(load_default=None, allow_none=True,
                                  validate=validate.OneOf(("enterprise_staff",
                                                           "enterprise_manager")))
    starts_on = Day(required=True)

    @validates_schema
    def _terms(self, data, **_):
        if data["frequency"] == "weekly" and not data["weekdays"]:
            raise ValidationError("a weekly schedule names its days", "weekdays")
        if data["frequency"] in ("daily", "monthly") and data["weekdays"]:
            raise ValidationError("only a weekly or shift schedule has weekdays", "weekdays")
        if data["frequency"] == "shift" and not data["shifts"]:
            raise ValidationError("a shift schedule names its shifts", "shifts")
        if data["frequency"] != "shift" and data["shifts"]:
            raise ValidationError("only a shift schedule has shifts", "shifts")
        names = [shift["name"] for shift in data["shifts"]]
        if len(set(names)) != len(names):
            raise ValidationError("each shift has its own name", "shifts")
        if bool(data["assignee"]) == bool(data["assignee_role"]):
            raise ValidationError("name either a person (assignee) or a role (assignee_role)",
                                  "assignee")
        data["weekdays"] = sorted(set(data["weekdays"]))


class EndSchedule(_Command):
    ends_on = Day(load_default=None, metadata={"description": "default: today"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


ROUND_STATUSES = ("due", "done", "missed")


class RoundQuery(_Period):
    """from / to: local days whose rounds (by the start of their window);
    default today, at most 92 days."""
    enterprise_id = Id(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(ROUND_STATUSES))
