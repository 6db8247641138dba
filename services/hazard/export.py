"""The standing book as a file: CSV or XLSX. Instants stay UTC with their
offset; the day a hazard was found is written beside them as the
deployment's day, with the zone named in its column's title."""
from einspection import days, spreadsheet
from einspection.contract import parse_instant

COLUMNS = (
    ("id", "hazard id"), ("enterprise_id", "enterprise"), ("position_id", "position"),
    ("hazard_type", "type"), ("level", "level"), ("category", "category"),
    ("description", "description"), ("status", "status"), ("overdue", "overdue"),
    ("found_at", "found at (UTC)"), ("found_on", "found on (%s)"),
    ("reported_at", "recorded at"),
    ("rectification_deadline", "deadline"), ("rectified_at", "rectified at"),
    ("rectification_cost", "cost"), ("closed_at", "closed at"),
    ("closed_by", "closed by (account)"), ("returned_count", "returned"), ("has_plan", "plan"),
    ("reporter", "reporter"), ("reported_by", "reported by (account)"),
    ("source_inspection_id", "inspection"), ("source_item_id", "inspection item"),
    ("source", "source"), ("listed", "listed (挂牌督办)"), ("listing_deadline", "listing deadline"),
    ("listing_office", "listing office"),
)


def _dated(rows, zone=None):
    """(columns, rows) with the local day found and the zone in its title."""
    zone = zone or days.deployment_zone()
    columns = tuple((key, title % zone.key if key == "found_on" else title)
                    for key, title in COLUMNS)
    return columns, [dict(row, found_on=days.local_day(parse_instant(row["found_at"]), zone)
                          .isoformat()) for row in rows]


def _csv(rows, zone=None):
    return spreadsheet.to_csv(*_dated(rows, zone))


def _xlsx(rows, zone=None):
    return spreadsheet.to_xlsx("hazards", *_dated(rows, zone))


FORMATS = {"csv": (_csv, spreadsheet.CSV), "xlsx": (_xlsx, spreadsheet.XLSX)}
