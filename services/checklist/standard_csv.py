"""Reading a grading standard published as CSV (the layout of the Chinese
warehouse-logistics safety standardisation standard): one row per scored
item, a subtotal row closing each category and a total row at the end.

The file is checked before anything is imported: every category's items must
add up to its subtotal row and the subtotals to the total, or the file is
refused with the categories that do not add up."""
import csv
import io
from decimal import Decimal, InvalidOperation

from einspection.errors import InvalidCommand

COLUMNS = ("category", "project", "content", "score", "row_type")
ITEM, SUBTOTAL, TOTAL = "item", "subtotal", "total"


def _points(row, line):
    try:
        points = Decimal(row["score"].strip())
    except (InvalidOperation, AttributeError):
        raise InvalidCommand({"csv": ["line %d: score %r is not a number"
                                      % (line, row["score"])]}) from None
    if points < 0 or points != points.quantize(Decimal("0.01")):
        raise InvalidCommand({"csv": ["line %d: score %s must be positive with at most 2 "
                                      "decimals" % (line, row["score"])]})
    return points


def read_items(text):
    """The scored items of the file as checklist items (weight = points,
    category, legal basis = the standard's clause), after checking the sums."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise InvalidCommand({"csv": ["missing columns: %s" % ", ".join(missing)]})
    items, sums, subtotals, total = [], {}, {}, None
    for row in reader:
        line = reader.line_num
        kind, category = (row["row_type"] or "").strip(), (row["category"] or "").strip()
        if kind == ITEM:
            if not category or not (row["content"] or "").strip():
                raise InvalidCommand({"csv": ["line %d: an item needs a category and a "
                                              "content" % line]})
            points = _points(row, line)
            sums[category] = sums.get(category, Decimal(0)) + points
            items.append({"prompt": row["content"].strip(), "category": category,
                          "legal_basis": (row["project"] or "").strip(), "weight": points,
                          "major": False, "photo_required": False})
        elif kind == SUBTOTAL:
            if category in subtotals:
                raise InvalidCommand({category: ["has two subtotal rows (line %d)" % line]})
            subtotals[category] = _points(row, line)
        elif kind == TOTAL:
            total = _points(row, line)
        else:
            raise InvalidCommand({"csv": ["line %d: row_type %r is not item, subtotal or "
                                          "total" % (line, row["row_type"])]})
    if not items:
        raise InvalidCommand({"csv": ["no items"]})
    errors = {}
    for category in list(sums) + [c for c in subtotals if c not in sums]:
        got, expected = sums.get(category, Decimal(0)), subtotals.get(category)
        if expected is None:
            errors[category] = ["has no subtotal row"]
        elif got != expected:
            errors[category] = ["items add up to %s points but the subtotal row says %s"
                                % (_plain(got), _plain(expected))]
    if errors:
        raise InvalidCommand(errors)
    if total is not None and sum(subtotals.values()) != total:
        raise InvalidCommand({"csv": ["subtotals add up to %s points but the total row says "
                                      "%s" % (_plain(sum(subtotals.values())), _plain(total))]})
    return items


def _plain(points):
    return format(points.normalize(), "f")
