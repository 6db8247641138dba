"""The authority's enforcement figures (GET /api/v1/statistics/enforcement)
end to end, on a platform of this module's own and both backends:
enforcement inspections with findings make visits, hazards found by
inspectors and cases; citations with fines a float sums wrong are decided
and partly paid; the figures per campaign, town, grid, industry, year,
enterprise and violation class are cross-checked against the ledgers (the
cases list and the standing book), within each caller's scope. The shipped
OSHA export is imported through the CLI, and its figures — stated here, and
counted again from the CSV files with the csv module — are what the API
answers, the establishments with the highest penalties first."""
import csv
import io
import os
import re
import uuid
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from conftest import BACKENDS
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from services.enforcement import cli, facts, import_osha, records
from services.enforcement.unit.test_osha import DATA
from services.gateway.statistics import ENFORCEMENT_AMOUNTS

from . import factories, fixtures
from .conftest import own_platform
from .fixtures import account, created
from .support import Api, wait_until

ROUTE = "/api/v1/statistics/enforcement"
TOWN_A, TOWN_B = "武康街道", "乾元镇"
# (enterprise, town, grid, industry); a1 is visited twice, a2 once without findings
ENTERPRISES = (("a1", TOWN_A, TOWN_A + "-1", "化工"), ("a2", TOWN_A, TOWN_A + "-2", "机械"),
               ("b1", TOWN_B, TOWN_B + "-1", "化工"))
CAMPAIGN = str(uuid.uuid4())
# amounts a float sums wrong: 0.10 + 0.20, and many x.x5
FINES = {"a1": [("serious", "0.10"), ("other", "0.20"), ("repeat", "1005.05")],
         "a1-again": [("other", "0.15"), ("other", "2.35")],
         "b1": [("serious", "0.05"), ("other", "1.15"), ("other", "3.55"), ("willful", "0.70")]}
WITHDRAWN = ("b1", 1)             # b1's second citation is withdrawn
PAID = {"a1": [("0.30", "r-1"), ("1005.05", "r-2")], "b1": [("0.05", "r-3")]}


def floats_get_it_wrong(amounts):
    return sum(float(a) for a in amounts) != float(sum(Decimal(a) for a in amounts))


@pytest.fixture(scope="module", params=BACKENDS)
def county(request, databases, run_id, tmp_path_factory):
    """Three enterprises in two towns and three grids, four enforcement
    inspections (three with findings: their cases with citations, penalties
    and payments), then the shipped OSHA export imported through its CLI."""
    def prepare(running):
        api = Api(running.base_url, running.token)
        running.api = api
        inspector = running.inspector = account(api, "authority_inspector")
        universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
        running.ids, logged = {}, {}
        for key, town, grid, industry in ENTERPRISES:
            enterprise_id = fixtures.register_enterprise(api, name="统计企业" + key, town=town,
                                                         grid=grid, industry=industry)
            running.ids[key] = enterprise_id
            where = fixtures.position(api, enterprise_id,
                                      checklist_ids=[universal["checklist_id"]])
            photo = fixtures.photo(api, enterprise_id)
            for visit, failed in {"a1": [("a1", (0, 1)), ("a1-again", (1, 2))],
                                  "a2": [("a2", ())], "b1": [("b1", (0, 2))]}[key]:
                body = factories.inspection(enterprise_id, where["id"], universal,
                                            kind="enforcement", failed=failed, photo=photo,
                                            inspector="赵执法")
                if visit != "a1-again":
                    body["campaign_id"] = CAMPAIGN
                logged[visit] = created(inspector.post("/api/v1/inspections", body))
        running.logged = logged
        running.cases = {}
        for visit in FINES:
            def the_case():
                items = created(api.get("/api/v1/cases", params={
                    "enterprise_id": logged[visit]["enterprise_id"]}), 200)["items"]
                return [c for c in items if c["inspection_id"] == logged[visit]["id"]]
            [case] = wait_until(the_case, timeout=30, message="the case of " + visit)
            running.cases[visit] = case["case_id"]
            path = "/api/v1/cases/" + case["case_id"]
            cited = []
            for index, (klass, fine) in enumerate(FINES[visit]):
                cited.append(created(inspector.post(path + "/citations", {
                    "clause": "《安全生产法》第九十九条", "violation_class": klass,
                    "description": "统计 %s %d" % (visit, index),
                    "fine_proposed": fine}))["citations"][-1]["citation_id"])
            if visit == WITHDRAWN[0]:
                created(api.post(path + "/citations/%s/withdrawal" % cited[WITHDRAWN[1]],
                                 {"reason": "事实不清"}), 200)
            if visit in PAID:
                in_force = [(c, f) for i, (c, (_, f)) in enumerate(zip(cited, FINES[visit]))
                            if (visit, i) != WITHDRAWN]
                created(api.post(path + "/penalty", {"fines": [
                    {"citation_id": c, "fine_imposed": f} for c, f in in_force]}), 200)
                for amount, reference in PAID[visit]:
                    created(api.post(path + "/payments", {
                        "amount": amount, "reference": reference + uuid.uuid4().hex[:6],
                        "paid_on": factories.ago(days=0).date().isoformat()}))
        created(api.post("/api/v1/cases/%s/close" % running.cases["a1"], {"outcome": "paid"}),
                200)
        # the export of a regulator, through the import's own command line
        with ClusterRpcProxy({"AMQP_URI": running.amqp_uri}, timeout=300) as cluster:
            report = str(tmp_path_factory.mktemp("osha") / "report.csv")
            running.imported = import_osha.main([DATA, "--report", report], out=io.StringIO(),
                                                rpc=cluster.enforcement.import_records)
    with own_platform(request, databases, run_id, tmp_path_factory, "figures", prepare) \
            as running:
        yield running


