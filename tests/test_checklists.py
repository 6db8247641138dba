"""Checklists, the CN grading standard, positions and QR codes, per-item
inspections, safety actions and the inspection ledger — through the gateway,
on the five running processes."""
import csv
import io
import json
import os
import uuid
import xml.etree.ElementTree as ElementTree

import openpyxl
import pytest
from PIL import Image
from pypdf import PdfReader

from services.checklist import documents
from services.checklist.positions import scan_url

from . import factories, fixtures
from .fixtures import created
from .support import EventTap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDARD = os.path.join(ROOT, "..", "shared", "data", "cn-warehouse-grading-standard",
                        "warehouse_logistics_grading_items.csv")


@pytest.fixture
def tap(platform):
    tap = EventTap(platform.amqp_uri, platform.exchange, "#")
    yield tap
    tap.close()


def post_csv(api, text, **query):
    return api.session.post(api.base_url + "/api/v1/checklists/import", params=query,
                            data=text.encode("utf-8"), headers={"Content-Type": "text/csv"},
                            timeout=60)


def standard_text():
    with open(STANDARD, encoding="utf-8") as handle:
        return handle.read()


def test_the_cn_warehouse_standard_imports_and_a_broken_copy_is_refused(api):
    imported = created(post_csv(api, standard_text(), title="仓储物流企业安全生产标准化评分",
                                industry="warehousing", publish="true"))
    assert imported["scope"] == "universal" and imported["published_version"] == 1
    version = created(api.get("/api/v1/checklists/%s/versions/1" % imported["id"]), 200)
    items = version["items"]
    assert version["status"] == "published"
    assert len(items) == 164
    assert len({i["category"] for i in items}) == 13
    assert sum(float(i["weight"]) for i in items) == 1000
    assert items[0]["legal_basis"] == "1.1目标"

    broken = standard_text().replace("根据有关规定和企业实际，设立安全生产领导机构。,3,",
                                     "根据有关规定和企业实际，设立安全生产领导机构。,4,", 1)
    assert broken != standard_text()
    refused = post_csv(api, broken, title="broken copy")
    assert refused.status_code == 400, refused.text
    assert list(refused.json()["error"]["fields"]) == ["2.组织机构和职责"]
    missing_title = post_csv(api, standard_text())
    assert missing_title.status_code == 400
    assert "title" in missing_title.json()["error"]["fields"]
    bad_flag = post_csv(api, standard_text(), title="x", publish="perhaps")
    assert "publish" in bad_flag.json()["error"]["fields"]


def test_drafts_versions_and_a_published_version_never_changes(api):
    enterprise_id = fixtures.register_enterprise(api)
    checklist = created(api.post("/api/v1/checklists", factories.checklist(enterprise_id)))
    assert checklist["latest_version"] == 1 and checklist["published_version"] is None
    items = checklist["latest"]["items"]
    edited = dict(items[0], prompt="Escape routes free and signposted")
    saved = created(api.session.put(api.base_url + "/api/v1/checklists/%s/draft"
                                    % checklist["id"], json={"items": [edited] + items[1:]}), 200)
    assert saved["latest_version"] == 1
    assert saved["latest"]["items"][0]["item_id"] == items[0]["item_id"]
    created(api.post("/api/v1/checklists/%s/publish" % checklist["id"]), 200)
    again = api.post("/api/v1/checklists/%s/publish" % checklist["id"])
    assert again.status_code == 409
    v2 = created(api.session.put(api.base_url + "/api/v1/checklists/%s/draft" % checklist["id"],
                                 json={"items": items[:2]}), 200)
    assert (v2["latest_version"], v2["published_version"]) == (2, 1)
    v1 = created(api.get("/api/v1/checklists/%s/versions/1" % checklist["id"]), 200)
    assert len(v1["items"]) == 4 and v1["items"][0]["prompt"] == edited["prompt"]
    assert api.get("/api/v1/checklists/%s/versions/9" % checklist["id"]).status_code == 404
    unknown = api.session.put(api.base_url + "/api/v1/checklists/%s/draft" % checklist["id"],
                              json={"items": [dict(items[0], item_id="nope")]})
    assert unknown.status_code == 400 and "items" in unknown.json()["error"]["fields"]


