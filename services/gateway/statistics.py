"""The statistics routes' common part: `compare=previous_period|previous_year`
asks the owning service twice (this period, the one compared with) and
answers both side by side; `format=csv` answers the same figures as a CSV
file. The arithmetic is einspection.figures'.

| query | what |
| --- | --- |
| `compare` | `previous_period` (as long, just before `from`) or `previous_year` (the same dates a year earlier); needs `from` and `to` |
| `format` | `json` (default) or `csv` |
"""
from datetime import datetime

from marshmallow import fields, validate
from werkzeug.wrappers import Response

from einspection import figures
from einspection.contract import isoformat, load_command
from services.checklist.schemas import PeriodQuery
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


class TrainingStatisticsQuery(PeriodQuery):
    compare = _compare()
    format = _format()


def _text(moment):
    return isoformat(moment) if isinstance(moment, datetime) else moment.isoformat()


def answer(args, fetch, names, rates, query, filename, grouped=True):
    """`fetch(args)`: the figures of the owning service for the query
    string `args`; `names`: their counts, `rates`: their other figures;
    `query`: the route's query schema (its period read as the service reads
    it: instants or days); `grouped`: {groups, totals}, or
    one set of figures. JSON, or a CSV file, with the period compared beside."""
    args = dict(args)
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
    if options["format"] == "csv":
        table = current if grouped else {"group_by": "period", "groups": [],
                                         "totals": current}
        return Response(figures.to_csv(table, names, rates), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="%s.csv"'
                                 % filename})
    return 200, current
