"""A position changed and retired, event-sourced, through the gateway on the
real processes, both backends: PATCH /api/v1/positions/{id} (a JSON merge)
records PositionUpdated with only the changed fields and the account as its
actor, a change of nothing records nothing, a repeat with its
Idempotency-Key is one change; staff may not (403), another tenant's
position is missing (404); POST …/retirement records PositionRetired once,
ends the schedules at it, hides it from the listing unless asked, makes its
code answer 410 and refuses a schedule at it; the read models replay to the
same rows."""
import json
import uuid


from einspection import eventstore
from einspection.contract import utcnow
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from services.checklist import positions

from . import factories, fixtures
from .fixtures import account, created, position_token, site
from .test_end_to_end import register


def stream(platform, position_id):
    engine = make_engine(platform.database_urls["checklist"])
    try:
        with engine.connect() as conn:
            return eventstore.load_stream(conn, positions.stream_id(position_id))
    finally:
        engine.dispose()


def patch(api, position_id, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.patch("/api/v1/positions/%s" % position_id, body, headers=headers)


def names(api, enterprise_id, **query):
    return [p["name"] for p in created(api.get(
        "/api/v1/enterprises/%s/positions" % enterprise_id, params=query), 200)["items"]]


def test_a_manager_edits_a_position_and_the_change_is_its_event(api, platform):
    enterprise_id = register(api)
    other_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    outsider = account(api, "enterprise_manager", enterprise_id=other_id)
    place = site(api, enterprise_id)
    second = fixtures.published_checklist(api, enterprise_id, title="Second round")
    foreign = fixtures.published_checklist(api, other_id, title="Not theirs")
    path = "/api/v1/positions/%s" % place.position_id

    key = str(uuid.uuid4())
    body = {"name": "锅炉房（新）", "latitude": None,
            "checklist_ids": [place.version["checklist_id"], second["checklist_id"]]}
    changed = created(patch(manager, place.position_id, body, key), 200)
    assert changed["name"] == "锅炉房（新）" and changed["latitude"] is None
    assert changed["longitude"] == 119.96                        # left out: unchanged
    assert changed["checklist_ids"] == body["checklist_ids"]
    assert created(manager.get(path), 200) == changed
    # the same request again with its key: the same answer, one change
    again = patch(manager, place.position_id, body, key)
    assert again.status_code == 200 and again.json() == changed
    assert again.headers["Idempotency-Key"] == key
    updates = [e for e in stream(platform, place.position_id) if e.name == "PositionUpdated"]
    assert len(updates) == 1
    assert updates[0].actor == manager.username
    assert set(updates[0].data) == {"position_id", "enterprise_id", "name", "latitude",
                                    "checklist_ids", "updated_at"}    # only what changed

    # nothing changed: 200, no event
    same = created(patch(manager, place.position_id, {"name": "锅炉房（新）",
                                                      "longitude": 119.96}), 200)
    assert same == changed
    assert len([e for e in stream(platform, place.position_id)
                if e.name == "PositionUpdated"]) == 1

    # the history: registered, code, updated — with who did it, no token, no scans
    created(manager.get("/api/v1/scan/%s" % position_token(platform, place.position_id)), 200)
    history = created(manager.get(path + "/history"), 200)["items"]
    assert [h["type"] for h in history] == ["einspection.position.registered.v1",
                                            "einspection.position.code-issued.v1",
                                            "einspection.position.updated.v1"]
    assert history[-1]["actor"] == manager.username and "token" not in history[1]["data"]
    assert history[-1]["data"]["name"] == "锅炉房（新）"

    # who may not, and what may not be
    refused = patch(staff, place.position_id, {"name": "x"})
    assert refused.status_code == 403 and "enterprise staff" in refused.json()["error"][
        "message"].replace("_", " "), refused.text
    assert patch(outsider, place.position_id, {"name": "x"}).status_code == 404
    assert outsider.get(path + "/history").status_code == 404
    assert patch(manager, str(uuid.uuid4()), {"name": "x"}).status_code == 404
    for bad, field in (({"name": ""}, "name"), ({"latitude": 91}, "latitude"),
                       ({"enterprise_id": other_id}, "enterprise_id"),
                       ({"token": "abc"}, "token"),
                       ({"checklist_ids": [foreign["checklist_id"]]}, "checklist_ids")):
        response = patch(manager, place.position_id, bad)
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["fields"], response.text
    assert created(staff.get(path), 200)["name"] == "锅炉房（新）"     # staff may read


def test_a_retired_position_is_kept_but_out_of_use(api, platform):
    enterprise_id = register(api)
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    staff = account(api, "enterprise_staff", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)
    kept = fixtures.position(api, enterprise_id, name="Warehouse")
    token = position_token(platform, place.position_id)
    today = local_day(utcnow(), deployment_zone()).isoformat()
    schedule = created(manager.post("/api/v1/enterprises/%s/schedules" % enterprise_id, {
        "checklist_id": place.version["checklist_id"], "position_id": place.position_id,
        "frequency": "daily", "starts_on": today, "assignee_role": "enterprise_staff"}))
    created(api.post("/api/v1/inspections", place.inspection()))

    retirement = "/api/v1/positions/%s/retirement" % place.position_id
    assert staff.post(retirement, {}).status_code == 403
    key = str(uuid.uuid4())
    retired = created(manager.post(retirement, {"reason": "车间拆除"},
                                   headers={"Idempotency-Key": key}), 200)
    assert retired["retired"] and retired["retired_at"]
    assert retired["retirement_reason"] == "车间拆除"
    # again (with or without its key): retired already, nothing more recorded
    assert created(manager.post(retirement, {"reason": "车间拆除"},
                                headers={"Idempotency-Key": key}), 200) == retired
    assert created(manager.post(retirement, {}), 200)["retired_at"] == retired["retired_at"]
    events = stream(platform, place.position_id)
    assert [e.name for e in events].count("PositionRetired") == 1
    assert events[-1].actor == manager.username

    # its schedule ended today
    listed = created(manager.get("/api/v1/enterprises/%s/schedules" % enterprise_id), 200)
    assert [s["ends_on"] for s in listed["items"] if s["id"] == schedule["id"]] == [today]
    # not listed by default, listed when asked
    assert names(manager, enterprise_id) == ["Warehouse"]
    assert sorted(names(manager, enterprise_id, include_retired="true")) == [
        "Boiler room", "Warehouse"]
    assert created(manager.get("/api/v1/positions/%s" % place.position_id), 200)["retired"]
    # its code is gone for good
    gone = staff.get("/api/v1/scan/%s" % token)
    assert gone.status_code == 410 and "retired" in gone.json()["error"]["message"]
    # no schedule at it, no change, no new code, no inspection after, not on the QR sheet
    refused = manager.post("/api/v1/enterprises/%s/schedules" % enterprise_id, {
        "checklist_id": place.version["checklist_id"], "position_id": place.position_id,
        "frequency": "daily", "starts_on": today, "assignee_role": "enterprise_staff"})
    assert refused.status_code == 400 and "position_id" in refused.json()["error"]["fields"]
    assert "retired" in json.dumps(refused.json()["error"]["fields"]["position_id"])
    assert patch(manager, place.position_id, {"name": "x"}).status_code == 409
    assert manager.post("/api/v1/positions/%s/rotate-code" % place.position_id
                        ).status_code == 409
    # one done before the retirement (completed a minute ago), logged now, stands
    created(api.post("/api/v1/inspections", place.inspection()))
    after = dict(place.inspection(), completed_at=factories.iso(factories.ago(seconds=0)))
    late = api.post("/api/v1/inspections", after)
    assert late.status_code == 400 and "position_id" in late.json()["error"]["fields"]
    sheet = manager.get("/api/v1/enterprises/%s/positions/qr-sheet.pdf" % enterprise_id,
                        params={"position_ids": place.position_id})
    assert sheet.status_code == 400 and "retired" in sheet.text
    assert manager.get("/api/v1/enterprises/%s/positions/qr-sheet.pdf" % enterprise_id
                       ).status_code == 200
    history = created(manager.get("/api/v1/positions/%s/history" % place.position_id),
                      200)["items"]
    assert history[-1]["type"] == "einspection.position.retired.v1"
    assert kept["id"] != place.position_id


def test_edited_and_retired_positions_replay_to_the_same_rows(api, platform):
    enterprise_id = register(api)
    place = site(api, enterprise_id)
    required = created(api.post("/api/v1/checklists", factories.checklist(
        title="Replayed requirement", industry="replay-" + uuid.uuid4().hex[:6],
        required_frequency="monthly")))
    created(api.post("/api/v1/checklists/%s/publish" % required["id"]), 200)
    other = fixtures.position(api, enterprise_id, name="Dock")
    created(patch(api, place.position_id, {"name": "Boiler house", "longitude": 120.01,
                                           "checklist_ids": []}), 200)
    created(api.post("/api/v1/positions/%s/retirement" % other["id"], {"reason": "gone"}), 200)

    before, after = fixtures.checklist_read_models_replayed(platform)
    assert after == before
    assert any(required["id"] in row and "monthly" in row for row in before["checklists"])
    assert any(required["id"] in row and "monthly" in row
               for row in before["checklist_versions"])
    rows = {row[0]: row for row in before["positions"]}
    assert "Boiler house" in rows[place.position_id]
    assert rows[other["id"]][-1] == "gone"              # retirement_reason
