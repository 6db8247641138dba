"""Days are the deployment's (EINSPECTION_TIME_ZONE, Asia/Shanghai by
default) everywhere a day is shown or filtered on, while instants stay UTC:
a hazard found and an inspection completed at 00:30 in Shanghai on day D
(16:30 UTC on D − 1) are of D in the hazard ledger's from/to, its statistics
by day and month, its CSV and XLSX exports' day column, and the inspection
ledger's from/to and export; not of D − 1. D is the first of a month, so
the local month differs from the UTC one too."""
import csv
import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl

from . import factories, fixtures
from .fixtures import created
from .support import wait_until
from .test_hazards import report

SHANGHAI = ZoneInfo("Asia/Shanghai")        # the platform's EINSPECTION_TIME_ZONE default


def first_of_a_month_past_half_past_midnight():
    """The latest first of a month whose 00:30 (Shanghai) is a while past."""
    now = datetime.now(SHANGHAI)
    day = now.date().replace(day=1)
    if now < datetime.combine(day, time(0, 45), SHANGHAI):
        day = (day - timedelta(days=1)).replace(day=1)
    return day


def at(day, hour, minute):
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(timezone.utc)


def csv_rows(response):
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_hazard_and_an_inspection_at_half_past_midnight_are_of_the_local_day(api):
    day = first_of_a_month_past_half_past_midnight()
    before = day - timedelta(days=1)
    site = fixtures.site(api)
    enterprise = {"enterprise_id": site.enterprise_id}
    midnight = at(day, 0, 30)
    assert midnight.date() == before                 # UTC still counts the day before
    late_evening = at(before, 23, 30)                # the same UTC day, the local day before

    reported = report(api, site.enterprise_id, found_at=factories.iso(midnight))
    evening = report(api, site.enterprise_id, found_at=factories.iso(late_evening))
    assert reported["found_at"].startswith(before.isoformat() + "T16:30")   # instants stay UTC
    body = site.inspection(failed=(0,))
    body.update(started_at=factories.iso(midnight - timedelta(minutes=20)),
                completed_at=factories.iso(midnight))
    inspection = created(api.post("/api/v1/inspections", body))
    from_inspection = wait_until(lambda: api.get("/api/v1/hazards", params=dict(
        enterprise, source_inspection_id=inspection["id"])).json()["items"])
    of_the_day = {reported["id"], from_inspection[0]["id"]}

    # the ledger's from/to as days of the zone
    on_the_day = dict(enterprise, **{"from": day.isoformat(), "to": day.isoformat()})
    the_day_before = dict(enterprise, **{"from": before.isoformat(), "to": before.isoformat()})
    assert {h["id"] for h in created(api.get("/api/v1/hazards", params=on_the_day), 200)[
        "items"]} == of_the_day
    assert [h["id"] for h in created(api.get("/api/v1/hazards", params=the_day_before), 200)[
        "items"]] == [evening["id"]]
    # an instant is an instant still: from 16:00 UTC on D − 1 takes both of D
    assert {h["id"] for h in api.get("/api/v1/hazards", params=dict(enterprise, **{
        "from": factories.iso(at(day, 0, 0))})).json()["items"]} == of_the_day

    # statistics by the local day and month
    def totals_by(group_by, **params):
        figures = created(api.get("/api/v1/statistics/hazards", params=dict(
            enterprise, group_by=group_by, **params)), 200)
        return {group["key"]: group["total"] for group in figures["groups"]}
    assert totals_by("day") == {before.isoformat(): 1, day.isoformat(): 2}
    assert totals_by("month") == {before.strftime("%Y-%m"): 1, day.strftime("%Y-%m"): 2}
    assert totals_by("month", **{"from": day.isoformat(), "to": day.isoformat()}) == {
        day.strftime("%Y-%m"): 2}

    # the exports: in the CSV instants in UTC, the day in the zone, which the title names
    rows = csv_rows(api.get("/api/v1/hazards/export.csv", params=dict(enterprise,
                                                                       sort="found_at")))
    day_column = "发现日期 found on (Asia/Shanghai)"
    assert [(r["隐患编号 hazard id"], r[day_column]) for r in rows][0] == (evening["id"],
                                                                       before.isoformat())
    assert {r["隐患编号 hazard id"]: r[day_column] for r in rows[1:]} == dict.fromkeys(
        of_the_day, day.isoformat())
    assert {r["发现时间 found at (UTC)"][:10] for r in rows} == {before.isoformat()}
    # in the XLSX datetime cells of the zone (the title names it) and date cells
    workbook = api.get("/api/v1/hazards/export.xlsx", params=on_the_day)
    assert workbook.status_code == 200, workbook.text
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    header = [cell.value for cell in sheet[1]]
    table = [dict(zip(header, line)) for line in sheet.iter_rows(min_row=2)]
    assert len(table) == 2
    assert {row[day_column].value for row in table} == {datetime.combine(day, time())}
    assert {row[day_column].number_format for row in table} == {"yyyy-mm-dd"}
    [found] = [row["发现时间 found at (Asia/Shanghai)"] for row in table
               if row["隐患编号 hazard id"].value == reported["id"]]
    assert found.is_date and found.value == datetime.combine(day, time(0, 30))

    # the inspection ledger and its export
    inspections = created(api.get("/api/v1/inspections", params=on_the_day), 200)
    assert [i["id"] for i in inspections["items"]] == [inspection["id"]]
    assert created(api.get("/api/v1/inspections", params=the_day_before), 200)["total"] == 0
    exported = csv_rows(api.get("/api/v1/inspections/export.csv", params=on_the_day))
    assert [(r["检查编号 inspection id"], r["完成日期 completed on (Asia/Shanghai)"])
            for r in exported] == [(inspection["id"], day.isoformat())]
    assert exported[0]["完成时间 completed at (UTC)"].startswith(before.isoformat())
    workbook = api.get("/api/v1/inspections/export.xlsx", params=on_the_day)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    [row] = [dict(zip([c.value for c in sheet[1]], line)) for line in sheet.iter_rows(min_row=2)]
    assert row["完成时间 completed at (Asia/Shanghai)"].value == datetime.combine(day, time(0, 30))
    assert row["完成日期 completed on (Asia/Shanghai)"].value == datetime.combine(day, time())
