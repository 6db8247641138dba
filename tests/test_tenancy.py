"""Who may do what, tried from the outside: every endpoint without a token,
with an expired and with a forged one; every endpoint on enterprise A's
things by an account of another enterprise, another grid, another town
and an integrator granted only B — nothing leaks (the answer is the one a
missing id gets), nothing changes. And the actor of each event is the
account that acted."""
import json
import uuid

import pytest

from einspection import auth
from services.gateway.service import GatewayService

from . import factories, fixtures
from .fixtures import account, created
from .support import Api, wait_until

MISSING = "00000000-0000-4000-8000-000000000000"
NO_EVIDENCE = "sha256:" + "0" * 64


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


@pytest.fixture(scope="module")
def county(platform, admin_tokens):
    """Enterprise A in its own town and grid, B in others; each with a
    checklist, a position, a hazard, an inspection and a safety action."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    admin = Api(platform.base_url, admin_tokens[platform.base_url])
    things = {}
    for name in ("a", "b"):
        town = unique("Town" + name.upper())
        site = fixtures.site(admin, town=town, grid=town + "-1")
        hazard = created(admin.post("/api/v1/hazards", factories.hazard(site.enterprise_id)))
        inspection = created(admin.post("/api/v1/inspections", site.inspection()))
        action = created(admin.post(
            "/api/v1/enterprises/%s/safety-actions" % site.enterprise_id,
            {"kind": "training", "topic": "fire", "held_on": "2026-11-01", "people": 12,
             "recorded_by": "li"}))
        staff = account(admin, "enterprise_staff", enterprise_id=site.enterprise_id)
        things[name] = {"enterprise": site.enterprise_id, "town": town, "grid": town + "-1",
                        "account": created(staff.get("/api/v1/auth/me"), 200)["account_id"],
                        "position": site.position_id, "checklist": site.version["checklist_id"],
                        "hazard": hazard["id"], "inspection": inspection["id"],
                        "action": action["id"], "evidence": site.photo, "site": site,
                        "token": fixtures.position_token(platform, site.position_id)}
    b = things["b"]
    others = {
        "manager of B": account(admin, "enterprise_manager", enterprise_id=b["enterprise"]),
        "staff of B": account(admin, "enterprise_staff", enterprise_id=b["enterprise"]),
        "grid officer of B's grid": account(admin, "grid_officer", grid=b["grid"]),
        "town officer of B's town": account(admin, "town_officer", town=b["town"]),
        "integrator granted B": account(admin, "integrator", grants=[b["enterprise"]]),
    }
    return admin, things, others


def a_requests(a):
    """Every endpoint, aimed at enterprise A's things; `{x}` is A's x or a missing id."""
    hazard_plan = {"goal": "g", "measures": "m", "funds": "1.00", "responsible_person": "p",
                   "deadline": factories.iso(factories.ago(hours=-240)),
                   "interim_measures": "i"}
    return [
        ("GET", "/api/v1/enterprises/{enterprise}", None),
        ("GET", "/api/v1/enterprises/{enterprise}/score", None),
        ("GET", "/api/v1/enterprises/{enterprise}/notices", None),
        ("GET", "/api/v1/enterprises/{enterprise}/positions", None),
        ("GET", "/api/v1/enterprises/{enterprise}/positions/qr-sheet.pdf", None),
        ("POST", "/api/v1/enterprises/{enterprise}/positions", {"name": "Roof"}),
        ("GET", "/api/v1/enterprises/{enterprise}/safety-actions", None),
        ("POST", "/api/v1/enterprises/{enterprise}/safety-actions",
         {"kind": "drill", "topic": "t", "held_on": "2026-11-02", "people": 3,
          "recorded_by": "x"}),
        ("GET", "/api/v1/recipients/enterprise:{enterprise}/settings", None),
        ("PUT", "/api/v1/recipients/enterprise:{enterprise}/settings",
         {"language": "en", "emails": ["x@example.com"]}),
        ("GET", "/api/v1/positions/{position}", None),
        ("GET", "/api/v1/positions/{position}/qr.png", None),
        ("GET", "/api/v1/positions/{position}/qr.svg", None),
        ("POST", "/api/v1/positions/{position}/rotate-code", None),
        ("PATCH", "/api/v1/positions/{position}", {"name": "taken over"}),
        ("POST", "/api/v1/positions/{position}/retirement", {"reason": "taken over"}),
        ("GET", "/api/v1/positions/{position}/history", None),
        ("GET", "/api/v1/scan/{token}", None),
        ("GET", "/api/v1/checklists/{checklist}", None),
        ("GET", "/api/v1/checklists/{checklist}/versions/1", None),
        ("PUT", "/api/v1/checklists/{checklist}/draft", {"title": "taken over"}),
        ("POST", "/api/v1/checklists/{checklist}/publish", None),
        ("GET", "/api/v1/hazards/{hazard}", None),
        ("GET", "/api/v1/hazards/{hazard}/history", None),
        ("GET", "/api/v1/hazards/{hazard}/rectification-notice.pdf", None),
        ("POST", "/api/v1/hazards/{hazard}/plan", hazard_plan),
        ("POST", "/api/v1/hazards/{hazard}/rectification",
         {"measures": "m", "done_at": factories.iso(factories.ago(minutes=1))}),
        ("POST", "/api/v1/hazards/{hazard}/verification",
         {"outcome": "verified", "verifier": "v"}),
        ("GET", "/api/v1/inspections/{inspection}", None),
        ("GET", "/api/v1/evidence/{evidence}", None),
        ("POST", "/api/v1/accounts/{account}/password-reset", None),
        ("POST", "/api/v1/accounts/{account}/disable", {"reason": "taken over"}),
    ]


def send(api, method, path, body):
    if method == "GET":
        return api.get(path)
    if method == "PUT":
        return api.put(path, body)
    if method == "PATCH":
        return api.patch(path, body)
    return api.post(path, body)


def state_of(admin, a):
    """What an attempt could have changed, as the admin sees it."""
    return (created(admin.get("/api/v1/hazards/%s/history" % a["hazard"]), 200),
            created(admin.get("/api/v1/checklists/%s" % a["checklist"]), 200)["versions"],
            created(admin.get("/api/v1/enterprises/%s/positions" % a["enterprise"],
                              params={"include_retired": "true"}), 200),
            created(admin.get("/api/v1/enterprises/%s/safety-actions" % a["enterprise"]), 200),
            created(admin.get("/api/v1/recipients/enterprise:%s/settings" % a["enterprise"]),
                    200),
            [x for x in created(admin.get("/api/v1/accounts", params={
                "size": 200, "role": "enterprise_staff"}), 200)["items"]
             if x["account_id"] == a["account"]])


def test_another_tenant_gets_what_a_missing_id_gets_and_changes_nothing(county, platform):
    admin, things, others = county
    a = things["a"]
    before = state_of(admin, a)
    missing = {key: MISSING for key in a}
    missing["token"] = "no-such-token"
    missing["evidence"] = NO_EVIDENCE
    leaks = []
    for who, api in others.items():
        for method, path, body in a_requests(a):
            across = send(api, method, path.format(**a), body)
            absent = send(api, method, path.format(**missing), body)
            # a role that may not do this at all is told so (403) whatever the id
            if across.status_code != absent.status_code or across.status_code not in (
                    400, 403, 404):
                leaks.append((who, method, path, across.status_code, absent.status_code,
                              across.text[:120]))
    assert leaks == []
    assert state_of(admin, a) == before


def test_references_to_another_tenants_things_answer_like_missing_ones(county, platform):
    """A body naming A's position, inspection, item or checklist in B's own
    hazard, position or inspection gets what a missing id gets (400 naming the
    field), and nothing is stored — also where A's item has a hazard already."""
    admin, things, _ = county
    a, b = things["a"], things["b"]
    manager = account(admin, "enterprise_manager", enterprise_id=b["enterprise"])
    a_version = created(admin.get("/api/v1/checklists/%s/versions/1" % a["checklist"]), 200)
    failed = created(admin.post("/api/v1/inspections", factories.inspection(
        a["enterprise"], a["position"], a_version, failed=(1,))))
    a_item = a_version["items"][1]["item_id"]          # failed in A: A has its hazard
    wait_until(lambda: admin.get("/api/v1/hazards", params={
        "source_inspection_id": failed["id"]}).json()["total"] == 1, message="A's hazard")
    b_inspection = created(admin.get("/api/v1/inspections", params={
        "enterprise_id": b["enterprise"]}), 200)["items"][0]["id"]

    def hazard(**refs):
        return ("/api/v1/hazards", factories.hazard(b["enterprise"], **refs))

    cases = [  # (what, (A's, missing)), each (path, body)
        ("position", (hazard(position_id=a["position"]), hazard(position_id=MISSING))),
        ("inspection", (hazard(source_inspection_id=failed["id"], source_item_id=a_item),
                        hazard(source_inspection_id=MISSING, source_item_id=a_item))),
        ("item", (hazard(source_inspection_id=b_inspection, source_item_id=a_item),
                  hazard(source_inspection_id=b_inspection, source_item_id=MISSING))),
        ("checklist of a position", tuple(
            ("/api/v1/enterprises/%s/positions" % b["enterprise"],
             {"name": "Roof", "checklist_ids": [checklist]})
            for checklist in (a["checklist"], MISSING))),
        ("checklist of an inspection", tuple(
            ("/api/v1/inspections", dict(factories.inspection(
                b["enterprise"], b["position"], a_version), checklist_id=checklist))
            for checklist in (a["checklist"], MISSING))),
    ]

    def stored():
        counts = [created(admin.get("/api/v1/hazards", params={"enterprise_id": e}),
                          200)["total"] for e in (a["enterprise"], b["enterprise"])]
        counts.append(created(admin.get("/api/v1/inspections", params={
            "enterprise_id": b["enterprise"]}), 200)["total"])
        counts.append(created(admin.get("/api/v1/enterprises/%s/positions" % b["enterprise"]),
                              200)["total"])
        return counts

    before = stored()
    for what, (across, absent) in cases:
        answers = []
        for path, body in (across, absent):
            response = manager.post(path, body)
            text = response.text
            for ident in (a["position"], failed["id"], a_item, a["checklist"], MISSING):
                text = text.replace(ident, "<id>")
            answers.append((response.status_code, text))
        assert answers[0] == answers[1], what
        assert answers[0][0] == 400, (what, answers[0])
    assert stored() == before


