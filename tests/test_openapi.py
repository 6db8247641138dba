"""The API's contract: the OpenAPI document at /openapi.json covers exactly
the gateway's routes, is a valid OpenAPI 3.0 document, every operation
answers real data as documented, and schemathesis, generating valid and
invalid input for every operation, finds no server error and no answer that
breaks the document.

The platform here is this module's own (vhost, exchange, databases): the
generated input registers enterprises, publishes notices to all of them and
subscribes webhooks, which other tests' platform should not see."""
import hashlib
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import jsonschema
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)
from schemathesis.specs.openapi.definitions import OPENAPI_30
from nameko.rpc import Rpc
from sqlalchemy import select

from conftest import BACKENDS
from einspection import eventstore
from einspection.contract import utcnow
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from services.checklist import projections
from services.checklist.service import ChecklistService
from services.enforcement.service import EnforcementService
from services.gateway import messages, openapi
from services.gateway.service import GatewayService
from services.hazard.service import HazardService
from services.notify.service import NotifyService
from tools import launch

from . import factories, fixtures
from .conftest import own_platform
from .fixtures import created
from .support import Api, WebhookReceiver, wait_until



# --- the table against the code: no platform needed ------------------------------------

def test_every_route_is_documented_and_every_documented_route_exists():
    declared = set(openapi.http_routes(GatewayService))
    documented = set(openapi.ROUTES) | set(openapi.NOT_OPERATIONS)
    assert declared - documented == set(), "routes missing from openapi.ROUTES"
    assert documented - declared == set(), "openapi.ROUTES names routes that do not exist"


def test_werkzeug_paths_become_openapi_paths():
    assert openapi.openapi_path("/api/v1/checklists/<string:checklist_id>/versions/<int:version>") \
        == "/api/v1/checklists/{checklist_id}/versions/{version}"
    assert openapi.openapi_path("/a/<name>/b/<int(min=1):n>") == "/a/{name}/b/{n}"
    assert openapi.path_parameter_names("/x/<string:a>/<int:b>") == ["a", "b"]


def test_the_document_is_valid_openapi_3():
    problems = openapi_problems(openapi.build(GatewayService))
    assert problems == []


def openapi_problems(document):
    """What is wrong with `document`: the OpenAPI 3.0 JSON Schema (the OAI's
    own, as schemathesis ships it) and what it cannot say: every $ref
    resolves, every path template's parameters are declared (and only those),
    operation ids are unique."""
    problems = ["%s: %s" % ("/".join(map(str, error.absolute_path)), error.message)
                for error in jsonschema.Draft4Validator(OPENAPI_30).iter_errors(document)]
    refs = []

    def collect(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)
    collect(document)
    for ref in refs:
        target = document
        for key in ref.lstrip("#/").split("/"):
            target = target.get(key) if isinstance(target, dict) else None
        if target is None:
            problems.append("unresolved $ref " + ref)
    operation_ids = []
    for path, item in document["paths"].items():
        templated = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            if declared != templated:
                problems.append("%s %s declares path parameters %s" % (method, path, declared))
    duplicates = {i for i in operation_ids if operation_ids.count(i) > 1}
    if duplicates:
        problems.append("duplicate operationIds %s" % duplicates)
    return problems


# --- a platform of this module's own, with data in it ----------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def contract_platform(request, databases, run_id, tmp_path_factory):
    receiver = WebhookReceiver()

    def seeded(running):
        running.data = seed(Api(running.base_url, running.token), running.urls, receiver)
    try:
        # Generated webhooks point anywhere: one quick try each, then give up.
        with own_platform(request, databases, run_id, tmp_path_factory, "openapi", seeded,
                          NOTIFY_DISPATCH_SECONDS="0.2", NOTIFY_MAX_ATTEMPTS="1",
                          NOTIFY_WEBHOOK_TIMEOUT_SECONDS="1") as running:
            yield running
    finally:
        receiver.close()


