"""Hazard statistics and the ledger filters the web pages use, through the
gateway on the five running processes: counts per level, category,
enterprise and month, and per town, grid and industry with their rates, a
period beside the one before and as CSV, cross-checked against the standing
book; hazards of one inspection; open hazards."""
import csv
import io
import uuid
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from einspection import days
from einspection.contract import parse_instant

from . import factories, fixtures
from .fixtures import created
from .support import wait_until
from .test_hazards import PLAN, rectification, report


SHANGHAI = ZoneInfo("Asia/Shanghai")        # the platform's EINSPECTION_TIME_ZONE default


def by_key(result):
    return {group["key"]: group for group in result["groups"]}


def test_hazard_statistics_count_per_group_under_the_ledger_filters(api):
    first = fixtures.register_enterprise(api)
    second = fixtures.register_enterprise(api)
    category = "statistics-" + uuid.uuid4().hex[:8]     # only this test's hazards have it
    open_general = report(api, first, category=category, found_hours_ago=3)
    rectified = report(api, first, category=category, found_hours_ago=2)
    created(api.post("/api/v1/hazards/%s/rectification" % rectified["id"], rectification()))
    major = report(api, second, category=category, level="major", found_hours_ago=1)
    created(api.post("/api/v1/hazards/%s/plan" % major["id"], PLAN))

    by_enterprise = created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "enterprise", "category": category}), 200)
    assert by_enterprise["group_by"] == "enterprise"
    groups = by_key(by_enterprise)
    assert set(groups) == {first, second}
    assert groups[first] == {"key": first, "total": 2, "open": 1, "rectification_submitted": 1,
                             "closed": 0, "closed_on_time": 0, "major": 0, "overdue": 0,
                             "overdue_open": 0, "rectification_rate": "0.0000",
                             "on_time_rate": None}
    assert (groups[second]["total"], groups[second]["major"], groups[second]["open"]) == (1, 1, 1)
    assert by_enterprise["totals"]["total"] == 3

    levels = by_key(created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "level", "enterprise_id": first}), 200))
    assert {key: group["total"] for key, group in levels.items()} == {"general": 2}
    months = created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "month", "category": category, "status": "open"}), 200)
    found_in = Counter(days.local_day(parse_instant(hazard["found_at"]), SHANGHAI)
                       .strftime("%Y-%m") for hazard in (open_general, major))   # local months
    assert {key: group["total"] for key, group in by_key(months).items()} == found_in
    assert (months["totals"]["open"], months["totals"]["major"]) == (2, 1)
    assert created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "category", "category": category, "from": factories.iso(
            factories.ago(minutes=90))}), 200)["totals"]["total"] == 1
    assert open_general["id"] in {h["id"] for h in created(api.get("/api/v1/hazards", params={
        "enterprise_id": first, "status": "open"}), 200)["items"]}

    # an enterprise's account counts its own hazards only, whatever it asks for
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=first)
    own = created(manager.get("/api/v1/statistics/hazards", params={
        "group_by": "enterprise", "category": category}), 200)
    assert [group["key"] for group in own["groups"]] == [first]
    assert created(manager.get("/api/v1/statistics/hazards", params={
        "group_by": "level", "enterprise_id": second}), 200)["totals"]["total"] == 0


@pytest.mark.parametrize("params,field", [
    ({}, "group_by"), ({"group_by": "nonsense"}, "group_by"),
    ({"group_by": "town", "compare": "yesterday"}, "compare"),
    ({"group_by": "town", "compare": "previous_year", "to": "2026-12-01T00:00:00Z"}, "from"),
    ({"group_by": "level", "format": "pdf"}, "format"), ({"group_by": "level", "size": "5"},
                                                           "size"),
    ({"group_by": "level", "overdue": "perhaps"}, "overdue"),
    ({"group_by": "month", "from": "last week"}, "from"),
])
def test_bad_statistics_queries_are_400_naming_the_field(api, params, field):
    response = api.get("/api/v1/statistics/hazards", params=params)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]


def test_the_ledger_lists_the_hazards_of_one_inspection(api):
    site = fixtures.site(api)
    inspection = created(api.post("/api/v1/inspections", site.inspection(failed=(0, 1))))
    other = created(api.post("/api/v1/inspections", site.inspection(failed=(1,))))

    def hazards_of(inspection_id):
        return created(api.get("/api/v1/hazards", params={
            "enterprise_id": site.enterprise_id, "source_inspection_id": inspection_id}),
            200)["items"]

    raised = wait_until(lambda: len(hazards_of(inspection["id"])) == 2 and
                        hazards_of(inspection["id"]), message="two hazards of the inspection")
    assert {h["source_inspection_id"] for h in raised} == {inspection["id"]}
    assert {h["level"] for h in raised} == {"major", "general"}
    wait_until(lambda: len(hazards_of(other["id"])) == 1, message="the other inspection's hazard")


