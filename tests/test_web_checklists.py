"""The checklist and schedule pages in headless Chromium against the running
processes: the authority imports a grading standard's CSV (a bad row first,
the API's reason beside the form), edits the draft (reworded, a failure made
major, a photo required, an item added and moved up), publishes version 1,
edits again (a bad weight refused beside its item; an item removed) and
publishes version 2, shown beside version 1 — each checked against the API.
An enterprise's manager creates a checklist of its own (publishing it empty is
refused with the API's reason) and a schedule (weekly without weekdays first:
the reason beside the weekdays), sees its rounds, the round the checklist
service records missed marked as missed, and ends the schedule. Staff read
the same pages without a form. Every page is measured at 375 px.
Screenshots go to test-artifacts/screenshots/."""
import os
import uuid
from datetime import timedelta

import pytest

from einspection.contract import utcnow
from einspection.days import local_day, start_of

from . import fixtures
from .fixtures import account, created
from .support import Api
from .test_schedules import ZONE, check_rounds, checklist_store, daily
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

PHONE_WIDTH = 375
FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_checklists.py")
REFUSED = ("the server responded with a status of 400", "the server responded with a status of 409")

GOOD_CSV = """category,project,content,score,row_type
1.目标,1.1目标,建立安全生产目标的管理制度,2,item
1.目标,1.2考核,制定年度安全生产目标与指标,3,item
1.目标,小计,,5,subtotal
2.职责,2.1机构,设置安全管理机构,5,item
2.职责,小计,,5,subtotal
合计,,,10,total
"""
BAD_CSV = GOOD_CSV.replace("制定年度安全生产目标与指标,3,item", "制定年度安全生产目标与指标,abc,item")


