"""The hazard lifecycle through the gateway, on the real five processes:
plans for major hazards, verification and return, overdue by the service's
own timer, hazards from inspections, evidence files, the standing book and
its exports. Who did what is the account that did it; who may verify is the
verification rule, and never the one who rectified; what a report refers
to is real and the enterprise's own."""
import csv
import hashlib
import io
import json
import random
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from PIL import Image
from kombu import Connection, Exchange, Producer

from einspection.contract import new_event, parse_instant
from services.hazard.domain import hazard_id_for_item

from . import factories, fixtures
from .fixtures import account, created, upload
from .support import wait_until
from .test_end_to_end import register, tap  # noqa: F401  (tap is a fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")        # the platform's EINSPECTION_TIME_ZONE default
PLAN = {"goal": "no exposed live parts in the boiler room", "measures": "replace the cabinet",
        "funds": "8000.00", "responsible_person": "zhang.san",
        "deadline": factories.iso(factories.ago(days=-20)),
        "interim_measures": "area fenced off, warning signs posted"}


def now_iso(**delta):
    return factories.iso(factories.ago(**delta))


def rectification(**extra):
    body = {"measures": "cabinet locked, cover refitted", "done_at": now_iso(minutes=1),
            "rectified_by": "wang.wu"}
    body.update(extra)
    return body