def test_figures_per_town_grid_and_industry_with_rates_and_the_period_before_agree_with_the_ledger(
        api):
    tag = uuid.uuid4().hex[:8]
    towns = {"north": "Town-N-" + tag, "south": "Town-S-" + tag}
    north = fixtures.register_enterprise(api, town=towns["north"], grid="Grid-N-" + tag)
    south = fixtures.register_enterprise(api, town=towns["south"], grid="Grid-S-" + tag)
    verifier = fixtures.account(api, "enterprise_manager", enterprise_id=north)
    south_verifier = fixtures.account(api, "enterprise_manager", enterprise_id=south)
    category = "figures-" + tag

    def closed(enterprise_id, who, late=False, **extra):
        hazard = report(api, enterprise_id, category=category, **extra)
        path = "/api/v1/hazards/%s" % hazard["id"]
        if late:    # the overdue check flags it first, whenever its timer runs
            wait_until(lambda: created(api.get(path), 200)["overdue"], timeout=30,
                       message="the overdue check to flag the late hazard")
        created(api.post(path + "/rectification", rectification()))
        created(who.post(path + "/verification", {"outcome": "verified", "verifier": "li"}))
        return hazard

    # this period (the last ten days): north 3 found, 1 closed on time, 1 rectified, 1 open;
    # south 1 open. The ten days before: south 1, closed after its deadline
    closed(north, verifier, found_hours_ago=2)
    rectified = report(api, north, category=category, found_hours_ago=3)
    created(api.post("/api/v1/hazards/%s/rectification" % rectified["id"], rectification()))
    report(api, north, category=category, found_hours_ago=4)
    report(api, south, category=category, found_hours_ago=5)
    closed(south, south_verifier, late=True, found_hours_ago=15 * 24)
    period = {"from": factories.iso(factories.ago(days=10)),
              "to": factories.iso(factories.ago(minutes=-5))}

    figures = created(api.get("/api/v1/statistics/hazards", params=dict(
        period, group_by="town", category=category, compare="previous_period")), 200)
    groups = by_key(figures)
    assert set(groups) == set(towns.values())
    now_north, now_south = groups[towns["north"]], groups[towns["south"]]
    assert (now_north["total"], now_north["closed"], now_north["closed_on_time"],
            now_north["rectification_submitted"], now_north["open"]) == (3, 1, 1, 1, 1)
    assert (now_north["rectification_rate"], now_north["on_time_rate"]) == ("0.3333", "1.0000")
    assert (now_south["total"], now_south["closed"], now_south["on_time_rate"]) == (1, 0, None)
    # the ten days before: the south's late one only
    assert now_south["previous"]["total"] == 1 and now_south["previous"]["closed"] == 1
    assert now_south["previous"]["closed_on_time"] == 0
    assert now_south["previous"]["on_time_rate"] == "0.0000"
    assert now_north["previous"]["total"] == 0 and now_north["change"]["total"] == 3
    assert now_south["change"] == dict({name: 0 for name in now_south["change"]}, closed=-1,
                                       open=1, overdue=-1)
    assert figures["compare"] == "previous_period" and figures["totals"]["change"]["total"] == 3

    # the totals are the standing book's own counts over the same filters
    def ledger_total(**filters):
        return created(api.get("/api/v1/hazards", params=dict(
            period, category=category, size=1, **filters)), 200)["total"]
    assert figures["totals"]["total"] == ledger_total() == 4
    assert figures["totals"]["closed"] == ledger_total(status="closed") == 1
    assert figures["totals"]["open"] == ledger_total(status="open") == 2
    for group_by in ("grid", "industry", "enterprise", "level", "status"):
        other = created(api.get("/api/v1/statistics/hazards", params=dict(
            period, group_by=group_by, category=category)), 200)
        assert sum(group["total"] for group in other["groups"]) == 4, group_by
        assert other["totals"]["closed_on_time"] == 1, group_by
    by_status = by_key(created(api.get("/api/v1/statistics/hazards", params=dict(
        period, group_by="status", category=category)), 200))
    assert {key: group["total"] for key, group in by_status.items()} == {
        "closed": 1, "rectification_submitted": 1, "reported": 2}

    # a year before: nothing, every group still there with zeros then
    year = created(api.get("/api/v1/statistics/hazards", params=dict(
        period, group_by="grid", category=category, compare="previous_year")), 200)
    assert all(group["previous"]["total"] == 0 for group in year["groups"])
    assert year["previous_period"]["from"].startswith(str(int(period["from"][:4]) - 1))

    # the same figures as CSV, the compared period's columns beside
    response = api.get("/api/v1/statistics/hazards", params=dict(
        period, group_by="town", category=category, compare="previous_period", format="csv"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = {row["town"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == set(towns.values()) | {"total"}
    assert (rows[towns["north"]]["total"], rows[towns["north"]]["rectification_rate"],
            rows[towns["north"]]["previous_total"],
            rows[towns["north"]]["change_total"]) == ("3", "0.3333", "0", "3")
    assert rows[towns["south"]]["on_time_rate"] == "" and rows["total"]["total"] == "4"


def test_training_figures_beside_the_period_before_and_as_csv(api):
    day = "2026-03-%02d"
    figures = created(api.get("/api/v1/statistics/training", params={
        "from": day % 10, "to": day % 19, "compare": "previous_period"}), 200)
    # ten days, both included: the ten before
    assert figures["previous_period"] == {"from": "2026-02-28", "to": "2026-03-09"}
    assert set(figures["change"]) == {"sessions", "people_trained", "enterprises_covered",
                                      "enterprises_registered"}
    assert figures["change"]["sessions"] == (figures["sessions"]
                                             - figures["previous"]["sessions"])
    response = api.get("/api/v1/statistics/training", params={
        "from": day % 10, "to": day % 19, "compare": "previous_year", "format": "csv"})
    assert response.status_code == 200, response.text
    (row,) = [r for r in csv.DictReader(io.StringIO(response.text)) if r["period"] == "total"]
    assert row["sessions"] == str(figures["sessions"]) and "previous_coverage" in row