def figures(api, status=200, **params):
    return created(api.get(ROUTE, params=params), status)


def by_key(answer):
    return {group["key"]: group for group in answer["groups"]}


def hazards_settled(county):
    """The enforcement service has every hazard the inspections made."""
    expected = created(county.api.get("/api/v1/hazards", params={
        "source": "enforcement", "size": 1}), 200)["total"]
    assert expected == 6                              # 2 + 2 + 0 + 2 failed items
    wait_until(lambda: figures(county.api, group_by="year", currency="CNY")["totals"][
        "hazards_found"] == expected, timeout=30, message="the hazards among the facts")


def every_page(api, path, **params):
    items, page = [], 1
    while True:
        answer = created(api.get(path, params=dict(params, page=page, size=2)), 200)
        items += answer["items"]
        if page >= answer["pages"]:
            return items
        page += 1


def cents(text):
    return int(Decimal(text) * 100)


# --- the ledgers and the figures agree ---------------------------------------------------------

@pytest.mark.parametrize("currency", ["CNY", "USD"])
def test_the_totals_are_the_ledgers_cases_and_hazards_summed_exactly(county, currency):
    api = county.api
    hazards_settled(county)
    answer = figures(api, group_by="campaign", currency=currency)
    assert answer["currency"] == currency
    totals = answer["totals"]
    cases = every_page(api, "/api/v1/cases", currency=currency)
    assert len(cases) == totals["cases_open"] + totals["cases_closed"] > 0
    assert totals["cases_closed"] == sum(1 for case in cases if case["status"] == "closed")
    for figure, column in (("fines_proposed", "proposed"), ("fines_imposed", "imposed"),
                           ("fines_paid", "paid")):
        assert cents(totals[figure]) == sum(cents(case["totals"][column]) for case in cases)
    assert cents(totals["fines_outstanding"]) == sum(
        cents(case["totals"]["balance"]) for case in cases if case["status"] != "closed")
    assert cents(totals["fines_imposed"]) == sum(
        cents(totals[name]) for name in ("fines_paid", "fines_outstanding",
                                         "fines_uncollected"))
    assert totals["citations_in_force"] == sum(case["citations"] for case in cases)
    assert totals["citations_in_force"] == sum(
        totals["citations_" + klass] for klass in ("serious", "willful", "repeat", "other"))
    ledger = every_page(api, "/api/v1/hazards", source="enforcement")
    assert totals["hazards_found"] == len(ledger)            # a hazard has no currency
    # the groups add up to the totals (each case is in one campaign)
    for name in ("cases_open", "cases_closed", "citations_in_force", "hazards_found",
                 "inspections"):
        assert sum(group[name] for group in answer["groups"]) == totals[name]
    for name in ENFORCEMENT_AMOUNTS:
        assert sum(cents(group[name]) for group in answer["groups"]) == cents(totals[name])


