"""The web pages in headless Chromium against the five running processes:
the inspection from a position's QR link to the hazard it created, on a
phone-sized screen; the enterprise dashboard (score, notice, hazards,
plan and rectification, notices, the ledger's export); the authority
dashboard (charts, map, rankings, overdue list). Each page's screenshot
goes to test-artifacts/screenshots/.

The browser runs in a process of its own (tests/browser_flows.py says why);
the test sets up data through the API, runs one flow and checks what the
page showed against the API."""
import csv
import hashlib
import io
import os
import re

import pytest
import requests
from PIL import Image, ImageDraw

from . import factories, fixtures
from .fixtures import created, position_token
from .support import Api, wait_until
from .web_support import WEB, run_flow

# the pages show what the API answers, and the API's tests run on both
# backends: the pages on one, PostgreSQL, as deployed
pytestmark = pytest.mark.backends("postgres")

COUNTY = [  # name, industry, town, grid, latitude, longitude
    ("Baide Fabrics", "textiles", "Wukang", "Wukang-1", 30.545, 119.970),
    ("Bolly Coating Machinery", "machinery", "Wukang", "Wukang-2", 30.552, 119.958),
    ("Huacai Chemicals", "chemicals", "Wuyang", "Wuyang-1", 30.560, 119.990),
    ("Delman Piano", "manufacturing", "Qianyuan", "Qianyuan-1", 30.612, 120.081),
    ("Jinlang Winery", "food and drink", "Xinshi", "Xinshi-1", 30.630, 120.300),
]


GRADE_FLOORS = [("A", 9.0), ("B", 8.0), ("C", 7.0), ("D", 6.0), ("E", 0.0)]   # rules 2026.4 (as 2026.2 and 2026.3)


def unread(badge):
    """'5 条未读' → 5; no badge → 0."""
    return int(badge.split()[0]) if badge.strip() else 0

FAILED_ITEMS = [(), (1,), (0, 2), (3,), (1, 3)]     # per enterprise of COUNTY, by item index
# Three months of diligence for the first two: (weekly self-inspections before
# today's, trainings / drills / meetings, daily records). Under rules 2026.4 the
# first earns an A: every indicator full but the daily records.
HISTORY = [(13, 4, 10), (6, 1, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0)]


def photo_of_a_cabinet(path):
    """A real JPEG, as a phone's camera gives it."""
    image = Image.new("RGB", (640, 480), (92, 108, 118))
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 70, 440, 420), fill=(205, 205, 195), outline=(40, 40, 40), width=8)
    draw.rectangle((395, 220, 425, 280), fill=(240, 180, 0))
    image.save(path, "JPEG", quality=85)
    return path


def two_checklist_site(api, enterprise_id):
    """A position with two checklists of the enterprise's own: a phone that
    scans its code chooses one (the site's version is the first)."""
    version = fixtures.published_checklist(api, enterprise_id)
    housekeeping = fixtures.published_checklist(
        api, enterprise_id, title="Warehouse housekeeping round", items=[
            {"prompt": "Aisles marked and clear", "category": "housekeeping", "weight": 1},
            {"prompt": "Racks anchored, loads within the posted limit", "category": "storage",
             "legal_basis": "GB 50016-2014 3.3", "weight": 2}])
    where = fixtures.position(api, enterprise_id, checklist_ids=[
        version["checklist_id"], housekeeping["checklist_id"]])
    return fixtures.Site(enterprise_id, where["id"], version, fixtures.photo(api, enterprise_id))


def record_history(api, site, weekly_inspections, safety_actions, daily_records):
    for week in range(1, weekly_inspections + 1):
        created(api.post("/api/v1/inspections", site.inspection(completed_days_ago=7 * week)))
    actions = [("training", "using a fire extinguisher"), ("drill", "evacuation"),
               ("meeting", "monthly safety meeting"), ("training", "forklift operation")]
    for number in range(safety_actions):
        kind, topic = actions[number % len(actions)]
        created(api.post("/api/v1/enterprises/%s/safety-actions" % site.enterprise_id, {
            "kind": kind, "topic": topic, "people": 20 + number,
            "held_on": factories.ago(days=3 + 21 * number).date().isoformat(),
            "recorded_by": "safety.manager"}))
    for day in range(daily_records):
        created(api.post("/api/v1/enterprises/%s/safety-actions" % site.enterprise_id, {
            "kind": "daily_record", "topic": "shift handover safety check",
            "held_on": factories.ago(days=day).date().isoformat(),
            "recorded_by": "shift.leader"}))