def seed(api, database_urls, receiver):
    """One of everything the API shows, made through the API: the ids the
    real-data requests below use."""
    data = {}
    data["enterprise"] = fixtures.register_enterprise(api, town="Wukang", grid="Wukang-1")
    # the authority reads every inbox but answers only its own: a notice's reader is the
    # enterprise's; and the manager rectifies what the authority verifies (never one alone)
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=data["enterprise"])
    data["manager_token"] = manager.session.headers["Authorization"].split(" ", 1)[1]
    site = fixtures.site(api, data["enterprise"])
    data["checklist"], data["version"] = site.version["checklist_id"], site.version["version"]
    data["position"] = site.position_id
    data["spare_position"] = fixtures.position(api, data["enterprise"], name="Dock")["id"]
    data["token"] = _token(database_urls["checklist"], site.position_id)
    data["evidence"] = fixtures.photo(api, data["enterprise"])
    data["webhook"] = created(api.post("/api/v1/webhooks", {
        "url": receiver.url, "event_types": ["einspection.hazard.#"]}))["subscription_id"]
    data["inspection"] = created(api.post("/api/v1/inspections", site.inspection(failed=(1,))))["id"]
    major = created(api.post("/api/v1/hazards", factories.hazard(
        data["enterprise"], level="major", evidence=[data["evidence"]])))["id"]
    created(manager.post("/api/v1/hazards/%s/plan" % major, _plan()))
    created(manager.post("/api/v1/hazards/%s/rectification" % major, _rectification()))
    created(api.post("/api/v1/hazards/%s/verification" % major,
                     {"outcome": "returned", "verifier": "chen.jie", "reason": "loose"}))
    created(manager.post("/api/v1/hazards/%s/rectification" % major, _rectification()))
    created(api.post("/api/v1/hazards/%s/verification" % major,
                     {"outcome": "verified", "verifier": "chen.jie"}))
    data["hazard"] = major
    data["schedule"] = created(manager.post("/api/v1/enterprises/%s/schedules"
                                            % data["enterprise"], _schedule(data)))["id"]
    created(api.post("/api/v1/enterprises/%s/safety-actions" % data["enterprise"], {
        "kind": "training", "topic": "fire extinguishers", "held_on": factories.ago(days=2)
        .date().isoformat(), "people": 12, "recorded_by": "safety.manager"}))
    created(api.session.put(api.base_url + "/api/v1/recipients/enterprise:%s/settings"
                            % data["enterprise"], json={"language": "en",
                                                        "emails": ["safety@example.org"]}), 200)
    data["publication"] = created(api.post("/api/v1/publications", {
        "title": "Inspections next week", "body": "Be ready.", "audience": "grid",
        "audience_value": "Wukang-1", "published_by": "Deqing ESB"}))["publication_id"]
    data["notice"] = wait_until(lambda: created(api.get(
        "/api/v1/enterprises/%s/notices" % data["enterprise"], params={"kind": "publication"}),
        200)["items"], message="the publication's notice")[0]["notice_id"]
    # enforcement: two authority inspectors, a universal checklist at a position, and a
    # campaign drawn and assigned
    for _ in range(2):
        fixtures.account(api, "authority_inspector")
    data["universal"] = fixtures.published_checklist(api, title="执法检查表")
    # a universal checklist every enterprise must schedule at least weekly: the schedule
    # list's requirements
    fixtures.published_checklist(api, title="每周消防巡查", required_frequency="weekly")
    data["enforced_position"] = fixtures.position(
        api, data["enterprise"], name="Store", checklist_ids=[data["universal"]["checklist_id"]])[
        "id"]
    data["campaign"] = _campaign(api, "assigned")
    data["case"] = _case(api, data)
    wait_until(lambda: api.get("/api/v1/enterprises/%s/score" % data["enterprise"])
               .status_code == 200, message="a score")
    wait_until(lambda: created(api.get("/api/v1/webhooks/%s/deliveries" % data["webhook"]),
                               200)["items"], message="a webhook delivery")
    return data


def _token(checklist_database_url, position_id):
    """A QR token is in no API answer: read it from the checklist store, as only a test may."""
    engine = make_engine(checklist_database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(projections.positions.c.token).where(
                projections.positions.c.position_id == position_id)).scalar_one()
    finally:
        engine.dispose()


def _plan():
    return {"goal": "no exposed live parts", "measures": "replace the cabinet", "funds": "800.00",
            "responsible_person": "zhang.san", "deadline": factories.iso(factories.ago(days=-20)),
            "interim_measures": "fenced off"}


def _rectification():
    return {"measures": "cover refitted", "done_at": factories.iso(factories.ago(minutes=5)),
            "cost": "12.50"}


# --- every operation with real data ----------------------------------------------------

STANDARD_CSV = ("category,project,content,score,row_type\n"
                "1.Goals,1.1 Goals,Goals are written down,2,item\n"
                "1.Goals,1.2 Goals,Goals are reviewed yearly,3,item\n"
                "1.Goals,,,5,subtotal\n"
                ",,,5,total\n")


def _hazard(api, data, **extra):
    return created(api.post("/api/v1/hazards", factories.hazard(data["enterprise"], **extra)))["id"]


def _rectified_hazard(api, data):
    """A hazard its enterprise's manager rectified: for another account to verify."""
    hazard = _hazard(api, data)
    created(Api(api.base_url, data["manager_token"]).post(
        "/api/v1/hazards/%s/rectification" % hazard, _rectification()))
    return hazard


def _listing():
    return {"deadline": factories.iso(factories.ago(days=-20)), "office": "执法大队",
            "reason": "重大火灾隐患"}


def _listed_and_verified_hazard(api, data):
    """A major hazard the authority listed, rectified by the manager and
    verified by the authority: ready for the authority's sign-off."""
    hazard = _hazard(api, data, level="major")
    manager = Api(api.base_url, data["manager_token"])
    created(api.post("/api/v1/hazards/%s/listing" % hazard, _listing()))
    created(manager.post("/api/v1/hazards/%s/plan" % hazard, _plan()))
    created(manager.post("/api/v1/hazards/%s/rectification" % hazard, _rectification()))
    created(api.post("/api/v1/hazards/%s/verification" % hazard,
                     {"outcome": "verified", "verifier": "chen.jie"}))
    return hazard


CAMPAIGN = {"name": "2016年度重点企业执法检查", "legal_basis": "德安监发[2016]5号",
            "period_start": "2016-05-01", "period_end": "2016-11-30", "targets": 1,
            "quotas": {"Wukang": 1}}
DRAW = {"seed": "3D 2016125: 4 7 1", "seed_source": "中国福利彩票3D 第2016125期开奖号码"}
CAMPAIGN_STEPS = ("opened", "committed", "drawn", "assigned")


def _campaign(api, status="opened"):
    """A campaign taken as far as `status` (opened, committed, drawn, assigned)."""
    campaign_id = created(api.post("/api/v1/campaigns", CAMPAIGN))["campaign_id"]
    path = "/api/v1/campaigns/" + campaign_id
    for step in CAMPAIGN_STEPS[1:CAMPAIGN_STEPS.index(status) + 1]:
        suffix, body = {"committed": ("/commit", None), "drawn": ("/draw", DRAW),
                        "assigned": ("/assignments", {})}[step]
        created(api.post(path + suffix, body), 200)
    return campaign_id


