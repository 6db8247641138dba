"""The management pages in headless Chromium against the running processes:
a manager creates a position with a published checklist (the API has it) and
downloads the QR sheet of it alone, ticked (a PDF naming it, not the other); creates a staff account (a weak
password refused first, the API's reason beside the field) that can then log
in, resets another account's password (the temporary one works) and disables
the new account (which can no longer log in); an account changes its own
password (a weak one refused with the API's reason); the top bar links only
the screens a role can use. Every new page is measured at 375 px.
Screenshots go to test-artifacts/screenshots/."""
import os
import uuid

import pypdf
import pytest

from . import fixtures
from .fixtures import account, created
from .support import Api
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

PHONE_WIDTH = 375
MANAGE_FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_manage.py")
REFUSED = ("the server responded with a status of 400",)


@pytest.fixture(scope="module")
def manage(platform, admin_tokens):
    """An enterprise with its manager and a staff member, a published checklist of its own."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    enterprise = fixtures.register_enterprise(api, name="管理页面测试企业 " + uuid.uuid4().hex[:6])
    manager = account(api, "enterprise_manager", enterprise_id=enterprise)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise)
    checklist = fixtures.published_checklist(manager, enterprise_id=enterprise)
    prefix = created(api.get("/api/v1/enterprises/" + enterprise), 200)["account_prefix"]
    return {"api": api, "enterprise": enterprise, "manager": manager, "staff": staff,
            "checklist": checklist, "prefix": prefix}


def shot(screenshots, platform, name):
    return os.path.join(screenshots, "%s-%s.png" % (name, platform.backend))


def logs_in(platform, username, password):
    return Api(platform.base_url).post("/api/v1/auth/token", {"username": username,
                                                               "password": password})


def test_a_manager_renames_a_position_changes_its_checklists_and_retires_another(
        platform, manage, screenshots):
    manager, enterprise = manage["manager"], manage["enterprise"]
    checklist_id = manage["checklist"]["checklist_id"]
    renamed = fixtures.position(manager, enterprise, name="旧名 " + uuid.uuid4().hex[:4],
                                checklist_ids=[checklist_id])
    retired = fixtures.position(manager, enterprise, name="待停用 " + uuid.uuid4().hex[:4])
    new_name = "新名称 " + uuid.uuid4().hex[:4]
    shown = run_flow("edit_positions", script=MANAGE_FLOWS, base_url=platform.base_url,
                     username=manager.username, password=manager.password,
                     renamed=renamed["id"], retired=retired["id"], new_name=new_name,
                     checklist_id=checklist_id,
                     expected_console_errors=("status of 400",),     # the empty name, refused
                     screenshots={"positions": shot(screenshots, platform, "positions-edit")})
    assert shown["refused"]                                 # the API's reason, beside the name
    assert shown["renamed_row"] == "—"                      # no checklist any more
    assert retired["id"] not in shown["listed_after"] and renamed["id"] in shown["listed_after"]
    assert shown["retired_buttons"] == 0                    # a retired position has no forms
    assert shown["width"] <= PHONE_WIDTH
    # the API agrees, and the history names the manager as the actor of both
    position = created(manager.get("/api/v1/positions/" + renamed["id"]), 200)
    assert (position["name"], position["checklist_ids"]) == (new_name, [])
    history = created(manager.get("/api/v1/positions/%s/history" % renamed["id"]), 200)
    [update] = [e for e in history["items"] if e["type"].endswith("position.updated.v1")]
    assert update["actor"] == manager.username
    gone = created(manager.get("/api/v1/positions/" + retired["id"]), 200)
    assert gone["retired_at"] and gone["retirement_reason"] == "车间拆除"
    token = fixtures.position_token(platform, retired["id"])
    assert manager.get("/api/v1/scan/" + token).status_code == 410


def test_a_manager_creates_a_position_and_downloads_its_qr_sheet(platform, manage, screenshots,
                                                                 tmp_path):
    manager, enterprise = manage["manager"], manage["enterprise"]
    checklist_id = manage["checklist"]["checklist_id"]
    name = "锅炉房 Boiler " + uuid.uuid4().hex[:4]
    other = fixtures.position(manager, enterprise, name="仓库 Store " + uuid.uuid4().hex[:4])
    pdf_path = str(tmp_path / "sheet.pdf")
    shown = run_flow("manage_positions", script=MANAGE_FLOWS, base_url=platform.base_url,
                     username=manager.username, password=manager.password, position_name=name,
                     checklist_id=checklist_id, pdf_path=pdf_path,
                     screenshots={"positions": shot(screenshots, platform, "positions")})
    positions = created(manager.get("/api/v1/enterprises/%s/positions" % enterprise), 200)["items"]
    [made] = [p for p in positions if p["name"] == name]
    assert made["checklist_ids"] == [checklist_id]
    assert name in shown["names"]
    assert manage["checklist"]["title"] in shown["checklists"][shown["names"].index(name)]
    with open(pdf_path, "rb") as sheet:
        assert sheet.read(5) == b"%PDF-"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf_path).pages)
    assert name in text
    assert other["name"] not in text          # not ticked: not on the sheet
    # a position that is not the enterprise's is refused by name, like a missing one
    foreign = created(manage["api"].get(
        "/api/v1/enterprises/%s/positions/qr-sheet.pdf" % enterprise,
        params={"position_ids": made["id"] + ",no-such-position"}), 400)
    assert foreign["error"]["fields"]["position_ids"] == [
        "no position no-such-position of this enterprise"]
    assert shown["pdf_name"].endswith(".pdf")
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]


def test_a_manager_creates_resets_and_disables_accounts(platform, manage, screenshots):
    manager, staff = manage["manager"], manage["staff"]
    new_username = manage["prefix"] + ".web-" + uuid.uuid4().hex[:6]
    new_password = "new-staff-" + uuid.uuid4().hex[:8]
    shown = run_flow("manage_accounts", REFUSED, script=MANAGE_FLOWS, base_url=platform.base_url,
                     username=manager.username, password=manager.password,
                     new_username=new_username, new_password=new_password,
                     reset_username=staff.username,
                     screenshots={"accounts": shot(screenshots, platform, "accounts")})
    assert shown["prefilled"] == manage["prefix"] + "."
    assert manager.username in shown["listed"] and staff.username in shown["listed"]
    # the API's own reason, beside the password field
    assert "at least 12 characters" in shown["weak_password_error"]
    assert new_username in shown["created_message"]
    # the temporary password works (a login that must change it), the old one no longer
    temporary = shown["temporary_password"]
    login = logs_in(platform, staff.username, temporary)
    assert login.status_code == 200, login.text
    assert login.json()["account"]["must_change_password"] is True
    assert logs_in(platform, staff.username, staff.password).status_code == 401
    # the new account, in the manager's enterprise, logs in with the password typed
    listed = created(manager.get("/api/v1/accounts", params={"size": 200}), 200)["items"]
    [row] = [a for a in listed if a["username"] == new_username]
    assert (row["role"], row["enterprise_id"], row["disabled"]) == (
        "enterprise_staff", manage["enterprise"], False)
    assert logs_in(platform, new_username, new_password).status_code == 200
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]

    # disabled on the page: no more logins
    shown = run_flow("manage_disable", script=MANAGE_FLOWS, base_url=platform.base_url,
                     username=manager.username, password=manager.password,
                     disable_username=new_username,
                     screenshots={"accounts": shot(screenshots, platform, "accounts-disabled")})
    assert "已停用" in shown["state"]
    listed = created(manager.get("/api/v1/accounts", params={"size": 200}), 200)["items"]
    assert [a["disabled"] for a in listed if a["username"] == new_username] == [True]
    assert logs_in(platform, new_username, new_password).status_code == 401


def test_an_account_changes_its_own_password(platform, manage, screenshots):
    api = manage["api"]
    officer = account(api, "grid_officer", grid="管理网格-" + uuid.uuid4().hex[:6])
    chosen = "officer-new-" + uuid.uuid4().hex[:8]
    shown = run_flow("own_password", REFUSED, script=MANAGE_FLOWS, base_url=platform.base_url,
                     username=officer.username, password=officer.password,
                     weak_password=officer.username, new_password=chosen,
                     screenshots={"password": shot(screenshots, platform, "password")})
    assert "must not be the username" in shown["weak_error"]
    assert "/app/password.html" in shown["links"]
    assert "密码已修改" in shown["message"]
    assert logs_in(platform, officer.username, chosen).status_code == 200
    assert logs_in(platform, officer.username, officer.password).status_code == 401
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]


def test_the_top_bar_links_only_the_screens_a_role_can_use(platform, manage, screenshots):
    staff = account(manage["api"], "enterprise_staff", enterprise_id=manage["enterprise"])
    links = {}
    for who in (staff, manage["manager"]):
        links[who.username] = run_flow(
            "navigation", script=MANAGE_FLOWS, base_url=platform.base_url,
            username=who.username, password=who.password,
            screenshots={"nav": shot(screenshots, platform, "nav")})["links"]
    staff_links, manager_links = links[staff.username], links[manage["manager"].username]
    # staff: positions (read only) and their password, no accounts
    assert "/app/accounts.html" not in staff_links
    assert {"/app/positions.html", "/app/password.html"} <= set(staff_links)
    assert {"/app/accounts.html", "/app/positions.html", "/app/password.html"} <= set(manager_links)
    # the API agrees: staff may not list accounts
    assert staff.get("/api/v1/accounts").status_code == 403