@pytest.fixture(scope="module")
def county(platform, admin_tokens, tmp_path_factory):
    """Five enterprises in four towns, each with a checklist and a position,
    an inspection with failed items, a few hazards (a major one still
    without a plan at the first, an overdue one at the third); the first
    one's staff and manager, and an authority inspector."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    sites = []
    for number, (name, industry, town, grid, latitude, longitude) in enumerate(COUNTY):
        enterprise = factories.enterprise(name=name, industry=industry, town=town, grid=grid)
        enterprise.update(latitude=latitude, longitude=longitude)
        enterprise_id = created(api.post("/api/v1/enterprises", enterprise))["id"]
        site = fixtures.site(api, enterprise_id) if number else two_checklist_site(api,
                                                                                   enterprise_id)
        created(api.post("/api/v1/inspections", site.inspection(failed=FAILED_ITEMS[number])))
        record_history(api, site, *HISTORY[number])
        sites.append(site)
    first, third = sites[0].enterprise_id, sites[2].enterprise_id
    major = created(api.post("/api/v1/hazards", factories.hazard(
        first, level="major", category="fire",
        description="pallets stored in front of the north fire exit")))
    overdue = created(api.post("/api/v1/hazards", factories.hazard(
        third, found_hours_ago=72, category="chemicals",
        description="solvent drums without secondary containment",
        rectification_deadline=factories.iso(factories.ago(hours=2)))))
    wait_until(lambda: overdue["id"] in {h["id"] for h in api.get("/api/v1/hazards", params={
        "enterprise_id": third, "overdue": "true"}).json()["items"]},
        message="the overdue check to flag the hazard")
    wait_until(lambda: api.get("/api/v1/enterprises/%s/notices" % first).json()["total"],
               message="the first enterprise's grade notice")
    wait_until(lambda: api.get("/api/v1/enterprises/%s/score" % first).json().get("grade")
               == "A", message="the model enterprise's A")
    ids = {site.enterprise_id for site in sites}
    wait_until(lambda: ids <= {entry["enterprise_id"] for entry in api.get(
        "/api/v1/rankings", params={"limit": 100, "order": "worst"}).json()["items"]}
        or len(api.get("/api/v1/rankings", params={"limit": 100}).json()["items"]) == 100,
        message="every enterprise scored")
    return {
        "api": api, "sites": sites, "major": major, "overdue": overdue,
        "staff": fixtures.account(api, "enterprise_staff", enterprise_id=first),
        "manager": fixtures.account(api, "enterprise_manager", enterprise_id=first),
        "inspector": fixtures.account(api, "authority_inspector"),
        "photo": photo_of_a_cabinet(str(tmp_path_factory.mktemp("photos") / "cabinet.jpg")),
    }


def test_an_inspection_from_the_qr_link_to_the_hazard_it_created_on_a_phone(
        platform, county, screenshots):
    site, staff, api = county["sites"][0], county["staff"], county["api"]
    token = position_token(platform, site.position_id)
    photo_item = next(index for index, item in enumerate(site.version["items"])
                      if item["photo_required"])
    shown = run_flow(
        "inspection", base_url=platform.base_url, qr_token=token, username=staff.username,
        password=staff.password, fail=photo_item, not_applicable=(photo_item + 1) % 4,
        checklist_id=site.version["checklist_id"],
        note="cabinet door open, live parts exposed", photo=county["photo"], screenshots={
            "form": os.path.join(screenshots, "inspection-form-%s.png" % platform.backend),
            "done": os.path.join(screenshots, "inspection-%s.png" % platform.backend)})

    # the QR link opened the page, which sent the phone to log in and back
    assert "/app/login.html?next=" in shown["login_url"]
    assert shown["landed_url"].endswith("/app/inspect.html#" + token)
    assert shown["position"] == "Boiler room"
    assert shown["inspector_field_hidden"]           # the account is the inspector
    # its two checklists to choose from, the position's own before any universal one
    position = created(api.get("/api/v1/positions/%s" % site.position_id), 200)
    assert shown["choices"][:2] == position["checklist_ids"]
    assert shown["item_ids"] == [item["item_id"] for item in site.version["items"]]
    assert "请选择合格、不合格或不适用" in shown["refused_unmarked"]
    assert shown["progress"] == "已标记 4 / 共 4 项"
    with open(county["photo"], "rb") as photo:
        assert shown["photo_ref"] == "sha256:" + hashlib.sha256(photo.read()).hexdigest()

    inspection = created(api.get("/api/v1/inspections/%s" % shown["inspection_id"]), 200)
    assert inspection["inspector"] == staff.username
    assert (inspection["items_passed"], inspection["items_failed"],
            inspection["items_not_applicable"]) == (2, 1, 1)
    results = {item["item_id"]: item for item in inspection["items"]}
    failed = results[site.version["items"][photo_item]["item_id"]]
    assert (failed["result"], failed["note"], failed["photos"]) == (
        "fail", "cabinet door open, live parts exposed", [shown["photo_ref"]])
    assert shown["summary"].startswith("2 项合格，1 项不合格，1 项不适用")

    # the page shows exactly the hazard the hazard service raised from the failed item
    raised = created(api.get("/api/v1/hazards", params={
        "enterprise_id": site.enterprise_id, "source_inspection_id": inspection["id"]}),
        200)["items"]
    assert [hazard["id"] for hazard in raised] == shown["hazard_ids"]
    assert raised[0]["source_item_id"] == failed["item_id"]
    assert created(api.get("/api/v1/hazards/%s" % raised[0]["id"]), 200)["evidence"] == [
        shown["photo_ref"]]
    assert "cabinet door open, live parts exposed" in shown["hazards"][0]
    assert shown["hazard_categories"] == [raised[0]["category"]]


def test_the_enterprise_dashboard_shows_score_hazards_and_notices_and_takes_a_rectification(
        platform, county, screenshots):
    api, manager, major = county["api"], county["manager"], county["major"]
    enterprise_id = county["sites"][0].enterprise_id
    score = created(api.get("/api/v1/enterprises/%s/score" % enterprise_id), 200)
    majors = created(api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                        "level": "major"}), 200)["total"]
    ledger = created(api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                        "size": 20}), 200)
    counts = created(api.get("/api/v1/statistics/hazards", params={
        "enterprise_id": enterprise_id, "group_by": "level"}), 200)["totals"]
    inbox = created(api.get("/api/v1/enterprises/%s/notices" % enterprise_id), 200)
    shown = run_flow(
        "enterprise", base_url=platform.base_url, username=manager.username,
        password=manager.password, major_hazard_id=major["id"], major_count=majors,
        plan_deadline=(factories.ago(days=-20)).date().isoformat(), photo=county["photo"],
        screenshots={"dashboard": os.path.join(screenshots,
                                               "enterprise-%s.png" % platform.backend)})

    assert shown["name"] == "Baide Fabrics"
    assert shown["indicators"] == [indicator["key"] for indicator in score["indicators"]]
    points = float(shown["points"].split("/")[0])
    assert shown["grade"] == next(grade for grade, floor in GRADE_FLOORS if points >= floor)
    management = [n for n in inbox["items"] if n["kind"] in ("grade", "monthly")]
    assert shown["notice_title"] == management[0]["title"]
    assert shown["notice_ids"] == [notice["notice_id"] for notice in inbox["items"][:10]]
    assert unread(shown["unread"]) == inbox["unread"]
    assert shown["ledger_ids"] == [hazard["id"] for hazard in ledger["items"]]
    assert shown["ledger_page"] == "第 1 / 1 页 · 共 %d 条隐患" % ledger["total"]
    assert {key: int(value) for key, value in shown["counts"].items()} == {
        "open": counts["open"], "overdue": counts["overdue_open"], "major-open": 1,
        "submitted": counts["rectification_submitted"], "closed": counts["closed"]}
    assert major["id"] in shown["open_ids"]

    # the major hazard got its plan, then its rectification, through the dialog
    assert major["id"] not in shown["open_ids_after"]
    rectified = created(api.get("/api/v1/hazards/%s" % major["id"]), 200)
    assert rectified["status"] == "rectification_submitted"
    assert rectified["plan"]["goal"] == "no blocked fire exit"
    assert rectified["rectification"]["cost"] == "860.50"
    assert len(rectified["rectification"]["evidence"]) == 1
    history = created(api.get("/api/v1/hazards/%s/history" % major["id"]), 200)["items"]
    assert [event["actor"] for event in history[1:]] == [manager.username] * 2

    read = created(api.get("/api/v1/notices/%s" % shown["read_notice_id"]), 200)
    assert read["read_by"] == manager.username
    assert unread(shown["unread_after"]) == unread(shown["unread"]) - 1

    # the export carries the bearer token and the ledger's filters
    rows = list(csv.DictReader(io.StringIO(shown["csv"])))
    assert shown["csv_filename"].endswith(".csv")
    assert {row["隐患等级 level"] for row in rows} == {"major"} and len(rows) == majors
    assert major["id"] in {row["隐患编号 hazard id"] for row in rows}


def test_the_authority_dashboard_draws_charts_map_rankings_and_the_overdue_list(
        platform, county, screenshots):
    api, inspector = county["api"], county["inspector"]
    shown = run_flow(
        "authority", base_url=platform.base_url, username=inspector.username,
        password=inspector.password,
        screenshots={"dashboard": os.path.join(screenshots,
                                               "authority-%s.png" % platform.backend)})

    ours = {site.enterprise_id for site in county["sites"]}
    assert {"Wukang", "Wuyang", "Qianyuan", "Xinshi"} <= set(shown["towns"])
    assert {"textiles", "chemicals"} <= set(shown["industries"])
    assert {"general", "major"} <= set(shown["levels"])
    assert {"一般", "重大"} <= set(shown["level_labels"])          # the page speaks Chinese
    assert shown["trend_series"] == ["found", "major", "still open"]
    assert shown["trend_points"] == 3 * 12
    distribution = created(api.get("/api/v1/grades/distribution"), 200)
    assert shown["grade_columns"] == {grade: str(count)
                                      for grade, count in distribution["counts"].items()}
    assert ours <= set(shown["map_enterprises"])
    assert county["sites"][2].enterprise_id in shown["map_rings"]       # its overdue hazard
    assert {"Wukang", "Wuyang", "Qianyuan", "Xinshi"} <= set(shown["map_towns"])
    assert county["overdue"]["id"] in shown["overdue"]
    assert int(shown["kpis"]["overdue"]) >= 1
    assert int(shown["kpis"]["enterprises"]) == created(api.get("/api/v1/enterprises"),
                                                        200)["total"]
    worst = created(api.get("/api/v1/rankings", params={"order": "worst", "limit": 10}), 200)
    assert shown["worst"] == [entry["enterprise_id"] for entry in worst["items"]]
    excellent = created(api.get("/api/v1/rankings/excellent", params={"limit": 10}), 200)
    assert shown["excellent"] == [entry["enterprise_id"] for entry in excellent["items"]]
    assert county["sites"][0].enterprise_id in shown["excellent"]


@pytest.mark.parametrize("path,content_type", [
    ("/app/", "text/html"), ("/app/inspect.html", "text/html"),
    ("/app/app.css", "text/css"), ("/app/charts.js", "text/javascript"),
    ("/app/icon.svg", "image/svg+xml"), ("/app/icon-192.png", "image/png"),
    ("/app/manifest.webmanifest", "application/manifest+json"),
    ("/app/sw.js", "text/javascript")])
def test_pages_and_their_files_are_public_with_their_content_types(platform, path,
                                                                   content_type):
    response = Api(platform.base_url).get(path)                     # no token
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    again = Api(platform.base_url).get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", [
    "/app/nothing.html", "/app/../routes_web.py", "/app/%2e%2e/service.py",
    "/app/..%2froutes_web.py", "/app/.hidden.js", "/app/README", "/app/web/app.css"])
def test_unknown_files_and_paths_out_of_the_web_folder_are_404(platform, path):
    response = requests.get(platform.base_url + path, timeout=30)
    assert response.status_code == 404
    assert "import" not in response.text                   # no source file leaked


def test_the_qr_link_opens_the_inspection_page_in_a_browser_and_answers_json_to_api_clients(
        platform, county):
    token = position_token(platform, county["sites"][0].position_id)
    browser = requests.get(platform.base_url + "/scan/" + token, allow_redirects=False,
                           headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                           timeout=30)
    assert browser.status_code == 303
    assert browser.headers["Location"] == "/app/inspect.html#" + token
    assert browser.headers["Vary"] == "Accept"
    assert requests.get(platform.base_url + "/scan/" + token, timeout=30).status_code == 401
    staff = county["staff"]
    scanned = created(staff.get("/scan/" + token, headers={"Accept": "application/json"}), 200)
    assert scanned["position"]["id"] == county["sites"][0].position_id
    assert scanned["scanned_by"] == staff.username
    elsewhere = position_token(platform, county["sites"][1].position_id)
    assert staff.get("/scan/" + elsewhere).status_code == 404     # another enterprise's code
    assert requests.get(platform.base_url + "/", allow_redirects=False,
                        timeout=30).headers["Location"].endswith("/app/")


@pytest.mark.parametrize("next_path", [
    "%2F%09%2Fevil.example%2F",              # "/\t/evil.example/": the parser drops the tab
    "%2F%0A%2Fevil.example%2F", "%2F%5Cevil.example", "%2F%2Fevil.example",
    "https%3A%2F%2Fevil.example%2F", "javascript%3Aalert(1)", "%09%2F%2Fevil.example"])
def test_login_never_sends_the_browser_to_another_site(platform, county, screenshots,
                                                       next_path):
    manager = county["manager"]
    shown = run_flow("login_next", base_url=platform.base_url, next=next_path,
                     username=manager.username, password=manager.password,
                     screenshots={"page": os.path.join(screenshots, "login-next.png")})
    assert shown["landed_url"] == platform.base_url + "/app/enterprise.html", shown


def test_login_sends_the_browser_back_to_the_page_it_came_from(platform, county, screenshots):
    manager = county["manager"]
    shown = run_flow("login_next", base_url=platform.base_url,
                     next="%2Fapp%2Fauthority.html%3Fperiod%3D3%23top",
                     username=manager.username, password=manager.password,
                     screenshots={"page": os.path.join(screenshots, "login-next.png")})
    assert shown["landed_url"] == platform.base_url + "/app/authority.html?period=3#top"


def test_the_docs_page_runs_under_the_content_security_policy(platform, screenshots):
    shown = run_flow("docs", base_url=platform.base_url,
                     screenshots={"page": os.path.join(screenshots, "docs.png")})
    document = requests.get(platform.base_url + "/openapi.json", timeout=30).json()
    assert shown["operations"] == sum(len(item) for item in document["paths"].values())


PAGES = sorted([os.path.join(WEB, name) for name in os.listdir(WEB) if name.endswith(".html")]
               + [os.path.join(os.path.dirname(WEB), "docs.html")])


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_pages_hold_no_inline_script_handler_or_style(page):
    """What the Content-Security-Policy would refuse, found before a browser does."""
    with open(page, encoding="utf-8") as handle:
        markup = handle.read()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", markup) == []
    assert re.findall(r"\son[a-z]+\s*=", markup) == []
    assert re.findall(r"\sstyle\s*=|<style", markup) == []
    assert "javascript:" not in markup


def test_a_temporary_password_is_changed_on_the_login_page_before_anything_else(
        platform, api, screenshots):
    enterprise_id = fixtures.register_enterprise(api)
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=enterprise_id)
    staff_id = created(staff.get("/api/v1/auth/me"), 200)["account_id"]
    temporary = created(api.post("/api/v1/accounts/%s/password-reset" % staff_id),
                        200)["temporary_password"]
    shown = run_flow(
        "temporary_password", base_url=platform.base_url, username=staff.username,
        temporary_password=temporary, common_password="password1234",
        new_password="my own long password",
        expected_console_errors=("status of 400",      # the common password, refused
                                 "status of 404"),     # the new enterprise has no score yet
        screenshots={
            "form": os.path.join(screenshots, "temporary-password-%s.png" % platform.backend)})
    assert shown["login_form_hidden"]
    assert "commonly used" in shown["refused"]
    assert shown["landed_url"].endswith("/app/work.html")          # staff start on My work
    assert shown["account"]["must_change_password"] is False
    assert requests.post(platform.base_url + "/api/v1/auth/token", json={
        "username": staff.username, "password": "my own long password"},
        timeout=30).status_code == 200
    assert requests.post(platform.base_url + "/api/v1/auth/token", json={
        "username": staff.username, "password": temporary}, timeout=30).status_code == 401
