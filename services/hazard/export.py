"""The standing book as a file: CSV or XLSX."""
from einspection import spreadsheet

COLUMNS = (
    ("id", "hazard id"), ("enterprise_id", "enterprise"), ("position_id", "position"),
    ("hazard_type", "type"), ("level", "level"), ("category", "category"),
    ("description", "description"), ("status", "status"), ("overdue", "overdue"),
    ("found_at", "found at"), ("reported_at", "recorded at"),
    ("rectification_deadline", "deadline"), ("rectified_at", "rectified at"),
    ("rectification_cost", "cost"), ("closed_at", "closed at"),
    ("closed_by", "closed by (account)"), ("returned_count", "returned"), ("has_plan", "plan"),
    ("reporter", "reporter"), ("reported_by", "reported by (account)"),
    ("source_inspection_id", "inspection"), ("source_item_id", "inspection item"),
    ("source", "source"), ("listed", "listed (挂牌督办)"), ("listing_deadline", "listing deadline"),
    ("listing_office", "listing office"),
)
FORMATS = {
    "csv": (lambda rows: spreadsheet.to_csv(COLUMNS, rows), spreadsheet.CSV),
    "xlsx": (lambda rows: spreadsheet.to_xlsx("hazards", COLUMNS, rows), spreadsheet.XLSX),
}
