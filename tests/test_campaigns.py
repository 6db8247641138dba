"""Enforcement campaigns and cases end to end, through the gateway, on the
real processes and both backends: a campaign is opened, its candidates
committed (the snapshot's digest published before the seed), its targets
drawn with a seed and its inspectors assigned; the draw re-runs identical
from its record (the API and the exported file); quotas per town and the
mandatory list are honoured; only the authority acts. A case is opened by
an enforcement inspection with findings, cites a hazard whose verified
rectification abates the citation, and its fines — amounts a float sums
wrong — are summed exactly to the cent through penalty, payments and
closing. A regulator's records (the shipped OSHA export) import through
the service, and a second run imports nothing. A citation past its
abatement day is marked overdue once (never an imported one), told to the
enterprise and its grid, and scored under rule set 2026.4. A replay rebuilds
the facts and the lists identically.

The platform is this module's own: a draw takes every registered
enterprise of the register as a candidate, so the towns and their
enterprises must be only these."""
import hashlib
import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from conftest import BACKENDS
from einspection import eventstore, money
from einspection.acting import Acting
from einspection.contract import parse_instant
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from services.enforcement import case_commands, cli, draw, facts, osha, records
from services.enforcement.cases import DEFAULT_VIOLATION_CLASSES, violation_classes
from services.enforcement.unit.test_osha import DATA
from tools.launch import ROOT

from . import factories, fixtures
from .conftest import own_platform
from .fixtures import account, created
from .support import Api, wait_until
from .test_hazards import rectification

TOWNS = {"武康街道": 6, "乾元镇": 4, "新市镇": 3}
LEGAL_BASIS = "德安监发[2016]5号"
SEED = "3D 2016125: 4 7 1"
SEED_SOURCE = "中国福利彩票3D 第2016125期开奖号码"


@pytest.fixture(scope="module", params=BACKENDS)
def county(request, databases, run_id, tmp_path_factory):
    """Its own platform: thirteen enterprises in three towns, three authority
    inspectors, an enterprise manager; the enforcement service has them all
    among its facts."""
    def register(running):
        api = Api(running.base_url, running.token)
        running.api = api
        running.towns = {town: [fixtures.register_enterprise(
            api, name="%s企业%d" % (town, n), town=town, grid="%s-%d" % (town, n % 2))
            for n in range(count)] for town, count in TOWNS.items()}
        running.inspectors = [account(api, "authority_inspector") for _ in range(3)]
        some = running.towns["武康街道"][0]
        running.manager = account(api, "enterprise_manager", enterprise_id=some)
        probe = created(api.post("/api/v1/campaigns", campaign(targets=3)))
        wait_until(lambda: len(created(api.get("/api/v1/campaigns/%s/candidates"
                                                % probe["campaign_id"]), 200)["candidates"])
                   == sum(TOWNS.values()), timeout=30, message="every enterprise among the facts")
    with own_platform(request, databases, run_id, tmp_path_factory, "campaigns", register,
                      ENFORCEMENT_ABATEMENT_CHECK_SECONDS="0.5") as running:
        yield running


def campaign(**extra):
    body = {"name": "2016年度重点企业执法检查", "legal_basis": LEGAL_BASIS,
            "period_start": "2016-05-01", "period_end": "2016-11-30", "targets": 6}
    body.update(extra)
    return body


