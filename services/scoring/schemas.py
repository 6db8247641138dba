"""Commands and queries the scoring service takes, as they arrive from the
gateway (query string values are text) or from an operator."""
from marshmallow import RAISE, Schema, fields


class _Command(Schema):
    class Meta:
        unknown = RAISE


class AdvanceClock(_Command):
    day = fields.Date(required=True)

