from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from einspection.contract import INSPECTION_KINDS, Id, Instant

from . import credit_code


class _Command(Schema):
    class Meta:
        unknown = RAISE


class RegisterEnterprise(_Command):
    credit_code = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    industry = fields.String(required=True, validate=validate.Length(min=1, max=100))
    town = fields.String(required=True, validate=validate.Length(min=1, max=100))
    grid = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True,
                             validate=validate.Range(-180, 180))
    employees = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, max=1_000_000))

    @validates("credit_code")
    def _valid_code(self, value, **_):
        reason = credit_code.problem(value)
        if reason:
            raise ValidationError(reason)


class LogInspection(_Command):
    enterprise_id = Id(required=True)
    position_id = Id(required=True)
    checklist_id = Id(required=True)
    checklist_version = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(INSPECTION_KINDS))
    started_at = Instant(required=True)
    completed_at = Instant(required=True)
    items_passed = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    items_failed = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    items_not_applicable = fields.Integer(required=True,
                                          validate=validate.Range(min=0, max=10000))
    inspector = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _order(self, data, **_):
        if data["completed_at"] < data["started_at"]:
            raise ValidationError("must not be before started_at", "completed_at")