def report(api, enterprise_id, **extra):
    response = api.post("/api/v1/hazards", factories.hazard(enterprise_id, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def types_of(history):
    return [e["type"].split(".")[2] for e in history]


def test_a_major_hazard_cannot_be_rectified_without_a_plan(api):
    enterprise_id = register(api)
    hazard = report(api, enterprise_id, level="major")
    path = "/api/v1/hazards/%s" % hazard["id"]

    refused = api.post(path + "/rectification", rectification())
    assert refused.status_code == 409, refused.text
    assert "plan" in refused.json()["error"]["message"]
    assert refused.json()["error"]["current"]["state"] == "reported"

    incomplete = api.post(path + "/plan", {k: v for k, v in PLAN.items() if k != "funds"})
    assert incomplete.status_code == 400 and "funds" in incomplete.json()["error"]["fields"]
    planned = api.post(path + "/plan", PLAN)
    assert planned.status_code == 201, planned.text
    assert planned.json()["plan"]["responsible_person"] == "zhang.san"

    rectified = api.post(path + "/rectification", rectification(cost="1234.50"))
    assert rectified.status_code == 201, rectified.text
    assert rectified.json()["status"] == "rectification_submitted"
    assert rectified.json()["rectification"]["cost"] == "1234.50"
    assert api.post("/api/v1/hazards/nope/plan", PLAN).status_code == 404


def test_full_lifecycle_with_a_return_and_a_resubmission(api, tap):  # noqa: F811
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    photo = fixtures.photo(manager, enterprise_id)
    hazard = report(manager, enterprise_id, hazard_type="unsafe_act", evidence=[photo])
    assert hazard["hazard_type"] == "unsafe_act" and hazard["evidence"] == [photo]
    assert hazard["source"] == {"kind": "report", "origin": "report"}
    path = "/api/v1/hazards/%s" % hazard["id"]

    early = api.post(path + "/verification", {"outcome": "verified", "verifier": "chen"})
    assert early.status_code == 409
    assert early.json()["error"]["current"]["state"] == "reported"

    # the manager rectifies, the authority (the admin) verifies: never the same account
    assert manager.post(path + "/rectification",
                        rectification(evidence=[photo])).status_code == 201
    no_reason = api.post(path + "/verification", {"outcome": "returned", "verifier": "chen"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    bad_outcome = api.post(path + "/verification", {"outcome": "maybe", "verifier": "chen"})
    assert bad_outcome.status_code == 400 and "outcome" in bad_outcome.json()["error"]["fields"]
    returned = api.post(path + "/verification", {"outcome": "returned", "verifier": "chen",
                                                 "reason": "cover still loose"})
    assert returned.status_code == 201 and returned.json()["status"] == "returned"
    again = api.post(path + "/verification", {"outcome": "verified", "verifier": "chen"})
    assert again.status_code == 409
    assert again.json()["error"]["current"]["state"] == "returned"

    resubmitted = manager.post(path + "/rectification", rectification(measures="cover screwed"))
    assert resubmitted.status_code == 201 and resubmitted.json()["status"] == \
        "rectification_submitted"
    verified = api.post(path + "/verification", {"outcome": "verified", "verifier": "chen",
                                                 "comment": "holds"})
    assert verified.status_code == 201 and verified.json()["status"] == "closed"
    closed = manager.post(path + "/rectification", rectification())
    assert closed.status_code == 409
    assert closed.json()["error"]["current"]["state"] == "closed"

    history = api.get(path + "/history").json()["items"]
    assert types_of(history) == ["reported", "rectification-done", "returned",
                                 "rectification-done", "verified"]
    assert [e["status"] for e in history] == ["reported", "rectification_submitted",
                                              "returned", "rectification_submitted", "closed"]
    # the actor is the account that acted; the names in the bodies stay data
    assert [e["actor"] for e in history] == [manager.username, manager.username, "admin",
                                             manager.username, "admin"]
    assert history[0]["data"]["reporter"] == "safety.manager"
    assert history[4]["data"]["rule_version"] == "2026.1"
    assert [e["streamversion"] for e in history] == [1, 2, 3, 4, 5]
    tap.wait_for(lambda e: e["type"] == "einspection.hazard.verified.v1"
                 and e["data"]["hazard_id"] == hazard["id"])
    published = [e["type"] for e in tap.bodies() if e["data"].get("hazard_id") == hazard["id"]]
    assert "einspection.hazard.returned.v1" in published


def test_a_hazard_past_its_deadline_becomes_overdue_exactly_once(api, tap):  # noqa: F811
    enterprise_id = register(api)
    found = factories.ago(seconds=5)
    late = report(api, enterprise_id, found_at=factories.iso(found),
                  rectification_deadline=factories.iso(found + timedelta(seconds=1)))
    on_time = report(api, enterprise_id, found_at=factories.iso(found),
                     rectification_deadline=factories.iso(found + timedelta(seconds=8)))
    assert api.post("/api/v1/hazards/%s/rectification" % on_time["id"],
                    rectification(done_at=now_iso(seconds=1))).status_code == 201

    tap.wait_for(lambda e: e["type"] == "einspection.hazard.overdue.v1"
                 and e["data"]["hazard_id"] == late["id"])
    time.sleep(8)                                       # several timer periods (1 s), and
    tap.drain(1.0)                                      # past the on-time one's deadline
    overdue = [e for e in tap.bodies() if e["type"] == "einspection.hazard.overdue.v1"
               and e["subject"] == enterprise_id]
    assert [e["data"]["hazard_id"] for e in overdue] == [late["id"]]
    assert overdue[0]["actor"] == "hazard-service"

    history = api.get("/api/v1/hazards/%s/history" % late["id"]).json()["items"]
    assert types_of(history).count("overdue") == 1
    assert api.get("/api/v1/hazards/%s" % late["id"]).json()["overdue"] is True
    listed = api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                "overdue": "true"}).json()
    assert [h["id"] for h in listed["items"]] == [late["id"]]
    not_overdue = api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                     "overdue": "false"}).json()
    assert [h["id"] for h in not_overdue["items"]] == [on_time["id"]]


def publish(platform, event):
    with Connection(platform.amqp_uri) as connection:
        exchange = Exchange(platform.exchange, type="topic", durable=True)
        producer = Producer(connection.channel(), exchange=exchange)
        producer.publish(event.to_json(), routing_key=event.type, delivery_mode=2,
                         content_type="application/cloudevents+json", serializer=None,
                         retry=True)


