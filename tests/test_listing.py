"""Enforcement inspections and listed supervision (挂牌督办) through the
gateway, on the real processes and both backends: an inspection of kind
enforcement is the authority's, lists its inspecting accounts and raises
hazards with source `enforcement`; the authority lists a major hazard,
reminders go out once each before its deadline, and delisting is the
authority's sign-off after the verified rectification."""
import time
import uuid

from sqlalchemy import select

from einspection.db import make_engine
from services.hazard import ledger

from . import factories, fixtures
from .fixtures import account, created
from .support import wait_until
from .test_end_to_end import register, tap  # noqa: F401  (tap is a fixture)
from .test_hazards import PLAN, rectification

OFFICE = "县应急管理局执法大队"


def listing(days=20, **extra):
    body = {"deadline": factories.iso(factories.ago(days=-days)), "office": OFFICE,
            "reason": "消防主管道阀门关闭，属重大火灾隐患"}
    body.update(extra)
    return body


def hazards(api, **params):
    return created(api.get("/api/v1/hazards", params=dict(params, size=200)), 200)["items"]


def inbox(api, recipient):
    return created(api.get("/api/v1/notices", params={"recipient": recipient, "size": 200}),
                   200)["items"]


def test_an_enforcement_inspection_is_the_authoritys_and_its_hazards_say_so(api):
    enterprise_id = register(api)
    universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
    own = fixtures.published_checklist(api, enterprise_id)
    where = fixtures.position(api, enterprise_id, checklist_ids=[universal["checklist_id"]])
    photo = fixtures.photo(api, enterprise_id)
    inspector = account(api, "authority_inspector")
    partner = account(api, "authority_inspector")
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)

    def enforcement(version=universal, **extra):
        body = factories.inspection(enterprise_id, where["id"], version, kind="enforcement",
                                    failed=(0, 2), photo=photo, inspector="赵执法")
        body.update(extra)
        return body

    refused = manager.post("/api/v1/inspections", enforcement())
    assert refused.status_code == 403, refused.text
    assert "enforcement inspection" in refused.json()["error"]["message"]
    assert "an enterprise manager may not" in refused.json()["error"]["message"]
    own_list = inspector.post("/api/v1/inspections", enforcement(own))
    assert own_list.status_code == 400
    assert "universal" in own_list.json()["error"]["fields"]["checklist_id"][0]
    not_an_inspector = inspector.post("/api/v1/inspections",
                                      enforcement(inspectors=[manager.username]))
    assert not_an_inspector.status_code == 400
    assert "0" in not_an_inspector.json()["error"]["fields"]["inspectors"]
    self_in_campaign = manager.post("/api/v1/inspections", dict(factories.inspection(
        enterprise_id, where["id"], universal, failed=(0,)), campaign_id="c-1"))
    assert self_in_campaign.status_code == 400
    assert "campaign_id" in self_in_campaign.json()["error"]["fields"]

    # the account logging it is always among the inspectors, whatever the body says
    logged = created(inspector.post("/api/v1/inspections", enforcement(
        campaign_id="campaign-2026-5", inspectors=[partner.username.upper()])))
    assert logged["inspectors"] == [inspector.username, partner.username]
    assert (logged["kind"], logged["campaign_id"]) == ("enforcement", "campaign-2026-5")
    shown = created(api.get("/api/v1/inspections/" + logged["id"]), 200)
    assert shown["inspectors"] == [inspector.username, partner.username]
    by_campaign = created(api.get("/api/v1/inspections", params={
        "campaign_id": "campaign-2026-5", "enterprise_id": enterprise_id}), 200)["items"]
    assert [i["id"] for i in by_campaign] == [logged["id"]]

    found = wait_until(lambda: len(hazards(api, enterprise_id=enterprise_id)) == 2
                       and hazards(api, enterprise_id=enterprise_id), timeout=30,
                       message="two hazards from the enforcement inspection")
    assert {h["source"] for h in found} == {"enforcement"}
    assert {h["source_inspection_id"] for h in found} == {logged["id"]}
    assert sorted(h["id"] for h in hazards(api, enterprise_id=enterprise_id,
                                           source="enforcement")) == sorted(h["id"]
                                                                            for h in found)
    assert hazards(api, enterprise_id=enterprise_id, source="self") == []
    one = created(api.get("/api/v1/hazards/" + found[0]["id"]), 200)
    assert one["source"]["origin"] == "enforcement" and one["reported_by"] == inspector.username
    bad = api.get("/api/v1/hazards", params={"source": "rumour"})
    assert bad.status_code == 400 and "source" in bad.json()["error"]["fields"]

    # a self-inspection's hazards say self
    site = fixtures.site(api)
    created(api.post("/api/v1/inspections", site.inspection(failed=(1,))))
    [own_hazard] = wait_until(lambda: hazards(api, enterprise_id=site.enterprise_id),
                              message="the self-inspection's hazard")
    assert own_hazard["source"] == "self"