def _case(api, data, citations=0, decided=False):
    """The case of a new enforcement inspection (every item passed: the case
    is the API's to open), with `citations` of 0.10 each, its penalty decided
    if `decided`."""
    inspection = created(api.post("/api/v1/inspections", factories.inspection(
        data["enterprise"], data["enforced_position"], data["universal"], kind="enforcement",
        inspector="赵执法")))
    case = created(api.post("/api/v1/cases", {"inspection_id": inspection["id"]}))
    for _ in range(citations):
        case = created(api.post("/api/v1/cases/%s/citations" % case["case_id"], _citation()))
    if decided:
        created(api.post("/api/v1/cases/%s/penalty" % case["case_id"], {"fines": [
            {"citation_id": c["citation_id"], "fine_imposed": c["fine_proposed"]}
            for c in case["citations"]]}), 200)
    return case["case_id"]


def _citation():
    return {"clause": "《安全生产法》第九十九条", "violation_class": "other",
            "description": "未按规定进行隐患排查", "fine_proposed": "0.10",
            "abatement_date": factories.ago(days=-30).date().isoformat()}


def _cited(api, data):
    """(case id, citation id) of a new case with one citation."""
    case_id = _case(api, data, citations=1)
    return {"case_id": case_id, "citation_id": created(api.get("/api/v1/cases/" + case_id),
                                                       200)["citations"][0]["citation_id"]}


def _draft(api, data):
    return created(api.post("/api/v1/checklists", factories.checklist(data["enterprise"])))["id"]


def _webhook(api):
    return created(api.post("/api/v1/webhooks", {
        "url": "http://127.0.0.1:9/hook", "event_types": ["einspection.grade.assigned.v1"]}))[
        "subscription_id"]


def _account(api, data):
    return created(api.post("/api/v1/accounts", {
        "username": fixtures.username_for(api, "enterprise_staff", data["enterprise"]),
        "password": "password-" + uuid.uuid4().hex,
        "role": "enterprise_staff", "enterprise_id": data["enterprise"]}))["account_id"]


def _schedule(data, **terms):
    return dict({"checklist_id": data["checklist"], "position_id": data["position"],
                 "frequency": "weekly", "weekdays": [1, 3, 5], "assignee_role":
                 "enterprise_staff",
                 "starts_on": local_day(utcnow(), deployment_zone()).isoformat()}, **terms)


def _assignee(api, data):
    """The username of a new staff account of the enterprise, to assign a hazard to."""
    username = fixtures.username_for(api, "enterprise_staff", data["enterprise"])
    created(api.post("/api/v1/accounts", {
        "username": username, "password": "password-" + uuid.uuid4().hex,
        "role": "enterprise_staff", "enterprise_id": data["enterprise"]}))
    return username


def _password_change(api, data):
    """A token of a new account and the body that changes its password."""
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=data["enterprise"])
    return {"token": staff.session.headers["Authorization"].split(" ", 1)[1],
            "body": {"old_password": staff.password,
                     "new_password": "a new one " + uuid.uuid4().hex}}


