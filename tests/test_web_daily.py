"""The daily loop in headless Chromium against the running processes: a
manager assigns a hazard on its page; the assignee finds it in My work (with
the assignment's notice) and rectifies it (through the API); a grid officer
verifies it from the close-out queue, the photos before and after side by
side; another officer returns one, first without the reason (the API's reason
beside the field), then with it; an officer's inbox shows its unread notices
first, and marking one read is the API's read receipt. Every new page is
measured at 375 px: no sideways scrolling. Screenshots go to
test-artifacts/screenshots/.

The module's enterprise has a grid of its own: the grid officers' queue and
inbox hold its hazards and notices only, whatever else the session holds."""
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from einspection.days import deployment_zone

from . import factories, fixtures
from .fixtures import account, created
from .support import Api, wait_until
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

PHONE_WIDTH = 375


@pytest.fixture(scope="module")
def daily(platform, admin_tokens):
    """An enterprise on a grid of its own, its manager and staff, two grid
    officers; two general hazards reported by the staff with a photo each (the
    first with two lines and a position), and a major one, whose notice goes
    to the grid's inbox."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    grid = "日常网格-" + uuid.uuid4().hex[:6]
    enterprise = fixtures.register_enterprise(api, name="日常工作测试企业 " + grid[-6:],
                                              town="新市镇", grid=grid)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise)
    officers = [account(api, "grid_officer", grid=grid) for _ in range(2)]
    where = fixtures.position(api, enterprise, name="配电房")

    def report(description, level="general", **extra):
        return created(staff.post("/api/v1/hazards", factories.hazard(
            enterprise, level=level, description=description,
            evidence=[fixtures.photo(staff, enterprise)], **extra)))
    assigned = report("配电箱门未关闭\n带电部位裸露，无警示标志", position_id=where["id"])
    returned = report("灭火器过期未检")
    major = report("消防通道堵塞", level="major", category="fire")

    def grid_notice():
        inbox = created(officers[0].get("/api/v1/notices", params={
            "recipient": "grid:" + grid, "unread": "true"}), 200)["items"]
        return [n for n in inbox if n["kind"] == "major_hazard"]
    [notice] = wait_until(grid_notice, timeout=30, message="the major hazard's grid notice")
    return {"api": api, "grid": grid, "enterprise": enterprise, "manager": manager,
            "staff": staff, "officers": officers, "position": where, "assigned": assigned,
            "returned": returned, "major": major, "notice": notice}


def shot(screenshots, platform, name):
    return os.path.join(screenshots, "%s-%s.png" % (name, platform.backend))


def rectify(staff, enterprise, hazard):
    return created(staff.post("/api/v1/hazards/%s/rectification" % hazard["id"], {
        "measures": "更换配电箱锁具，张贴警示标志", "done_at": factories.iso(factories.ago(minutes=1)),
        "evidence": [fixtures.photo(staff, enterprise)], "rectified_by": "王师傅"}))


def test_a_hazard_is_assigned_on_its_page_rectified_by_the_assignee_and_verified_from_the_queue(
        platform, daily, screenshots):
    manager, staff, hazard = daily["manager"], daily["staff"], daily["assigned"]
    path = "/api/v1/hazards/" + hazard["id"]
    due = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=9, minute=30, second=0,
                                                                  microsecond=0)
    due_local = due.strftime("%Y-%m-%dT%H:%M")
    shown = run_flow("daily_assign", base_url=platform.base_url, username=manager.username,
                     password=manager.password, hazard_id=hazard["id"], assignee=staff.username,
                     due_local=due_local, note="本周内整改并拍照",
                     screenshots={"hazard": shot(screenshots, platform, "hazard"),
                                  "photo": shot(screenshots, platform, "hazard-photo")})
    # the page before: every line of the description, the position by name, no assignment yet
    assert shown["description"] == hazard["description"]
    assert "配电房" in shown["summary"] and "日常工作测试企业" in shown["summary"]
    # the category by its label in Chinese (the default), the raw text where it has none
    labels = {c["key"]: c["zh"] for c in created(manager.get("/api/v1/hazard-categories"),
                                                 200)["categories"]}
    category = labels.get(hazard["category"], hazard["category"])
    assert shown["title"].startswith(category) and category in shown["summary"]
    assert "尚未指派" in shown["before"]
    assert staff.username in shown["choices"]          # the manager's accounts, offered
    assert shown["full_size"] > 0
    # the print link gives the notice: its text names the enterprise and every description line
    assert shown["notice_filename"] == "rectification-notice-%s.pdf" % hazard["id"]
    for line in ["隐患整改通知书", "日常工作测试企业"] + hazard["description"].splitlines():
        assert line in shown["notice_text"], (line, shown["notice_text"])
    after = created(manager.get(path), 200)
    assignment = after["assignment"]
    # the due typed is read in the deployment's time zone, whatever the browser's
    zone = deployment_zone()
    typed = datetime.strptime(due_local, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
    assert (assignment["assignee"]["username"], assignment["note"], assignment["assigned_by"]) == (
        staff.username, "本周内整改并拍照", manager.username)
    assert datetime.fromisoformat(assignment["due"].replace("Z", "+00:00")) == typed
    assert staff.username in shown["assignment"] and "本周内整改并拍照" in shown["assignment"]
    # the history as the page shows it: each event, its actor, its time in the deployment's zone
    assert due_local.replace("T", " ") in shown["assignment"]
    history = created(manager.get(path + "/history"), 200)["items"]
    assert shown["zone"] == zone.key
    assert shown["history"]["events"] == [step["type"] for step in history]
    assert shown["history"]["actors"] == [step["actor"] for step in history]
    assert shown["history"]["actors"][-1] == manager.username
    assert shown["history"]["times"] == [
        datetime.fromisoformat(step["time"].replace("Z", "+00:00")).astimezone(zone)
        .strftime("%Y-%m-%d %H:%M") for step in history]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]

    # the assignee: the hazard in My work, the assignment's notice in its own inbox
    inbox = "account:" + staff.username

    def told():
        items = created(staff.get("/api/v1/notices", params={"recipient": inbox,
                                                             "unread": "true"}), 200)["items"]
        return [n["notice_id"] for n in items if n["kind"] == "assigned"]
    wait_until(told, timeout=30, message="the assignee's notice")
    seen = run_flow("daily_work", base_url=platform.base_url, username=staff.username,
                    password=staff.password, hazard_id=hazard["id"],
                    screenshots={"work": shot(screenshots, platform, "work")})
    work = created(staff.get("/api/v1/me/work"), 200)
    assert seen["assigned"] == [row["id"] for row in work["assigned"]["items"]] == [hazard["id"]]
    assert seen["assigned_count"] == "1"
    assert inbox in seen["unread_inboxes"]
    assert set(told()) <= set(seen["unread_notices"])
    assert "不验收" in seen["awaiting"]                  # staff verify nothing
    assert not any("待验收" in link for link in seen["nav"])   # nor see the queue
    assert any("我的工作" in link for link in seen["nav"])
    assert seen["hazard_url"].endswith("/app/hazard.html?id=" + hazard["id"])
    assert seen["assign_form_hidden"] and staff.username in seen["assignment"]
    assert seen["width"] <= PHONE_WIDTH, seen["too_wide"]

    rectify(staff, daily["enterprise"], hazard)
    officer = daily["officers"][0]
    verified = run_flow("daily_verify", base_url=platform.base_url, username=officer.username,
                        password=officer.password, hazard_id=hazard["id"], comment="现场复核合格",
                        screenshots={"queue": shot(screenshots, platform, "queue")})
    assert hazard["id"] in verified["queued"]
    assert (verified["before"], verified["after"]) == (1, 1) and verified["side_by_side"]
    assert any("待验收" in link for link in verified["nav"])
    assert verified["width"] <= PHONE_WIDTH, verified["too_wide"]
    assert verified["outcome"] == "verified" and "已验收" in verified["message"]
    closed = created(officer.get(path), 200)
    assert closed["status"] == "closed"
    assert (closed["verification"]["verified_by"], closed["verification"]["comment"]) == (
        officer.username, "现场复核合格")


def test_a_return_needs_its_reason_and_is_recorded_by_the_officer(platform, daily, screenshots):
    staff, hazard = daily["staff"], daily["returned"]
    rectify(staff, daily["enterprise"], hazard)
    officer = daily["officers"][1]
    refused = officer.post("/api/v1/hazards/%s/verification" % hazard["id"],
                           {"outcome": "returned"})
    assert refused.status_code == 400
    reason = " ".join(refused.json()["error"]["fields"]["reason"])
    shown = run_flow("daily_return", base_url=platform.base_url, username=officer.username,
                     password=officer.password, hazard_id=hazard["id"],
                     reason="灭火器仍未更换，请重新整改",
                     expected_console_errors=("status of 400",),
                     screenshots={"refused": shot(screenshots, platform, "queue-refused")})
    assert shown["refused"] == reason and shown["still_queued"] == 1
    assert shown["outcome"] == "returned"
    after = created(officer.get("/api/v1/hazards/" + hazard["id"]), 200)
    assert after["status"] == "returned"
    assert [(r["returned_by"], r["reason"]) for r in after["returns"]] == [
        (officer.username, "灭火器仍未更换，请重新整改")]


def test_an_officers_inbox_shows_unread_first_and_marking_one_read_is_the_read_receipt(
        platform, daily, screenshots):
    officer, notice, grid = daily["officers"][0], daily["notice"], daily["grid"]
    recipient = "grid:" + grid
    shown = run_flow("daily_inbox", base_url=platform.base_url, username=officer.username,
                     password=officer.password, recipient=recipient,
                     notice_id=notice["notice_id"],
                     screenshots={"inbox": shot(screenshots, platform, "inbox")})
    assert shown["inboxes"] == ["account:" + officer.username, recipient]
    order = shown["order"]
    assert order == sorted(order, reverse=True) and order[0] is True     # unread first
    now = created(officer.get("/api/v1/notices", params={"recipient": recipient}), 200)
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]
    read = created(officer.get("/api/v1/notices/" + notice["notice_id"]), 200)
    assert read["read_by"] == officer.username and read["read_at"]
    assert officer.username in shown["receipt"]
    assert shown["unread_after"].startswith("%d " % now["unread"])
    assert int(shown["unread_before"].split()[0]) == now["unread"] + 1


def test_the_authoritys_inbox_holds_the_major_hazard_and_marking_it_read_is_the_receipt(
        platform, daily, screenshots):
    inspector = account(daily["api"], "authority_inspector")

    def authority_notice():
        inbox = created(inspector.get("/api/v1/notices", params={
            "recipient": "authority", "unread": "true", "kind": "major_hazard", "size": 200}),
            200)["items"]
        return [n for n in inbox if n["enterprise_id"] == daily["enterprise"]]
    [notice] = wait_until(authority_notice, timeout=30, message="the major hazard's notice")
    shown = run_flow("daily_inbox", base_url=platform.base_url, username=inspector.username,
                     password=inspector.password, recipient="authority",
                     notice_id=notice["notice_id"],
                     screenshots={"inbox": shot(screenshots, platform, "inbox-authority")})
    assert shown["inboxes"] == ["account:" + inspector.username, "authority"]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]
    read = created(inspector.get("/api/v1/notices/" + notice["notice_id"]), 200)
    assert read["read_by"] == inspector.username and read["read_at"]
    assert inspector.username in shown["receipt"]


def test_a_hazard_found_seconds_ago_is_rectified_with_the_forms_own_time_and_shown_in_full(
        platform, daily):
    """The rectify form's "done at" used to be a minute back, to the minute:
    before a hazard found seconds ago, which the API refuses; and the ledger
    showed a description's first line only."""
    manager, enterprise = daily["manager"], daily["enterprise"]
    hazard = created(manager.post("/api/v1/hazards", factories.hazard(
        enterprise, found_hours_ago=0, description="配电柜未上锁\n柜门警示标志缺失")))
    shown = run_flow("fresh_rectification", base_url=platform.base_url,
                     username=manager.username, password=manager.password,
                     hazard_id=hazard["id"])
    assert "配电柜未上锁" in shown["ledger_cell"] and "柜门警示标志缺失" in shown["ledger_cell"]
    after = created(manager.get("/api/v1/hazards/" + hazard["id"]), 200)
    assert after["status"] == "rectification_submitted", after["status"]
    assert after["rectification"]["done_at"] >= hazard["found_at"][:19]
