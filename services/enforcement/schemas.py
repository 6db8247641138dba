"""Commands on cases as they arrive from the gateway (or an import record).
No field names the actor: that is the account acting (einspection.acting).
Money is a decimal string ("30000.00") loaded as int fen by
einspection.money.Money; a JSON number is refused, naming the field."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from einspection.contract import Day, Id, Instant
from einspection.money import CURRENCIES, Money

from .cases import OUTCOMES, TERMINATED


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
