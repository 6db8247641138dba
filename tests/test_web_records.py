"""The record pages in headless Chromium against the running processes: a
manager records a training (a day in the future refused first, the API's
reason beside the day) and a daily management record, sees them listed and
filtered by kind and period, and the score's two indicators that count them;
staff record a safety meeting; a grid officer reads the records and the
indicators with no form; the authority's admin publishes to a grid (a grid
without an enterprise refused first, beside the field) and reads who received
it; the enterprise's manager reads it among the publications addressed to the
enterprise and marks it read. Each result is checked through the API; every
page is measured at 375 px. Screenshots go to test-artifacts/screenshots/."""
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from einspection import days

from . import fixtures
from .fixtures import account, created
from .support import Api, wait_until
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

PHONE_WIDTH = 375
RECORD_FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_records.py")
REFUSED = ("the server responded with a status of 400",)
# a new enterprise has no score until its first record is counted: 404 until then
NO_SCORE_YET = ("the server responded with a status of 404",)


@pytest.fixture(scope="module")
def records(platform, admin_tokens):
    """An enterprise on a grid of its own, its manager and staff, the grid's
    officer and an authority admin."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    grid = "记录网格-" + uuid.uuid4().hex[:6]
    enterprise = fixtures.register_enterprise(api, name="安全活动测试企业 " + grid[-6:],
                                              town="新市镇", grid=grid)
    return {"api": api, "grid": grid, "enterprise": enterprise,
            "manager": account(api, "enterprise_manager", enterprise_id=enterprise),
            "staff": account(api, "enterprise_staff", enterprise_id=enterprise),
            "officer": account(api, "grid_officer", grid=grid),
            "admin": account(api, "authority_admin")}


def shot(screenshots, platform, name):
    return os.path.join(screenshots, "%s-%s.png" % (name, platform.backend))


def today():
    return days.local_day(datetime.now(timezone.utc), days.deployment_zone())


def actions(api, enterprise, **query):
    return created(api.get("/api/v1/enterprises/%s/safety-actions" % enterprise,
                           params=query), 200)["items"]


def test_a_manager_records_a_training_and_a_daily_record_and_sees_them_count(
        platform, records, screenshots):
    manager, enterprise = records["manager"], records["enterprise"]
    day = today()
    refused = manager.post("/api/v1/enterprises/%s/safety-actions" % enterprise, {
        "kind": "training", "topic": "x", "held_on": (day + timedelta(days=2)).isoformat(),
        "recorded_by": "x"})
    assert refused.status_code == 400
    reason = " ".join(refused.json()["error"]["fields"]["held_on"])
    assert actions(manager, enterprise) == []
    training, daily = "消防器材使用培训", "班前安全检查记录"
    shown = run_flow("records_manager", script=RECORD_FLOWS,
                     expected_console_errors=REFUSED + NO_SCORE_YET,
                     base_url=platform.base_url, username=manager.username,
                     password=manager.password, training=training, daily=daily,
                     future_day=(day + timedelta(days=2)).isoformat(),
                     training_day=(day - timedelta(days=3)).isoformat(),
                     daily_day=(day - timedelta(days=2)).isoformat(),
                     screenshots={"refused": shot(screenshots, platform, "safety-refused"),
                                  "records": shot(screenshots, platform, "safety")})
    # the day of the form is the deployment's today; the kinds in Chinese
    assert shown["today"] == day.isoformat()
    assert shown["recorded_by"] == manager.username
    assert shown["kinds"] == ["training", "drill", "meeting", "daily_record"]
    assert shown["kind_labels"] == ["培训", "演练", "安全会议", "日常管理记录"]
    assert shown["refused"] == reason and "未保存" in shown["refused_message"]
    assert "已记录" in shown["recorded_message"]
    # what the API holds: the two records, by the manager's account, nothing of the refused try
    stored = actions(manager, enterprise)
    assert [(a["kind"], a["topic"], a["held_on"]) for a in stored] == [
        ("daily_record", daily, (day - timedelta(days=2)).isoformat()),
        ("training", training, (day - timedelta(days=3)).isoformat())]
    assert [a["people"] for a in stored] == [0, 24]
    assert shown["listed"] == ["daily_record", "training"]
    assert shown["listed_kinds"] == ["日常管理记录", "培训"]
    by_id = {a["kind"]: a["id"] for a in stored}
    assert shown["by_kind"] == [by_id["training"]] == [
        a["id"] for a in actions(manager, enterprise, kind="training")]
    assert shown["by_period"] == [by_id["daily_record"]] and shown["total"] == "1"
    # the score's indicators that count them, as the API gives them
    score = created(manager.get("/api/v1/enterprises/%s/score" % enterprise), 200)
    counted = {i["key"]: i for i in score["indicators"]}
    for key in ("safety_actions", "daily_management"):
        assert shown["indicators"][key] == {"points": counted[key]["points"], "recorded": "1"}
        assert counted[key]["detail"]["recorded"] == 1
    assert shown["indicator_titles"] == ["安全活动记录", "日常管理记录"]
    assert "2.5" in shown["share"] and "10.0" in shown["share"]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]


def test_staff_record_a_meeting_and_an_officer_reads_without_a_form(platform, records,
                                                                    screenshots):
    staff, officer, enterprise = records["staff"], records["officer"], records["enterprise"]
    topic = "月度安全例会 " + uuid.uuid4().hex[:4]
    shown = run_flow("records_staff", script=RECORD_FLOWS, base_url=platform.base_url,
                     username=staff.username, password=staff.password,
                     day=(today() - timedelta(days=1)).isoformat(), topic=topic,
                     screenshots={"staff": shot(screenshots, platform, "safety-staff")})
    assert "已记录" in shown["message"] and topic in shown["row"]
    [meeting] = actions(staff, enterprise, kind="meeting")
    assert (meeting["topic"], meeting["people"], meeting["recorded_by"]) == (
        topic, 8, staff.username)
    read = run_flow("records_officer", script=RECORD_FLOWS, base_url=platform.base_url,
                    username=officer.username, password=officer.password,
                    enterprise_id=enterprise,
                    screenshots={"officer": shot(screenshots, platform, "safety-officer")})
    assert read["form_hidden"] and read["inputs"] == 0
    assert "查看" in read["status"]
    assert set(read["rows"]) == {a["id"] for a in actions(officer, enterprise)}
    assert set(read["indicators"]) == {"safety_actions", "daily_management"}
    assert read["width"] <= PHONE_WIDTH, read["too_wide"]


def test_the_authority_publishes_to_a_grid_and_the_enterprise_reads_it(platform, records,
                                                                       screenshots):
    admin, manager, enterprise = records["admin"], records["manager"], records["enterprise"]
    empty_grid = "无企业网格-" + uuid.uuid4().hex[:6]
    refused = admin.post("/api/v1/publications", {
        "title": "x", "body": "x", "audience": "grid", "audience_value": empty_grid,
        "published_by": "x"})
    assert refused.status_code == 400
    reason = " ".join(refused.json()["error"]["fields"]["audience_value"])
    title = "关于开展消防安全专项检查的通知 " + uuid.uuid4().hex[:4]
    body = "各企业：\n下月起开展消防通道和灭火器专项检查，请提前自查。"
    shown = run_flow("publish", script=RECORD_FLOWS, expected_console_errors=REFUSED,
                     base_url=platform.base_url, username=admin.username,
                     password=admin.password, title=title, body=body,
                     published_by="德清县应急管理局", audience="grid",
                     empty_value=empty_grid, value=records["grid"],
                     screenshots={"refused": shot(screenshots, platform, "publish-refused"),
                                  "published": shot(screenshots, platform, "publications")})
    assert shown["audiences"] == ["all", "town", "industry", "grid"]
    assert shown["refused"] == reason
    publication = created(admin.get("/api/v1/publications/" + shown["publication_id"]), 200)
    assert (publication["title"], publication["body"], publication["audience"],
            publication["audience_value"], publication["published_by"]) == (
        title, body, "grid", records["grid"], "德清县应急管理局")
    assert [r["enterprise_id"] for r in publication["recipients"]] == [enterprise]
    assert shown["recipients"] == [enterprise]
    assert shown["reading_title"] == title and shown["reading_text"] == body
    assert shown["listed"][0] == publication["publication_id"]
    assert "1" in shown["message"] and "0" in shown["reading_count"]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]
    # nothing of the refused try was published
    published = created(admin.get("/api/v1/publications", params={"audience": "grid",
                                                                  "size": 200}), 200)["items"]
    assert empty_grid not in [p["audience_value"] for p in published]

    # the enterprise: its publication notice, read on the page
    def addressed():
        inbox = created(manager.get("/api/v1/enterprises/%s/notices" % enterprise,
                                    params={"kind": "publication"}), 200)["items"]
        return [n for n in inbox if n.get("publication_id") == publication["publication_id"]]
    [notice] = wait_until(addressed, timeout=30, message="the publication's notice")
    read = run_flow("publications_enterprise", script=RECORD_FLOWS,
                    base_url=platform.base_url, username=manager.username,
                    password=manager.password, notice_id=notice["notice_id"],
                    screenshots={"enterprise": shot(screenshots, platform,
                                                    "publications-enterprise")})
    assert read["form_hidden"] and read["notices"] == [notice["notice_id"]]
    assert title in read["title"] and "专项检查" in read["body"]
    assert manager.username in read["receipt"]
    after = created(admin.get("/api/v1/publications/" + publication["publication_id"]), 200)
    assert after["read_count"] == 1 and after["not_read"] == []
    assert after["recipients"][0]["read_by"] == manager.username
    # the other roles: publications are the authority's (403 to an officer, as the page says)
    assert records["officer"].get("/api/v1/publications").status_code == 403
