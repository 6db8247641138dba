"""The authority's enforcement pages in headless Chromium against the running
processes: a campaign opened from the form (the API's reasons shown beside
its fields), committed, drawn with a seed and assigned on its page, its
record downloaded and verified; a case worked by an enforcement officer —
citations, one withdrawn, the penalty, the payment, closing — and the list
filtered by status and campaign; the enterprise's manager reading its case
without the forms; the listed hazards with their days left, cut in the
deployment's time zone. Each page's screenshot goes to
test-artifacts/screenshots/.

The data is set up through the API, the flows are tests/browser_flows.py's,
and what the pages showed is checked against the API afterwards. The
module's towns are its own: a campaign given quotas for them draws from its
enterprises only, whatever else the session platform holds."""
import os
import uuid
from datetime import datetime, time, timedelta, timezone

import pytest
import requests

from einspection.days import deployment_zone, local_day

from . import factories, fixtures
from .fixtures import account, created
from .support import Api, wait_until
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

TOWNS = {"阜溪街道": 4, "洛舍镇": 3}          # no other module registers these
LEGAL_BASIS = "德安监发[2026]9号"
SEED = "3D 2026333: 4 7 1"
SEED_SOURCE = "中国福利彩票3D 第2026333期开奖号码"
CLAUSE = "《安全生产法》第九十九条"
PHONE_WIDTH = 375


def category_labels(api):
    """{key: {"zh": …, "en": …}} of the deployment's hazard categories."""
    return {c["key"]: c for c in created(api.get("/api/v1/hazard-categories"), 200)["categories"]}


def campaign_body(**extra):
    body = {"name": "网页测试专项执法 " + uuid.uuid4().hex[:6], "legal_basis": LEGAL_BASIS,
            "period_start": "2026-12-01", "period_end": "2026-12-31", "targets": 1,
            "quotas": {"阜溪街道": 1}}
    body.update(extra)
    return body


