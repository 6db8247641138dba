"""The standing book as a file: CSV or XLSX (einspection/spreadsheet.py says
how each kind of column is written). The names of the enterprise and the
position stand beside their ids (services/hazard/names.py). In the CSV the
instants stay UTC with their offset, the day a hazard was found beside them
as the deployment's day; in the XLSX they are datetimes of the deployment's
zone. Each title names the zone it is in."""
from einspection import spreadsheet
from einspection.spreadsheet import BOOLEAN, DAY, INSTANT, INTEGER, YUAN, Column

COLUMNS = (
    Column("id", "隐患编号", "hazard id"),
    Column("enterprise_id", "企业编号", "enterprise id"),
    Column("enterprise_name", "企业名称", "enterprise"),
    Column("position_id", "岗位编号", "position id"),
    Column("position_name", "岗位名称", "position"),
    Column("hazard_type", "隐患类型", "type"),
    Column("level", "隐患等级", "level"),
    Column("category", "隐患类别", "category"),
    Column("description", "隐患描述", "description"),
    Column("status", "状态", "status"),
    Column("overdue", "是否逾期", "overdue", BOOLEAN),
    Column("found_at", "发现时间", "found at", INSTANT),
    Column("found_on", "发现日期", "found on", DAY, day_of="found_at"),
    Column("reported_at", "登记时间", "recorded at", INSTANT),
    Column("rectification_deadline", "整改期限", "deadline", INSTANT),
    Column("rectified_at", "整改完成时间", "rectified at", INSTANT),
    Column("rectification_cost", "整改费用(元)", "cost (CNY)", YUAN),
    Column("closed_at", "销号时间", "closed at", INSTANT),
    Column("closed_by", "销号账号", "closed by (account)"),
    Column("returned_count", "退回次数", "returned", INTEGER),
    Column("has_plan", "有整改方案", "plan", BOOLEAN),
    Column("reporter", "报告人", "reporter"),
    Column("reported_by", "报告账号", "reported by (account)"),
    Column("source_inspection_id", "检查编号", "inspection"),
    Column("source_item_id", "检查项编号", "inspection item"),
    Column("source", "来源", "source"),
    Column("listed", "挂牌督办", "listed", BOOLEAN),
    Column("listing_deadline", "督办期限", "listing deadline", INSTANT),
    Column("listing_office", "督办机关", "listing office"),
)


def _csv(rows, zone, lang=None):
    return spreadsheet.to_csv(COLUMNS, rows, zone, lang)


def _xlsx(rows, zone, lang=None):
    return spreadsheet.to_xlsx("hazards", COLUMNS, rows, zone)


FORMATS = {"csv": (_csv, spreadsheet.CSV), "xlsx": (_xlsx, spreadsheet.XLSX)}
