"""Ledgers as files: CSV and XLSX, written one way for every service.

| kind | the row's value | CSV | XLSX |
| --- | --- | --- | --- |
| `TEXT` | str | as is | a text cell |
| `INSTANT` | ISO 8601 with offset, or an aware datetime | ISO 8601 UTC with offset, as the API | a datetime cell in the deployment's zone (named in the title) |
| `DAY` | a date, ISO day; or the local day of another column's instant (`day_of`) | `YYYY-MM-DD` | a date cell |
| `INTEGER` | int | digits | a number cell, format `0` |
| `YUAN` | money as the API writes it, a decimal string (`"860.50"`) | as is | a number cell of that exact decimal, format `0.00` |
| `BOOLEAN` | bool | `true`/`false` (`lang=en`, the default) or `是`/`否` (`lang=zh`) | a boolean cell |

Titles are Chinese first, English beside (`隐患编号 hazard id`), the same in
every language, so a program that reads the columns by title reads them
whatever `lang` was. An instant column's title names its zone: `(UTC)` in the
CSV, the deployment's zone in the XLSX; a day column's names the deployment's
zone in both.

The XLSX has its header frozen, an autofilter over the header row and its
data, and each column as wide as its widest cell (a CJK character counts two).

Cells that a spreadsheet would run as a formula (text starting with = + - @)
are kept as text, so an exported ledger cannot carry formula injection."""
import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from marshmallow import fields, validate
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from .contract import LANGUAGES, isoformat, parse_instant
from .days import local_day

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

TEXT, INSTANT, DAY, INTEGER, YUAN, BOOLEAN = "text", "instant", "day", "integer", "yuan", "boolean"
DEFAULT_LANGUAGE = "en"
BOOLEAN_WORDS = {"en": ("true", "false"), "zh": ("是", "否")}
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
NUMBER_FORMATS = {INSTANT: DATETIME_FORMAT, DAY: DATE_FORMAT, INTEGER: "0", YUAN: "0.00"}
MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class Column:
    """One column: the row's `key`, its title in Chinese and English, its
    kind; a DAY column with `day_of` is the local day of that instant column."""
    key: str
    zh: str
    en: str
    kind: str = TEXT
    day_of: str = None

    def title(self, zone, file_format):
        title = "%s %s" % (self.zh, self.en)
        if self.kind == INSTANT:
            return "%s (%s)" % (title, "UTC" if file_format == "csv" else zone.key)
        if self.kind == DAY:
            return "%s (%s)" % (title, zone.key)
        return title


def language(lang):
    """`lang` if it is one of the export's languages, the default for None;
    ValueError otherwise (the services' query schemas name the field)."""
    if lang is None:
        return DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        raise ValueError("lang must be one of %s, not %r" % (", ".join(LANGUAGES), lang))
    return lang


def language_field():
    """The exports' `lang` query parameter, for the services' query schemas."""
    return fields.String(load_default=None, validate=validate.OneOf(LANGUAGES), metadata={
        "description": "the CSV's booleans: `en` (the default) true/false, `zh` 是/否; "
                       "column titles are Chinese and English whatever it is, and an XLSX "
                       "has real boolean cells. Without it, the Accept-Language header's "
                       "choice of zh or en"})


def _instant(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return parse_instant(value)


def _value(column, row, zone):
    """The cell's value as Python: a datetime (aware), date, int, Decimal,
    bool, str, or None for an empty cell."""
    value = row.get(column.day_of if column.day_of else column.key)
    if value is None or value == "":
        return None
    if column.kind == INSTANT:
        return _instant(value)
    if column.kind == DAY:
        if column.day_of:
            return local_day(_instant(value), zone)
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if column.kind == YUAN:
        return Decimal(str(value))
    if column.kind == INTEGER:
        return int(value)
    if column.kind == BOOLEAN:
        return bool(value)
    return value


def _inert(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_text(column, value, lang):
    if value is None:
        return ""
    if column.kind == INSTANT:
        return isoformat(value)
    if column.kind == DAY:
        return value.isoformat()
    if column.kind == BOOLEAN:
        return BOOLEAN_WORDS[lang][0 if value else 1]
    if column.kind == YUAN:
        return str(value)
    if column.kind == TEXT:
        return _inert(value)
    return value


def to_csv(columns, rows, zone, lang=None):
    """`columns`: Column; `rows`: mappings. UTF-8 with a BOM, so spreadsheet
    programs read Chinese text right; booleans in `lang`."""
    lang = language(lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.title(zone, "csv") for column in columns])
    for row in rows:
        writer.writerow([_csv_text(column, _value(column, row, zone), lang)
                         for column in columns])
    return out.getvalue().encode("utf-8-sig")


def display_width(text):
    """How many character cells `text` takes: two for a wide (CJK) character."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _xlsx_value(column, value, zone):
    if value is None:
        return None
    if column.kind == INSTANT:          # openpyxl takes naive datetimes: the zone's wall clock
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _shown(column, value):
    """The text a cell shows, for its column's width."""
    if value is None:
        return ""
    if column.kind == INSTANT:
        return "0000-00-00 00:00:00"
    if column.kind == DAY:
        return "0000-00-00"
    if column.kind == YUAN:
        return "%.2f" % value
    if column.kind == BOOLEAN:
        return "FALSE"
    return str(value)


def to_xlsx(sheet_title, columns, rows, zone):
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title
    titles = [column.title(zone, "xlsx") for column in columns]
    sheet.append(titles)
    widths = [display_width(title) for title in titles]
    formats = [NUMBER_FORMATS.get(column.kind) for column in columns]
    last = 1
    for last, row in enumerate(rows, start=2):
        for index, column in enumerate(columns):
            value = _value(column, row, zone)
            cell = sheet.cell(row=last, column=index + 1, value=_xlsx_value(column, value, zone))
            if cell.data_type == "f":          # text that starts with "=" stays text
                cell.data_type = "s"
            if value is not None and formats[index]:
                cell.number_format = formats[index]
            widths[index] = max(widths[index], display_width(_shown(column, value)))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, width) + 2)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = "A1:%s%d" % (get_column_letter(len(columns)), last)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
