"""Commands and queries the scoring service takes, as they arrive from the
gateway (query string values are text) or from an operator."""
from marshmallow import RAISE, Schema, fields, validate

from einspection.contract import Day

GROUPINGS = ("overall", "town", "industry")
ORDERS = ("best", "worst")
MAX_LIMIT = 100


class _Command(Schema):
    class Meta:
        unknown = RAISE


class AdvanceClock(_Command):
    day = Day(required=True)


class ScoreQuery(_Command):
    as_of = Day(load_default=None, metadata={
        "description": "evaluate as of this day (any day, past or future) from the same "
                       "facts; absent: the stored score"})


class _Filters(_Command):
    town = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    industry = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class RankingQuery(_Filters):
    by = fields.String(load_default="overall", validate=validate.OneOf(GROUPINGS))
    order = fields.String(load_default="best", validate=validate.OneOf(ORDERS))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))


class ExcellentQuery(_Filters):
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class DistributionQuery(_Filters):
    by = fields.String(load_default="overall", validate=validate.OneOf(GROUPINGS))