def test_an_inspection_published_twice_raises_each_failed_item_once(api, platform):
    enterprise_id = register(api)
    inspection_id = str(uuid.uuid4())
    completed = factories.ago(minutes=10)
    items = [{"item_id": "exit-clear", "prompt": "Emergency exit kept clear",
              "category": "fire", "legal_basis": "GB 50016", "major": True,
              "note": "pallets stacked in front of the exit", "photos": []},
             {"item_id": "extinguisher", "prompt": "Extinguisher inspected this month",
              "category": "fire", "major": False, "note": "", "photos": []}]
    event = new_event("InspectionLogged", {
        "inspection_id": inspection_id, "enterprise_id": enterprise_id,
        "position_id": "warehouse", "checklist_id": "universal-fire", "checklist_version": 1,
        "kind": "self", "started_at": completed - timedelta(minutes=20),
        "completed_at": completed, "items_passed": 10, "items_failed": 2,
        "items_not_applicable": 0, "inspector": "wang.wei", "failed_items": items},
        actor="wang.wei")
    publish(platform, event)
    publish(platform, event)

    def listed():
        items = api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id}).json()
        return items if items["total"] >= 2 else None

    wait_until(listed, message="two hazards from the inspection")
    time.sleep(2)                                     # a duplicate would have landed by now
    hazards = api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id,
                                                 "sort": "level"}).json()
    assert hazards["total"] == 2
    assert [h["level"] for h in hazards["items"]] == ["general", "major"]
    assert {h["source_inspection_id"] for h in hazards["items"]} == {inspection_id}
    assert {h["id"] for h in hazards["items"]} == {hazard_id_for_item(inspection_id, i["item_id"])
                                                   for i in items}
    major = api.get("/api/v1/hazards/%s" % hazard_id_for_item(inspection_id, "exit-clear")).json()
    assert major["source"] == {"kind": "inspection", "inspection_id": inspection_id,
                               "item_id": "exit-clear", "origin": "self"}
    assert major["description"] == ("Emergency exit kept clear\n"
                                     "pallets stacked in front of the exit")
    assert major["reporter"] == "wang.wei" and major["position_id"] == "warehouse"
    assert parse_instant(major["found_at"]) == completed