def test_the_authority_lists_a_major_hazard_and_signs_it_off_after_verification(api, tap):  # noqa: F811,E501
    grid = "Wukang-" + uuid.uuid4().hex[:6]
    enterprise_id = register(api, grid=grid)
    other_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    stranger = account(api, "enterprise_manager", enterprise_id=other_id)
    officer = account(api, "grid_officer", grid=grid)
    other_officer = account(api, "grid_officer", grid="Qianyuan-" + uuid.uuid4().hex[:6])
    inspector = account(api, "authority_inspector")
    general = created(api.post("/api/v1/hazards", factories.hazard(enterprise_id)))
    major = created(api.post("/api/v1/hazards", factories.hazard(
        enterprise_id, level="major", description="消防主管道阀门关闭")))
    path = "/api/v1/hazards/%s" % major["id"]

    refused = inspector.post("/api/v1/hazards/%s/listing" % general["id"], listing())
    assert refused.status_code == 409, refused.text
    assert "only a major hazard can be listed" in refused.json()["error"]["message"]
    by_officer = officer.post(path + "/listing", listing())
    assert by_officer.status_code == 403, by_officer.text
    assert "only the authority may list" in by_officer.json()["error"]["message"]
    # another tenant's hazard is a missing one, for listing as for reading
    for outsider in (other_officer, stranger):
        assert outsider.post(path + "/listing", listing()).status_code == 404
        assert outsider.post(path + "/delisting", {"note": "x"}).status_code == 404
    assert api.post("/api/v1/hazards/no-such-hazard/listing", listing()).status_code == 404
    past = inspector.post(path + "/listing", listing(days=-1))
    assert past.status_code == 400 and "deadline" in past.json()["error"]["fields"]
    missing = inspector.post(path + "/listing", {"deadline": listing()["deadline"]})
    assert missing.status_code == 400
    assert {"office", "reason"} <= set(missing.json()["error"]["fields"])

    listed = created(inspector.post(path + "/listing", listing()))
    assert listed["listed"] is True
    assert (listed["listing"]["office"], listed["listing"]["listed_by"]) == (
        OFFICE, inspector.username)
    again = api.post(path + "/listing", listing())
    assert again.status_code == 409 and "already" in again.json()["error"]["message"]
    [row] = hazards(api, enterprise_id=enterprise_id, listed="true")
    assert (row["id"], row["listing_office"], row["listed"]) == (major["id"], OFFICE, True)
    assert [h["id"] for h in hazards(officer, listed="true")] == [major["id"]]
    assert [h["id"] for h in hazards(api, enterprise_id=enterprise_id, listed="false")] == [
        general["id"]]

    early = inspector.post(path + "/delisting", {"note": "已整改"})
    assert early.status_code == 409, early.text
    assert "delisting requires the verified rectification" in early.json()["error"]["message"]
    created(manager.post(path + "/plan", PLAN))
    created(manager.post(path + "/rectification", rectification()))
    submitted = inspector.post(path + "/delisting", {"note": "已整改"})
    assert submitted.status_code == 409                       # submitted is not verified
    created(api.post(path + "/verification", {"outcome": "verified", "verifier": "陈"}))
    assert officer.post(path + "/delisting", {"note": "x"}).status_code == 403
    assert manager.post(path + "/delisting", {"note": "x"}).status_code == 403
    signed = created(inspector.post(path + "/delisting", {"note": "现场复查合格，同意销号"}), 200)
    assert signed["listed"] is False and signed["status"] == "closed"
    assert signed["listing"]["delisted_by"] == inspector.username
    assert inspector.post(path + "/delisting", {"note": "x"}).status_code == 409

    history = created(api.get(path + "/history"), 200)["items"]
    assert [e["type"] for e in history][-1] == "einspection.hazard.delisted.v1"
    assert history[-1]["actor"] == inspector.username
    assert hazards(api, enterprise_id=enterprise_id, listed="true") == []
    published = tap.wait_for(lambda e: e["type"] == "einspection.hazard.delisted.v1"
                             and e["subject"] == enterprise_id)
    assert len(published) == 1

    # the enterprise and its grid are told of the listing and of its sign-off
    def told(recipient):
        kinds = sorted(n["kind"] for n in inbox(api, recipient)
                       if n["kind"] in ("listed", "delisted") and major["id"] in n["body"])
        return kinds == ["delisted", "listed"] and kinds
    wait_until(lambda: told("enterprise:" + enterprise_id), message="the enterprise's notices")
    wait_until(lambda: told("grid:" + grid), message="the grid's notices")


