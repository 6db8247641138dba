"""Hazard statistics and the ledger filters the web pages use, through the
gateway on the five running processes: counts per level, category,
enterprise and month; hazards of one inspection; open hazards."""
import uuid
from collections import Counter

import pytest

from . import factories, fixtures
from .fixtures import created
from .support import wait_until
from .test_hazards import PLAN, rectification, report


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
                             "closed": 0, "major": 0, "overdue": 0, "overdue_open": 0}
    assert (groups[second]["total"], groups[second]["major"], groups[second]["open"]) == (1, 1, 1)
    assert by_enterprise["totals"]["total"] == 3

    levels = by_key(created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "level", "enterprise_id": first}), 200))
    assert {key: group["total"] for key, group in levels.items()} == {"general": 2}
    months = created(api.get("/api/v1/statistics/hazards", params={
        "group_by": "month", "category": category, "status": "open"}), 200)
    found_in = Counter(hazard["found_at"][:7] for hazard in (open_general, major))
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
    ({}, "group_by"), ({"group_by": "town"}, "group_by"), ({"group_by": "level", "size": "5"},
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
