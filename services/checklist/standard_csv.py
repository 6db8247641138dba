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
MAX_POINTS = 100000              # an item's weight is at most this (services.checklist.schemas.Item)


def _points(row, line):
    try:
        points = Decimal(row["score"].strip())
        whole_cents = points.is_finite() and points == points.quantize(Decimal("0.01"))
    except (InvalidOperation, AttributeError):
        whole_cents = None
    if whole_cents is None or not points.is_finite() or abs(points) > MAX_POINTS:
        raise InvalidCommand({"csv": ["line %d: score %r is not a number up to %s"
                                      % (line, row["score"], MAX_POINTS)]}) from None
    if points < 0 or not whole_cents:
        raise InvalidCommand({"csv": ["line %d: score %s must be positive with at most 2 "
                                      "decimals" % (line, row["score"])]})
    return points


def _unless_unreadable(read, reader):
    try:
        return read()
    except csv.Error as exc:          # a NUL, a newline inside an unquoted field, ...
        raise InvalidCommand({"csv": ["line %d: not readable as CSV: %s"
                                      % (reader.line_num, exc)]}) from None


def _rows(reader):
    """(line number, row) of each row, or a 400 at the first unreadable one."""
    while True:
        row = _unless_unreadable(lambda: next(reader, None), reader)
        if row is None:
            return
        yield reader.line_num, row


def read_items(text):
    """The scored items of the file as checklist items (weight = points,
    category, legal basis = the standard's clause), after checking the sums."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in COLUMNS if name not in (_unless_unreadable(
        lambda: reader.fieldnames, reader) or [])]
    if missing:
        raise InvalidCommand({"csv": ["missing columns: %s" % ", ".join(missing)]})
    items, sums, subtotals, total = [], {}, {}, None
    for line, row in _rows(reader):
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