def test_another_tenants_evidence_is_as_unknown_as_a_missing_file(county):
    """B's accounts cite A's photo in B's hazard report, rectification and
    inspection, and upload for A: each answer is the one a missing file (or
    enterprise) gets, but for the ref it names."""
    admin, things, others = county
    a, b = things["a"], things["b"]
    hazard = created(admin.post("/api/v1/hazards", factories.hazard(b["enterprise"])))
    photo_item = next(index for index, item in enumerate(b["site"].version["items"])
                      if item["photo_required"])

    def attempts(ref):
        return [
            ("POST", "/api/v1/hazards", factories.hazard(b["enterprise"], evidence=[ref])),
            ("POST", "/api/v1/hazards/%s/rectification" % hazard["id"], {
                "measures": "m", "done_at": factories.iso(factories.ago(minutes=1)),
                "evidence": [ref]}),
            ("POST", "/api/v1/inspections", b["site"].inspection(failed=(photo_item,),
                                                               photos=[ref])),
        ]
    writers = {who: api for who, api in others.items() if not who.startswith("integrator")}
    for who, api in writers.items():
        for (method, path, across), (_, _, absent) in zip(attempts(a["evidence"]),
                                                          attempts(NO_EVIDENCE)):
            one, other = send(api, method, path, across), send(api, method, path, absent)
            assert one.status_code == other.status_code == 400, (who, path, one.text)
            assert (one.json()["error"] == json.loads(
                other.text.replace(NO_EVIDENCE, a["evidence"]))["error"]), (who, path)
        upload_for_a = fixtures.upload(api, a["enterprise"], factories.image("JPEG"), "image/jpeg")
        upload_for_none = fixtures.upload(api, MISSING, factories.image("JPEG"), "image/jpeg")
        assert upload_for_a.status_code == upload_for_none.status_code == 400, who
        assert upload_for_a.json() == upload_for_none.json(), who
    assert created(admin.get("/api/v1/hazards/" + hazard["id"]), 200)["status"] == "reported"