# (method, werkzeug path) -> (api, data) -> what to send: path parameters, and
# optionally query, body (JSON) or raw bytes with their content type, and the status.
# As the authority admin, who may call every route, unless `token` says whose.
REAL_REQUESTS = {
    ("POST", "/api/v1/auth/token"): lambda api, d: {"body": dict(zip(
        ("username", "password"), launch.ADMIN))},
    ("GET", "/api/v1/auth/me"): lambda api, d: {},
    ("POST", "/api/v1/auth/password"): _password_change,
    ("POST", "/api/v1/accounts"): lambda api, d: {"status": 201, "body": {
        "username": fixtures.username_for(api, "enterprise_manager", d["enterprise"]),
        "password": "password-1234567", "role": "enterprise_manager",
        "enterprise_id": d["enterprise"], "display_name": "Wang Wei"}},
    ("POST", "/api/v1/accounts/<string:account_id>/password-reset"): lambda api, d: {
        "path": {"account_id": _account(api, d)}},
    ("GET", "/api/v1/accounts"): lambda api, d: {"query": {"role": "enterprise_staff"}},
    ("POST", "/api/v1/accounts/<string:account_id>/disable"): lambda api, d: {
        "path": {"account_id": _account(api, d)}, "body": {"reason": "left the company"}},
    ("GET", "/health"): lambda api, d: {},
    ("GET", "/health/live"): lambda api, d: {},
    ("GET", "/health/ready"): lambda api, d: {},
    ("GET", "/metrics"): lambda api, d: {},
    ("GET", "/openapi.json"): lambda api, d: {},
    ("GET", "/docs"): lambda api, d: {},
    ("GET", "/asyncapi.json"): lambda api, d: {},
    ("GET", "/docs/events"): lambda api, d: {},
    ("POST", "/api/v1/enterprises"): lambda api, d: {
        "body": factories.enterprise(), "status": 201},
    ("GET", "/api/v1/enterprises"): lambda api, d: {
        "query": {"town": "Wukang", "sort": "-registered_at", "size": 5}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/score"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}},
    ("GET", "/api/v1/rankings"): lambda api, d: {"query": {"by": "town", "order": "worst"}},
    ("GET", "/api/v1/rankings/excellent"): lambda api, d: {"query": {"limit": 3}},
    ("GET", "/api/v1/grades/distribution"): lambda api, d: {"query": {"by": "industry"}},
    ("POST", "/api/v1/checklists"): lambda api, d: {
        "body": factories.checklist(d["enterprise"]), "status": 201},
    ("POST", "/api/v1/checklists/import"): lambda api, d: {
        "query": {"title": "Goals standard", "publish": "true"},
        "raw": (STANDARD_CSV.encode(), "text/csv"), "status": 201},
    ("GET", "/api/v1/checklists"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "sort": "-updated_at"}},
    ("GET", "/api/v1/checklists/<string:checklist_id>"): lambda api, d: {
        "path": {"checklist_id": d["checklist"]}, "query": {"enterprise_id": d["enterprise"]}},
    ("PUT", "/api/v1/checklists/<string:checklist_id>/draft"): lambda api, d: {
        "path": {"checklist_id": _draft(api, d)},
        "body": {"title": "Renamed", "items": factories.checklist()["items"][:2]}},
    ("POST", "/api/v1/checklists/<string:checklist_id>/publish"): lambda api, d: {
        "path": {"checklist_id": _draft(api, d)}},
    ("GET", "/api/v1/checklists/<string:checklist_id>/versions/<int:version>"): lambda api, d: {
        "path": {"checklist_id": d["checklist"], "version": d["version"]}},
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/positions"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "status": 201,
        "body": {"name": "Boiler room", "latitude": 30.5, "checklist_ids": [d["checklist"]]}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/positions"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "query": {"sort": "name"}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/positions/qr-sheet.pdf"):
        lambda api, d: {"path": {"enterprise_id": d["enterprise"]},
                        "query": {"position_ids": d["position"]}},
    ("GET", "/api/v1/positions/<string:position_id>"): lambda api, d: {
        "path": {"position_id": d["position"]}},
    ("GET", "/api/v1/positions/<string:position_id>/qr.png"): lambda api, d: {
        "path": {"position_id": d["position"]}},
    ("GET", "/api/v1/positions/<string:position_id>/qr.svg"): lambda api, d: {
        "path": {"position_id": d["position"]}},
    ("POST", "/api/v1/positions/<string:position_id>/rotate-code"): lambda api, d: {
        "path": {"position_id": d["spare_position"]}},
    ("PATCH", "/api/v1/positions/<string:position_id>"): lambda api, d: {
        "path": {"position_id": fixtures.position(api, d["enterprise"], name="Gate")["id"]},
        "body": {"name": "门卫室", "latitude": None, "checklist_ids": [d["checklist"]]}},
    ("POST", "/api/v1/positions/<string:position_id>/retirement"): lambda api, d: {
        "path": {"position_id": fixtures.position(api, d["enterprise"], name="Shed")["id"]},
        "token": d["manager_token"], "body": {"reason": "拆除"}},
    ("GET", "/api/v1/positions/<string:position_id>/history"): lambda api, d: {
        "path": {"position_id": d["position"]}},
    ("GET", "/api/v1/scan/<string:token>"): lambda api, d: {
        "path": {"token": d["token"]}},
    ("GET", "/scan/<string:token>"): lambda api, d: {"path": {"token": d["token"]}},
    ("POST", "/api/v1/inspections"): lambda api, d: {
        "body": fixtures.Site(d["enterprise"], d["position"], api.get(
            "/api/v1/checklists/%s/versions/1" % d["checklist"]).json()).inspection(),
        "status": 201},
    ("GET", "/api/v1/inspections"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "kind": "self", "sort": "items_failed"}},
    ("GET", "/api/v1/inspections/export.csv"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "lang": "zh"}},
    ("GET", "/api/v1/inspections/export.xlsx"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"]}},
    ("GET", "/api/v1/inspections/<string:inspection_id>"): lambda api, d: {
        "path": {"inspection_id": d["inspection"]}},
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/safety-actions"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "status": 201,
        "body": {"kind": "drill", "topic": "evacuation", "people": 30,
                 "held_on": factories.ago(days=1).date().isoformat(),
                 "recorded_by": "safety.manager"}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/safety-actions"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "query": {"kind": "training"}},
    ("GET", "/api/v1/violation-classes"): lambda api, d: {},
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/schedules"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "token": d["manager_token"], "status": 201,
        "body": _schedule(d, frequency="shift", weekdays=[], shifts=[
            {"name": "早班", "start": "08:00", "end": "16:00"},
            {"name": "夜班", "start": "22:00", "end": "06:00"}])},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/schedules"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}},
    ("POST", "/api/v1/schedules/<string:schedule_id>/end"): lambda api, d: {
        "path": {"schedule_id": created(Api(api.base_url, d["manager_token"]).post(
            "/api/v1/enterprises/%s/schedules" % d["enterprise"], _schedule(d)))["id"]},
        "token": d["manager_token"], "body": {"reason": "停产检修"}},
    ("GET", "/api/v1/rounds"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"],
                  "from": utcnow().date().isoformat(),
                  "to": (utcnow() + timedelta(days=7)).date().isoformat()}},
    ("GET", "/api/v1/hazard-categories"): lambda api, d: {},
    ("GET", "/api/v1/statistics/inspections"): lambda api, d: {
        "query": {"group_by": "town", "from": factories.ago(days=30).date().isoformat(),
                  "to": factories.ago(days=0).date().isoformat(),
                  "compare": "previous_period"}},
    ("GET", "/api/v1/statistics/training"): lambda api, d: {
        "query": {"from": factories.ago(days=30).date().isoformat()}},
    ("POST", "/api/v1/hazards"): lambda api, d: {
        "body": factories.hazard(d["enterprise"], position_id=d["position"]), "status": 201},
    ("GET", "/api/v1/hazards"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "sort": "level", "size": 3,
                  "q": "FIRE", "from": factories.ago(days=30).date().isoformat()}},
    ("GET", "/api/v1/statistics/hazards"): lambda api, d: {
        "query": {"group_by": "month", "enterprise_id": d["enterprise"]}},
    ("GET", "/api/v1/hazards/export.csv"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "lang": "zh"}},
    ("GET", "/api/v1/hazards/export.xlsx"): lambda api, d: {
        "query": {"enterprise_id": d["enterprise"], "overdue": "false"}},
    ("GET", "/api/v1/hazards/<string:hazard_id>"): lambda api, d: {
        "path": {"hazard_id": d["hazard"]}},
    ("GET", "/api/v1/hazards/<string:hazard_id>/history"): lambda api, d: {
        "path": {"hazard_id": d["hazard"]}},
    ("GET", "/api/v1/hazards/<string:hazard_id>/rectification-notice.pdf"): lambda api, d: {
        "path": {"hazard_id": d["hazard"]}},
    ("POST", "/api/v1/hazards/<string:hazard_id>/plan"): lambda api, d: {
        "path": {"hazard_id": _hazard(api, d, level="major")}, "body": _plan(), "status": 201},
    ("POST", "/api/v1/hazards/<string:hazard_id>/rectification"): lambda api, d: {
        "path": {"hazard_id": _hazard(api, d)}, "body": _rectification(), "status": 201},
    ("POST", "/api/v1/hazards/<string:hazard_id>/verification"): lambda api, d: {
        "path": {"hazard_id": _rectified_hazard(api, d)}, "status": 201,
        "body": {"outcome": "verified", "verifier": "chen.jie", "comment": "holds"}},
    ("POST", "/api/v1/hazards/<string:hazard_id>/assignment"): lambda api, d: {
        "path": {"hazard_id": _hazard(api, d)}, "status": 201,
        "body": {"assignee": _assignee(api, d), "note": "今天下班前整改"}},
    ("GET", "/api/v1/me/work"): lambda api, d: {"token": d["manager_token"]},
    ("POST", "/api/v1/hazards/<string:hazard_id>/listing"): lambda api, d: {
        "path": {"hazard_id": _hazard(api, d, level="major")}, "body": _listing(),
        "status": 201},
    ("POST", "/api/v1/hazards/<string:hazard_id>/delisting"): lambda api, d: {
        "path": {"hazard_id": _listed_and_verified_hazard(api, d)},
        "body": {"note": "复查合格"}},
    ("POST", "/api/v1/evidence"): lambda api, d: {
        "raw": (factories.image("JPEG"), "image/jpeg"), "query": {"enterprise_id": d["enterprise"]},
        "status": 201},
    ("GET", "/api/v1/evidence/<string:ref>"): lambda api, d: {"path": {"ref": d["evidence"]}},
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/notices"): lambda api, d: {
        "path": {"enterprise_id": d["enterprise"]}, "query": {"unread": "true"}},
    ("GET", "/api/v1/notices"): lambda api, d: {
        "query": {"recipient": "enterprise:" + d["enterprise"], "sort": "issued_at"}},
    ("GET", "/api/v1/notices/<string:notice_id>"): lambda api, d: {
        "path": {"notice_id": d["notice"]}},
    ("POST", "/api/v1/notices/<string:notice_id>/read"): lambda api, d: {
        "path": {"notice_id": d["notice"]}, "body": {},
        "token": d["manager_token"]},
    ("POST", "/api/v1/publications"): lambda api, d: {
        "body": {"title": "Holiday", "body": "Closed.", "audience": "town",
                 "audience_value": "Wukang", "published_by": "Deqing ESB"}, "status": 201},
    ("GET", "/api/v1/publications"): lambda api, d: {"query": {"audience": "grid"}},
    ("GET", "/api/v1/publications/<string:publication_id>"): lambda api, d: {
        "path": {"publication_id": d["publication"]}},
    ("GET", "/api/v1/recipients/<string:recipient>/settings"): lambda api, d: {
        "path": {"recipient": "enterprise:" + d["enterprise"]}},
    ("PUT", "/api/v1/recipients/<string:recipient>/settings"): lambda api, d: {
        "path": {"recipient": "grid:Wukang-1"}, "body": {"language": "zh"}},
    ("POST", "/api/v1/webhooks"): lambda api, d: {
        "body": {"url": "https://example.org/hook", "event_types": ["einspection.notice.#"]},
        "status": 201},
    ("GET", "/api/v1/webhooks"): lambda api, d: {"query": {"cancelled": "false"}},
    ("GET", "/api/v1/webhooks/<string:subscription_id>"): lambda api, d: {
        "path": {"subscription_id": d["webhook"]}},
    ("DELETE", "/api/v1/webhooks/<string:subscription_id>"): lambda api, d: {
        "path": {"subscription_id": _webhook(api)}},
    ("POST", "/api/v1/webhooks/<string:subscription_id>/secret-rotation"): lambda api, d: {
        "path": {"subscription_id": _webhook(api)}, "body": {"overlap_hours": 1}},
    ("GET", "/api/v1/webhooks/<string:subscription_id>/deliveries"): lambda api, d: {
        "path": {"subscription_id": d["webhook"]}, "query": {"status": "delivered"}},
    ("POST", "/api/v1/campaigns"): lambda api, d: {"body": CAMPAIGN, "status": 201},
    ("GET", "/api/v1/campaigns"): lambda api, d: {"query": {"status": "assigned"}},
    ("GET", "/api/v1/campaigns/<string:campaign_id>"): lambda api, d: {
        "path": {"campaign_id": d["campaign"]}},
    ("GET", "/api/v1/campaigns/<string:campaign_id>/candidates"): lambda api, d: {
        "path": {"campaign_id": d["campaign"]}},
    ("POST", "/api/v1/campaigns/<string:campaign_id>/commit"): lambda api, d: {
        "path": {"campaign_id": _campaign(api)}},
    ("POST", "/api/v1/campaigns/<string:campaign_id>/draw"): lambda api, d: {
        "path": {"campaign_id": _campaign(api, "committed")}, "body": DRAW},
    ("POST", "/api/v1/campaigns/<string:campaign_id>/draw/verify"): lambda api, d: {
        "path": {"campaign_id": d["campaign"]}},
    ("GET", "/api/v1/campaigns/<string:campaign_id>/draw/record"): lambda api, d: {
        "path": {"campaign_id": d["campaign"]}},
    ("POST", "/api/v1/campaigns/<string:campaign_id>/assignments"): lambda api, d: {
        "path": {"campaign_id": _campaign(api, "drawn")}, "body": {}},
    ("POST", "/api/v1/cases"): lambda api, d: {
        "body": {"inspection_id": created(api.get("/api/v1/cases/" + d["case"]),
                                          200)["inspection_id"]}, "status": 201},
    ("GET", "/api/v1/cases"): lambda api, d: {"query": {"enterprise_id": d["enterprise"],
                                                       "sort": "-imposed"}},
    ("GET", "/api/v1/cases/<string:case_id>"): lambda api, d: {"path": {"case_id": d["case"]}},
    ("POST", "/api/v1/cases/<string:case_id>/citations"): lambda api, d: {
        "path": {"case_id": _case(api, d)}, "body": _citation(), "status": 201},
    ("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/withdrawal"):
        lambda api, d: {"path": _cited(api, d), "body": {"reason": "事实不清"}},
    ("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/abatement"):
        lambda api, d: {"path": _cited(api, d), "body": {}},
    ("POST", "/api/v1/cases/<string:case_id>/penalty"): lambda api, d: (lambda cited: {
        "path": {"case_id": cited["case_id"]}, "body": {"fines": [
            {"citation_id": cited["citation_id"], "fine_imposed": "0.10"}]}})(_cited(api, d)),
    ("POST", "/api/v1/cases/<string:case_id>/payments"): lambda api, d: {
        "path": {"case_id": _case(api, d, citations=2, decided=True)}, "status": 201,
        "body": {"amount": "0.15", "paid_on": factories.ago(days=0).date().isoformat(),
                 "reference": "receipt-" + uuid.uuid4().hex[:8]}},
    ("POST", "/api/v1/cases/<string:case_id>/close"): lambda api, d: {
        "path": {"case_id": _case(api, d)}, "body": {"outcome": "no_penalty"}},
    ("GET", "/api/v1/statistics/enforcement"): lambda api, d: {
        "query": {"group_by": "enterprise", "currency": "CNY", "sort": "-fines_imposed",
                  "limit": 5}},
}


