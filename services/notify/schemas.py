from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from einspection import paging
from einspection.contract import AUDIENCES, LANGUAGES

from .channels import secret_problem


class _Command(Schema):
    class Meta:
        unknown = RAISE


class Publish(_Command):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    audience = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    audience_value = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(min=1, max=100))
    published_by = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _value_names_the_audience(self, data, **_):
        if data["audience"] != "all" and not data.get("audience_value"):
            raise ValidationError("required when audience is %s" % data["audience"],
                                  "audience_value")


class ReadNotice(_Command):
    """A read receipt's body: nothing. The reader is the account acting."""


class RecipientSettings(_Command):
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    emails = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=20))


def _standard_secret(text):
    problem = secret_problem(text)
    if problem:
        raise ValidationError(problem)


def _secret_field():
    return fields.String(load_default=None, validate=_standard_secret, metadata={
        "description": "a Standard Webhooks secret, whsec_ + base64 of 24 to 64 key bytes; "
                       "left out, the server generates one (32 bytes)",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class Subscribe(_Command):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000))
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=128)),
                              required=True, validate=validate.Length(min=1, max=50))
    secret = _secret_field()
    description = fields.String(load_default="", validate=validate.Length(max=500))


class RotateSecret(_Command):
    secret = _secret_field()
    overlap_hours = fields.Float(load_default=None, validate=validate.Range(min=0, max=168),
                                 metadata={"description": "how long the secret replaced signs "
                                           "too (0 to 168; left out: the deployment's "
                                           "NOTIFY_WEBHOOK_SECRET_OVERLAP_HOURS, 24)"})


NOTICE_KINDS = ("grade", "monthly", "major_hazard", "overdue", "publication", "listed",
                "listing_due", "delisted", "targets_drawn", "grid_targets_drawn",
                "abatement_overdue", "assigned", "rectification_due", "assignment_overdue",
                "escalated", "round_missed")
DELIVERY_STATES = ("pending", "delivered", "failed")


class InboxQuery(_Command):
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "enterprise:<id>, grid:<grid>, "
                                                       "account:<username> or authority"})
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread notices"})
    kind = fields.String(load_default=None, validate=validate.OneOf(NOTICE_KINDS))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("issued_at",), "-issued_at")


class PublicationQuery(_Command):
    audience = fields.String(load_default=None, validate=validate.OneOf(AUDIENCES))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("published_at", "title"), "-published_at")


class WebhookQuery(_Command):
    cancelled = fields.Boolean(load_default=None, metadata={
        "description": "true: only cancelled subscriptions; false: only active ones"})
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("subscribed_at",), "subscribed_at")


class DeliveriesQuery(_Command):
    status = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_STATES))
    page = paging.page_field()
    size = paging.size_field()
    sort = paging.sort_field(("scheduled_at",), "-scheduled_at")