def test_enterprise_checklists_do_not_leak_to_another_enterprise(api):
    mine = fixtures.register_enterprise(api)
    theirs = fixtures.register_enterprise(api)
    own = fixtures.published_checklist(api, mine, title="Mine only")
    universal = fixtures.published_checklist(api, None, title="For everyone")
    # a page of 200: the session's other tests add universal checklists too
    listed = {c["id"] for c in api.get("/api/v1/checklists", params={
        "enterprise_id": theirs, "size": 200}).json()["items"]}
    assert universal["checklist_id"] in listed and own["checklist_id"] not in listed
    assert own["checklist_id"] in {c["id"] for c in api.get(
        "/api/v1/checklists", params={"enterprise_id": mine, "size": 200}).json()["items"]}
    hidden = api.get("/api/v1/checklists/%s" % own["checklist_id"],
                     params={"enterprise_id": theirs})
    assert hidden.status_code == 404
    assert api.get("/api/v1/checklists/%s/versions/1" % own["checklist_id"],
                   params={"enterprise_id": theirs}).status_code == 404
    foreign = api.post("/api/v1/enterprises/%s/positions" % theirs,
                       {"name": "Gate", "checklist_ids": [own["checklist_id"]]})
    assert foreign.status_code == 400 and "checklist_ids" in foreign.json()["error"]["fields"]


def test_importing_the_same_standard_again_answers_the_checklist_it_became(api, tap,
                                                                          platform):
    """A re-import of identical content (title, industry, items) is recognised
    by its content hash: 200 with the existing checklist, no new event, and a
    scan offers it once. Different content is a new checklist."""
    title = "仓储物流标准 " + uuid.uuid4().hex[:8]
    industry = "warehousing-" + uuid.uuid4().hex[:6]
    first = created(post_csv(api, standard_text(), title=title, industry=industry,
                             publish="true"))
    tap.wait_for(lambda e: e["type"] == "einspection.checklist.published.v1"
                 and e["data"]["checklist_id"] == first["id"])
    published_before = len(tap.messages)
    again = created(post_csv(api, standard_text(), title=title, industry=industry,
                             publish="true"), 200)
    assert again == first                   # the same checklist, version and all
    draft_again = created(post_csv(api, standard_text(), title=title, industry=industry), 200)
    assert draft_again["id"] == first["id"] and draft_again["published_version"] == 1
    # weights written another way are the same content
    reweighted = standard_text().replace("设立安全生产领导机构。,3,", "设立安全生产领导机构。,3.00,", 1)
    assert reweighted != standard_text()
    assert created(post_csv(api, reweighted, title=title, industry=industry),
                   200)["id"] == first["id"]
    tap.drain(1.0)
    assert len(tap.messages) == published_before, "a re-import recorded events"
    listed = created(api.get("/api/v1/checklists", params={"industry": industry}), 200)
    assert [c["id"] for c in listed["items"]] == [first["id"]]

    # a scan in that industry offers the standard once
    site = fixtures.site(api, industry=industry)
    scanned = created(api.get("/api/v1/scan/%s" % fixtures.position_token(
        platform, site.position_id)), 200)
    assert [c["checklist_id"] for c in scanned["checklists"]].count(first["id"]) == 1

    # a draft import, then the same with publish=true: the draft is published, no copy
    other = "另一个标准 " + uuid.uuid4().hex[:8]
    draft = created(post_csv(api, standard_text(), title=other, industry=industry))
    assert draft["published_version"] is None
    published = created(post_csv(api, standard_text(), title=other, industry=industry,
                                 publish="true"), 200)
    assert published["id"] == draft["id"] and published["published_version"] == 1

    # another title, or one item changed, is another checklist
    assert post_csv(api, standard_text(), title=title + " (2)",
                    industry=industry).status_code == 201
    changed = standard_text().replace("设立安全生产领导机构。", "设立安全生产委员会。", 1)
    assert changed != standard_text()
    assert post_csv(api, changed, title=title, industry=industry).status_code == 201


