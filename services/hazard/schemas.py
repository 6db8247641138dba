"""Commands the hazard service takes, as they arrive from the gateway."""
from marshmallow import Schema, fields, validate, RAISE

from einspection.contract import LEVELS, Id, Instant


class ReportHazard(Schema):
    class Meta:
        unknown = RAISE

    enterprise_id = Id(required=True)
    position_id = Id(load_default=None, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    found_at = Instant(required=True)
    rectification_deadline = Instant(load_default=None, allow_none=True)
    reporter = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SubmitRectification(Schema):
    class Meta:
        unknown = RAISE

    measures = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    done_at = Instant(required=True)
    evidence = fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                           load_default=list, validate=validate.Length(max=50))
