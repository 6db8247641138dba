import csv
import io
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from einspection import spreadsheet
from einspection.spreadsheet import BOOLEAN, DAY, INSTANT, INTEGER, YUAN, Column

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = (Column("name", "名称", "name"), Column("note", "备注", "note"),
           Column("count", "数量", "count", INTEGER))
ROWS = [{"name": "德清 Baide", "note": "=HYPERLINK(\"http://x\")", "count": 3},
        {"name": "@SUM(A1)", "note": None, "count": -2}]

TYPED = (Column("id", "编号", "id"), Column("found_at", "发现时间", "found at", INSTANT),
         Column("found_on", "发现日期", "found on", DAY, day_of="found_at"),
         Column("deadline", "期限", "deadline", DAY), Column("cost", "费用(元)", "cost (CNY)", YUAN),
         Column("overdue", "逾期", "overdue", BOOLEAN), Column("returned", "退回", "returned",
                                                              INTEGER))
# 00:30 on 1 December in Shanghai is 16:30 UTC on 30 November
TYPED_ROWS = [{"id": "h-1", "found_at": "2026-11-30T16:30:00.000000Z", "deadline": "2026-12-08",
               "cost": "860.50", "overdue": True, "returned": 2},
              {"id": "h-2", "found_at": "2026-12-01T02:00:00.000000Z", "deadline": None,
               "cost": None, "overdue": False, "returned": 0}]


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def sheet_of(data):
    return load_workbook(io.BytesIO(data)).active


def test_csv_keeps_formulas_inert_and_text_readable():
    rows = csv_rows(spreadsheet.to_csv(COLUMNS, ROWS, SHANGHAI))
    assert rows[0] == ["名称 name", "备注 note", "数量 count"]
    assert rows[1] == ["德清 Baide", "'=HYPERLINK(\"http://x\")", "3"]
    assert rows[2] == ["'@SUM(A1)", "", "-2"]          # numbers stay numbers


def test_xlsx_cells_are_values_not_formulas():
    sheet = sheet_of(spreadsheet.to_xlsx("t", COLUMNS, ROWS, SHANGHAI))
    assert [c.value for c in sheet[2]] == ["德清 Baide", "=HYPERLINK(\"http://x\")", 3]
    assert sheet["B2"].data_type == "s" and sheet["A3"].value == "@SUM(A1)"


def test_csv_instants_stay_utc_beside_the_local_day_and_booleans_follow_the_language():
    english = csv_rows(spreadsheet.to_csv(TYPED, TYPED_ROWS, SHANGHAI))
    assert english[0] == ["编号 id", "发现时间 found at (UTC)",
                          "发现日期 found on (Asia/Shanghai)", "期限 deadline (Asia/Shanghai)",
                          "费用(元) cost (CNY)", "逾期 overdue", "退回 returned"]
    assert english[1] == ["h-1", "2026-11-30T16:30:00.000000Z", "2026-12-01", "2026-12-08",
                          "860.50", "true", "2"]
    assert english[2] == ["h-2", "2026-12-01T02:00:00.000000Z", "2026-12-01", "", "", "false",
                          "0"]
    assert csv_rows(spreadsheet.to_csv(TYPED, TYPED_ROWS, SHANGHAI, "en")) == english
    chinese = csv_rows(spreadsheet.to_csv(TYPED, TYPED_ROWS, SHANGHAI, "zh"))
    assert chinese[0] == english[0]                 # titles do not depend on the language
    assert [row[5] for row in chinese[1:]] == ["是", "否"]
    with pytest.raises(ValueError, match="lang"):
        spreadsheet.to_csv(TYPED, TYPED_ROWS, SHANGHAI, "fr")


def test_xlsx_has_real_datetimes_dates_numbers_and_booleans():
    sheet = sheet_of(spreadsheet.to_xlsx("hazards", TYPED, TYPED_ROWS, SHANGHAI))
    assert sheet.title == "hazards"
    assert [c.value for c in sheet[1]][1:3] == ["发现时间 found at (Asia/Shanghai)",
                                                "发现日期 found on (Asia/Shanghai)"]
    found, day, deadline, cost, overdue, returned = sheet[2][1:]
    assert found.value == datetime(2026, 12, 1, 0, 30) and found.is_date     # local wall clock
    assert found.number_format == spreadsheet.DATETIME_FORMAT
    assert day.value == datetime(2026, 12, 1) and day.is_date                # the local day
    assert deadline.value == datetime(2026, 12, 8) and day.number_format == "yyyy-mm-dd"
    assert cost.data_type == "n" and cost.value == 860.5 and cost.number_format == "0.00"
    assert overdue.data_type == "b" and overdue.value is True
    assert returned.data_type == "n" and returned.value == 2 and returned.number_format == "0"
    empty = sheet[3]
    assert (empty[3].value, empty[4].value, empty[5].value) == (None, None, False)


def test_xlsx_yuan_are_the_exact_decimals_written():
    data = spreadsheet.to_xlsx("t", (Column("cost", "费用", "cost", YUAN),),
                               [{"cost": "0.10"}, {"cost": "12345678901.99"}], SHANGHAI)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>0.1</v>" in xml and "<v>12345678901.99</v>" in xml


def test_xlsx_header_is_frozen_filtered_and_columns_fit_their_widest_cell():
    columns = COLUMNS + (Column("when", "时间", "when", INSTANT),)
    rows = [dict(ROWS[0], name="一二三四五六七八九十一二三四五六七八九十", when=datetime(
        2026, 12, 1, tzinfo=timezone.utc))] + ROWS[1:]
    sheet = sheet_of(spreadsheet.to_xlsx("t", columns, rows, SHANGHAI))
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D3"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCD"}
    assert widths["A"] == 40 + 2                   # twenty CJK characters count double
    assert widths["B"] == len("=HYPERLINK(\"http://x\")") + 2
    assert widths["C"] == len("数量 count") + 2 + 2           # the title is the widest
    assert widths["D"] == len("时间 when (Asia/Shanghai)") + 2 + 2
    long = sheet_of(spreadsheet.to_xlsx("t", COLUMNS, [dict(ROWS[0], note="x" * 500)],
                                        SHANGHAI))
    assert long.column_dimensions["B"].width == spreadsheet.MAX_WIDTH


def test_an_empty_ledger_still_has_its_header_and_filter():
    sheet = sheet_of(spreadsheet.to_xlsx("t", TYPED, [], SHANGHAI))
    assert sheet.max_row == 1 and sheet.auto_filter.ref == "A1:G1"
    assert csv_rows(spreadsheet.to_csv(TYPED, [], SHANGHAI))[1:] == []


def test_display_width_counts_wide_characters_twice():
    assert spreadsheet.display_width("隐患 id") == 7
    assert spreadsheet.display_width("ＡＢ") == 4              # full-width letters too