def canonical_digest(snapshot):
    """SHA-256 of the snapshot's canonical JSON, computed here on our own."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- campaigns ---------------------------------------------------------------------------

def verify_offline(path):
    """The exit status of the offline check: no database, no platform."""
    return subprocess.run([sys.executable, "-m", "services.enforcement.verify_draw", str(path)],
                          cwd=ROOT, capture_output=True, timeout=60).returncode


def test_a_campaign_from_notice_to_draw_to_inspectors_re_runs_identical(county, tmp_path):
    api, towns = county.api, county.towns
    mandatory = towns["武康街道"][5]
    inspectors = sorted(i.username for i in county.inspectors)
    recused = {"inspector": inspectors[0], "enterprise_id": towns["乾元镇"][0],
               "reason": "其配偶在该企业任职"}
    opened = created(api.post("/api/v1/campaigns", campaign(
        quotas={"武康街道": 3, "乾元镇": 2, "新市镇": 1}, mandatory=[mandatory],
        conflicts=[recused])))
    assert (opened["status"], opened["legal_basis"], opened["quota_basis"]) == (
        "opened", LEGAL_BASIS, "given")
    assert opened["opened_by"] == "admin" and opened["commitment"] is None
    campaign_path = "/api/v1/campaigns/" + opened["campaign_id"]

    preview = created(api.get(campaign_path + "/candidates"), 200)
    assert preview["committed"] is False and preview["snapshot_digest"] is None
    assert len(preview["candidates"]) == 13 and preview["exclusions"] == []
    assert all(c["weight"] > 0 and c["factors"] for c in preview["candidates"])
    early = api.post(campaign_path + "/draw", {"seed": SEED, "seed_source": SEED_SOURCE})
    assert early.status_code == 409, early.text          # commit first, then reveal

    committed = created(api.post(campaign_path + "/commit"), 200)
    digest = committed["commitment"]["snapshot_digest"]
    assert committed["status"] == "committed" and len(digest) == 64
    assert committed["commitment"]["candidates"] == 13
    fixed = created(api.get(campaign_path + "/candidates"), 200)
    assert fixed["committed"] is True and fixed["snapshot_digest"] == digest
    assert api.post(campaign_path + "/commit").status_code == 409       # fixed once

    drawn = created(api.post(campaign_path + "/draw", {"seed": SEED,
                                                      "seed_source": SEED_SOURCE}), 200)
    targets = drawn["draw"]["targets"]
    assert drawn["status"] == "drawn" and drawn["draw"]["seed_source"] == SEED_SOURCE
    by_town = {town: [t for t in targets if t["town"] == town] for town in TOWNS}
    assert {town: len(listed) for town, listed in by_town.items()} == {
        "武康街道": 3, "乾元镇": 2, "新市镇": 1}
    assert by_town["武康街道"][0] == dict(by_town["武康街道"][0], enterprise_id=mandatory,
                                          mandatory=True)
    assert len({t["enterprise_id"] for t in targets}) == 6
    assert all(t["grid"] and t["name"] for t in targets)
    again = api.post(campaign_path + "/draw", {"seed": "another", "seed_source": "x"})
    assert again.status_code == 409                      # drawn once

    verified = created(api.post(campaign_path + "/draw/verify"), 200)
    assert (verified["identical"], verified["digest_matches"], verified["differences"]) == (
        True, True, [])

    assigned = created(api.post(campaign_path + "/assignments", {}), 200)
    assignment = assigned["assignment"]
    assert assigned["status"] == "assigned" and assignment["inspectors"] == inspectors
    assert [a["enterprise_id"] for a in assignment["assignments"]] == [
        t["enterprise_id"] for t in targets]
    load = {inspector: 0 for inspector in inspectors}
    for each in assignment["assignments"]:
        assert len(each["inspectors"]) >= 2 and len(set(each["inspectors"])) == len(
            each["inspectors"])
        assert set(each["inspectors"]) <= set(inspectors)
        assert not (each["enterprise_id"] == recused["enterprise_id"]
                    and recused["inspector"] in each["inspectors"])
        for inspector in each["inspectors"]:
            load[inspector] += 1
    assert max(load.values()) - min(load.values()) <= 1

    # the record: the API re-runs it, and so does anyone with the file alone
    assert created(api.post(campaign_path + "/draw/verify"), 200)["identical"] is True
    download = api.get(campaign_path + "/draw/record")
    assert download.status_code == 200, download.text
    assert "attachment" in download.headers["Content-Disposition"]
    record = download.json()
    assert canonical_digest(record["snapshot"]) == record["snapshot_digest"] == digest
    assert (record["seed"], record["algorithm"]) == (SEED, draw.ALGORITHM)
    assert record["assignment_digest"] == committed["commitment"]["assignment_digest"]
    offline = tmp_path / "draw-record.json"
    offline.write_bytes(download.content)
    assert verify_offline(offline) == 0
    offline.write_text(json.dumps(dict(record, seed=SEED + " "), ensure_ascii=False))
    assert verify_offline(offline) == 1                  # another seed: another list
    assert [step["event"] for step in assigned["history"]] == [
        "CampaignOpened", "CandidatesCommitted", "TargetsDrawn", "InspectorsAssigned"]

    listed = created(api.get("/api/v1/campaigns", params={"status": "assigned"}), 200)
    assert opened["campaign_id"] in [c["campaign_id"] for c in listed["items"]]

    # the draw's notice: its list to the authority, each target to its grid
    def notices(recipient, kind):
        return [n for n in created(api.get("/api/v1/notices", params={
            "recipient": recipient, "kind": kind, "size": 200}), 200)["items"]]
    [notice] = wait_until(lambda: notices("authority", "targets_drawn"), timeout=30,
                          message="the draw's notice to the authority")
    assert notice["title"].startswith("2016年度重点企业执法检查")
    assert SEED in notice["body"] and digest in notice["body"]
    assert all(t["name"] in notice["body"] for t in targets)
    for grid in sorted({t["grid"] for t in targets}):
        [to_grid] = wait_until(lambda: notices("grid:" + grid, "grid_targets_drawn"),
                               timeout=30, message="the notice to grid " + grid)
        assert all(t["name"] in to_grid["body"] for t in targets if t["grid"] == grid)
        assert not any(t["name"] in to_grid["body"] for t in targets if t["grid"] != grid)


def test_quotas_without_figures_are_each_towns_share_by_largest_remainder(county):
    opened = created(county.api.post("/api/v1/campaigns", campaign(targets=5)))
    # 5 × 6/13, 4/13, 3/13 = 2.31, 1.54, 1.15: the largest remainder (乾元镇) gets the fifth
    assert opened["quota_basis"] == "proportional"
    assert opened["town_counts"] == TOWNS
    assert opened["quotas"] == {"武康街道": 2, "乾元镇": 2, "新市镇": 1}


def test_a_plan_must_leave_its_random_share_and_quotas_must_add_up(county):
    api, towns = county.api, county.towns
    too_many = api.post("/api/v1/campaigns", campaign(
        targets=3, quotas={"武康街道": 3}, mandatory=towns["武康街道"][:2]))
    assert too_many.status_code == 400
    assert "drawn at random" in " ".join(too_many.json()["error"]["fields"]["mandatory"])
    wrong_sum = api.post("/api/v1/campaigns", campaign(quotas={"武康街道": 2, "乾元镇": 2}))
    assert wrong_sum.status_code == 400 and "quotas" in wrong_sum.json()["error"]["fields"]
    over_quota = api.post("/api/v1/campaigns", campaign(
        targets=10, quotas={"武康街道": 1, "乾元镇": 9}, mandatory=towns["武康街道"][:2]))
    assert over_quota.status_code == 400
    assert "quota of 1" in " ".join(over_quota.json()["error"]["fields"]["mandatory"])
    unknown = api.post("/api/v1/campaigns", campaign(mandatory=["no-such-enterprise"]))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"]["mandatory"] == {"0": ["no such enterprise"]}


def test_the_violation_classes_are_the_configured_file_for_any_account(county):
    with open(DEFAULT_VIOLATION_CLASSES, encoding="utf-8") as handle:
        configured = json.load(handle)
    for reader in (county.api, county.manager):
        answer = created(reader.get("/api/v1/violation-classes"), 200)
        assert answer["version"] == configured["version"]
        assert answer["classes"] == [{"key": c["key"], "zh": c["zh"], "en": c["en"]}
                                     for c in configured["classes"]]


def test_campaigns_are_the_authoritys_alone(county):
    api, manager = county.api, county.manager
    opened = created(api.post("/api/v1/campaigns", campaign(targets=2)))
    for response in (manager.post("/api/v1/campaigns", campaign()),
                     manager.get("/api/v1/campaigns"),
                     manager.get("/api/v1/campaigns/" + opened["campaign_id"]),
                     manager.post("/api/v1/campaigns/%s/commit" % opened["campaign_id"])):
        assert response.status_code == 403, response.text
    assert api.get("/api/v1/campaigns/" + uuid.uuid4().hex).status_code == 404
    assert api.post("/api/v1/campaigns/%s/draw/verify" % opened["campaign_id"]).status_code \
        == 404                                           # nothing drawn yet


# --- cases -------------------------------------------------------------------------------

def floats_get_it_wrong(amounts):
    return sum(float(a) for a in amounts) != float(sum(int(a.replace(".", "")) for a in
                                                       amounts)) / 100


def test_a_case_from_inspection_to_citations_exact_fines_payments_and_closing(county):
    api, inspector = county.api, county.inspectors[0]
    enterprise_id = county.towns["武康街道"][0]           # the manager's enterprise
    universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
    where = fixtures.position(api, enterprise_id, checklist_ids=[universal["checklist_id"]])
    photo = fixtures.photo(api, enterprise_id)
    logged = created(inspector.post("/api/v1/inspections", factories.inspection(
        enterprise_id, where["id"], universal, kind="enforcement", failed=(0, 1), photo=photo,
        inspector="赵执法")))

    # an enforcement inspection with findings opens its case by itself
    def the_case():
        items = created(api.get("/api/v1/cases", params={"enterprise_id": enterprise_id}),
                        200)["items"]
        return [c for c in items if c["inspection_id"] == logged["id"]]
    [summary] = wait_until(the_case, timeout=30, message="the inspection's case")
    case_path = "/api/v1/cases/" + summary["case_id"]
    assert summary["status"] == "open" and summary["totals"]["proposed"] == "0.00"
    again = created(api.post("/api/v1/cases", {"inspection_id": logged["id"]}))
    assert again["case_id"] == summary["case_id"]        # one case per inspection
    hazards = wait_until(lambda: len(created(api.get("/api/v1/hazards", params={
        "enterprise_id": enterprise_id, "source": "enforcement"}), 200)["items"]) == 2 and
        created(api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                   "source": "enforcement"}), 200)["items"],
        message="the inspection's hazards")

    [general] = [h for h in hazards if h["level"] == "general"]
    fines = ["0.10", "0.20", "0.30"]        # 0.6000000000000001 as floats
    assert floats_get_it_wrong(fines)
    cited = []
    for index, fine in enumerate(fines):
        body = {"clause": "《安全生产法》第九十九条", "violation_class": ["serious", "other",
                                                                        "repeat"][index],
                "description": "未按规定进行隐患排查 %d" % index, "fine_proposed": fine,
                "abatement_date": factories.ago(days=-30).date().isoformat()}
        if index == 0:
            body["hazard_ids"] = [general["id"]]
        cited.append(created(inspector.post(case_path + "/citations", body)))
    case = cited[-1]
    assert case["totals"]["proposed"] == "0.60" and case["currency"] == "CNY"
    as_a_number = inspector.post(case_path + "/citations", dict(body, fine_proposed=0.1))
    assert as_a_number.status_code == 400
    assert "fine_proposed" in as_a_number.json()["error"]["fields"]
    foreign = inspector.post(case_path + "/citations", dict(body, hazard_ids=["no-hazard"]))
    assert foreign.status_code == 400 and "hazard_ids" in foreign.json()["error"]["fields"]

    # the enterprise reads its own case, and may not act on it
    manager = county.manager
    assert created(manager.get(case_path), 200)["case_id"] == summary["case_id"]
    refused = manager.post(case_path + "/close", {"outcome": "withdrawn"})
    assert refused.status_code == 403, refused.text
    stranger = account(api, "enterprise_manager", enterprise_id=county.towns["乾元镇"][0])
    assert stranger.get(case_path).status_code == 404
    assert stranger.post(case_path + "/close", {"outcome": "withdrawn"}).status_code == 404
    assert created(stranger.get("/api/v1/cases"), 200)["items"] == []

    # the cited hazard rectified and verified: its citation is abated
    hazard_id = general["id"]
    created(manager.post("/api/v1/hazards/%s/rectification" % hazard_id, rectification()))
    created(api.post("/api/v1/hazards/%s/verification" % hazard_id,
                     {"outcome": "verified", "verifier": "复查组"}))
    abated = wait_until(lambda: [c for c in created(api.get(case_path), 200)["citations"]
                                 if c["abated"]], timeout=30, message="the citation abated")
    assert [(c["citation_id"], c["abated_by_hazard"]) for c in abated] == [
        (cited[0]["citations"][0]["citation_id"], hazard_id)]

    decided = created(api.post(case_path + "/penalty", {"fines": [
        {"citation_id": c["citation_id"], "fine_imposed": c["fine_proposed"]}
        for c in case["citations"]]}), 200)
    assert decided["status"] == "penalty_decided"
    assert decided["totals"]["imposed"] == decided["totals"]["balance"] == "0.60"
    too_much = api.post(case_path + "/payments", {"amount": "0.61", "paid_on":
                                                  factories.ago(days=0).date().isoformat(),
                                                  "reference": "overpaid"})
    assert too_much.status_code == 409 and "0.60" in too_much.json()["error"]["message"]
    created(api.post(case_path + "/payments", {"amount": "0.25", "reference": "receipt-1",
                                               "paid_on": factories.ago(days=1).date()
                                               .isoformat()}))
    paid = created(api.post(case_path + "/payments", {"amount": "0.35",
                                                      "reference": "receipt-2",
                                                      "paid_on": factories.ago(days=0).date()
                                                      .isoformat()}))
    assert paid["status"] == "paid"
    assert (paid["totals"]["paid"], paid["totals"]["balance"]) == ("0.60", "0.00")
    closed = created(api.post(case_path + "/close", {"outcome": "paid"}), 200)
    assert (closed["status"], closed["outcome"], closed["outcome_label"]) == (
        "closed", "paid", "罚款缴清结案")
    assert [step["event"] for step in closed["history"]] == (
        ["CaseOpened"] + ["CitationIssued"] * 3 + ["CitationAbated", "PenaltyDecided"]
        + ["FinePaid"] * 2 + ["CaseClosed"])
    assert {step["actor"] for step in closed["history"]} >= {inspector.username, "admin"}
    listed = created(api.get("/api/v1/cases", params={"status": "closed"}), 200)["items"]
    [row] = [c for c in listed if c["case_id"] == summary["case_id"]]
    assert row["totals"] == closed["totals"]


# --- records from before: a regulator's export ---------------------------------------------

def test_osha_records_import_through_the_service_and_a_second_run_imports_nothing(county):
    """The first 300 records of the shipped OSHA export (import_osha's
    send over the service's import_records, in batches of 100): their cases
    are in the list, with the fines the mapping rehearsed; the same batches
    again append no event."""
    mapped = osha.map_export(DATA)
    batches = osha.batches(mapped, 100)[:3]
    sent = [record for batch in batches for record in batch.records]
    rehearsed = {}
    for record in sent:                 # the cases as these records alone make them
        if record["command"] == "record_establishment":
            continue
        case_id = case_commands.case_of(record["command"], record["payload"])
        case = case_commands.run(rehearsed.get(case_id), record["command"], record["payload"],
                                 Acting(record["actor"]), now=parse_instant(record["at"]),
                                 classes=violation_classes())
        case.pending = []
        rehearsed[case_id] = case
    with ClusterRpcProxy({"AMQP_URI": county.amqp_uri}, timeout=120) as cluster:
        imported, refused = osha.send(batches, cluster.enforcement.import_records)
        assert (imported, refused) == (len(sent), [])
        engine = make_engine(county.urls["enforcement"])
        try:
            with engine.connect() as conn:
                before = conn.execute(select(eventstore.events.c.position)).all()
            again, _ = osha.send(batches, cluster.enforcement.import_records)
            with engine.connect() as conn:
                after = conn.execute(select(eventstore.events.c.position)).all()
        finally:
            engine.dispose()
    assert again == len(sent) and after == before        # answered from the journal
    usd = created(county.api.get("/api/v1/cases", params={"currency": "USD", "size": 200}),
                  200)
    assert usd["total"] == len(rehearsed)
    shown = {case["case_id"]: case["totals"]["imposed"] for case in usd["items"]}
    assert shown and shown == {case_id: money.format(case.total_imposed())
                               for case_id, case in rehearsed.items() if case_id in shown}


def test_an_overdue_abatement_is_marked_once_told_to_the_enterprise_and_grid_and_scored(
        county):
    """A citation whose abatement day passed (yesterday in the deployment's
    zone) is marked overdue by the enforcement service's check — once,
    though it ticks every half second — the enterprise and its grid get the
    notice, the score takes 0.50 off under rule set 2026.4, the list filters
    the case, and a later abatement still abates, late."""
    api, inspector = county.api, county.inspectors[1]
    enterprise_id = county.towns["乾元镇"][1]                      # grid 乾元镇-1
    universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
    where = fixtures.position(api, enterprise_id, checklist_ids=[universal["checklist_id"]])
    logged = created(inspector.post("/api/v1/inspections", factories.inspection(
        enterprise_id, where["id"], universal, kind="enforcement", failed=(0,),
        photo=fixtures.photo(api, enterprise_id), inspector="钱执法")))

    def the_case():
        return [c for c in created(api.get("/api/v1/cases", params={
            "enterprise_id": enterprise_id}), 200)["items"] if c["inspection_id"] == logged["id"]]
    [summary] = wait_until(the_case, timeout=30, message="the inspection's case")
    case_path = "/api/v1/cases/" + summary["case_id"]
    today = local_day(datetime.now(timezone.utc), deployment_zone())
    citations = {}
    for key, day in (("past", today - timedelta(days=1)), ("today", today)):
        case = created(inspector.post(case_path + "/citations", {
            "clause": "《安全生产法》第一百零二条", "violation_class": "other",
            "description": "未按期整改事故隐患（%s）" % key, "fine_proposed": "5000.00",
            "abatement_date": day.isoformat()}))
        citations[key] = case["citations"][-1]["citation_id"]

    def overdue():
        shown = {c["citation_id"]: c for c in created(api.get(case_path), 200)["citations"]}
        return shown if shown[citations["past"]]["abatement_overdue"] else None
    shown = wait_until(overdue, timeout=30, message="the citation marked overdue")
    assert shown[citations["today"]]["abatement_overdue"] is False      # its day is not over
    assert shown[citations["past"]]["abatement_overdue_at"]
    flagged = created(api.get("/api/v1/cases", params={"abatement_overdue": "true",
                                                        "size": 200}), 200)["items"]
    assert [(c["case_id"], c["abatements_overdue"]) for c in flagged] == [
        (summary["case_id"], 1)]
    bad = api.get("/api/v1/cases", params={"abatement_overdue": "maybe"})
    assert bad.status_code == 400 and "abatement_overdue" in bad.json()["error"]["fields"]

    def notices(recipient):
        return [n for n in created(api.get("/api/v1/notices", params={
            "recipient": recipient, "kind": "abatement_overdue", "size": 200}), 200)["items"]]
    [to_firm] = wait_until(lambda: notices("enterprise:" + enterprise_id), timeout=30,
                           message="the enterprise's notice")
    [to_grid] = wait_until(lambda: notices("grid:乾元镇-1"), timeout=30,
                           message="the grid's notice")
    assert to_firm["language"] == "zh" and to_firm["title"].endswith("执法检查违法行为逾期未整改")
    assert "《安全生产法》第一百零二条" in to_grid["body"]
    assert (today - timedelta(days=1)).isoformat() in to_grid["body"]

    def deduction():
        response = api.get("/api/v1/enterprises/%s/score" % enterprise_id)
        if response.status_code != 200:
            return None
        score = response.json()
        [indicator] = [i for i in score["indicators"] if i["key"] == "rectification_on_time"]
        taken = indicator["deductions"][0]
        return (score, taken) if taken["count"] == 1 else None
    score, taken = wait_until(deduction, timeout=30, message="the score's deduction")
    assert score["rule_version"] == taken["rule_version"] == "2026.4"
    assert taken["points"] == "-0.50" and taken["detail"] == {"citations": [citations["past"]]}
    assert "2026.4" in taken["i18n"]["zh"]["why"]

    abated = created(inspector.post(case_path + "/citations/%s/abatement" % citations["past"],
                                    {}), 200)
    [late] = [c for c in abated["citations"] if c["citation_id"] == citations["past"]]
    assert (late["abated"], late["abated_late"], late["abatement_overdue"]) == (True, True, True)
    assert created(api.get("/api/v1/cases", params={"abatement_overdue": "true"}),
                   200)["items"] == []
    time.sleep(2)                              # four more ticks of the check
    engine = make_engine(county.urls["enforcement"])
    try:
        with engine.connect() as conn:
            marks = [e.data["citation_id"] for _, e in eventstore.read_all(conn, limit=100000)
                     if e.name == "CitationAbatementOverdue"]
    finally:
        engine.dispose()
    assert marks == [citations["past"]]        # once; none of the imported records (above)
    assert len(notices("grid:乾元镇-1")) == 1


# --- replay ------------------------------------------------------------------------------

def test_replay_rebuilds_the_facts_and_the_campaigns_and_cases_identically(county):
    created(county.api.post("/api/v1/campaigns", campaign(targets=4)))
    county.stop_service("enforcement-0")        # nothing moves while the tables are compared
    url = county.urls["enforcement"]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = dict(facts.snapshot(conn), **records.snapshot(conn))
            # (the tests above add the cases, the citations of hazards and the visit)
            assert len(before["facts_enterprises"]) == 13 and before["campaigns"]
        assert cli.main(["replay", "--database-url", url]) == 0
        with engine.connect() as conn:
            after = dict(facts.snapshot(conn), **records.snapshot(conn))
            visits = conn.execute(select(facts.visits)).all()
    finally:
        engine.dispose()
    assert after == before
    assert all(visit.day for visit in visits)
