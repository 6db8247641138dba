"""The standing book as a file: CSV (UTF-8 with BOM, so spreadsheet programs
read the Chinese text right) or XLSX."""
import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

COLUMNS = (
    ("id", "hazard id"), ("enterprise_id", "enterprise"), ("position_id", "position"),
    ("hazard_type", "type"), ("level", "level"), ("category", "category"),
    ("description", "description"), ("status", "status"), ("overdue", "overdue"),
    ("found_at", "found at"), ("reported_at", "recorded at"),
    ("rectification_deadline", "deadline"), ("rectified_at", "rectified at"),
    ("rectification_cost", "cost"), ("closed_at", "closed at"),
    ("returned_count", "returned"), ("has_plan", "plan"), ("reporter", "reporter"),
    ("source_inspection_id", "inspection"), ("source_item_id", "inspection item"),
)
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cells(row):
    return ["" if row[key] is None else row[key] for key, _ in COLUMNS]


def to_csv(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        writer.writerow(_cells(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows):
    book = Workbook()
    sheet = book.active
    sheet.title = "hazards"
    sheet.append([title for _, title in COLUMNS])
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in _cells(row)])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if cell.data_type == "f":          # text that starts with "=" stays text
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS = {"csv": (to_csv, CSV_TYPE), "xlsx": (to_xlsx, XLSX_TYPE)}
