"""Inspection statistics through the gateway on the running processes: per
kind (self, grid, enforcement), month, enterprise and the register's town,
with the deployment's days (an inspection at 00:30 in Shanghai is of that
day), a period beside the one before, CSV, the caller's scope, and the
totals cross-checked against the inspection ledger."""
import csv
import io
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from . import factories, fixtures
from .fixtures import created

SHANGHAI = ZoneInfo("Asia/Shanghai")        # the platform's EINSPECTION_TIME_ZONE default


def by_key(result):
    return {group["key"]: group for group in result["groups"]}


def half_past_midnight_today():
    """00:30 of the last Shanghai day that has reached it: the day before in UTC."""
    now = datetime.now(SHANGHAI)
    day = now.date() if now.time() >= time(0, 45) else now.date() - timedelta(days=1)
    return datetime.combine(day, time(0, 30), SHANGHAI), day


def logged(api, site, moment=None, **kwargs):
    body = site.inspection(**kwargs)
    if moment is not None:
        body["completed_at"] = factories.iso(moment.astimezone(timezone.utc))
        body["started_at"] = factories.iso((moment - timedelta(minutes=20))
                                           .astimezone(timezone.utc))
    return created(api.post("/api/v1/inspections", body))


def test_inspections_counted_per_kind_town_and_local_day(api):
    town = "统计镇-" + uuid.uuid4().hex[:6]        # only this test's enterprises are in it
    first = fixtures.site(api, town=town, grid=town + "-1")
    second = fixtures.site(api, town=town, grid=town + "-2")
    midnight, local_day = half_past_midnight_today()
    logged(api, first, completed_days_ago=3)
    logged(api, first, midnight, failed=(0, 1))
    logged(api, first, completed_days_ago=2, kind="grid", failed=(2,))
    logged(api, second, completed_days_ago=1)
    items = len(first.version["items"])

    kinds = created(api.get("/api/v1/statistics/inspections", params={
        "enterprise_id": first.enterprise_id}), 200)
    assert kinds["group_by"] == "kind"
    assert by_key(kinds) == {
        "self": {"key": "self", "inspections": 2, "enterprises_inspected": 1, "with_findings": 1,
                 "items_checked": 2 * items, "items_failed": 2, "findings_rate": "0.5000",
                 "failed_item_rate": "%.4f" % (2 / (2 * items))},
        "grid": {"key": "grid", "inspections": 1, "enterprises_inspected": 1, "with_findings": 1,
                 "items_checked": items, "items_failed": 1, "findings_rate": "1.0000",
                 "failed_item_rate": "%.4f" % (1 / items)}}
    ledger = created(api.get("/api/v1/inspections", params={
        "enterprise_id": first.enterprise_id}), 200)
    assert kinds["totals"]["inspections"] == ledger["total"] == 3

    towns = by_key(created(api.get("/api/v1/statistics/inspections", params={
        "group_by": "town", "kind": "self"}), 200))
    assert (towns[town]["inspections"], towns[town]["enterprises_inspected"]) == (3, 2)

    # 00:30 in Shanghai is the day before in UTC: the local day holds it
    today = created(api.get("/api/v1/statistics/inspections", params={
        "enterprise_id": first.enterprise_id, "from": local_day.isoformat(),
        "to": local_day.isoformat()}), 200)
    assert today["totals"]["inspections"] == 1 and today["totals"]["items_failed"] == 2
    months = created(api.get("/api/v1/statistics/inspections", params={
        "enterprise_id": first.enterprise_id, "group_by": "month",
        "from": local_day.isoformat(), "to": local_day.isoformat()}), 200)
    assert [g["key"] for g in months["groups"]] == [local_day.strftime("%Y-%m")]

    # the period before, beside it, and the same as CSV
    compared = created(api.get("/api/v1/statistics/inspections", params={
        "enterprise_id": first.enterprise_id, "from": local_day.isoformat(),
        "to": local_day.isoformat(), "compare": "previous_period"}), 200)
    before = local_day - timedelta(days=1)
    assert compared["previous_period"] == {"from": before.isoformat(), "to": before.isoformat()}
    assert compared["totals"]["inspections"] == 1
    assert compared["totals"]["change"]["inspections"] == \
        1 - compared["totals"]["previous"]["inspections"]
    exported = api.get("/api/v1/statistics/inspections", params={
        "group_by": "town", "kind": "self", "format": "csv"})
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = {row["town"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert rows[town]["inspections"] == "3"

    # an enterprise's account counts its own inspections only, whatever it asks for
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=first.enterprise_id)
    own = created(manager.get("/api/v1/statistics/inspections", params={
        "group_by": "enterprise"}), 200)
    assert [g["key"] for g in own["groups"]] == [first.enterprise_id]
    assert created(manager.get("/api/v1/statistics/inspections", params={
        "enterprise_id": second.enterprise_id}), 200)["totals"]["inspections"] == 0


@pytest.mark.parametrize("params,field", [
    ({"group_by": "nonsense"}, "group_by"), ({"kind": "audit"}, "kind"),
    ({"from": "soon"}, "from"), ({"compare": "previous_year", "to": "2026-12-01"}, "from"),
    ({"format": "pdf"}, "format"), ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
])
def test_bad_inspection_statistics_queries_are_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/statistics/inspections", params=params)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]
