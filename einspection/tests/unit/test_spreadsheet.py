import csv
import io

from openpyxl import load_workbook

from einspection import spreadsheet

COLUMNS = (("name", "name"), ("note", "note"), ("count", "count"))
ROWS = [{"name": "德清 Baide", "note": "=HYPERLINK(\"http://x\")", "count": 3},
        {"name": "@SUM(A1)", "note": None, "count": -2}]


def test_csv_keeps_formulas_inert_and_text_readable():
    text = spreadsheet.to_csv(COLUMNS, ROWS).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "note", "count"]
    assert rows[1] == ["德清 Baide", "'=HYPERLINK(\"http://x\")", "3"]
    assert rows[2] == ["'@SUM(A1)", "", "-2"]          # numbers stay numbers


def test_xlsx_cells_are_values_not_formulas():
    sheet = load_workbook(io.BytesIO(spreadsheet.to_xlsx("t", COLUMNS, ROWS))).active
    assert [c.value for c in sheet[2]] == ["德清 Baide", "=HYPERLINK(\"http://x\")", 3]
    assert sheet["B2"].data_type == "s"
