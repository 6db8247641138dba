"""The pages' two languages and a phone's width, in headless Chromium against
the running processes: the enterprise dashboard in Chinese (`<html lang="zh-CN">`),
the top bar's switch to English (the headings' English texts from the
catalogue, no Chinese in the page's own words), the choice kept after a
reload and on another page, and the switch back to Chinese; and each of the
dashboards, login, accounts, positions, password and API docs pages opened at
375 x 740 as the role that uses it, no wider than the screen. Screenshots go
to test-artifacts/screenshots/."""
import os
import re
import uuid

import pytest

from services.gateway import messages

from . import factories, fixtures
from .fixtures import account, created
from .support import Api
from .web_support import WEB, run_flow

pytestmark = pytest.mark.backends("postgres")

LANGUAGE_FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "browser_flows_language.py")
# a 404 for a score not yet computed; a new enterprise has none
NO_SCORE_YET = ("the server responded with a status of 404",)


@pytest.fixture(scope="module")
def shop(platform, admin_tokens):
    """An enterprise with long-worded hazards (a wide ledger), a position,
    its manager; an authority inspector and admin."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    enterprise = fixtures.register_enterprise(api, name="语言测试企业 " + uuid.uuid4().hex[:6])
    manager = account(api, "enterprise_manager", enterprise_id=enterprise)
    fixtures.position(manager, enterprise, name="配电房 " + uuid.uuid4().hex[:4])
    for number, (level, category) in enumerate([("major", "fire"), ("general", "electrical"),
                                                ("general", "no such category here")]):
        created(manager.post("/api/v1/hazards", factories.hazard(
            enterprise, level=level, category=category, found_hours_ago=number + 1,
            description="distribution_cabinet_door_open_with_live_parts_exposed_and_no_sign "
                        "配电箱门未关闭，带电部位裸露，无警示标志，需立即整改")))
    return {"api": api, "enterprise": enterprise, "manager": manager,
            "inspector": account(api, "authority_inspector"),
            "admin": account(api, "authority_admin")}


def shot(screenshots, platform, name):
    return os.path.join(screenshots, "%s-%s.png" % (name, platform.backend))


def test_each_page_fits_a_phone_as_the_role_that_uses_it(platform, shop, screenshots):
    manager, inspector, admin = shop["manager"], shop["inspector"], shop["admin"]
    visits = [
        {"paths": ["/app/login.html", "/docs", "/docs/events"]},
        {"username": manager.username, "password": manager.password,
         "paths": ["/app/enterprise.html", "/app/positions.html", "/app/accounts.html",
                   "/app/password.html"]},
        {"username": inspector.username, "password": inspector.password,
         "paths": ["/app/authority.html"]},
        {"username": admin.username, "password": admin.password,
         "paths": ["/app/accounts.html"]},
    ]
    shown = run_flow("phone_pages", NO_SCORE_YET, script=LANGUAGE_FLOWS,
                     base_url=platform.base_url, visits=visits,
                     screenshots={"prefix": shot(screenshots, platform, "phone")[:-len(".png")]
                                  + "-"})
    assert set(shown) - {"page_errors", "csp_violations", "console_errors", "too_wide"} == {
        path for visit in visits for path in visit["paths"]}
    assert all(width <= 375 for path, width in shown.items() if path.startswith("/"))


def test_the_language_switch_shows_english_keeps_it_and_switches_back(platform, shop,
                                                                     screenshots):
    manager = shop["manager"]
    shown = run_flow("language_switch", NO_SCORE_YET, script=LANGUAGE_FLOWS,
                     base_url=platform.base_url, username=manager.username,
                     password=manager.password,
                     screenshots={"english": shot(screenshots, platform, "enterprise-english")})
    zh, en = messages.catalogue("zh"), messages.catalogue("en")
    headings = ["enterprise.score_title", "enterprise.open_title", "enterprise.ledger_title",
                "enterprise.notices_title"]                    # in the page's order

    chinese = shown["chinese"]
    assert chinese["lang"] == "zh-CN"
    assert chinese["headings"] == [zh[key] for key in headings]
    assert chinese["switch"] == "English"
    assert zh["common.nav.enterprise"] in chinese["nav"]

    for state in ("english", "reloaded", "positions"):
        english = shown[state]
        assert english["lang"] == "en", state
        assert english["cjk"] == [], (state, english["cjk"])
        assert english["switch"] == "中文", state
        assert en["common.nav.enterprise"] in english["nav"], state
    assert shown["english"]["headings"] == [en[key] for key in headings]
    assert shown["reloaded"]["headings"] == [en[key] for key in headings]
    assert en["positions.title"] in shown["positions"]["words"]

    # hazard categories by their label in the language shown; free text as recorded
    taxonomy = {entry["key"]: entry for entry in created(
        manager.get("/api/v1/hazard-categories"), 200)["categories"]}
    for state, language in (("chinese", "zh"), ("english", "en"), ("back", "zh")):
        assert sorted(shown[state]["categories"]) == sorted(
            [taxonomy["fire"][language], taxonomy["electrical"][language],
             "no such category here"]), state

    back = shown["back"]
    assert back["lang"] == "zh-CN"
    assert back["headings"] == [zh[key] for key in headings]


@pytest.mark.parametrize("page,buttons", [("web/login.html", ["login-submit", "password-submit"]),
                                          ("docs.html", ["login-submit"])])
def test_a_login_form_cannot_be_sent_before_its_script_listens(page, buttons):
    """The pages' scripts wait for the catalogue (i18n.js) before they listen:
    a login button pressed earlier would send the browser's own GET, the
    password in the address. The buttons come disabled; the script enables them."""
    with open(os.path.join(os.path.dirname(WEB), page), encoding="utf-8") as source:
        markup = source.read()
    for button in buttons:
        assert re.search(r'<button[^>]*\bid="%s"[^>]*\bdisabled\b' % button, markup), button
