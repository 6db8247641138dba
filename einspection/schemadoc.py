"""Marshmallow schemas as JSON Schema, one conversion for both documents the
platform describes itself by: the gateway's OpenAPI (services/gateway/openapi.py)
and the event stream's AsyncAPI (einspection/asyncapi.py). apispec's
MarshmallowPlugin does the conversion; the attribute functions here fix what
it gets wrong for this project's fields."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from .contract import InstantOrDay


def decimal_bounds_as_numbers(converter, field, ret, **kwargs):
    """apispec writes a Range on an as-string Decimal as text ("0.00"); a bound is a number."""
    if isinstance(field, fields.Decimal):
        return {key: float(ret[key]) for key in ("minimum", "maximum") if key in ret}
    return {}


def instant_or_day(converter, field, ret, **kwargs):
    """An InstantOrDay takes a date-time or a date: a string of either pattern."""
    if isinstance(field, InstantOrDay):
        ret.pop("format", None)
        return {"pattern": r"^\d{4}-\d{2}-\d{2}($|T)"}
    return {}


def decimal_as_text(converter, field, ret, **kwargs):
    """An as-string Decimal travels as text ("12.50"), not a number: what a
    reader of the JSON gets. (The OpenAPI keeps apispec's `number`: its
    request bodies take either.)"""
    if isinstance(field, fields.Decimal) and field.as_string:
        types = ret.get("type")
        nullable = isinstance(types, list) and "null" in types
        ret["type"] = ["string", "null"] if nullable else "string"
        ret.pop("minimum", None)
        ret.pop("maximum", None)
        return {"pattern": r"^-?\d+(\.\d+)?$"}
    return {}


CONVERSIONS = (decimal_bounds_as_numbers, instant_or_day)


def add_conversions(converter, extra=()):
    for function in CONVERSIONS + tuple(extra):
        converter.add_attribute_function(function)


def json_schemas(named_schemas, title="schemas", version="1"):
    """{name: JSON Schema} of {name: marshmallow Schema class}, with the schemas
    they nest under their own names beside them; references are
    `#/components/schemas/<name>` (as in OpenAPI and AsyncAPI documents).
    JSON Schema proper (OpenAPI 3.1's dialect): null is a type, not `nullable`."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[plugin])
    add_conversions(plugin.converter, extra=(decimal_as_text,))
    for name, schema in named_schemas.items():
        spec.components.schema(name, schema=schema)
    return spec.to_dict()["components"]["schemas"]