def test_lists_show_only_the_callers_enterprises(county):
    admin, things, others = county
    a, b = things["a"], things["b"]
    for who, api in others.items():
        hazards = created(api.get("/api/v1/hazards", params={"size": 200}), 200)["items"]
        assert a["hazard"] not in {h["id"] for h in hazards}, who
        assert {h["enterprise_id"] for h in hazards} <= {b["enterprise"]}, who
        inspections = created(api.get("/api/v1/inspections", params={"size": 200}),
                              200)["items"]
        assert {i["enterprise_id"] for i in inspections} <= {b["enterprise"]}, who
        enterprises = created(api.get("/api/v1/enterprises", params={"size": 200}),
                              200)["items"]
        assert [e["id"] for e in enterprises] == [b["enterprise"]], who
        checklists = created(api.get("/api/v1/checklists", params={"size": 200}),
                             200)["items"]
        assert a["checklist"] not in {c["id"] for c in checklists}, who
        export = api.get("/api/v1/hazards/export.csv")
        assert export.status_code == 200 and a["hazard"] not in export.text, who
        for path in ("/api/v1/rankings?limit=100", "/api/v1/rankings/excellent"):
            listed = created(api.get(path), 200)
            assert a["enterprise"] not in str(listed), (who, path)
    # the admin sees both
    everything = created(admin.get("/api/v1/enterprises", params={"size": 200}), 200)["items"]
    assert {a["enterprise"], b["enterprise"]} <= {e["id"] for e in everything}