def test_every_operation_has_a_real_data_request():
    assert set(REAL_REQUESTS) == set(openapi.ROUTES)


@pytest.fixture(scope="module")
def served_schema(contract_platform):
    document = requests.get(contract_platform.base_url + "/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=contract_platform.base_url)
    return schema


def test_the_served_document_is_the_built_one_and_valid(contract_platform):
    served = requests.get(contract_platform.base_url + "/openapi.json", timeout=30).json()
    assert differences(served, openapi.build(GatewayService)) == []
    assert openapi_problems(served) == []


def differences(one, other, pointer=""):
    """JSON pointers where two JSON documents differ."""
    if isinstance(one, dict) and isinstance(other, dict):
        return [found for key in sorted(set(one) | set(other))
                for found in (differences(one[key], other[key], pointer + "/" + key)
                              if key in one and key in other else [pointer + "/" + key])]
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        return [found for index, (a, b) in enumerate(zip(one, other))
                for found in differences(a, b, "%s/%d" % (pointer, index))]
    return [] if one == other else ["%s: %r != %r" % (pointer, one, other)]


def test_every_operation_answers_real_data_as_documented(contract_platform, served_schema):
    api, data = contract_api(contract_platform), contract_platform.data
    failures = []
    for (method, werkzeug_path), build in sorted(REAL_REQUESTS.items()):
        request = build(api, data)
        path = openapi.openapi_path(werkzeug_path)
        url = contract_platform.base_url + path.format(**request.get("path", {}))
        kwargs = {"params": request.get("query"), "timeout": 30,
                  "headers": {"Authorization": "Bearer " + request.get(
                      "token", contract_platform.token)}}
        if "body" in request:
            kwargs["json"] = request["body"]
        if "raw" in request:
            kwargs["data"], content_type = request["raw"]
            kwargs["headers"]["Content-Type"] = content_type
        response = requests.request(method, url, **kwargs)
        if response.status_code != request.get("status", 200):
            failures.append("%s %s: %s %s" % (method, path, response.status_code,
                                               response.text[:300]))
            continue
        case = served_schema[path][method].Case(path_parameters=request.get("path"),
                                                query=request.get("query"))
        try:
            case.validate_response(response, checks=[
                not_a_server_error, response_schema_conformance, status_code_conformance,
                content_type_conformance])
        except FailureGroup as exc:
            failures.append("%s %s: %s" % (method, path, "\n".join(str(exc).splitlines()[:14])))
    assert failures == [], "\n\n".join(failures)


def contract_api(contract_platform):
    return Api(contract_platform.base_url, contract_platform.token)


# --- every command, twice with one Idempotency-Key ---------------------------------------

# The two commands whose repeat is not their first answer, and what it is instead:
# a password change answers a new token (the gateway makes one per answer) for the
# same account; a password reset's temporary password is kept nowhere, so its
# repeat is a 409 with the rest of the first answer.
REPEAT_ANSWERS = {
    ("POST", "/api/v1/auth/password"): lambda first, again: (
        again.status_code, _at(again, "account")) == (first.status_code, _at(first, "account")),
    ("POST", "/api/v1/accounts/<string:account_id>/password-reset"): lambda first, again: (
        again.status_code == 409 and _at(again, "error", "current")
        == {"account": _at(first, "account")}),
}


def _at(response, *keys):
    """The answer's value at `keys`, or None."""
    value = response.json()
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


WRITING_SERVICES = {"hazard": HazardService, "checklist": ChecklistService,
                    "notify": NotifyService, "enforcement": EnforcementService}


def command_rpcs(service_class):
    """The RPC commands of a service: its @rpc methods that take `acting`."""
    return {name for name in dir(service_class)
            if any(isinstance(entrypoint, Rpc) for entrypoint in
                   getattr(getattr(service_class, name), "nameko_entrypoints", ()))
            and "acting" in inspect.signature(getattr(service_class, name)).parameters}


def recorded_by(url, username, since):
    """Events of one store recorded by `username` since `since`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [row.name for row in conn.execute(
                select(eventstore.events.c.name, eventstore.events.c.metadata)
                .where(eventstore.events.c.recorded_at >= since))
                if json.loads(row.metadata)["actor"] == username]
    finally:
        engine.dispose()


def journaled(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {(row.command_id, row.command) for row in conn.execute(
                select(eventstore.commands.c.command_id, eventstore.commands.c.command))}
    finally:
        engine.dispose()


def test_every_command_sent_again_with_its_key_answers_the_same_and_records_nothing(
        contract_platform):
    """Every operation that runs a command, with real data, twice with one
    Idempotency-Key: the second answer is the first (status and body), and
    the service that journaled it records nothing more. And every RPC
    command of every service is in a journal: none records events outside it."""
    api, data, urls = contract_api(contract_platform), contract_platform.data, \
        contract_platform.urls
    who, failures, routes = {}, [], openapi.http_routes(GatewayService)
    for (method, werkzeug_path), build in sorted(REAL_REQUESTS.items()):
        operation = openapi.ROUTES[(method, werkzeug_path)]
        public, _roles = openapi.access(GatewayService, operation.access_of or
                                        routes[(method, werkzeug_path)])
        if not operation.is_command(method, public):
            continue
        request = build(api, data)
        token = request.get("token", contract_platform.token)
        if token not in who:
            who[token] = requests.get(contract_platform.base_url + "/api/v1/auth/me", timeout=30,
                                      headers={"Authorization": "Bearer " + token}).json()
        key = "table-" + uuid.uuid4().hex
        url = contract_platform.base_url + openapi.openapi_path(werkzeug_path).format(
            **request.get("path", {}))
        kwargs = {"params": request.get("query"), "timeout": 30, "headers": {
            "Authorization": "Bearer " + token, "Idempotency-Key": key}}
        if "body" in request:
            kwargs["json"] = request["body"]
        if "raw" in request:
            kwargs["data"], kwargs["headers"]["Content-Type"] = request["raw"]
        first = requests.request(method, url, **kwargs)
        since = utcnow()
        again = requests.request(method, url, **kwargs)
        name = "%s %s" % (method, werkzeug_path)
        if first.status_code >= 300:
            failures.append("%s: the first request answered %s %s" % (
                name, first.status_code, first.text[:200]))
            continue
        same = REPEAT_ANSWERS.get((method, werkzeug_path), lambda one, other: (
            other.status_code, other.json()) == (one.status_code, one.json()))
        if not same(first, again):
            failures.append("%s: %s %s, then %s %s" % (name, first.status_code, first.text[:200],
                                                       again.status_code, again.text[:200]))
        command_id = hashlib.sha256(("%s\n%s" % (who[token]["account_id"], key))
                                    .encode()).hexdigest()
        owners = [service for service in WRITING_SERVICES if command_id in
                  {journaled_id for journaled_id, _ in journaled(urls[service])}]
        if len(owners) != 1:
            failures.append("%s: journaled by %s" % (name, owners or "no service"))
            continue
        more = recorded_by(urls[owners[0]], who[token]["username"], since)
        if more:
            failures.append("%s: its repeat recorded %s" % (name, more))
    assert failures == [], "\n".join(failures)
    for service, service_class in WRITING_SERVICES.items():
        names = {command for _, command in journaled(urls[service])}
        assert command_rpcs(service_class) - names == set(), "%s commands not journaled" % service


def test_unknown_paths_and_methods_answer_the_one_error_shape(contract_platform):
    base = contract_platform.base_url
    session = contract_api(contract_platform).session       # as the admin: past the 401
    missing = session.get(base + "/api/v1/nothing/here", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404
    wrong = session.delete(base + "/api/v1/hazards", timeout=30)
    assert wrong.status_code == 405 and set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert wrong.json()["error"]["status"] == 405
    slashed = session.get(base + "/api/v1/hazards/a%2Fb", timeout=30)   # '/' cannot be in an id
    assert slashed.status_code == 404 and "error" in slashed.json()
    too_big = session.get(base + "/api/v1/checklists/x/versions/99999999999", timeout=30)
    assert too_big.status_code == 400 and "version" in too_big.json()["error"]["fields"]
    long_id = session.get(base + "/api/v1/hazards/" + "h" * 65, timeout=30)
    assert long_id.status_code == 400 and "hazard_id" in long_id.json()["error"]["fields"]
    nul = session.get(base + "/api/v1/hazards", params={"category": "a\x00b"}, timeout=30)
    assert nul.status_code == 400 and "category" in nul.json()["error"]["fields"]
    nul_body = session.post(base + "/api/v1/publications", timeout=30, data=(
        '{"title": "t\\u0000", "body": "\\ud800", "audience": "all", "published_by": "me"}'))
    assert nul_body.status_code == 400
    assert set(nul_body.json()["error"]["fields"]) == {"title", "body"}
    slashed_grid = session.post(base + "/api/v1/enterprises", json=factories.enterprise(
        grid="Wukang/1"), timeout=30)           # its inbox settings could not be addressed
    assert slashed_grid.status_code == 400 and "grid" in slashed_grid.json()["error"]["fields"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_the_docs_page_shows_every_operation_without_the_internet(contract_platform, tmp_path):
    """/docs in headless Chromium that can resolve no host but this one: the
    page's script reads /openapi.json and lists every operation."""
    document = requests.get(contract_platform.base_url + "/openapi.json", timeout=30).json()
    page = requests.get(contract_platform.base_url + "/docs", timeout=30)
    assert page.headers["Content-Type"].startswith("text/html")
    assert re.search(r"""(src|href)=["']?(https?:)?//""", page.text) is None
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--user-data-dir=" + str(tmp_path / "profile"),
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=10000", "--dump-dom", contract_platform.base_url + "/docs"],
        capture_output=True, text=True, timeout=120).stdout
    operations = [(method, path) for path, item in document["paths"].items()
                  for method in item]
    assert dom.count('class="op"') == len(operations)
    for method, path in operations:
        assert '<span class="path">%s</span>' % html.escape(path) in dom, path
    for language in messages.LANGUAGES:                    # the page's "loading" is gone
        assert messages.catalogue(language)["docs.loading"] not in html.unescape(dom)


