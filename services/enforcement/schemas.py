"""Commands on cases as they arrive from the gateway (or an import record).
No field names the actor: that is the account acting (einspection.acting).
Money is a decimal string ("30000.00") loaded as int fen by
einspection.money.Money; a JSON number is refused, naming the field."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from einspection import paging
from einspection.contract import Day, Id, Instant
from einspection.money import CURRENCIES, Money

from .campaigns import STATES as CAMPAIGN_STATES
from .cases import OUTCOMES, STATES, TERMINATED


class _Command(Schema):
    class Meta:
        unknown = RAISE


def _text(max_length, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _currency():
    return fields.String(load_default=None, validate=validate.OneOf(CURRENCIES), metadata={
        "description": "ISO 4217; the case's currency (CNY unless imported) if absent"})


class RecordEstablishment(_Command):
    """An establishment outside the platform's register (an imported record)."""
    enterprise_id = Id(required=True)
    name = _text(200, required=True)
    town = _text(100, required=True)
    industry = fields.String(load_default="", validate=validate.Length(max=100))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    employees = fields.Integer(strict=True, load_default=None, allow_none=True,
                               validate=validate.Range(min=0, max=1_000_000))
    source_system = _text(32, required=True)
    source_ref = _text(200, required=True)


class OpenCase(_Command):
    enterprise_id = Id(required=True)
    inspection_id = Id(required=True)
    campaign_id = Id(load_default=None, allow_none=True)
    currency = _currency()
    source_system = _text(32, load_default=None, allow_none=True)
    source_ref = _text(200, load_default=None, allow_none=True)


class IssueCitation(_Command):
    citation_id = Id(load_default=None, metadata={
        "description": "an id of the caller's (an import's); a new one if absent"})
    clause = _text(500, required=True, metadata={
        "description": "the legal clause violated, e.g. 《安全生产法》第九十九条"})
    violation_class = _text(32, required=True, metadata={
        "description": "a key of rules/violation_classes.json (serious, willful, repeat, "
                       "other)"})
    description = _text(4000, required=True)
    fine_proposed = Money(required=True, allow_none=True, metadata={
        "description": "decimal string in the case's currency; null: not stated (imported)"})
    currency = _currency()
    abatement_date = Day(load_default=None, allow_none=True)
    hazard_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=100))
    source_ref = _text(200, load_default=None, allow_none=True)


class WithdrawCitation(_Command):
    citation_id = Id(required=True)
    reason = _text(2000, required=True)


class ImposedFine(_Command):
    citation_id = Id(required=True)
    fine_imposed = Money(required=True, allow_none=True, metadata={
        "description": "decimal string; null: not stated (imported)"})


class DecidePenalty(_Command):
    fines = fields.List(fields.Nested(ImposedFine), required=True,
                        validate=validate.Length(min=1, max=2000))
    currency = _currency()


class RecordPayment(_Command):
    amount = Money(minimum=1, required=True)
    currency = _currency()
    paid_on = Day(required=True)
    reference = _text(200, required=True, metadata={
        "description": "the receipt or bank reference: one payment per reference"})


class AbateCitation(_Command):
    citation_id = Id(required=True)
    hazard_id = Id(load_default=None, allow_none=True)
    abated_at = Instant(load_default=None, allow_none=True)


class CloseCase(_Command):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _note_when_terminated(self, data, **kwargs):
        if data.get("outcome") == TERMINATED and not data.get("note", "").strip():
            raise ValidationError(["required when the outcome is terminated"], "note")


# --- campaigns (campaigns.py) -----------------------------------------------------------------

class InspectorConflict(_Command):
    inspector = _text(100, required=True, metadata={
        "description": "the inspector's username"})
    enterprise_id = Id(required=True)
    reason = _text(500, required=True, metadata={
        "description": "why not: own ties (a relative works there, a former employer), a "
                       "recusal"})


def _towns(**kwargs):
    return fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                       values=fields.Integer(strict=True, validate=validate.Range(
                           min=0, max=MAX_TARGETS)), **kwargs)


MAX_TARGETS = 10000


class OpenCampaign(_Command):
    name = _text(200, required=True, metadata={"example": "2016年度重点企业执法检查"})
    legal_basis = _text(200, required=True, metadata={
        "description": "the document the campaign is based on", "example": "德安监发[2016]5号"})
    period_start = Day(required=True)
    period_end = Day(required=True)
    targets = fields.Integer(strict=True, required=True,
                             validate=validate.Range(min=1, max=MAX_TARGETS))
    quotas = _towns(load_default=None, allow_none=True, metadata={
        "description": "targets per town, adding up to `targets`; absent: proportional to "
                       "each town's registered enterprises (largest remainder)",
        "example": {"武康街道": 9, "乾元镇": 7}})
    mandatory = fields.List(Id(), load_default=list, validate=validate.Length(max=MAX_TARGETS),
                            metadata={"description": "enterprises that must be inspected "
                                                     "(e.g. with listed major hazards); the "
                                                     "rest is drawn at random"})
    conflicts = fields.List(fields.Nested(InspectorConflict), load_default=list,
                            validate=validate.Length(max=MAX_TARGETS))
    per_target = fields.Integer(strict=True, load_default=2, validate=validate.Range(min=2, max=10),
                                metadata={"description": "inspectors per target (double "
                                                         "random: at least 2)"})


class DrawTargets(_Command):
    seed = _text(200, required=True, metadata={
        "description": "the seed, as the public source gave it (text, exactly)",
        "example": "3D 2016125: 4 7 1"})
    seed_source = _text(500, required=True, metadata={
        "description": "where anyone can read the seed", "example":
            "中国福利彩票3D 第2016125期开奖号码, http://www.cwl.gov.cn/"})


class AssignInspectors(_Command):
    """`{}`: the pool, the conflicts and the inspectors per target were fixed
    with the candidates (commit, then reveal)."""


class CampaignQuery(_Command):
    status = fields.String(load_default=None, validate=validate.OneOf(CAMPAIGN_STATES))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("opened_at", "name", "period_start", "status"), "-opened_at")


# --- cases: what the API adds to the commands above ------------------------------------------

class OpenCaseRequest(_Command):
    inspection_id = Id(required=True, metadata={
        "description": "an enforcement inspection (POST /api/v1/inspections, kind "
                       "enforcement): the case is its enterprise's and campaign's"})


class CaseQuery(_Command):
    enterprise_id = Id(load_default=None)
    campaign_id = Id(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(STATES))
    currency = fields.String(load_default=None, validate=validate.OneOf(CURRENCIES))
    abatement_overdue = fields.Boolean(load_default=None, metadata={
        "description": "true: cases with a citation whose abatement is overdue and not "
                       "abated yet; false: cases without"})
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("opened_at", "closed_at", "imposed", "status"), "-opened_at")