def test_inboxes_are_their_recipients(county):
    admin, things, others = county
    a = things["a"]
    for who, api in others.items():
        for recipient in ("authority", "grid:" + a["grid"], "enterprise:" + a["enterprise"]):
            response = api.get("/api/v1/notices", params={"recipient": recipient})
            assert response.status_code == 404, (who, recipient, response.text)
    grid_officer = account(admin, "grid_officer", grid=a["grid"])
    assert grid_officer.get("/api/v1/notices",
                            params={"recipient": "grid:" + a["grid"]}).status_code == 200


def every_route():
    """(method, path with placeholder ids) of every route of the gateway."""
    return sorted({(entrypoint.method, entrypoint.url)
                   for name in dir(GatewayService)
                   for entrypoint in getattr(getattr(GatewayService, name),
                                             "nameko_entrypoints", ())})


PUBLIC = {("GET", "/health"), ("GET", "/health/live"), ("GET", "/health/ready"),
          ("GET", "/metrics"), ("POST", "/api/v1/auth/token"),
          # the web pages' HTML, JS and CSS: no data in them (tests/test_web.py)
          ("GET", "/"), ("GET", "/app"), ("GET", "/app/"), ("GET", "/app/<path:filename>"),
          ("GET", "/openapi.json"), ("GET", "/docs"),
          # the event stream's AsyncAPI document and its page: the contract, no tenant's data
          ("GET", "/asyncapi.json"), ("GET", "/docs/events"),
          # the deployment's time zone, for the pages' days: a setting, no tenant's data
          ("GET", "/app/deployment.json"),
          # the pages' words (web/messages/): text of the pages, no tenant's data
          ("GET", "/app/messages/<string:language>.json")}


def test_every_route_but_the_public_ones_refuses_no_expired_and_forged_tokens(platform):
    secret = platform.env["AUTH_SECRET"]
    admin = auth.Principal(account_id="x", username="admin", role="authority_admin")
    expired, _ = auth.issue_token(admin, secret, -1)
    forged, _ = auth.issue_token(admin, "not the platform's secret", 3600)
    tampered = forged.split(".")[0] + "." + expired.split(".")[1]
    routes = every_route()
    assert len(routes) > 40
    for method, url in routes:
        if (method, url) in PUBLIC:
            continue
        path = url.replace("<string:", "<").replace("<int:", "<")
        path = "/".join("1" if part.startswith("<") else part for part in path.split("/"))
        for token in (None, expired, forged, tampered, "garbage"):
            response = Api(platform.base_url, token).session.request(
                method, platform.base_url + path, json={}, timeout=30)
            assert response.status_code == 401, (method, path, token, response.text)
            assert response.json()["error"]["status"] == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_logging_in_and_the_actor_of_each_event(county, platform):
    admin, things, _ = county
    a = things["a"]
    wrong = Api(platform.base_url).post("/api/v1/auth/token",
                                        {"username": "admin", "password": "wrong-password"})
    assert wrong.status_code == 401
    manager = account(admin, "enterprise_manager", enterprise_id=a["enterprise"])
    me = created(manager.get("/api/v1/auth/me"), 200)
    assert (me["role"], me["enterprise_id"]) == ("enterprise_manager", a["enterprise"])
    # a manager creates staff of its own enterprise only
    staff = account(manager, "enterprise_staff", enterprise_id=a["enterprise"])
    refused = manager.post("/api/v1/accounts", {"username": unique("x"), "password":
                                                "long-enough-1", "role": "grid_officer",
                                                "grid": a["grid"]})
    assert refused.status_code == 403
    reported = created(staff.post("/api/v1/hazards", factories.hazard(a["enterprise"])))
    history = created(admin.get("/api/v1/hazards/%s/history" % reported["id"]), 200)["items"]
    assert history[0]["actor"] == created(staff.get("/api/v1/auth/me"), 200)["username"]
    # a manager disables its staff: no new logins; another enterprise's is not found
    staff_id = created(staff.get("/api/v1/auth/me"), 200)["account_id"]
    outsider = account(admin, "enterprise_manager", enterprise_id=things["b"]["enterprise"])
    assert outsider.post("/api/v1/accounts/%s/disable" % staff_id, {}).status_code == 404
    disabled = created(manager.post("/api/v1/accounts/%s/disable" % staff_id,
                                    {"reason": "left the company"}), 200)
    assert disabled["disabled"] is True
    assert Api(platform.base_url).post("/api/v1/auth/token", {
        "username": staff.username, "password": staff.password}).status_code == 401
    # read-only roles: an integrator may read its grant, never change it
    integrator = account(admin, "integrator", grants=[a["enterprise"]])
    assert integrator.get("/api/v1/hazards/" + reported["id"]).status_code == 200
    assert integrator.post("/api/v1/hazards", factories.hazard(a["enterprise"])).status_code == 403
