"""The inspection page on a phone without signal, in headless Chromium
against the running processes: a staff member opens a scheduled position's
QR link with signal, loses it, reloads the page (it opens from the service
worker's cache), marks the items (one failed with a note and a photo, kept on
the device), reloads again (the draft is back), submits (queued, waiting);
with signal again the inspection is sent by itself, once: one inspection,
one hazard, the round done. An answer lost after the server got it makes the
page send again with the same Idempotency-Key: still one inspection.
Screenshots go to test-artifacts/screenshots/."""
import hashlib
import os

import pytest

from .fixtures import account, created, position_token, site
from .support import wait_until
from .test_end_to_end import register
from .test_schedules import daily
from .test_web import photo_of_a_cabinet
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows_offline.py")
NOTE = "配电箱门未关闭，带电部位裸露"


@pytest.fixture
def scheduled(api, tmp_path_factory):
    """An enterprise, its manager and staff, a position with a checklist and a
    daily round of it assigned to the staff member."""
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    schedule = created(manager.post("/api/v1/enterprises/%s/schedules" % enterprise_id,
                                    daily(place.version["checklist_id"], place.position_id,
                                          assignee=staff.username)))
    photo = photo_of_a_cabinet(str(tmp_path_factory.mktemp("photos") / "cabinet.jpg"))
    return {"enterprise_id": enterprise_id, "manager": manager, "staff": staff,
            "place": place, "schedule": schedule, "photo": photo}


def photo_item(version):
    return next(index for index, item in enumerate(version["items"]) if item["photo_required"])


def inspections_at(api, enterprise_id, position_id):
    return [i for i in created(api.get("/api/v1/inspections", params={
        "enterprise_id": enterprise_id, "size": 200}), 200)["items"]
        if i["position_id"] == position_id]


def hazards_of_item(api, enterprise_id, item_id):
    return [h for h in created(api.get("/api/v1/hazards", params={
        "enterprise_id": enterprise_id, "size": 200}), 200)["items"]
        if h.get("source_item_id") == item_id]


def test_an_inspection_made_without_signal_is_kept_queued_and_sent_once(
        platform, scheduled, screenshots):
    place, staff, manager = scheduled["place"], scheduled["staff"], scheduled["manager"]
    fail = photo_item(place.version)
    shown = run_flow(
        "offline_inspection", ("ERR_INTERNET_DISCONNECTED", "Failed to fetch"), script=FLOWS,
        base_url=platform.base_url, qr_token=position_token(platform, place.position_id),
        username=staff.username, password=staff.password,
        checklist_id=place.version["checklist_id"], fail=fail, note=NOTE,
        photo=scheduled["photo"], screenshots={
            key: os.path.join(screenshots, "inspection-offline-%s-%s.png" % (key, platform.backend))
            for key in ("queued", "sent")})

    # installable: the manifest the page links, in Chinese, scoped to /app/
    assert shown["install"] == {
        "href": "/app/manifest.webmanifest", "name": "E-inspection 安全生产巡检",
        "short_name": "安全巡检", "start_url": "/app/", "scope": "/app/",
        "display": "standalone", "icons": ["192x192", "512x512", "any"]}
    # offline, the page opened from the cache with the position as last scanned
    assert shown["offline_banner"]
    assert "没有网络" in shown["offline_status"]
    assert shown["position"] == "Boiler room"
    # the draft survived the reload: the marks, the note, the photo (not uploaded yet)
    items = [item["item_id"] for item in place.version["items"]]
    failed_item = items[fail]
    assert shown["failed_item"] == failed_item
    restored = shown["restored"]
    assert sorted(restored["checked"]) == sorted(
        "result-%s-%s" % (item, "fail" if item == failed_item else "pass") for item in items)
    assert (restored["note"], restored["photos"]) == (NOTE, 1)
    assert restored["progress"] == "已标记 4 / 共 4 项"
    assert "已恢复本机保存的草稿" in restored["draft_note"]
    # submitted without signal: waiting in the outbox
    assert shown["queued"]["title"] == "待发送 1"
    assert shown["queued"]["waiting"] == "1"
    assert shown["queued"]["states"] == ["等待网络"]
    assert shown["width_queued"] <= 375, shown["too_wide"]

    # with signal again: sent once, its photo first, the round done
    [inspection] = inspections_at(manager, scheduled["enterprise_id"], place.position_id)
    assert inspection["id"] == shown["inspection_id"]
    full = created(manager.get("/api/v1/inspections/%s" % inspection["id"]), 200)
    results = {item["item_id"]: item for item in full["items"]}
    with open(scheduled["photo"], "rb") as photo:
        ref = "sha256:" + hashlib.sha256(photo.read()).hexdigest()
    assert (results[failed_item]["result"], results[failed_item]["note"],
            results[failed_item]["photos"]) == ("fail", NOTE, [ref])
    assert (full["items_passed"], full["items_failed"]) == (3, 1)
    [hazard] = wait_until(lambda: hazards_of_item(manager, scheduled["enterprise_id"],
                                                  failed_item), timeout=30,
                          message="the failed item's hazard")
    assert shown["hazard_ids"] == [hazard["id"]]
    assert shown["outbox_after"] == ["sent"]
    [done] = created(manager.get("/api/v1/rounds", params={
        "enterprise_id": scheduled["enterprise_id"], "status": "done"}), 200)["items"]
    assert (done["schedule_id"], done["inspection_id"]) == (scheduled["schedule"]["id"],
                                                             inspection["id"])
    assert hazards_of_item(manager, scheduled["enterprise_id"], failed_item) == [hazard]