@pytest.fixture(scope="module")
def place(platform, admin_tokens):
    """An enterprise with its manager, a staff member and a position."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    enterprise = fixtures.register_enterprise(api, name="检查表页面测试企业 " + uuid.uuid4().hex[:6])
    manager = account(api, "enterprise_manager", enterprise_id=enterprise)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise)
    where = fixtures.position(api, enterprise, name="配电房 " + uuid.uuid4().hex[:4])
    return {"api": api, "enterprise": enterprise, "manager": manager, "staff": staff,
            "position": where}


def shots(screenshots, platform, *names):
    return {name: os.path.join(screenshots, "checklists-%s-%s.png" % (name, platform.backend))
            for name in names}


def version(api, checklist_id, number):
    return created(api.get("/api/v1/checklists/%s/versions/%d" % (checklist_id, number)), 200)


def test_the_authority_imports_a_standard_edits_and_publishes_two_versions(
        platform, place, screenshots, tmp_path):
    api = place["api"]
    admin = account(api, "authority_admin")
    title = "评分标准节选 " + uuid.uuid4().hex[:6]
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    good.write_text(GOOD_CSV, encoding="utf-8")
    shown = run_flow("checklists_import", REFUSED, script=FLOWS, base_url=platform.base_url,
                     username=admin.username, password=admin.password,
                     title=title, bad_csv=str(bad), good_csv=str(good),
                     first_prompt="建立并公布安全生产目标管理制度", new_prompt="每月召开安全例会",
                     new_category="1.目标", second_prompt="年度安全目标分解到部门",
                     screenshots=shots(screenshots, platform, "list", "versions"))
    # the bad row's reason, the API's own, beside the form; nothing imported by it
    assert "line 3" in shown["bad_row_error"] and "abc" in shown["bad_row_error"]
    assert shown["import_errors_after"] == ""
    assert shown["create_shown"] is True
    mine = [c for c in created(api.get("/api/v1/checklists", params={
        "scope": "universal", "size": 200, "sort": "-updated_at"}), 200)["items"]
        if c["title"] == title]
    assert len(mine) == 1, mine
    checklist_id = mine[0]["id"]
    assert shown["checklist_url"].endswith("/app/checklist.html?id=" + checklist_id)
    assert shown["status_before"] == "draft"
    first, second, third = shown["items_before"]

    one = version(api, checklist_id, 1)
    assert one["status"] == "published"
    assert [i["prompt"] for i in one["items"]] == shown["order_sent"] == [
        "建立并公布安全生产目标管理制度", "每月召开安全例会", "制定年度安全生产目标与指标", "设置安全管理机构"]
    assert [i["item_id"] for i in one["items"]][::2] == [first, second]
    assert one["items"][3]["item_id"] == third
    assert [i["weight"] for i in one["items"]] == ["2.00", "4.00", "3.00", "5.00"]
    assert [i["major"] for i in one["items"]] == [True, False, False, False]
    assert [i["photo_required"] for i in one["items"]] == [False, False, True, False]
    added = one["items"][1]["item_id"]
    assert shown["after_first"][0]["version"] == "1"
    assert "2" in shown["hint_after_publish"]
    assert shown["weight_error"]                          # marshmallow's, beside the weight

    two = version(api, checklist_id, 2)
    assert two["status"] == "published"
    assert [(i["item_id"], i["prompt"], i["weight"]) for i in two["items"]] == [
        (first, "建立并公布安全生产目标管理制度", "2.00"), (added, "每月召开安全例会", "6.00"),
        (second, "年度安全目标分解到部门", "3.00")]
    assert version(api, checklist_id, 1)["items"] == one["items"]   # version 1 never changes
    checklist = created(api.get("/api/v1/checklists/" + checklist_id), 200)
    if "required_frequency" in checklist:      # the service has required frequencies
        assert shown["has_required_frequency"] is True
        assert version(api, checklist_id, 3)["required_frequency"] == "weekly"
        assert checklist["required_frequency"] == "weekly"
        assert shown["required_frequency_fact"] == "每周"
        assert (checklist["latest_version"], checklist["published_version"]) == (3, 3)
    else:                                      # not yet: the page offers no such field
        assert shown["has_required_frequency"] is False
        assert (checklist["latest_version"], checklist["published_version"]) == (2, 2)

    # both versions on the page, side by side, each as the API has it
    cards = {card["version"]: card for card in shown["versions"]}
    assert sorted(cards) == ["1", "2"]
    assert cards["1"]["top"] == cards["2"]["top"] and cards["1"]["left"] < cards["2"]["left"]
    for number, answer in (("1", one), ("2", two)):
        assert [(i["id"], i["prompt"]) for i in cards[number]["items"]] == [
            (i["item_id"], i["prompt"]) for i in answer["items"]]
    assert shown["version_rows"] == ["published", "published"]
    assert shown["list_width"] <= PHONE_WIDTH, shown["too_wide"]
    assert shown["checklist_width"] <= PHONE_WIDTH, shown["too_wide"]


def test_a_manager_creates_a_checklist_and_a_schedule_sees_a_missed_round_and_ends_it(
        platform, place, screenshots):
    manager, staff, enterprise = place["manager"], place["staff"], place["enterprise"]
    title = "班前检查 " + uuid.uuid4().hex[:6]
    shown = run_flow("checklists_create", REFUSED, script=FLOWS, base_url=platform.base_url,
                     username=manager.username, password=manager.password, title=title,
                     prompt="配电箱门关闭上锁", category="电气",
                     screenshots=shots(screenshots, platform, "create"))
    assert shown["import_shown"] is False                 # the import is the authority's
    assert "no items to publish" in shown["empty_publish"]
    checklist_id = shown["checklist_id"]
    checklist = created(manager.get("/api/v1/checklists/" + checklist_id), 200)
    assert (checklist["scope"], checklist["enterprise_id"], checklist["title"]) == (
        "enterprise", enterprise, title)
    assert checklist["published_version"] == 1
    assert [i["prompt"] for i in checklist["latest"]["items"]] == ["配电箱门关闭上锁"]

    spec = dict(base_url=platform.base_url, username=manager.username,
                password=manager.password)
    shown = run_flow("schedules_create", REFUSED, script=FLOWS, checklist_id=checklist_id,
                     position_id=place["position"]["id"], assignee=staff.username,
                     screenshots=shots(screenshots, platform, "schedules"), **spec)
    assert "a weekly schedule names its days" in shown["weekly_error"]
    path = "/api/v1/enterprises/%s/schedules" % enterprise
    listed = created(manager.get(path), 200)["items"]
    mine = [s for s in listed if s["checklist_id"] == checklist_id]
    assert len(mine) == 1                                 # the refused one made nothing
    [schedule] = mine
    assert (schedule["frequency"], schedule["assignee"], schedule["position_id"]) == (
        "daily", staff.username, place["position"]["id"])
    assert schedule["id"] in shown["schedules"] and schedule["id"] not in shown["before"]
    today = local_day(utcnow(), ZONE)
    ours = [r for r in shown["rounds"] if r["schedule"] == schedule["id"]]
    assert [r["round"] for r in ours] == [(today + timedelta(days=n)).isoformat()
                                          for n in range(8)]
    assert {r["status"] for r in ours} == {"due"}
    assert "/app/checklists.html" in shown["links"]
    assert shown["width"] <= PHONE_WIDTH, shown["too_wide"]

    # the checklist service's check after today: today's round is missed, once
    store, engine = checklist_store(platform)
    try:
        later = start_of(today + timedelta(days=1), ZONE) + timedelta(minutes=1)
        assert schedule["id"] in check_rounds(store, later)
    finally:
        engine.dispose()
    missed = created(manager.get("/api/v1/rounds", params={
        "enterprise_id": enterprise, "status": "missed"}), 200)["items"]
    assert [(r["schedule_id"], r["round"]) for r in missed] == [(schedule["id"], today.isoformat())]

    tomorrow = (today + timedelta(days=1)).isoformat()
    shown = run_flow("schedules_missed_and_end", script=FLOWS, schedule_id=schedule["id"],
                     ends_on=tomorrow, reason="停产检修",
                     screenshots=shots(screenshots, platform, "missed", "ended"), **spec)
    [row] = [r for r in shown["all_rounds"] if r["status"] == "missed"]
    assert (row["schedule"], row["round"], row["missed_mark"]) == (schedule["id"],
                                                                   today.isoformat(), True)
    assert "overdue" in row["badge"] and "漏检" in row["cells"][-1]
    assert [(r["schedule"], r["round"]) for r in shown["missed_rounds"]] == [
        (schedule["id"], today.isoformat())]
    assert tomorrow in shown["ends_on"]
    ended = created(manager.get(path), 200)["items"]
    assert [s["ends_on"] for s in ended if s["id"] == schedule["id"]] == [tomorrow]
    # no rounds from the end on: only today's stands, missed
    assert [(r["round"], r["status"]) for r in shown["rounds_after"]
            if r["schedule"] == schedule["id"]] == [(today.isoformat(), "missed")]
    left = created(manager.get("/api/v1/rounds", params={
        "enterprise_id": enterprise, "to": (today + timedelta(days=7)).isoformat()}), 200)["items"]
    assert [r["round"] for r in left if r["schedule_id"] == schedule["id"]] == [today.isoformat()]


def test_staff_read_checklists_and_schedules_without_a_form(platform, place, screenshots):
    manager, staff, enterprise = place["manager"], place["staff"], place["enterprise"]
    published = fixtures.published_checklist(manager, enterprise_id=enterprise,
                                             title="员工只读 " + uuid.uuid4().hex[:6])
    schedule = created(manager.post("/api/v1/enterprises/%s/schedules" % enterprise, daily(
        published["checklist_id"], place["position"]["id"], assignee_role="enterprise_staff")))
    shown = run_flow("staff_read_only", script=FLOWS, base_url=platform.base_url,
                     username=staff.username, password=staff.password,
                     checklist_id=published["checklist_id"],
                     screenshots=shots(screenshots, platform, "staff"))
    assert published["checklist_id"] in shown["listed"]
    assert shown["list_forms"] == shown["checklist_forms"] == shown["schedule_forms"] == 0
    assert shown["editor_hidden"] is True and shown["end_buttons"] == 0
    assert schedule["id"] in shown["schedules"]
    assert shown["english_titles"] == ["Inspection schedules", "Rounds"]
    assert "due" in " ".join(shown["english_statuses"])
    for name in ("list_width", "checklist_width", "schedules_width"):
        assert shown[name] <= PHONE_WIDTH, (name, shown["too_wide"])
    # the API agrees: staff may neither change a checklist nor end a schedule
    assert staff.post("/api/v1/checklists/%s/publish" % published["checklist_id"]).status_code == 403
    assert staff.post("/api/v1/schedules/%s/end" % schedule["id"], {}).status_code == 403
