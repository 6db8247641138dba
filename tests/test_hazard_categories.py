"""The hazard categories: a fixed taxonomy with Chinese and English labels
(GET /api/v1/hazard-categories); a report or a checklist item naming a
category by a label or synonym is recorded with its key, so that 消防 and
"Fire" count together with fire; other text stays as given. The ledger's
q= searches the descriptions and the categories' names, in any case, on
both backends, and the exports and statistics take it too."""
import csv
import io

from . import fixtures
from .fixtures import created
from .support import wait_until
from .test_hazards import report


def test_the_taxonomy_is_served_with_labels_and_synonyms(api):
    taxonomy = created(api.get("/api/v1/hazard-categories"), 200)
    by_key = {entry["key"]: entry for entry in taxonomy["categories"]}
    assert taxonomy["version"]
    assert by_key["fire"]["zh"] == "消防" and by_key["fire"]["en"] == "fire"
    assert "火灾" in by_key["fire"]["synonyms"] and "other" in by_key
    # any account reads it: the deployment's rule, not a tenant's data
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=fixtures.register_enterprise(api))
    assert created(staff.get("/api/v1/hazard-categories"), 200) == taxonomy


def test_labels_and_synonyms_count_with_the_key_and_q_searches(api):
    site = fixtures.site(api)
    enterprise = {"enterprise_id": site.enterprise_id}
    chinese = report(api, site.enterprise_id, category="消防",
                     description="消防通道被货物堵塞，需立即清理")
    english = report(api, site.enterprise_id, category="  Fire ",
                     description="Extinguisher PRESSURE gauge in the red zone")
    synonym = report(api, site.enterprise_id, category="火灾",
                     description="welding sparks near cardboard, 100% combustible")
    free_text = report(api, site.enterprise_id, category="storage",
                       description="pallets stacked above the line")
    assert [h["category"] for h in (chinese, english, synonym, free_text)] == [
        "fire", "fire", "fire", "storage"]
    # an inspection's failed item: its category is read the same way
    inspection = created(api.post("/api/v1/inspections", site.inspection(failed=(2,))))
    raised = wait_until(lambda: api.get("/api/v1/hazards", params=dict(
        enterprise, source_inspection_id=inspection["id"])).json()["items"])
    assert raised[0]["category"] == "electrical"

    figures = created(api.get("/api/v1/statistics/hazards", params=dict(
        enterprise, group_by="category")), 200)
    assert {g["key"]: g["total"] for g in figures["groups"]} == {
        "fire": 3, "storage": 1, "electrical": 1}
    fire = {chinese["id"], english["id"], synonym["id"]}
    for asked in ("fire", "消防", "FIRE", "防火"):
        found = created(api.get("/api/v1/hazards", params=dict(enterprise, category=asked)), 200)
        assert {h["id"] for h in found["items"]} == fire, asked

    def searched(text, path="/api/v1/hazards"):
        return {h["id"] for h in created(api.get(path, params=dict(enterprise, q=text)),
                                          200)["items"]}
    assert searched("pressure") == {english["id"]}               # any case
    assert searched("通道") == {chinese["id"]}                    # Chinese text
    assert searched("100%") == {synonym["id"]}                   # % is a character
    assert searched("_") == set()
    assert searched("消防") == fire                               # a category's label
    assert searched("stor") == {free_text["id"]}                 # free-text category
    assert searched("nothing like this") == set()
    exported = api.get("/api/v1/hazards/export.csv", params=dict(enterprise, q="PALLETS"))
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["隐患编号 hazard id"] for r in rows] == [free_text["id"]]
    counted = created(api.get("/api/v1/statistics/hazards", params=dict(
        enterprise, group_by="level", q="消防")), 200)
    assert counted["totals"]["total"] == 3

    for bad in ({"q": ""}, {"q": "x" * 201}):
        response = api.get("/api/v1/hazards", params=bad)
        assert response.status_code == 400 and "q" in response.json()["error"]["fields"]