def test_a_reminder_before_the_listing_deadline_goes_out_once(api, platform, tap):  # noqa: F811
    """Deadline in an hour: its day has begun (or, near midnight in the
    deployment's time zone, tomorrow's 1-day reminder has), so exactly one
    reminder is due; the check runs every second."""
    grid = "Xinshi-" + uuid.uuid4().hex[:6]
    enterprise_id = register(api, grid=grid)
    major = created(api.post("/api/v1/hazards", factories.hazard(enterprise_id, level="major")))
    deadline = factories.iso(factories.ago(hours=-1))
    created(api.post("/api/v1/hazards/%s/listing" % major["id"], listing(deadline=deadline)))
    tap.wait_for(lambda e: e["type"] == "einspection.hazard.listing-due.v1"
                 and e["data"]["hazard_id"] == major["id"])
    time.sleep(4)                                             # several timer periods
    tap.drain(1.0)
    reminders = [e for e in tap.bodies() if e["type"] == "einspection.hazard.listing-due.v1"
                 and e["data"]["hazard_id"] == major["id"]]
    assert len(reminders) == 1 and reminders[0]["actor"] == "hazard-service"
    assert reminders[0]["data"]["days_before"] in (0, 1)
    assert created(api.get("/api/v1/hazards/" + major["id"]), 200)["listing"][
        "reminded_days_before"] == reminders[0]["data"]["days_before"]

    def reminded(recipient):
        return [n for n in inbox(api, recipient)
                if n["kind"] == "listing_due" and major["id"] in n["body"]]
    for recipient in ("enterprise:" + enterprise_id, "grid:" + grid, "authority"):
        [notice] = wait_until(lambda: reminded(recipient), message="a reminder to " + recipient)
        assert notice["cause_event_id"] == reminders[0]["id"] and notice["language"] == "zh"
        assert "挂牌督办" in notice["title"] and OFFICE in notice["body"]
    time.sleep(2)
    assert all(len(reminded(r)) == 1 for r in ("enterprise:" + enterprise_id, "grid:" + grid,
                                               "authority"))


def test_the_standing_book_with_listings_replays_to_the_same_rows(api, platform):
    enterprise_id = register(api)
    major = created(api.post("/api/v1/hazards", factories.hazard(enterprise_id, level="major")))
    created(api.post("/api/v1/hazards/%s/listing" % major["id"], listing()))
    engine = make_engine(platform.database_urls["hazard"])
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            snapshot = select(ledger.hazards).order_by(ledger.hazards.c.hazard_id)
            before = [tuple(row) for row in conn.execute(snapshot).all()]
            ledger.rebuild(conn)
            after = [tuple(row) for row in conn.execute(snapshot).all()]
            transaction.rollback()
    finally:
        engine.dispose()
    [row] = [r for r in before if r[0] == major["id"]]
    assert dict(zip(ledger.hazards.c.keys(), row))["listing_office"] == OFFICE
    assert after == before