def test_a_qr_token_resolves_records_presence_and_a_rotated_one_is_404(api, tap, platform):
    site = fixtures.site(api)
    other_industry = fixtures.published_checklist(api, None, industry="chemicals")
    position = created(api.get("/api/v1/positions/%s" % site.position_id), 200)
    assert "token" not in position
    png = api.get("/api/v1/positions/%s/qr.png" % site.position_id)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    Image.open(io.BytesIO(png.content)).verify()
    svg = api.get("/api/v1/positions/%s/qr.svg" % site.position_id)
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert ElementTree.fromstring(svg.content).tag.endswith("svg")
    token = fixtures.position_token(platform, site.position_id)
    # the image is exactly the QR code of the position's scan URL, at the platform's address
    assert platform.public_base_url == "http://localhost:%d" % platform.port
    assert png.content == documents.qr_png(scan_url(platform.public_base_url, token))

    # who scanned is the account scanning: a name in the query is refused, not recorded
    named = api.get("/api/v1/scan/%s" % token, params={"by": "bureau.inspector"})
    assert named.status_code == 400 and "by" in named.json()["error"]["fields"]
    scanned = created(api.get("/api/v1/scan/%s" % token), 200)
    assert scanned["position"]["id"] == site.position_id
    assert scanned["scanned_by"] == "admin"
    ids = {c["checklist_id"] for c in scanned["checklists"]}
    assert site.version["checklist_id"] in ids
    assert other_industry["checklist_id"] not in ids           # textiles is not chemicals
    assert all(c["status"] == "published" for c in scanned["checklists"])
    assert created(api.get("/scan/%s" % token), 200)["scanned_by"] == "admin"   # the account that scanned
    presence = tap.wait_for(lambda e: e["type"] == "einspection.position.scanned.v1"
                            and e["data"]["position_id"] == site.position_id
                            and e["data"]["scanned_by"] == "admin" and e["actor"] == "admin")
    assert presence
    assert not [m for m in tap.bodies() if "code-issued" in m["type"]]   # private: not on the bus

    created(api.post("/api/v1/positions/%s/rotate-code" % site.position_id), 200)
    gone = api.get("/api/v1/scan/%s" % token)
    assert gone.status_code == 404
    assert "replaced" in gone.json()["error"]["message"]
    assert api.get("/api/v1/scan/not-a-token").status_code == 404
    assert fixtures.position_token(platform, site.position_id) != token


def test_the_qr_sheet_is_a_pdf_of_the_enterprise_positions(api):
    site = fixtures.site(api, name="百德纺织有限公司")
    fixtures.position(api, site.enterprise_id, name="锅炉房（二号）")
    fixtures.position(api, site.enterprise_id, name="Warehouse 2")
    sheet = api.get("/api/v1/enterprises/%s/positions/qr-sheet.pdf" % site.enterprise_id)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["Content-Type"] == "application/pdf"
    assert sheet.content.startswith(b"%PDF")
    assert len(api.get("/api/v1/enterprises/%s/positions" % site.enterprise_id)
               .json()["items"]) == 3
    # The labels are text in an embedded CJK font, not pixels or empty boxes:
    # the text layer holds the Chinese names as they were registered.
    reader = PdfReader(io.BytesIO(sheet.content))
    text = reader.pages[0].extract_text()
    for name in ("百德纺织有限公司", "锅炉房（二号）", "Warehouse 2", "Boiler room"):
        assert name in text, (name, text)
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    descriptors = [font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
                   for font in fonts if font["/Subtype"] == "/Type0"]
    assert descriptors and all("/FontFile2" in d for d in descriptors)   # embedded
    assert all(d["/FontName"].startswith("/") and "+" in d["/FontName"] for d in descriptors)
    assert len(sheet.content) < 100_000         # the font is a subset, not 16 MB of it
    assert api.get("/api/v1/enterprises/nope/positions/qr-sheet.pdf").status_code == 404
    assert api.get("/api/v1/positions/nope/qr.png").status_code == 404


def test_a_self_inspection_with_two_failures_logs_them_for_the_hazard_service(api, tap):
    site = fixtures.site(api)
    logged = created(api.post("/api/v1/inspections", site.inspection(failed=(0, 2),
                                                                      not_applicable=(3,))))
    assert (logged["items_passed"], logged["items_failed"],
            logged["items_not_applicable"]) == (1, 2, 1)
    messages = tap.wait_for(lambda e: e["type"] == "einspection.inspection.logged.v1"
                            and e["data"]["inspection_id"] == logged["id"])
    data = json.loads(messages[0].body)["data"]
    failed = data["failed_items"]
    assert len(failed) == 2
    assert [f["item_id"] for f in failed] == [site.version["items"][i]["item_id"]
                                              for i in (0, 2)]
    assert failed[0]["major"] is True and failed[0]["legal_basis"].startswith("GB 50016")
    assert failed[1]["photos"] and failed[0]["note"]

    shown = created(api.get("/api/v1/inspections/%s" % logged["id"]), 200)
    assert [i["result"] for i in shown["items"]] == ["fail", "pass", "fail", "na"]
    assert [i["prompt"] for i in shown["items"]] == [i["prompt"] for i in site.version["items"]]
    assert api.get("/api/v1/inspections/nope").status_code == 404


