"""Every page of the web app on a 375 px phone, as the roles that use it: none
scrolls sideways (document.documentElement.scrollWidth ≤ 375). The pages are
found in services/gateway/web/, so a new page is measured too — or the test
fails until it is given to a role here."""
import os
import uuid

import pytest

from . import factories, fixtures
from .fixtures import account, created
from .support import Api, wait_until
from .web_support import WEB, run_flow

pytestmark = pytest.mark.backends("postgres")

FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_phone.py")
WIDTH = 375
TOWN = "手机测试镇"
# pages that are not opened on their own: the start page redirects to the role's home
# (measured there), the login page is measured logged out
NOT_OPENED_BY_AN_ACCOUNT = {"index.html", "login.html"}


@pytest.fixture(scope="module")
def tour(platform, admin_tokens):
    """An enterprise with a position, a hazard, an enforcement inspection (and so
    a case) and a campaign; its staff, manager, grid officer and an inspector;
    each account's pages, with the ids they need."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    grid = "手机网格-" + uuid.uuid4().hex[:6]
    enterprise_id = fixtures.register_enterprise(api, name="手机测试企业", town=TOWN, grid=grid)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    officer = account(api, "grid_officer", grid=grid)
    inspector = account(api, "authority_inspector")
    universal = fixtures.published_checklist(api, title="手机检查表 " + uuid.uuid4().hex[:6])
    where = fixtures.position(api, enterprise_id, name="一号车间",
                              checklist_ids=[universal["checklist_id"]])
    hazard = created(staff.post("/api/v1/hazards", factories.hazard(
        enterprise_id, description="配电箱门未关闭，线路裸露，需要立即整改并加装防护罩")))
    campaign = created(inspector.post("/api/v1/campaigns", {
        "name": "手机测试专项执法 " + uuid.uuid4().hex[:6],
        "legal_basis": "《中华人民共和国安全生产法》第六十五条",
        "period_start": "2026-12-01", "period_end": "2026-12-31", "targets": 1,
        "quotas": {TOWN: 1}}))
    logged = created(inspector.post("/api/v1/inspections", factories.inspection(
        enterprise_id, where["id"], universal, kind="enforcement", failed=(0,),
        photo=fixtures.photo(api, enterprise_id), inspector="赵执法")))

    def the_case():
        items = created(api.get("/api/v1/cases", params={"enterprise_id": enterprise_id}),
                        200)["items"]
        return [c for c in items if c["inspection_id"] == logged["id"]]
    [case] = wait_until(the_case, timeout=30, message="the inspection's case")
    token = fixtures.position_token(platform, where["id"])
    on_hazard = "/app/hazard.html?id=" + hazard["id"]
    with_enterprise = "?enterprise_id=" + enterprise_id
    return {
        staff: ["/app/work.html", "/app/inbox.html", "/app/report.html",
                "/app/enterprise.html", "/app/positions.html", "/app/password.html",
                "/app/cases.html", "/app/inspect.html#" + token, on_hazard,
                "/app/safety.html", "/app/publications.html"],
        manager: ["/app/enterprise.html", "/app/queue.html", "/app/accounts.html",
                  "/app/case.html?id=" + case["case_id"], "/app/checklists.html",
                  "/app/checklist.html?id=" + universal["checklist_id"], "/app/schedules.html"],
        officer: ["/app/work.html", "/app/queue.html", "/app/authority.html",
                  "/app/listed.html", on_hazard, "/app/enterprise.html?enterprise=" + enterprise_id,
                  "/app/positions.html" + with_enterprise, "/app/safety.html" + with_enterprise],
        inspector: ["/app/authority.html", "/app/campaigns.html",
                    "/app/campaign.html?id=" + campaign["campaign_id"], "/app/cases.html",
                    "/app/case.html?id=" + case["case_id"], "/app/publications.html"],
        None: ["/app/login.html"],
    }


def test_no_page_scrolls_sideways_on_a_phone(platform, tour, screenshots):
    pages = {name for name in os.listdir(WEB) if name.endswith(".html")}
    toured = {path.split("/app/")[1].split("?")[0].split("#")[0]
              for paths in tour.values() for path in paths}
    assert pages - NOT_OPENED_BY_AN_ACCOUNT - toured == set()      # every page has its account
    too_wide = {}
    for who, paths in tour.items():
        login = dict(username=who.username, password=who.password) if who else {}
        measured = run_flow("phone_pages", script=FLOWS, base_url=platform.base_url,
                            pages=paths, expected_console_errors=(
                                "status of 404",),       # the new enterprise has no score yet
                            screenshots={"pattern": os.path.join(screenshots, "phone-%s.png")},
                            **login)
        for path in paths:
            seen = measured[path]
            assert who is None or "/app/login.html" not in seen["url"], (path, seen["url"])
            if seen["width"] > WIDTH:
                too_wide[path] = seen
    assert too_wide == {}
