"""The authority's figures: counts per group, their rates, a period beside
the one before it, and the same figures as CSV — one arithmetic for every
statistics route.

| step | function | what |
| --- | --- | --- |
| fold | `fold(figures, attribute_of, group_by, names, rates)` | per-enterprise counts summed per town, grid or industry (the register's attributes) |
| rates | `with_rates(figures, rates)` | each group's and the totals' rates, exact decimal strings |
| window | `previous_window(start, end, compare)` | the period compared with: the one just before, or a year earlier |
| compare | `compared(current, previous, names, rates)` | each group and the totals with `previous` and `change` |
| money | `with_amounts(figures, amounts)` | int minor units written as decimal strings, once every sum and difference is made |
| CSV | `to_csv(figures, names, rates)` | one row per group, then the totals; the previous period's columns beside |

A rate is `numerator / denominator` rounded half up to four decimals, as a
string ("0.8571"), and null when the denominator is 0: a ratio of counts
is exact, never a float.
"""
import calendar
import csv
import io
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import money

COMPARISONS = ("previous_period", "previous_year")
UNKNOWN = "(unknown)"           # an enterprise the register does not describe


def rate(numerator, denominator):
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"),
                                                                       ROUND_HALF_UP))


def with_rates(figures, rates):
    """`rates`: {name: (numerator count, denominator count)}."""
    def rated(counts):
        return dict(counts, **{name: rate(counts[top], counts[bottom])
                               for name, (top, bottom) in rates.items()})
    return dict(figures, groups=[rated(group) for group in figures["groups"]],
                totals=rated(figures["totals"]))


def fold(figures, attribute_of, group_by, names, rates):
    """Per-enterprise groups (`key` an enterprise id) summed per the
    enterprise's `attribute_of[id]`, their `rates` computed again; the
    totals are unchanged."""
    folded = {}
    for group in figures["groups"]:
        key = attribute_of.get(group["key"]) or UNKNOWN
        into = folded.setdefault(key, dict({name: 0 for name in names}, key=key))
        for name in names:
            into[name] += group[name]
    return with_rates(dict(figures, group_by=group_by,
                           groups=[folded[key] for key in sorted(folded)]), rates)


def _years_back(moment, years=1):
    year = moment.year - years
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])   # 29 February
    return moment.replace(year=year, day=day)


def previous_window(start, end, compare):
    """(start, end) of the period compared with [start, end]: `previous_period`
    is as long and ends just before `start`; `previous_year` is the same
    dates a year earlier. Instants or dates alike."""
    if compare == "previous_year":
        return _years_back(start), _years_back(end)
    if isinstance(start, datetime):
        return start - (end - start), start - timedelta(microseconds=1)
    return start - (end - start) - timedelta(days=1), start - timedelta(days=1)  # whole days


def compared(current, previous, names, rates=()):
    """`current` with, per group (matched by key) and for the totals, the
    previous period's counts (`names`) and `rates` as `previous` and the
    differences of the counts as `change`; a group found only in the
    previous period is kept, with nothing now."""
    before = {group["key"]: group for group in previous["groups"]}
    nothing = dict({name: 0 for name in names}, **{name: None for name in rates})
    groups = [_beside(group, before.get(group["key"], nothing), names, rates)
              for group in current["groups"]]
    now_keys = {group["key"] for group in current["groups"]}
    groups += [_beside(dict(nothing, key=key), before[key], names, rates)
               for key in sorted(set(before) - now_keys)]
    return dict(current, groups=groups,
                totals=_beside(current["totals"], previous["totals"], names, rates),
                previous_period={"from": previous.get("from"), "to": previous.get("to")})


def compared_totals(current, previous, names, rates=()):
    """`compared` for figures without groups (one set of counts)."""
    return dict(_beside(current, previous, names, rates),
                previous_period={"from": previous.get("from"), "to": previous.get("to")})


def _beside(now, then, names, rates):
    # a figure a group does not have (null) has no change either
    return dict(now, previous={name: then.get(name) for name in list(names) + list(rates)},
                change={name: None if now.get(name) is None else
                        now[name] - (then.get(name) or 0) for name in names})


def with_amounts(figures, amounts):
    """`amounts` (int minor units, in groups, totals and beside them in
    `previous` and `change`) written as decimal strings ("30000.00"), after
    every sum and difference was made on the ints."""
    def written(row):
        row = dict(row, **{name: _money(row.get(name)) for name in amounts if name in row})
        for beside in ("previous", "change"):
            if beside in row:
                row[beside] = dict(row[beside], **{name: _money(row[beside].get(name))
                                                   for name in amounts
                                                   if name in row[beside]})
        return row
    return dict(figures, groups=[written(group) for group in figures["groups"]],
                totals=written(figures["totals"]))


def _money(fen):
    return None if fen is None else money.format(fen)


def to_csv(figures, names, rates=()):
    """The figures as CSV text: a row per group and a last row `total`;
    with a comparison, `previous_<name>` and `change_<name>` beside."""
    columns = list(names) + list(rates)
    comparing = "previous" in figures["totals"]
    header = [figures.get("group_by") or "group"] + columns
    if comparing:
        header += ["previous_" + name for name in columns] + ["change_" + name for name in names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for key, row in [(group["key"], group) for group in figures["groups"]] + [
            ("total", figures["totals"])]:
        line = [key] + [_cell(row.get(name)) for name in columns]
        if comparing:
            line += [_cell(row["previous"].get(name)) for name in columns]
            line += [row["change"][name] for name in names]
        writer.writerow(line)
    return out.getvalue()


def _cell(value):
    return "" if value is None else value