def noise(width, height, seed=1):
    """A PNG that does not compress: random pixels."""
    image = Image.frombytes("RGB", (width, height),
                            random.Random(seed).randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_evidence_upload_round_trips_and_refuses_big_and_wrong_files(api):
    enterprise_id = register(api)
    uploaded = upload(api, enterprise_id, factories.PNG)
    assert uploaded.status_code == 201, uploaded.text
    ref = uploaded.json()["ref"]
    assert ref.startswith("sha256:") and uploaded.json()["content_type"] == "image/png"
    assert uploaded.json()["enterprise_id"] == enterprise_id
    fetched = api.get("/api/v1/evidence/" + ref)
    assert fetched.status_code == 200
    assert fetched.content == factories.PNG and fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["Content-Disposition"].startswith("inline")      # a photo is shown
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in fetched.headers["Content-Security-Policy"]
    photo = upload(api, enterprise_id, factories.image("JPEG"), "image/jpeg")
    assert photo.status_code == 201 and photo.json()["content_type"] == "image/jpeg"
    pdf = upload(api, enterprise_id, factories.pdf(2), "application/pdf")
    assert pdf.status_code == 201 and pdf.json()["content_type"] == "application/pdf"
    document = api.get("/api/v1/evidence/" + pdf.json()["ref"])
    assert document.headers["Content-Disposition"] == (
        'attachment; filename="%s.pdf"' % pdf.json()["ref"].replace(":", "-"))   # downloaded

    too_big = upload(api, enterprise_id, factories.PNG + b"\0" * (10 * 1024 * 1024))
    assert too_big.status_code == 413, too_big.text
    wrong = upload(api, enterprise_id, b"just some text", "text/plain")
    assert wrong.status_code == 400 and "content_type" in wrong.json()["error"]["fields"]
    lying = upload(api, enterprise_id, b"<html>not an image</html>", "image/jpeg")
    assert lying.status_code == 400 and "content_type" in lying.json()["error"]["fields"]
    assert api.get("/api/v1/evidence/sha256:" + "0" * 64).status_code == 404

    unknown = api.post("/api/v1/hazards", factories.hazard(
        enterprise_id, evidence=["sha256:" + "0" * 64]))
    assert unknown.status_code == 400 and "evidence" in unknown.json()["error"]["fields"]
    hazard = report(api, enterprise_id)
    unknown = api.post("/api/v1/hazards/%s/rectification" % hazard["id"],
                       rectification(evidence=["sha256:" + "f" * 64]))
    assert unknown.status_code == 400 and "evidence" in unknown.json()["error"]["fields"]


JPEG = factories.image("JPEG", (64, 48))
PDF = factories.pdf()


@pytest.mark.parametrize("data,content_type", [
    (b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>", "image/jpeg"),  # a polyglot
    (b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>", "image/png"),
    (JPEG[:len(JPEG) // 2], "image/jpeg"),                      # cut short
    (factories.PNG[:len(factories.PNG) // 2], "image/png"),
    (b"%PDF-1.4\n<html><script>alert(1)</script></html>", "application/pdf"),
    (PDF[:len(PDF) // 2], "application/pdf"),
    (factories.pdf(0), "application/pdf"),                      # parses, but no page
], ids=["jpeg-html", "png-svg", "jpeg-cut", "png-cut", "pdf-html", "pdf-cut", "pdf-empty"])
def test_uploads_are_checked_whole_not_by_their_first_bytes(api, data, content_type):
    enterprise_id = register(api)
    refused = upload(api, enterprise_id, data, content_type)
    assert refused.status_code == 400, refused.text
    assert "_body" in refused.json()["error"]["fields"], refused.text
    assert api.get("/api/v1/evidence/sha256:" + hashlib.sha256(data).hexdigest()
                   ).status_code == 404


def test_an_enterprise_stores_evidence_up_to_its_quota_then_413(api):
    """The session platform's EVIDENCE_QUOTA_BYTES is 1 MiB (tests/conftest.py)."""
    enterprise_id, other = register(api), register(api)
    files = [noise(300, 300, seed) for seed in range(4)]       # ~270 KB each
    assert all(250_000 < len(data) < 300_000 for data in files)
    for data in files[:3]:
        assert upload(api, enterprise_id, data).status_code == 201
    again = upload(api, enterprise_id, files[0])                # owned already: no more room used
    assert again.status_code == 201 and again.json()["ref"] == "sha256:" + hashlib.sha256(
        files[0]).hexdigest()
    full = upload(api, enterprise_id, files[3])
    assert full.status_code == 413, full.text
    assert "evidence storage" in full.json()["error"]["message"]
    assert api.get("/api/v1/evidence/sha256:" + hashlib.sha256(files[3]).hexdigest()
                   ).status_code == 404
    # the quota is the enterprise's: another one stores the same file, and owns it too
    assert upload(api, other, files[3]).status_code == 201


def test_the_standing_book_filters_pages_and_exports_exactly_the_rows(api):
    enterprise_id = register(api)
    other = register(api)
    fire = [report(api, enterprise_id, category="fire", found_hours_ago=h)["id"]
            for h in (3, 2, 1)]
    report(api, enterprise_id, category="electrical", level="major")
    report(api, other, category="fire")
    filters = {"enterprise_id": enterprise_id, "category": "fire"}

    first = api.get("/api/v1/hazards", params=dict(filters, size=2, sort="found_at")).json()
    second = api.get("/api/v1/hazards", params=dict(filters, size=2, page=2,
                                                    sort="found_at")).json()
    assert first["total"] == 3
    assert [h["id"] for h in first["items"] + second["items"]] == fire
    newest_first = api.get("/api/v1/hazards", params=dict(filters, sort="-found_at")).json()
    assert [h["id"] for h in newest_first["items"]] == fire[::-1]
    period = api.get("/api/v1/hazards", params=dict(filters, **{
        "from": now_iso(hours=2, minutes=30), "to": now_iso(minutes=30)})).json()
    assert [h["id"] for h in period["items"]] == fire[1:][::-1]

    for bad, field in [({"size": "500"}, "size"), ({"sort": "description"}, "sort"),
                       ({"overdue": "perhaps"}, "overdue"), ({"page": "0"}, "page")]:
        response = api.get("/api/v1/hazards", params=bad)
        assert response.status_code == 400 and field in response.json()["error"]["fields"]

    exported = api.get("/api/v1/hazards/export.csv", params=dict(filters, sort="found_at"))
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["隐患编号 hazard id"] for r in rows] == fire
    assert {r["隐患类别 category"] for r in rows} == {"fire"}

    workbook = api.get("/api/v1/hazards/export.xlsx", params=dict(filters, sort="found_at"))
    assert workbook.status_code == 200
    assert workbook.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert [row[header.index("隐患编号 hazard id")] for row in values[1:]] == fire
    bad = api.get("/api/v1/hazards/export.csv", params={"page": "2"})
    assert bad.status_code == 400 and "page" in bad.json()["error"]["fields"]


def csv_of(response):
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_exports_are_what_an_excel_user_expects(api):
    """Names beside ids (the hazard service learns them from the register's
    events), real cells in the XLSX, booleans in the CSV by `lang`."""
    enterprise_id = register(api, name="德清百德机械有限公司")
    position = fixtures.position(api, enterprise_id, name="锅炉房 Boiler room")
    hazard = report(api, enterprise_id, position_id=position["id"],
                    description="=HYPERLINK(\"http://evil\")")
    created(api.post("/api/v1/hazards/%s/rectification" % hazard["id"],
                     rectification(cost="860.50")))
    query = {"enterprise_id": enterprise_id}
    # the names come by the bus: once they are there, the export writes them
    [row] = wait_until(lambda: [r for r in csv_of(api.get("/api/v1/hazards/export.csv",
                                                          params=query))
                                if r["岗位名称 position"] and r["企业名称 enterprise"]])
    assert (row["企业编号 enterprise id"], row["企业名称 enterprise"]) == (
        enterprise_id, "德清百德机械有限公司")
    assert (row["岗位编号 position id"], row["岗位名称 position"]) == (
        position["id"], "锅炉房 Boiler room")
    # the CSV: instants in UTC as the API writes them, booleans true/false by default
    assert row["发现时间 found at (UTC)"] == hazard["found_at"]
    assert row["整改费用(元) cost (CNY)"] == "860.50"
    assert row["隐患描述 description"] == "'=HYPERLINK(\"http://evil\")"     # stays text
    booleans = ("是否逾期 overdue", "有整改方案 plan", "挂牌督办 listed")
    assert [row[b] for b in booleans] == ["false"] * 3

    def booleans_of(**request):
        [got] = csv_of(api.get("/api/v1/hazards/export.csv", params=dict(
            query, **request.get("params", {})), headers=request.get("headers")))
        return [got[b] for b in booleans]
    assert booleans_of(params={"lang": "zh"}) == ["否"] * 3
    assert booleans_of(params={"lang": "en"}) == ["false"] * 3
    assert booleans_of(headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}) == ["否"] * 3
    assert booleans_of(params={"lang": "en"},                    # the parameter wins
                       headers={"Accept-Language": "zh-CN"}) == ["false"] * 3
    assert booleans_of(headers={"Accept-Language": "fr"}) == ["false"] * 3
    for path in ("/api/v1/hazards/export.csv", "/api/v1/hazards/export.xlsx"):
        refused = api.get(path, params=dict(query, lang="fr"))
        assert refused.status_code == 400, refused.text
        assert "lang" in refused.json()["error"]["fields"]

    # the XLSX: real datetimes of the deployment's zone, numbers, booleans
    workbook = api.get("/api/v1/hazards/export.xlsx", params=dict(query, lang="zh"))
    assert workbook.status_code == 200, workbook.text
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    header = [c.value for c in sheet[1]]
    cell = dict(zip(header, sheet[2]))
    found = parse_instant(hazard["found_at"]).astimezone(SHANGHAI)
    at = cell["发现时间 found at (Asia/Shanghai)"]
    assert at.is_date and abs(at.value - found.replace(tzinfo=None)) < timedelta(seconds=1)
    day = cell["发现日期 found on (Asia/Shanghai)"]
    assert day.value == datetime.combine(found.date(), datetime.min.time())
    assert day.number_format == "yyyy-mm-dd"
    assert cell["整改费用(元) cost (CNY)"].value == 860.5
    assert cell["整改费用(元) cost (CNY)"].number_format == "0.00"
    assert cell["退回次数 returned"].value == 0 and cell["退回次数 returned"].data_type == "n"
    assert [cell[b].value for b in booleans] == [False] * 3
    assert {cell[b].data_type for b in booleans} == {"b"}      # booleans whatever lang is
    assert cell["隐患描述 description"].data_type == "s"
    assert cell["隐患描述 description"].value.startswith("=HYPERLINK")
    assert cell["企业名称 enterprise"].value == "德清百德机械有限公司"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:AC2"
    widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
    assert all(widths) and widths[header.index("企业名称 enterprise")] >= 2 * 10


@pytest.mark.parametrize("path,body", [
    ("/api/v1/hazards/nope/verification", {"outcome": "verified", "verifier": "chen"}),
    ("/api/v1/hazards/nope/rectification", {"measures": "x", "done_at": "2026-01-01T00:00:00Z"}),
])
def test_unknown_hazards_are_404(api, path, body):
    response = api.post(path, body)
    assert response.status_code == 404, response.text
    assert json.loads(response.text)["error"]["status"] == 404


# --- who did it: the account, whatever the body names ---------------------------------

def test_every_record_names_the_account_that_acted_and_keeps_the_names_as_data(api, tap):  # noqa: F811,E501
    enterprise_id = register(api)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    grid = account(api, "grid_officer", grid="Wukang-1")
    hazard = report(staff, enterprise_id, level="major", reporter="bureau.inspector")
    path = "/api/v1/hazards/%s" % hazard["id"]
    assert (hazard["reporter"], hazard["reported_by"]) == ("bureau.inspector", staff.username)

    # a plan no longer takes a name to sign as
    signed = manager.post(path + "/plan", dict(PLAN, recorded_by="bureau.inspector"))
    assert signed.status_code == 400 and "recorded_by" in signed.json()["error"]["fields"]
    planned = created(manager.post(path + "/plan", PLAN))
    assert planned["plan"]["recorded_by"] == manager.username
    rectified = created(manager.post(path + "/rectification",
                                     rectification(rectified_by="bureau.inspector")))
    assert rectified["rectification"]["rectified_by"] == "bureau.inspector"     # a name
    assert rectified["rectification"]["submitted_by"] == manager.username       # the account
    verified = created(grid.post(path + "/verification", {
        "outcome": "verified", "verifier": "bureau.inspector"}))
    assert verified["verification"]["verifier"] == "bureau.inspector"
    assert verified["verification"]["verified_by"] == grid.username

    history = created(api.get(path + "/history"), 200)["items"]
    assert [e["actor"] for e in history] == [staff.username, manager.username,
                                             manager.username, grid.username]
    [row] = created(api.get("/api/v1/hazards", params={"enterprise_id": enterprise_id}),
                    200)["items"]
    assert (row["reporter"], row["reported_by"], row["closed_by"]) == (
        "bureau.inspector", staff.username, grid.username)
    exported = list(csv.DictReader(io.StringIO(api.get(
        "/api/v1/hazards/export.csv", params={"enterprise_id": enterprise_id})
        .content.decode("utf-8-sig"))))
    assert (exported[0]["报告账号 reported by (account)"],
            exported[0]["销号账号 closed by (account)"]) == (
        staff.username, grid.username)
    # integrators see the account too: the actor of each event on the bus
    tap.wait_for(lambda e: e["type"] == "einspection.hazard.verified.v1"
                 and e["data"]["hazard_id"] == hazard["id"])
    on_the_bus = {e["type"].split(".")[2]: e["actor"] for e in tap.bodies()
                  if e["data"].get("hazard_id") == hazard["id"]}
    assert on_the_bus == {"reported": staff.username, "plan-recorded": manager.username,
                          "rectification-done": manager.username, "verified": grid.username}


def test_a_hazard_from_an_inspection_is_reported_by_the_account_that_logged_it(api):
    site = fixtures.site(api)
    staff = account(api, "enterprise_staff", enterprise_id=site.enterprise_id)
    inspection = created(staff.post("/api/v1/inspections", site.inspection(
        failed=(1,), inspector="bureau.inspector")))
    hazard_id = hazard_id_for_item(inspection["id"], site.version["items"][1]["item_id"])
    wait_until(lambda: api.get("/api/v1/hazards/" + hazard_id).status_code == 200,
               message="the hazard of the failed item")
    [reported] = created(api.get("/api/v1/hazards/%s/history" % hazard_id), 200)["items"]
    assert reported["actor"] == staff.username
    hazard = created(api.get("/api/v1/hazards/" + hazard_id), 200)
    assert (hazard["reporter"], hazard["reported_by"]) == ("bureau.inspector", staff.username)


# --- who may close it: the verification rule, never the rectifier ---------------------

def refused(api, path, body):
    response = api.post(path + "/verification", dict({"verifier": "chen.jie"}, **body))
    assert response.status_code == 403, response.text
    return response.json()["error"]["message"]


def test_a_general_hazard_is_closed_by_someone_other_than_its_rectifier(api, tap):  # noqa: F811
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    hazard = report(staff, enterprise_id)
    path = "/api/v1/hazards/%s" % hazard["id"]
    created(manager.post(path + "/rectification", rectification()))

    for outcome in ({"outcome": "verified"}, {"outcome": "returned", "reason": "mine"}):
        reason = refused(manager, path, outcome)            # the rectifier, on their own work
        assert "%s recorded a rectification" % manager.username in reason
        assert "another account must verify it" in reason
    # nor by naming someone else in the body
    refused(manager, path, {"outcome": "verified", "verifier": "bureau.inspector"})
    reason = refused(staff, path, {"outcome": "verified"})  # staff do not sign off at all
    assert "an enterprise staff member may not verify a general hazard" in reason
    assert created(api.get(path), 200)["status"] == "rectification_submitted"

    grid = account(api, "grid_officer", grid="Wukang-1")
    closed = created(grid.post(path + "/verification", {"outcome": "verified"}))
    assert closed["status"] == "closed"
    assert closed["verification"]["verified_by"] == grid.username
    assert closed["verification"]["rule_version"] == "2026.1"
    [event] = tap.wait_for(lambda e: e["type"] == "einspection.hazard.verified.v1"
                           and e["data"]["hazard_id"] == hazard["id"])
    event = json.loads(event.body)
    assert (event["actor"], event["data"]["rule_version"]) == (grid.username, "2026.1")

    # the manager verifies what staff rectified
    other = report(staff, enterprise_id)
    created(staff.post("/api/v1/hazards/%s/rectification" % other["id"], rectification()))
    assert created(manager.post("/api/v1/hazards/%s/verification" % other["id"],
                                {"outcome": "verified"}))["status"] == "closed"


def test_a_major_hazard_is_closed_only_by_an_officer_or_the_authority_other_than_its_fixers(api):
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    town = account(api, "town_officer", town="Wukang")
    grid = account(api, "grid_officer", grid="Wukang-1")

    # staff may not close a major hazard its manager rectified, nor the manager
    hazard = report(staff, enterprise_id, level="major")
    path = "/api/v1/hazards/%s" % hazard["id"]
    created(manager.post(path + "/plan", PLAN))
    created(manager.post(path + "/rectification", rectification()))
    assert "may not verify a major hazard" in refused(staff, path, {"outcome": "verified"})
    assert "an enterprise manager may not verify a major hazard" in refused(
        account(api, "enterprise_manager", enterprise_id=enterprise_id), path,
        {"outcome": "verified"})
    assert created(town.post(path + "/verification", {"outcome": "verified"}))["status"] == \
        "closed"

    # one town account cannot plan, rectify and close a major hazard alone
    alone = report(town, enterprise_id, level="major")
    path = "/api/v1/hazards/%s" % alone["id"]
    created(town.post(path + "/plan", PLAN))
    created(town.post(path + "/rectification", rectification()))
    assert "%s recorded a remediation plan" % town.username in refused(
        town, path, {"outcome": "verified"})
    returned = created(grid.post(path + "/verification", {"outcome": "returned",
                                                          "reason": "cover loose"}))
    assert returned["returns"][0]["returned_by"] == grid.username
    assert returned["returns"][0]["rule_version"] == "2026.1"
    created(manager.post(path + "/rectification", rectification(measures="cover screwed")))
    refused(town, path, {"outcome": "verified"})               # it planned and rectified before
    assert created(grid.post(path + "/verification", {"outcome": "verified"}))["status"] == \
        "closed"


# --- what a report refers to is real and the enterprise's own -------------------------

def register_checks(platform):
    """How often the gateway asked the register about a report's references."""
    import requests
    text = requests.get(platform.base_url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("gateway_rpc_client_seconds_count{") and \
                'method="check_hazard_references"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_report_of_what_the_register_announced_costs_one_rpc_and_is_checked_the_same(
        api, platform):
    site = fixtures.site(api)
    other = fixtures.site(api)

    def announced():
        # once the hazard service has the register's announcements, it vouches itself
        asked = register_checks(platform)
        created(api.post("/api/v1/hazards", factories.hazard(site.enterprise_id,
                                                             position_id=site.position_id)))
        return register_checks(platform) == asked
    wait_until(announced, timeout=30, message="the hazard service to know the position")
    asked = register_checks(platform)
    for _ in range(3):
        created(api.post("/api/v1/hazards", factories.hazard(site.enterprise_id,
                                                             position_id=site.position_id)))
    assert register_checks(platform) == asked                    # one RPC each: hazard's
    # another enterprise's position, known to the hazard service: refused as the register would
    wait_until(lambda: api.post("/api/v1/hazards", factories.hazard(
        other.enterprise_id, position_id=other.position_id)).status_code == 201, timeout=30)
    asked = register_checks(platform)
    response = api.post("/api/v1/hazards", factories.hazard(site.enterprise_id,
                                                            position_id=other.position_id))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["fields"] == {
        "position_id": ["no such position of this enterprise"]}
    assert register_checks(platform) == asked
    # what it has not heard of is the register's to answer: a random position
    response = api.post("/api/v1/hazards", factories.hazard(site.enterprise_id,
                                                            position_id=str(uuid.uuid4())))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["position_id"]
    assert register_checks(platform) == asked + 1


def test_a_reports_position_and_source_inspection_must_exist_in_its_enterprise(api):
    site = fixtures.site(api)
    inspection = created(api.post("/api/v1/inspections", site.inspection()))   # all passed
    item_id = site.version["items"][0]["item_id"]
    before = created(api.get("/api/v1/hazards", params={"enterprise_id": site.enterprise_id}),
                     200)["total"]
    for extra, field in [
            ({"position_id": str(uuid.uuid4())}, "position_id"),
            ({"source_inspection_id": str(uuid.uuid4()), "source_item_id": item_id},
             "source_inspection_id"),
            ({"source_inspection_id": inspection["id"], "source_item_id": "no-such-item"},
             "source_item_id")]:
        response = api.post("/api/v1/hazards", factories.hazard(site.enterprise_id, **extra))
        assert response.status_code == 400, (extra, response.text)
        assert list(response.json()["error"]["fields"]) == [field]
    assert created(api.get("/api/v1/hazards", params={"enterprise_id": site.enterprise_id}),
                   200)["total"] == before                       # nothing stored
    # real ones are taken: a hazard seen later at an item the round passed
    later = created(api.post("/api/v1/hazards", factories.hazard(
        site.enterprise_id, position_id=site.position_id, source_inspection_id=inspection["id"],
        source_item_id=item_id)))
    # a free report naming the inspection item: reported, not found by the round
    assert later["source"] == {"kind": "inspection", "inspection_id": inspection["id"],
                               "item_id": item_id, "origin": "report"}
    assert later["position_id"] == site.position_id
