"""Ledgers as files: CSV and XLSX, written one way for every service.

Cells that a spreadsheet would run as a formula (text starting with = + - @)
are kept as text, so an exported ledger cannot carry formula injection."""
import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _values(columns, row):
    return ["" if row[key] is None else row[key] for key, _ in columns]


def _inert(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns, rows):
    """`columns`: (key, title) pairs; `rows`: mappings. UTF-8 with a BOM, so
    spreadsheet programs read Chinese text right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in columns])
    for row in rows:
        writer.writerow([_inert(value) for value in _values(columns, row)])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(sheet_title, columns, rows):
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title
    sheet.append([title for _, title in columns])
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in _values(columns, row)])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if cell.data_type == "f":          # text that starts with "=" stays text
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