def test_inspection_input_is_checked_naming_the_field_or_item(api):
    site = fixtures.site(api)
    photo_item = site.version["items"][2]["item_id"]
    no_photo = api.post("/api/v1/inspections", site.inspection(failed=(2,), photos=[]))
    assert no_photo.status_code == 400, no_photo.text
    assert list(no_photo.json()["error"]["fields"]["results"]) == [photo_item]
    # a photo is a file of the enterprise in the evidence store, not any text
    made_up = api.post("/api/v1/inspections", site.inspection(failed=(2,),
                                                               photos=["not-a-photo"]))
    assert made_up.status_code == 400, made_up.text
    assert made_up.json()["error"]["fields"]["results"] == {photo_item: {"photos": {"0": [
        "no such evidence not-a-photo; upload it first (POST /api/v1/evidence)"]}}}
    assert created(api.get("/api/v1/inspections", params={
        "enterprise_id": site.enterprise_id}), 200)["total"] == 0

    body = site.inspection()
    body["results"].pop()
    missing = api.post("/api/v1/inspections", body)
    assert missing.status_code == 400
    assert site.version["items"][3]["item_id"] in missing.json()["error"]["fields"]["results"]
    body = site.inspection()
    body["results"].append({"item_id": "made-up", "result": "pass"})
    assert "made-up" in api.post("/api/v1/inspections", body).json()["error"]["fields"]["results"]

    other = fixtures.site(api)
    elsewhere = dict(site.inspection(), position_id=other.position_id)
    assert "position_id" in api.post("/api/v1/inspections", elsewhere).json()["error"]["fields"]
    foreign = dict(other.inspection(), enterprise_id=site.enterprise_id,
                   position_id=site.position_id)
    assert "checklist_id" in api.post("/api/v1/inspections", foreign).json()["error"]["fields"]
    draft = created(api.post("/api/v1/checklists", factories.checklist(site.enterprise_id)))
    unpublished = dict(site.inspection(), checklist_id=draft["id"])
    response = api.post("/api/v1/inspections", unpublished)
    assert response.status_code == 400
    assert "checklist_version" in response.json()["error"]["fields"]
    assert "kind" in api.post("/api/v1/inspections", dict(site.inspection(), kind="casual")
                              ).json()["error"]["fields"]


def test_safety_actions_and_training_statistics(api):
    first = fixtures.register_enterprise(api)
    second = fixtures.register_enterprise(api)
    day = factories.ago(days=3).date().isoformat()
    for kind, people in (("training", 12), ("training", 8), ("drill", 30)):
        created(api.post("/api/v1/enterprises/%s/safety-actions" % first, {
            "kind": kind, "topic": "fire extinguisher use", "held_on": day, "people": people,
            "notes": "", "recorded_by": "safety.manager"}))
    listed = api.get("/api/v1/enterprises/%s/safety-actions" % first,
                     params={"kind": "training", "from": day, "to": day}).json()["items"]
    assert sorted(a["people"] for a in listed) == [8, 12]
    assert api.get("/api/v1/enterprises/%s/safety-actions" % second).json()["items"] == []
    bad = api.post("/api/v1/enterprises/%s/safety-actions" % first, {
        "kind": "party", "topic": "x", "held_on": day, "recorded_by": "x"})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]
    assert api.post("/api/v1/enterprises/nope/safety-actions", {
        "kind": "drill", "topic": "x", "held_on": day, "recorded_by": "x"}).status_code == 404

    before = api.get("/api/v1/statistics/training", params={"from": day, "to": day}).json()
    created(api.post("/api/v1/enterprises/%s/safety-actions" % second, {
        "kind": "training", "topic": "first aid", "held_on": day, "people": 5,
        "recorded_by": "hr"}))
    after = api.get("/api/v1/statistics/training", params={"from": day, "to": day}).json()
    assert after["sessions"] == before["sessions"] + 1
    assert after["people_trained"] == before["people_trained"] + 5
    assert after["enterprises_covered"] == before["enterprises_covered"] + 1
    assert float(after["coverage"]) == pytest.approx(
        after["enterprises_covered"] / after["enterprises_registered"], abs=1e-4)
    assert api.get("/api/v1/statistics/training", params={"from": "soon"}).status_code == 400