def test_fines_that_floats_get_wrong_are_summed_to_the_cent(county):
    api, ids = county.api, county.ids
    proposed = [fine for visit in FINES for index, (_, fine) in enumerate(FINES[visit])
                if (visit, index) != WITHDRAWN]
    assert floats_get_it_wrong(proposed)
    totals = figures(api, group_by="year", source="recorded")["totals"]
    assert totals["fines_proposed"] == str(sum(Decimal(f) for f in proposed)) == "1012.15"
    # a1's case closed paid; b1's decided and partly paid; a1-again open, not decided
    imposed = [f for visit in ("a1", "b1") for index, (_, f) in enumerate(FINES[visit])
               if (visit, index) != WITHDRAWN]
    assert totals["fines_imposed"] == "%.2f" % sum(Decimal(f) for f in imposed) == "1009.65"
    assert totals["fines_paid"] == "1005.40"
    assert totals["fines_outstanding"] == "4.25" and totals["fines_uncollected"] == "0.00"
    assert (totals["cases_open"], totals["cases_closed"]) == (2, 1)
    assert (totals["citations_in_force"], totals["citations_withdrawn"]) == (8, 1)
    assert (totals["citations_serious"], totals["citations_other"], totals["citations_repeat"],
            totals["citations_willful"]) == (2, 4, 1, 1)
    # four visits of three enterprises; a1 twice
    assert (totals["inspections"], totals["enterprises_visited"],
            totals["enterprises_visited_more_than_once"]) == (4, 3, 1)
    enterprise = by_key(figures(api, group_by="enterprise", source="recorded"))
    assert enterprise[ids["a1"]]["fines_proposed"] == "1007.85" == str(sum(
        Decimal(fine) for visit in ("a1", "a1-again") for _, fine in FINES[visit]))
    assert enterprise[ids["a1"]]["name"] == "统计企业a1"
    assert enterprise[ids["a1"]]["inspections"] == 2
    assert sum(float(f) for _, f in FINES["a1"]) != 1005.35            # what a float says
    assert enterprise[ids["a1"]]["fines_imposed"] == "1005.35"        # a1-again: not decided
    assert enterprise[ids["b1"]]["fines_proposed"] == "4.30"          # 1.15 withdrawn


def test_figures_per_town_grid_industry_year_campaign_and_violation_class(county):
    api = county.api
    hazards_settled(county)
    towns = by_key(figures(api, group_by="town", source="recorded"))
    assert set(towns) == {TOWN_A, TOWN_B}
    assert (towns[TOWN_A]["inspections"], towns[TOWN_A]["enterprises_visited"],
            towns[TOWN_A]["enterprises_visited_more_than_once"]) == (3, 2, 1)
    assert (towns[TOWN_A]["fines_proposed"], towns[TOWN_B]["fines_proposed"]) == (
        "1007.85", "4.30")
    assert towns[TOWN_B]["hazards_found"] == 2 and towns[TOWN_A]["hazards_found"] == 4
    grids = by_key(figures(api, group_by="grid", source="recorded"))
    assert {key: group["inspections"] for key, group in grids.items()} == {
        TOWN_A + "-1": 2, TOWN_A + "-2": 1, TOWN_B + "-1": 1}
    industries = by_key(figures(api, group_by="industry", source="recorded"))
    assert {key: group["cases_open"] + group["cases_closed"]
            for key, group in industries.items()} == {"化工": 3, "机械": 0}
    this_year = str(local_day(factories.ago(minutes=1), deployment_zone()).year)
    years = by_key(figures(api, group_by="year", source="recorded"))
    assert list(years) == [this_year]
    campaigns = by_key(figures(api, group_by="campaign", source="recorded"))
    assert {key: group["inspections"] for key, group in campaigns.items()} == {
        CAMPAIGN: 3, "(none)": 1}
    assert campaigns["(none)"]["fines_proposed"] == "2.50"        # a1-again: 0.15 + 2.35
    assert figures(api, group_by="year", campaign_id=CAMPAIGN,
                   source="recorded")["totals"]["hazards_found"] == 4

    classes = by_key(figures(api, group_by="violation_class", source="recorded"))
    assert {key: group["citations_in_force"] for key, group in classes.items()} == {
        "serious": 2, "other": 4, "repeat": 1, "willful": 1}
    assert classes["other"]["citations_withdrawn"] == 1
    assert classes["other"]["fines_proposed"] == "6.25"          # 0.20 + 0.15 + 2.35 + 3.55
    assert classes["serious"]["cases_open"] + classes["serious"]["cases_closed"] == 2
    assert classes["serious"]["fines_paid"] is None              # a payment is the case's

    # imported establishments outside the register: their own city and industry code
    usd_towns = by_key(figures(api, group_by="town", currency="USD"))
    chowchilla = sum(dollars for (_, city), dollars in
                     counted_from_the_files()["by_establishment"].items() if city == "CHOWCHILLA")
    assert Decimal(usd_towns["CHOWCHILLA"]["fines_imposed"]) == chowchilla > Decimal("37430")
    assert usd_towns["CHOWCHILLA"]["enterprises_visited"] == 7
    assert set(by_key(figures(api, group_by="grid", source="imported"))) == {"(unknown)"}


