from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from einspection.contract import AUDIENCES, LANGUAGES


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
    reader = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class RecipientSettings(_Command):
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    emails = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=20))


class Subscribe(_Command):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000))
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=128)),
                              required=True, validate=validate.Length(min=1, max=50))
    secret = fields.String(load_default=None, validate=validate.Length(min=16, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class InboxQuery(_Command):
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=200))
    unread = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DeliveriesQuery(_Command):
    status = fields.String(load_default=None,
                           validate=validate.OneOf(["pending", "delivered", "failed"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