def test_lists_page_and_sort_the_same_way(contract_platform):
    api, data = contract_api(contract_platform), contract_platform.data
    for path in ("/api/v1/enterprises", "/api/v1/accounts", "/api/v1/checklists", "/api/v1/publications",
                 "/api/v1/webhooks", "/api/v1/hazards", "/api/v1/inspections",
                 "/api/v1/enterprises/%s/positions" % data["enterprise"],
                 "/api/v1/enterprises/%s/safety-actions" % data["enterprise"],
                 "/api/v1/enterprises/%s/notices" % data["enterprise"],
                 "/api/v1/webhooks/%s/deliveries" % data["webhook"], "/api/v1/campaigns",
                 "/api/v1/cases"):
        first = created(api.get(path, params={"size": 1}), 200)
        assert first["page"] == 1 and first["size"] == 1 and len(first["items"]) <= 1, path
        assert first["pages"] == first["total"], path
        assert api.get(path, params={"size": 201}).status_code == 400, path
        assert "sort" in api.get(path, params={"sort": "nonsense"}).json()["error"]["fields"], path
    positions = created(api.get("/api/v1/enterprises/%s/positions" % data["enterprise"],
                                params={"sort": "-name"}), 200)["items"]
    assert [p["name"] for p in positions] == sorted((p["name"] for p in positions), reverse=True)
    assert len(positions) >= 2