def test_a_lost_answer_is_sent_again_with_the_same_key_and_recorded_once(
        api, platform, screenshots):
    enterprise_id = register(api)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    fail = photo_item(place.version)
    photo = photo_of_a_cabinet(os.path.join(screenshots, "..", "lost-answer-cabinet.jpg"))
    shown = run_flow(
        "lost_answer", ("ERR_CONNECTION_RESET", "Failed to fetch"), script=FLOWS,
        base_url=platform.base_url, qr_token=position_token(platform, place.position_id),
        username=staff.username, password=staff.password,
        checklist_id=place.version["checklist_id"], fail=fail, note=NOTE, photo=photo,
        screenshots={"failure": os.path.join(screenshots, "lost-answer-%s.png"
                                             % platform.backend)})
    # the server got both, with one key; the second answered the first's inspection
    first, second = shown["posts"]
    assert first["key"] and first["key"] == second["key"]
    assert first["status"] == 201 and second["status"] in (200, 201)
    assert shown["waiting"] == "1"
    [inspection] = inspections_at(api, enterprise_id, place.position_id)
    assert inspection["id"] == shown["inspection_id"]
    failed_item = place.version["items"][fail]["item_id"]
    [hazard] = wait_until(lambda: hazards_of_item(api, enterprise_id, failed_item),
                          timeout=30, message="the failed item's hazard")
    assert shown["hazard_ids"] == [hazard["id"]]


def test_a_queued_inspection_the_api_refuses_is_kept_with_its_reason_for_the_person_to_fix(
        api, platform, screenshots):
    enterprise_id = register(api)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    shown = run_flow(
        "refused_in_outbox", ("ERR_INTERNET_DISCONNECTED", "Failed to fetch",
                              "status of 400"), script=FLOWS,
        base_url=platform.base_url, qr_token=position_token(platform, place.position_id),
        username=staff.username, password=staff.password,
        checklist_id=place.version["checklist_id"], reason="请修改标出的项目",
        item_reason="说明不合格的原因", screenshots={
            "failure": os.path.join(screenshots, "refused-%s.png" % platform.backend)})
    # the 400 shown with its reason, tried once only, nothing to send
    assert shown["state"] == ["被拒绝：请修改标出的项目"]
    assert shown["posts_refused"] == 1 and shown["send_hidden"]
    # back in the form with the API's reasons, the marks kept, out of the outbox
    assert shown["message"] == "请修改标出的项目"
    assert shown["item_error"] == "说明不合格的原因"
    assert shown["checked"] == len(place.version["items"]) and shown["outbox_hidden"]
    # submitted anew: a new key (another request), recorded once
    first, second = shown["posts"]
    assert first != second
    [inspection] = inspections_at(api, enterprise_id, place.position_id)
    assert inspection["id"] == shown["inspection_id"]