def test_the_ledger_pages_filters_sorts_and_exports(api):
    site = fixtures.site(api, name="德清百德机械有限公司")
    other_position = fixtures.position(api, site.enterprise_id, name="Dock",
                                       checklist_ids=[site.version["checklist_id"]])["id"]
    ids = []
    for days, kind in ((1, "self"), (2, "self"), (3, "grid"), (40, "self")):
        ids.append(created(api.post("/api/v1/inspections", site.inspection(
            completed_days_ago=days, kind=kind)))["id"])
    created(api.post("/api/v1/inspections", dict(site.inspection(), position_id=other_position)))
    query = {"enterprise_id": site.enterprise_id, "position_id": site.position_id,
             "kind": "self", "from": factories.ago(days=10).date().isoformat()}
    page = api.get("/api/v1/inspections", params=dict(query, size=1, sort="completed_at"))
    body = page.json()
    assert body["total"] == 2 and body["pages"] == 2 and body["items"][0]["id"] == ids[1]
    second = api.get("/api/v1/inspections", params=dict(query, size=1, page=2,
                                                        sort="completed_at")).json()
    assert second["items"][0]["id"] == ids[0]
    newest_first = api.get("/api/v1/inspections", params=query).json()["items"]
    assert [i["id"] for i in newest_first] == [ids[0], ids[1]]
    assert api.get("/api/v1/inspections", params={"size": 1000}).status_code == 400
    assert "sort" in api.get("/api/v1/inspections", params={"sort": "password"}
                             ).json()["error"]["fields"]

    exported = api.get("/api/v1/inspections/export.csv", params=query)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["检查编号 inspection id"] for r in rows] == [ids[0], ids[1]]
    assert {r["检查类型 kind"] for r in rows} == {"self"}
    # names beside the ids: the enterprise's, the position's, the checklist version's title
    assert {(r["企业名称 enterprise"], r["岗位名称 position"], r["检查表编号 checklist id"],
             r["检查表名称 checklist"], r["检查表版本 checklist version"]) for r in rows} == {(
        "德清百德机械有限公司", "Boiler room", site.version["checklist_id"],
        site.version["title"], str(site.version["version"]))}
    assert rows[0]["完成时间 completed at (UTC)"].endswith("Z")
    assert api.get("/api/v1/inspections/export.csv", params=dict(query, lang="zh")
                   ).content == exported.content               # no booleans to translate
    for path in ("/api/v1/inspections/export.csv", "/api/v1/inspections/export.xlsx"):
        refused = api.get(path, params=dict(query, lang="fr"))
        assert refused.status_code == 400 and "lang" in refused.json()["error"]["fields"]
    workbook = api.get("/api/v1/inspections/export.xlsx", params=query)
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][0] == "检查编号 inspection id" and [r[0] for r in table[1:]] == [ids[0],
                                                                                   ids[1]]
    cell = dict(zip(table[0], sheet[2]))
    assert cell["检查表名称 checklist"].value == site.version["title"]
    assert cell["检查表版本 checklist version"].value == site.version["version"]
    assert cell["不合格项 items failed"].data_type == "n"
    assert cell["完成时间 completed at (Asia/Shanghai)"].is_date
    assert cell["完成时间 completed at (Asia/Shanghai)"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert cell["完成日期 completed on (Asia/Shanghai)"].number_format == "yyyy-mm-dd"
    assert sheet.auto_filter.ref == "A1:P3" and sheet.freeze_panes == "A2"
    assert all(sheet.column_dimensions[c.column_letter].width for c in sheet[1])


def test_the_read_models_rebuild_from_the_events_to_the_same_rows(api, platform):
    site = fixtures.site(api)
    created(api.post("/api/v1/inspections", site.inspection(failed=(0,))))
    created(api.post("/api/v1/positions/%s/rotate-code" % site.position_id), 200)
    created(api.get("/api/v1/scan/%s" % fixtures.position_token(platform, site.position_id)),
            200)
    created(api.post("/api/v1/enterprises/%s/safety-actions" % site.enterprise_id, {
        "kind": "meeting", "topic": "monthly safety meeting", "recorded_by": "boss",
        "held_on": factories.ago(days=1).date().isoformat()}))

    before, after = fixtures.checklist_read_models_replayed(platform)
    assert before["inspections"] and before["position_scans"] and before["safety_actions"]
    assert after == before