@pytest.fixture(scope="module")
def enforcement(platform, admin_tokens):
    """Seven enterprises in the module's two towns; three authority inspectors
    (the first is the officer in the browser); an enforcement inspection with
    two failed items at the first enterprise, for a campaign — it opens its
    case, raises two hazards, and excludes the enterprise from draws as
    visited recently; the manager of that enterprise; two listed hazards."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    towns = {town: [fixtures.register_enterprise(
        api, name="%s网页企业%d" % (town, n), town=town, grid="%s-%d" % (town, n % 2))
        for n in range(count)] for town, count in TOWNS.items()}
    # three: one recused from an enterprise leaves two to draw there
    inspectors = [account(api, "authority_inspector") for _ in range(3)]
    officer = inspectors[0]
    visited = towns["阜溪街道"][0]
    probe = created(api.post("/api/v1/campaigns", campaign_body()))

    universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
    where = fixtures.position(api, visited, checklist_ids=[universal["checklist_id"]])
    logged = created(officer.post("/api/v1/inspections", dict(factories.inspection(
        visited, where["id"], universal, kind="enforcement", failed=(0, 1),
        photo=fixtures.photo(api, visited), inspector="赵执法"),
        campaign_id=probe["campaign_id"])))

    def the_case():
        items = created(api.get("/api/v1/cases", params={"enterprise_id": visited}),
                        200)["items"]
        return [c for c in items if c["inspection_id"] == logged["id"]]
    [case] = wait_until(the_case, timeout=30, message="the inspection's case")

    def raised():
        items = created(api.get("/api/v1/hazards", params={
            "enterprise_id": visited, "source_inspection_id": logged["id"]}), 200)["items"]
        return len(items) == 2 and items
    hazards = wait_until(raised, timeout=30, message="the inspection's hazards")

    ours = {e for listed in towns.values() for e in listed}

    def facts_caught_up():
        preview = created(api.get("/api/v1/campaigns/%s/candidates" % probe["campaign_id"]),
                          200)
        seen = {c["enterprise_id"] for c in preview["candidates"]} | {
            x["enterprise_id"] for x in preview["exclusions"]}
        return ours <= seen and visited in {x["enterprise_id"] for x in preview["exclusions"]}
    wait_until(facts_caught_up, timeout=30, message="the visit and every enterprise in the facts")

    listed = []
    now = datetime.now(timezone.utc)
    for days, town in ((10, "洛舍镇"), (3, "阜溪街道")):        # the later listed first
        enterprise_id = towns[town][1]
        hazard = created(api.post("/api/v1/hazards", factories.hazard(
            enterprise_id, level="major", category="fire",
            description="%s：消防通道堵塞" % town)))
        # 20:00 UTC: in Shanghai already the next day, so the days left differ from UTC's
        deadline = datetime.combine((now + timedelta(days=days)).date(), time(20),
                                    timezone.utc)
        created(api.post("/api/v1/hazards/%s/listing" % hazard["id"], {
            "deadline": factories.iso(deadline), "office": "县应急管理局执法大队",
            "reason": "重大事故隐患，挂牌督办"}))
        listed.append((hazard["id"], deadline))

    # the facts the listings and their scores make, settled before a page shows weights
    def factor(candidate, name):
        return next(f["value"] for f in candidate["factors"] if f["name"] == name)

    def settled():
        preview = created(api.get("/api/v1/campaigns/%s/candidates" % probe["campaign_id"]),
                          200)
        mine = {c["enterprise_id"]: c for c in preview["candidates"]
                if c["enterprise_id"] in ours}
        return all(factor(mine[towns[town][1]], "hazards")["listed"] == 1
                   and factor(mine[towns[town][1]], "grade") is not None
                   for town in TOWNS) and preview
    previous = [wait_until(settled, timeout=60, message="the listings and grades in the facts")]

    def unchanged():                 # two reads a second apart alike: nothing is on its way
        current = settled()
        alike, previous[0] = current == previous[0], current
        return alike
    wait_until(unchanged, timeout=30, interval=1, message="the facts to settle")
    return {"api": api, "towns": towns, "officer": officer, "inspectors": inspectors,
            "visited": visited, "probe": probe, "case": case, "hazards": hazards,
            "inspection": logged, "listed": listed,
            "manager": account(api, "enterprise_manager", enterprise_id=visited)}


def milli(weight):
    return "%d.%03d" % divmod(weight, 1000)


def test_a_campaign_is_opened_committed_drawn_assigned_and_verified_in_the_browser(
        platform, enforcement, screenshots):
    api, towns, officer = enforcement["api"], enforcement["towns"], enforcement["officer"]
    mandatory = towns["阜溪街道"][2]
    quotas = {"阜溪街道": 2, "洛舍镇": 2}
    recused = {"inspector": officer.username, "enterprise_id": mandatory,
               "reason": "其配偶在该企业任职"}
    name = "2026年度网页专项执法 " + uuid.uuid4().hex[:6]
    shown = run_flow(
        "campaign", base_url=platform.base_url, username=officer.username,
        password=officer.password, campaign_name=name, legal_basis=LEGAL_BASIS,
        period_start="2026-12-01", bad_period_end="2026-11-30", period_end="2027-02-28",
        targets=4, quotas=quotas, mandatory=mandatory, seed=SEED, seed_source=SEED_SOURCE,
        conflict=recused,
        expected_console_errors=("status of 400",),        # the form's first tries, refused
        screenshots={
            "form": os.path.join(screenshots, "campaigns-form-%s.png" % platform.backend),
            "campaign": os.path.join(screenshots, "campaign-%s.png" % platform.backend),
            "list": os.path.join(screenshots, "campaigns-%s.png" % platform.backend)})

    # the first try: the API's reasons, each beside its field
    assert "before period_start" in shown["refused"]["period_end"]
    assert "add up to 4, not to the 5 targets" in shown["refused"]["quotas"]
    assert shown["refused"]["targets"] == ""
    assert shown["refused"]["conflict"].startswith("reason: ")       # the row's own reason
    assert shown["refused"]["conflict_after"] == ""                  # cleared once given

    path = "/api/v1/campaigns/" + shown["campaign_id"]
    campaign = created(api.get(path), 200)
    assert (campaign["name"], campaign["legal_basis"], campaign["quotas"], campaign["mandatory"],
            campaign["period_end"], campaign["per_target"], campaign["status"]) == (
        name, LEGAL_BASIS, quotas, [mandatory], "2027-02-28", 2, "assigned")
    # every step by the account logged in to the page
    assert [step["event"] for step in campaign["history"]] == [
        "CampaignOpened", "CandidatesCommitted", "TargetsDrawn", "InspectorsAssigned"]
    assert {step["actor"] for step in campaign["history"]} == {officer.username}
    assert len(shown["steps"]) == 4 and all(officer.username in step for step in shown["steps"])

    # the candidates as the page showed them before the commit are the snapshot committed
    candidates = created(api.get(path + "/candidates"), 200)
    assert candidates["committed"] is True
    # (the module's enterprises: the session's others may still be moving)
    ours = {e for listed in towns.values() for e in listed}
    assert {e: w for e, w in shown["preview"].items() if e in ours} == {
        c["enterprise_id"]: str(c["weight"]) for c in candidates["candidates"]
        if c["enterprise_id"] in ours}
    assert set(shown["preview"]) == {c["enterprise_id"] for c in candidates["candidates"]}
    assert sorted(shown["weights_shown"]) == sorted(milli(int(w))
                                                    for w in shown["preview"].values())
    assert len(shown["factors_shown"]) == 4
    assert {e: r for e, r in shown["exclusions"].items() if e in ours} == {
        x["enterprise_id"]: x["reason"] for x in candidates["exclusions"]
        if x["enterprise_id"] in ours}
    assert shown["exclusions"][enforcement["visited"]].startswith("近期已执法检查")
    assert shown["digest"] == campaign["commitment"]["snapshot_digest"]

    # the targets per town, with their inspectors, as drawn and assigned
    targets = campaign["draw"]["targets"]
    assert shown["targets"] == [t["enterprise_id"] for t in targets]
    assert shown["towns"] == sorted(quotas)
    assert {t["town"] for t in targets} == set(quotas) and len(targets) == 4
    first_of_town = next(t for t in targets if t["town"] == "阜溪街道")   # towns in code point order
    assert first_of_town["enterprise_id"] == mandatory and first_of_town["mandatory"] is True
    assert shown["inspectors"] == ["，".join(a["inspectors"])
                                   for a in campaign["assignment"]["assignments"]]
    assert all(len(a["inspectors"]) == 2 for a in campaign["assignment"]["assignments"])
    # the recusal from the form: on the campaign, and the officer not drawn to that enterprise
    assert campaign["conflicts"] == [recused]
    assert officer.username in shown["conflicts"] and "其配偶在该企业任职" in shown["conflicts"]
    [at_mandatory] = [a for a in campaign["assignment"]["assignments"]
                      if a["enterprise_id"] == mandatory]
    assert officer.username not in at_mandatory["inspectors"]

    # the record downloaded is the API's, byte for byte; "verify" re-ran it identical
    record = api.get(path + "/draw/record")
    assert record.status_code == 200
    assert shown["record"].encode("utf-8") == record.content
    assert shown["record_filename"] == "draw-%s.json" % shown["campaign_id"]
    assert shown["identical"] == "true"
    assert "一致 ✓" in shown["verification"] and "不一致" not in shown["verification"]
    assert "摘要一致" in shown["verification"] and "摘要公布在种子确定之前" in shown["verification"]
    verified = created(api.post(path + "/draw/verify"), 200)
    assert (verified["identical"], verified["digest_matches"],
            verified["committed_before_revealed"]) == (True, True, True)
    assert name in shown["listed_row"] and "已分配检查人员" in shown["listed_row"]
    assert "campaign-assigned" in shown["listed_status"]
    assert max(shown["widths"].values()) <= PHONE_WIDTH, (shown["widths"], shown["too_wide"])


def test_an_officer_cites_decides_the_penalty_takes_the_payment_and_closes_the_case(
        platform, enforcement, screenshots):
    api, officer, case = enforcement["api"], enforcement["officer"], enforcement["case"]
    [general] = [h for h in enforcement["hazards"] if h["level"] == "general"]
    case_path = "/api/v1/cases/" + case["case_id"]
    abatement = factories.ago(days=-30).date().isoformat()
    cited = [
        {"clause": CLAUSE, "violation_class": "serious", "description": "未按规定排查治理事故隐患",
         "fine_proposed": "0.10", "abatement_date": abatement, "hazard_ids": [general["id"]]},
        {"clause": "《安全生产法》第一百零一条", "violation_class": "other",
         "description": "未如实记录隐患排查治理情况", "fine_proposed": "0.20",
         "abatement_date": abatement},
        {"clause": "《安全生产法》第九十七条", "violation_class": "repeat",
         "description": "未按规定开展安全生产教育和培训", "fine_proposed": "0.30",
         "abatement_date": abatement},
    ]
    # what the API says of a fine with a third decimal, to find beside the field
    bad = api.post(case_path + "/citations", dict(cited[1], fine_proposed="12.345"))
    assert bad.status_code == 400
    reason = " ".join(bad.json()["error"]["fields"]["fine_proposed"])
    shown = run_flow(
        "case", base_url=platform.base_url, username=officer.username,
        password=officer.password, case_id=case["case_id"], citations=cited,
        bad_fine="12.345", withdraw=2, withdraw_reason="经复核，证据不足", too_high="0.50",
        imposed=["0.10", "0.20"], reference="收据-2026-0001",
        campaign_id=enforcement["probe"]["campaign_id"],
        expected_console_errors=("status of 400",),
        screenshots={"refused": os.path.join(screenshots, "case-refused-%s.png" % platform.backend),
                     "case": os.path.join(screenshots, "case-%s.png" % platform.backend),
                     "list": os.path.join(screenshots, "cases-%s.png" % platform.backend)})

    assert shown["refused_fine"] == reason
    assert "must not exceed the fine proposed (0.10 CNY)" in shown["refused_penalty"]
    assert shown["penalty_prefilled"] == ["0.10", "0.20"]
    assert shown["amount_prefilled"] == "0.30"              # 0.30000000000000004 as floats
    assert shown["outcome_suggested"] == "paid"

    closed = created(api.get(case_path), 200)
    assert (closed["status"], closed["outcome"], closed["outcome_label"]) == (
        "closed", "paid", "罚款缴清结案")
    assert closed["totals"] == {"proposed": "0.30", "imposed": "0.30", "paid": "0.30",
                                "balance": "0.00"}
    assert shown["totals"] == closed["totals"]
    assert shown["balance"] == "0.00 CNY"
    issued = closed["citations"]
    assert [c["citation_id"] for c in issued] == shown["final"]["ids"] == shown["issued"]["ids"]
    assert [(c["clause"], c["violation_class"], c["fine_proposed"], c["abatement_date"])
            for c in issued] == [(c["clause"], c["violation_class"], c["fine_proposed"],
                                  c["abatement_date"]) for c in cited]
    assert issued[0]["hazard_ids"] == [general["id"]] and issued[1]["hazard_ids"] == []
    assert [c["withdrawn"] for c in issued] == [False, False, True]
    assert issued[2]["withdrawn_reason"] == "经复核，证据不足"
    assert shown["withdrawn"] == issued[2]["citation_id"]
    assert [c["fine_imposed"] for c in issued[:2]] == ["0.10", "0.20"]
    row = shown["final"]["rows"][0]
    assert CLAUSE in row and "严重违法" in row and "0.10 CNY" in row and abatement in row
    # the hazard it cites, its category by its label in Chinese (the default)
    assert category_labels(api)[general["category"]]["zh"] in row
    assert [p["reference"] for p in closed["payments"]] == ["收据-2026-0001"]
    assert closed["payments"][0]["amount"] == "0.30"
    assert closed["payments"][0]["recorded_by"] == officer.username
    assert "收据-2026-0001" in shown["payments"][0]

    # the history as the page showed it, each step by the officer logged in
    events = [step["event"] for step in closed["history"]]
    assert shown["history"] == events == (["CaseOpened"] + ["CitationIssued"] * 3 + [
        "CitationWithdrawn", "PenaltyDecided", "FinePaid", "CaseClosed"])
    assert shown["actors"] == [step["actor"] for step in closed["history"]]
    assert set(shown["actors"][1:]) == {officer.username}
    assert shown["forms_hidden"]                           # nothing left to do on a closed case

    # the list: filtered by the campaign, then by status
    assert shown["by_campaign"] == [case["case_id"]]
    assert "罚款缴清结案" in shown["closed_row"] and "0.30 CNY" in shown["closed_row"]
    assert "case-closed" in shown["closed_status"]
    assert max(shown["widths"].values()) <= PHONE_WIDTH, (shown["widths"], shown["too_wide"])


def test_an_enterprise_sees_its_own_case_without_the_forms(platform, enforcement, screenshots):
    manager, case = enforcement["manager"], enforcement["case"]
    shown = run_flow(
        "case_read_only", base_url=platform.base_url, username=manager.username,
        password=manager.password, case_id=case["case_id"],
        screenshots={"case": os.path.join(screenshots,
                                          "case-enterprise-%s.png" % platform.backend)})
    own = created(manager.get("/api/v1/cases"), 200)["items"]
    assert shown["listed"] == [c["case_id"] for c in own] and case["case_id"] in shown["listed"]
    assert shown["campaign_filter_hidden"]                 # campaigns are the authority's
    assert not any("执法计划" in link for link in shown["nav"])
    assert shown["forms_hidden"] and shown["forms"] == 0
    seen = created(manager.get("/api/v1/cases/" + case["case_id"]), 200)
    assert shown["citations"]["ids"] == [c["citation_id"] for c in seen["citations"]]
    assert "阜溪街道网页企业0" in shown["title"]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]
    # each citation's class by its label: Chinese by default, English on the switch
    classes = {c["key"]: c for c in created(manager.get("/api/v1/violation-classes"),
                                            200)["classes"]}
    assert shown["classes"] == [classes[c["violation_class"]]["zh"] for c in seen["citations"]]
    assert shown["english"]["classes"] == [classes[c["violation_class"]]["en"]
                                           for c in seen["citations"]]
    assert shown["english"]["title"].startswith("Case ")
    assert shown["english"]["history"][0] == "case opened"


def test_listed_hazards_show_their_deadline_and_days_left_in_the_deployments_time_zone(
        platform, enforcement, screenshots):
    officer = enforcement["officer"]
    shown = run_flow("listed", base_url=platform.base_url, username=officer.username,
                     password=officer.password,
                     screenshots={"page": os.path.join(screenshots,
                                                       "listed-%s.png" % platform.backend)})
    zone = deployment_zone()
    assert shown["zone"] == zone.key
    ours = {hazard_id: deadline for hazard_id, deadline in enforcement["listed"]}
    rows = [row for row in shown["rows"] if row["id"] in ours]
    # nearest deadline first: the one listed second comes first
    assert [row["id"] for row in rows] == [hazard_id for hazard_id, _ in
                                           reversed(enforcement["listed"])]
    today = local_day(datetime.now(timezone.utc), zone)
    fire = category_labels(enforcement["api"])["fire"]
    for row in rows:
        deadline = ours[row["id"]]
        enterprise, town, category, description, office, day, left, status = row["cells"]
        assert (town, category, office) == (description.split("：")[0], fire["zh"],
                                            "县应急管理局执法大队")
        assert day == local_day(deadline, zone).isoformat()
        assert int(left) == (local_day(deadline, zone) - today).days
    api = enforcement["api"]
    listed = created(api.get("/api/v1/hazards", params={"listed": "true",
                                                        "sort": "listing_deadline",
                                                        "size": 200}), 200)
    assert [row["id"] for row in shown["rows"]] == [h["id"] for h in listed["items"]]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]
    # Chinese by default; on the switch the page and the categories are in English
    assert shown["lang"] == "zh-CN" and shown["title"].startswith("挂牌督办")
    english = {row["id"]: row["cells"] for row in shown["english"]["rows"] if row["id"] in ours}
    assert shown["english"]["title"].startswith("Listed hazards")
    assert {cells[2] for cells in english.values()} == {fire["en"]}
    assert "Listed" in shown["english"]["nav"]


def test_the_pages_are_told_the_deployments_time_zone(platform):
    answer = requests.get(platform.base_url + "/app/deployment.json", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == "application/json"
    assert answer.json() == {"time_zone": deployment_zone().key}
