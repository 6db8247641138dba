"""The statistics routes' common part: `compare=previous_period|previous_year`
asks the owning service twice (this period, the one compared with) and
answers both side by side; `format=csv` answers the same figures as a CSV
file. The arithmetic is einspection.figures'.

| query | what |
| --- | --- |
| `compare` | `previous_period` (as long, just before `from`) or `previous_year` (the same dates a year earlier); needs `from` and `to` |
| `format` | `json` (default) or `csv` |
"""
import os
from datetime import datetime

from marshmallow import fields, validate
from werkzeug.wrappers import Response

from einspection import figures
from einspection.contract import isoformat, load_command
from services.checklist import schemas as checklist_schemas
from services.checklist.schemas import PeriodQuery
from services.enforcement import statistics as enforcement_statistics
from services.enforcement.cases import DEFAULT_VIOLATION_CLASSES, violation_classes
from services.hazard.schemas import StatisticsQuery

from .http_json import HttpError


def _compare():
    return fields.String(load_default=None, validate=validate.OneOf(figures.COMPARISONS),
                         metadata={"description": "answer the compared period beside this "
                                                  "one: previous_period (as long, just before "
                                                  "from) or previous_year (the same dates a "
                                                  "year earlier); needs from and to"})


def _format():
    return fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                         metadata={"description": "json, or the same figures as CSV"})


class HazardStatisticsQuery(StatisticsQuery):
    """The hazard service's statistics query, and how to answer it."""
    compare = _compare()
    format = _format()


class InspectionStatisticsQuery(checklist_schemas.InspectionStatisticsQuery):
    compare = _compare()
    format = _format()


class TrainingStatisticsQuery(PeriodQuery):
    compare = _compare()
    format = _format()


ENFORCEMENT_COUNTS = enforcement_statistics.counts(violation_classes(
    os.environ.get("ENFORCEMENT_VIOLATION_CLASSES") or DEFAULT_VIOLATION_CLASSES))
ENFORCEMENT_AMOUNTS = enforcement_statistics.AMOUNTS
ENFORCEMENT_FIGURES = ENFORCEMENT_COUNTS + ENFORCEMENT_AMOUNTS


class EnforcementStatisticsQuery(enforcement_statistics.EnforcementStatisticsQuery):
    """The enforcement service's figures query, how to answer it, and which
    groups first."""
    compare = _compare()
    format = _format()
    sort = fields.String(load_default=None, validate=validate.OneOf(
        [prefix + name for name in ("key",) + ENFORCEMENT_FIGURES for prefix in ("", "-")]),
        metadata={"description": "the groups in the order of a figure (or key), `-` "
                                 "for the largest first; ties by key; a null figure last",
                  "example": "-fines_imposed"})
    limit = fields.Integer(strict=False, load_default=None,
                           validate=validate.Range(min=1, max=10000), metadata={
                               "description": "the first groups only (after sort); the "
                                              "totals stay those of every group"})


def arranged(figures_, sort, limit):
    """The groups in the order of `sort` ("-fines_imposed"), the first `limit`."""
    groups = sorted(figures_["groups"], key=lambda group: str(group["key"]))
    if sort:
        name = sort.lstrip("-")
        valued = [group for group in groups if group.get(name) is not None]
        groups = sorted(valued, key=lambda group: group[name], reverse=sort.startswith("-")) + [
            group for group in groups if group.get(name) is None]
    return dict(figures_, groups=groups[:limit] if limit else groups)


def _text(moment):
    return isoformat(moment) if isinstance(moment, datetime) else moment.isoformat()


def answer(args, fetch, names, rates, query, filename, grouped=True, amounts=(),
           arrange=None):
    """`fetch(args)`: the figures of the owning service for the query
    string `args`; `names`: their counts, `rates`: their other figures;
    `query`: the route's query schema (its period read as the service reads
    it: instants or days); `grouped`: {groups, totals}, or
    one set of figures. JSON, or a CSV file, with the period compared beside.
    `amounts`: names of money figures (int minor units, compared like counts,
    then written as decimal strings); `arrange(figures)`: the groups in the
    order to show (after the comparison)."""
    args = dict(args)
    names = tuple(names) + tuple(amounts)
    options = load_command(query(only=("compare", "format", "from_", "to")), {
        key: args[key] for key in ("compare", "format", "from", "to") if key in args})
    args.pop("compare", None)
    args.pop("format", None)
    current = fetch(args)
    if options["compare"]:
        missing = {key: ["needed to compare with a %s" % options["compare"].replace("_", " ")]
                   for key, value in (("from", options["from_"]), ("to", options["to"]))
                   if value is None}
        if missing:
            raise HttpError(400, "the period to compare is not closed", fields=missing)
        start, end = figures.previous_window(options["from_"], options["to"],
                                             options["compare"])
        previous = fetch(dict(args, **{"from": _text(start), "to": _text(end)}))
        previous.update({"from": _text(start), "to": _text(end)})
        current = dict(current, **{"from": _text(options["from_"]), "to": _text(options["to"])})
        current = (figures.compared(current, previous, names, rates) if grouped
                   else figures.compared_totals(current, previous, names, rates))
        current["compare"] = options["compare"]
    if arrange is not None:
        current = arrange(current)
    if amounts:
        current = (figures.with_amounts(current, amounts) if grouped else figures.with_amounts(
            {"groups": [], "totals": current}, amounts)["totals"])
    if options["format"] == "csv":
        table = current if grouped else {"group_by": "period", "groups": [],
                                         "totals": current}
        return Response(figures.to_csv(table, names, rates), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="%s.csv"'
                                 % filename})
    return 200, current