def test_a_period_compared_and_the_figures_as_csv(county):
    api = county.api
    today = local_day(factories.ago(minutes=1), deployment_zone())
    window = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    compared = figures(api, group_by="town", source="recorded", compare="previous_year",
                       **window)
    assert compared["compare"] == "previous_year" and compared["currency"] == "CNY"
    totals = compared["totals"]
    assert totals["previous"]["inspections"] == 0 and totals["change"]["inspections"] == 4
    assert totals["previous"]["fines_proposed"] == "0.00"
    assert totals["change"]["fines_proposed"] == totals["fines_proposed"] == "1012.15"
    before = figures(api, group_by="town", source="recorded", compare="previous_period",
                     **window)
    assert before["previous_period"]["to"] < window["from"]

    download = api.get(ROUTE, params=dict(window, group_by="enterprise", source="recorded",
                                          compare="previous_period", format="csv"))
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "enforcement-statistics-CNY.csv" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows[-1]["enterprise"] == "total"
    assert rows[-1]["fines_proposed"] == "1012.15" and rows[-1]["inspections"] == "4"
    assert rows[-1]["previous_fines_proposed"] == "0.00"
    assert rows[-1]["change_fines_proposed"] == "1012.15"
    assert {row["enterprise"] for row in rows[:-1]} == set(county.ids.values())


def test_each_caller_sees_the_figures_of_its_own_scope(county):
    api, ids = county.api, county.ids
    everyone = by_key(figures(api, group_by="enterprise", currency="CNY"))
    grid = account(api, "grid_officer", grid=TOWN_A + "-1")
    own_grid = figures(grid, group_by="enterprise")
    assert [group["key"] for group in own_grid["groups"]] == [ids["a1"]]
    assert own_grid["totals"]["fines_proposed"] == everyone[ids["a1"]]["fines_proposed"]
    assert own_grid["totals"]["inspections"] == 2
    town = account(api, "town_officer", town=TOWN_A)
    assert {g["key"] for g in figures(town, group_by="enterprise")["groups"]} == {
        ids["a1"], ids["a2"]}
    manager = account(api, "enterprise_manager", enterprise_id=ids["b1"])
    own = figures(manager, group_by="town")
    assert [group["key"] for group in own["groups"]] == [TOWN_B]
    assert own["totals"]["fines_proposed"] == everyone[ids["b1"]]["fines_proposed"] == "4.30"
    # another tenant's figures are nothing, whatever is asked (and no imported USD)
    stranger = account(api, "enterprise_manager", enterprise_id=ids["a2"])
    theirs = figures(stranger, group_by="enterprise", enterprise_id=ids["b1"])
    assert theirs["groups"] == [] and theirs["totals"]["fines_proposed"] == "0.00"
    assert theirs["totals"]["cases_open"] == theirs["totals"]["hazards_found"] == 0
    assert figures(stranger, group_by="year")["totals"]["inspections"] == 1


# --- the imported OSHA export ---------------------------------------------------------------

def counted_from_the_files():
    """The figures of the shipped export counted again, with the csv module
    alone: inspections, violations in force by class, penalties, open cases,
    establishments (name and city as the import normalises them) and each
    establishment's current penalties."""
    def rows(name):
        with open(os.path.join(DATA, name), encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    def missing(text):
        return (text or "").strip() in ("", "NA")

    def spelled(text):
        return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())
    inspections, violations = rows("derived_inspections.csv"), rows("derived_violations.csv")
    where = {r["activity_nr"]: (spelled(r["estab_name"]), spelled(r["site_city"]))
             for r in inspections}
    in_force = [v for v in violations if missing(v["delete_flag"])]
    dollars = defaultdict(Decimal)
    for v in in_force:
        if not missing(v["current_penalty"]):
            dollars[where[v["activity_nr"]]] += Decimal(v["current_penalty"])
    names = {"O": "other", "S": "serious", "R": "repeat", "W": "willful"}
    return {"inspections": len(inspections), "deleted": len(violations) - len(in_force),
            "by_class": Counter(names[v["viol_type"]] for v in in_force),
            "initial": sum(Decimal(v["initial_penalty"]) for v in in_force
                           if not missing(v["initial_penalty"])),
            "current": sum(Decimal(v["current_penalty"]) for v in in_force
                           if not missing(v["current_penalty"])),
            "open": sum(1 for r in inspections if missing(r["close_case_date"])),
            "establishments": len(set(where.values())), "by_establishment": dollars}


