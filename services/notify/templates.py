"""Notice texts from Jinja2 templates, one file per kind and language
(`templates/<language>/<kind>.txt`): the first line is the title, the rest
the body. Wording lives in the templates; what to advise comes from the
rule set, through the grade event's indicators."""
import os
from datetime import date, datetime, timezone
from decimal import Decimal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from einspection import days
from einspection.contract import LANGUAGES

TEMPLATES_DIR = os.path.join(os.path.dirname(__file__), "templates")
KINDS = ("grade", "monthly", "major_hazard", "overdue", "publication", "listed", "listing_due",
         "delisted", "targets_drawn", "grid_targets_drawn", "abatement_overdue", "assigned",
         "rectification_due", "assignment_overdue", "escalated", "round_missed")
LEVEL_TEXT = {"zh": {"general": "一般", "major": "重大"}}


def _capitalize_first(text):
    return text[:1].upper() + text[1:]


def _when(value, zone=None):
    """Instants as people read them: to the minute, on the deployment's clock
    (einspection.days), the zone named; the events keep them in UTC."""
    if isinstance(value, datetime):
        zone = zone or days.deployment_zone()
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + zone.key
    if isinstance(value, date):
        return value.isoformat()
    return value


_environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, autoescape=False)
_environment.filters["capitalize_first"] = _capitalize_first


def weakest_advice(indicators, language):
    """What gains the missing points, weakest indicator first (by the share
    of its points it got; ties by key, so the text is stable). Only the
    indicators scoring advises on: one that lost points with nothing to judge
    (no hazard recorded, so nothing shows late records) has no advice."""
    missing = [i for i in indicators
               if Decimal(i["points"]) < Decimal(i["max_points"]) and i["advice"]]
    missing.sort(key=lambda i: (Decimal(i["points"]) / Decimal(i["max_points"]), i["key"]))
    return [indicator.get("i18n", {}).get(language, {}).get("advice") or indicator["advice"]
            for indicator in missing]


def render(kind, language, **context):
    """(title, body) of a notice of `kind` in `language`."""
    if language not in LANGUAGES:
        raise ValueError("no templates for language %r" % language)
    context = {key: _when(value) for key, value in context.items()}
    text = _environment.get_template("%s/%s.txt" % (language, kind)).render(**context)
    title, _, body = text.strip().partition("\n")
    return title.strip()[:300], body.strip()


def grade_context(data, enterprise_name, language):
    context = {k: data[k] for k in ("points", "grade", "window_start", "window_end")}
    context.update(name=enterprise_name, previous_grade=data.get("previous_grade"),
                   period=data.get("period"),
                   advice=weakest_advice(data["indicators"], language))
    return context


def level_text(level, language):
    return LEVEL_TEXT.get(language, {}).get(level, level)
