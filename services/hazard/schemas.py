"""Commands and queries the hazard service takes, as they arrive from the gateway.
No field names the actor: that is the account acting (einspection.acting).
Names of people (`reporter`, `rectified_by`, `verifier`) are data."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from einspection import paging, spreadsheet
from einspection.contract import HAZARD_SOURCES, HAZARD_TYPES, LEVELS, Id, Instant, InstantOrDay

from .domain import RETURN, STATES, VERIFIED


class _Command(Schema):
    class Meta:
        unknown = RAISE


def _text(max_length, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _refs():
    return fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                       load_default=list, validate=validate.Length(max=50))


def _money(**kwargs):
    return fields.Decimal(places=2, as_string=True, allow_nan=False,
                          validate=validate.Range(min=0, max=10 ** 12), **kwargs)


class UploadEvidence(_Command):
    """The query of an upload: whose file it is."""
    enterprise_id = Id(load_default=None, metadata={
        "description": "the enterprise that owns the file; an enterprise account's own by "
                       "default, required for the officers and the authority"})


class ReportHazard(_Command):
    enterprise_id = Id(required=True)
    position_id = Id(load_default=None, allow_none=True)
    hazard_type = fields.String(load_default="unsafe_condition",
                                validate=validate.OneOf(HAZARD_TYPES))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    category = _text(100, required=True)
    description = _text(4000, required=True)
    found_at = Instant(required=True)
    rectification_deadline = Instant(load_default=None, allow_none=True)
    reporter = _text(200, required=True, metadata={
        "description": "who found it, as a name (data; the account reporting is the actor)"})
    source_inspection_id = Id(load_default=None, allow_none=True)
    source_item_id = Id(load_default=None, allow_none=True)
    evidence = _refs()


class RecordPlan(_Command):
    goal = _text(2000, required=True)
    measures = _text(4000, required=True)
    funds = _money(required=True)
    responsible_person = _text(200, required=True)
    deadline = Instant(required=True)
    interim_measures = _text(4000, required=True)


class SubmitRectification(_Command):
    measures = _text(4000, required=True)
    done_at = Instant(required=True)
    evidence = _refs()
    cost = _money(load_default=None, allow_none=True)
    rectified_by = _text(200, load_default=None, metadata={
        "description": "who did the work, as a name (data; the account submitting is the actor)"})


class Verify(_Command):
    outcome = fields.String(required=True, validate=validate.OneOf([VERIFIED, RETURN]))
    verifier = _text(200, load_default=None, metadata={
        "description": "who checked on site, as a name (data; default the account's "
                       "username). The account verifying is the actor, and the verification "
                       "rule decides whether it may"})
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=2000))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _reason_when_returned(self, data, **kwargs):
        if data.get("outcome") == RETURN and not (data.get("reason") or "").strip():
            raise ValidationError(["required when the outcome is returned"], "reason")


class AssignHazard(_Command):
    """Give a hazard to a person of its enterprise (a reassignment too)."""
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "the username of an enabled account of the hazard's enterprise"})
    due = Instant(load_default=None, allow_none=True, metadata={
        "description": "by when the assignee is to have it rectified: in the future, not "
                       "after the rectification deadline (default: the deadline)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ListHazard(_Command):
    """Listed supervision (挂牌督办) of a major hazard, by the authority."""
    deadline = Instant(required=True, metadata={
        "description": "by when it must be rectified under supervision"})
    office = _text(200, required=True, metadata={
        "description": "the responsible office that follows it (e.g. 县应急管理局执法大队)"})
    reason = _text(2000, required=True)


class DelistHazard(_Command):
    """The authority's sign-off of a listing, after the verified rectification."""
    note = fields.String(load_default="", validate=validate.Length(max=2000))


SORTABLE = ("found_at", "reported_at", "rectification_deadline", "level", "category",
            "status", "enterprise_id", "listing_deadline", "assignment_due")


OPEN = "open"        # a status filter value: reported or returned, waiting for a rectification


class LedgerFilters(_Command):
    """Which hazards of the standing book (query string values arrive as text)."""
    enterprise_id = Id(load_default=None)
    position_id = Id(load_default=None)
    source_inspection_id = Id(load_default=None)
    level = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    category = _text(100, load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(STATES + (OPEN,)))
    overdue = fields.Boolean(load_default=None, truthy={"true"}, falsy={"false"})
    source = fields.String(load_default=None, validate=validate.OneOf(HAZARD_SOURCES), metadata={
        "description": "how it was found: a free report, or the kind of inspection"})
    listed = fields.Boolean(load_default=None, truthy={"true"}, falsy={"false"}, metadata={
        "description": "listed for supervision (挂牌督办) now, or not"})
    assignee = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                             metadata={"description": "assigned to this account (a username; "
                                                      "`me`: the caller's own)"})
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "text the description contains, or a category's key, label or "
                       "synonym does (any case)", "example": "消防"})
    from_ = InstantOrDay(load_default=None, data_key="from", metadata={
        "description": "found at or after this instant, or from this day (YYYY-MM-DD) of "
                       "the deployment's time zone"})
    to = InstantOrDay(load_default=None, end_of_day=True, metadata={
        "description": "found at or before this instant, or to the end of this day "
                       "(YYYY-MM-DD) of the deployment's time zone"})

    @validates_schema
    def _period(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError(["must not be before from"], "to")


class LedgerQuery(LedgerFilters):
    """The standing book's filters, one page of it, in an order."""
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(SORTABLE, "-found_at")


class LedgerExportQuery(LedgerQuery):
    """The standing book's filters and sort for an export: every row, no
    pages; `lang` says how the CSV writes booleans."""
    class Meta:
        exclude = ("page", "size")
    lang = spreadsheet.language_field()


GROUPINGS = ("level", "day", "month", "category", "enterprise", "source", "status")
# what the register (the checklist service) knows of an enterprise: the gateway
# sums the per-enterprise counts per town, grid or industry
REGISTER_GROUPINGS = ("town", "grid", "industry")


class StatisticsQuery(LedgerFilters):
    """Hazard counts per group of the filtered standing book; `day` and
    `month` are the day and month of the deployment's time zone a hazard was
    found in."""
    group_by = fields.String(required=True,
                             validate=validate.OneOf(GROUPINGS + REGISTER_GROUPINGS))