# --- schemathesis: generated input for every operation ---------------------------------
# Its command line, in processes of their own: schemathesis' pytest
# integration does not run under this suite's pytest (9), and the test process
# is eventlet-patched anyway. Settings, checks included: schemathesis.toml.

SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
SETTINGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "schemathesis.toml")
_FIRST_HALF = (r"^/api/v1/(hazards|evidence|notices|publications|recipients|webhooks|rankings|"
               r"grades|cases)")
SHARDS = [("--include-path-regex", _FIRST_HALF), ("--exclude-path-regex", _FIRST_HALF)]


def with_real_examples(document, data):
    """The document with the seeded ids as examples of the path parameters and
    body fields that take them: schemathesis starts its cases from examples,
    so generated input also reaches existing enterprises, hazards, checklists
    (the state checks, the domain rules) and not only 404s."""
    examples = {"enterprise_id": data["enterprise"], "checklist_id": data["checklist"],
                "version": data["version"], "position_id": data["position"],
                "inspection_id": data["inspection"], "hazard_id": data["hazard"],
                "notice_id": data["notice"], "publication_id": data["publication"],
                "subscription_id": data["webhook"], "ref": data["evidence"],
                "token": data["token"], "recipient": "enterprise:" + data["enterprise"],
                "checklist_version": data["version"], "campaign_id": data["campaign"],
                "case_id": data["case"]}
    document = json.loads(json.dumps(document))
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    for schema in document["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            if name in examples and "$ref" not in prop:
                prop["example"] = examples[name]
    return document


def schemathesis_command(document_path, base_url, report_path, shard, headers=()):
    """schemathesis with the repository's settings (schemathesis.toml: the
    examples, coverage and fuzzing phases, valid and invalid input, the same
    cases every run) on the operations of one shard."""
    command = [SCHEMATHESIS, "--config-file", SETTINGS, "run", document_path, "--url", base_url,
               *shard, "--no-color", "--warnings", "off",
               "--report", "junit", "--report-junit-path", report_path]
    for header in headers:
        command += ["--header", header]
    return command


# about 2 minutes alone; beside two other shards on a 2-core machine it has needed over 5
@pytest.mark.timeout(900)
def test_generated_requests_get_no_server_error_and_documented_answers(contract_platform,
                                                                         tmp_path):
    if contract_platform.backend != "postgres":
        # generated requests probe the HTTP contract, which does not depend on
        # the store: fuzzed once, on the production database; this module's
        # real-data tests answer on both
        pytest.skip("schemathesis runs on PostgreSQL only")
    served = requests.get(contract_platform.base_url + "/openapi.json", timeout=30).json()
    document = tmp_path / "openapi-with-examples.json"
    document.write_text(json.dumps(with_real_examples(served, contract_platform.data)))
    # Two processes, one shard of the operations each: the platform answers
    # two clients faster than one (a request mostly waits on RPC).
    runs = [(subprocess.Popen(schemathesis_command(
                 str(document), contract_platform.base_url, str(tmp_path / ("report-%d.xml" % n)),
                 shard, headers=["Authorization: Bearer " + contract_platform.token]),
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
             tmp_path / ("report-%d.xml" % n)) for n, shard in enumerate(SHARDS)]
    tested, failed = set(), []
    for process, report in runs:
        output, _ = process.communicate(timeout=900)
        if process.returncode != 0:
            failed.append(output[-15000:])
        else:
            tested |= {case.get("name")
                       for case in ElementTree.parse(report).getroot().iter("testcase")}
    assert failed == [], "\n".join(failed)
    operations = sum(len(item) for item in served["paths"].values())
    assert len(tested) == operations, "schemathesis tested %d of %d operations" % (
        len(tested), operations)