def test_the_imported_osha_export_answers_its_figures(county):
    api = county.api
    assert county.imported["imported"] == county.imported["records"] > 0
    counted = counted_from_the_files()
    # stated, and counted again from the files
    assert counted["inspections"] == 582 and counted["deleted"] == 64
    assert counted["by_class"] == {"other": 549, "serious": 172, "repeat": 12}
    assert (counted["initial"], counted["current"]) == (Decimal("1135340"), Decimal("734771"))
    assert (counted["open"], counted["establishments"]) == (37, 374)

    top = figures(api, group_by="enterprise", source="imported", sort="-fines_imposed",
                  limit=10)
    assert top["currency"] == "USD"
    totals = top["totals"]
    assert (totals["inspections"], totals["enterprises_visited"]) == (582, 374)
    assert (totals["citations_in_force"], totals["citations_other"], totals["citations_serious"],
            totals["citations_repeat"], totals["citations_willful"],
            totals["citations_withdrawn"]) == (733, 549, 172, 12, 0, 64)
    assert (totals["fines_proposed"], totals["fines_imposed"]) == ("1135340.00", "734771.00")
    assert totals["cases_open"] == 37 and totals["cases_closed"] == 582 - 37
    assert totals["hazards_found"] == 0                 # the export holds no hazards
    assert (totals["fines_proposed"], totals["fines_imposed"]) == (
        "%.2f" % counted["initial"], "%.2f" % counted["current"])
    assert len(top["groups"]) == 10
    first = top["groups"][0]
    assert (first["name"], first["town"], first["fines_imposed"]) == (
        "CA PRISON INDUSTRY AUTHORITY", "CHOWCHILLA", "37430.00")
    # its one inspection (2017-06-28, closed 2019-10-09): 2 serious, 2 other; the case closed
    # as terminated (the export holds no payments), so its balance is uncollected
    assert (first["inspections"], first["cases_closed"], first["citations_serious"],
            first["citations_other"]) == (1, 1, 2, 2)
    assert (first["fines_proposed"], first["fines_paid"], first["fines_outstanding"],
            first["fines_uncollected"]) == ("37430.00", "0.00", "0.00", "37430.00")
    assert cents(totals["fines_uncollected"]) + cents(totals["fines_outstanding"]) == cents(
        totals["fines_imposed"])
    ranked = sorted(counted["by_establishment"].items(), key=lambda item: (-item[1], item[0]))
    assert [Decimal(group["fines_imposed"]) for group in top["groups"]] == [
        dollars for _, dollars in ranked[:10]]
    assert ranked[0] == (("CA PRISON INDUSTRY AUTHORITY", "CHOWCHILLA"), Decimal("37430"))
    # by year of the inspection: the years of the export's open dates
    years = figures(api, group_by="year", source="imported")
    assert sum(group["inspections"] for group in years["groups"]) == 582

    # two currencies are never added together
    mixed = api.get(ROUTE, params={"group_by": "year"})
    assert mixed.status_code == 400, mixed.text
    assert "CNY and USD" in mixed.json()["error"]["fields"]["currency"][0]


@pytest.mark.parametrize("params,field", [
    ({}, "group_by"), ({"group_by": "month"}, "group_by"),
    ({"group_by": "year", "from": "last week"}, "from"),
    ({"group_by": "year", "from": "2026-02-01", "to": "2026-01-01"}, "to"),
    ({"group_by": "year", "currency": "EUR"}, "currency"),
    ({"group_by": "year", "source": "somewhere"}, "source"),
    ({"group_by": "year", "sort": "-nonsense"}, "sort"),
    ({"group_by": "year", "limit": "0"}, "limit"), ({"group_by": "year", "limit": "x"}, "limit"),
    ({"group_by": "year", "campaign_id": "x" * 300}, "campaign_id"),
    ({"group_by": "year", "compare": "previous_year", "to": "2026-12-01"}, "from"),
    ({"group_by": "year", "format": "pdf"}, "format"),
    ({"group_by": "year", "page": "2"}, "page"),
])
def test_bad_figure_queries_are_400_naming_the_field(county, params, field):
    response = county.api.get(ROUTE, params=dict(params, currency=params.get(
        "currency", "CNY")))
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]


def test_replay_rebuilds_the_figures_tables_identically(county):
    county.stop_service("enforcement-0")        # nothing moves while the tables are compared
    url = county.urls["enforcement"]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = dict(facts.snapshot(conn), **records.snapshot(conn))
        assert len(before["facts_inspector_hazards"]) == 6
        assert len(before["establishments"]) == 374
        assert len(before["case_citations"]) >= 797
        assert cli.main(["replay", "--database-url", url]) == 0
        with engine.connect() as conn:
            after = dict(facts.snapshot(conn), **records.snapshot(conn))
    finally:
        engine.dispose()
    assert after == before
