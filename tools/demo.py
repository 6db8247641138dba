"""A small living data set for `make run`: towns, grids, enterprises, and
three months of hazards, rectifications and inspections — loaded through the
HTTP API like any client would."""
import io
import random
import time
from datetime import datetime, timedelta, timezone

import requests
from PIL import Image, ImageDraw

from services.checklist.credit_code import complete

ENTERPRISES = [
    # name, industry, town, grid, 17 characters of credit code, (lat, lon)
    ("Baide Fabrics", "textiles", "Wukang", "Wukang-1", "91330521MA28C0B10", (30.545, 119.970)),
    ("Deqing Bolly Coating Machinery", "machinery", "Wukang", "Wukang-2", "91330521MA28C0B20",
     (30.552, 119.958)),
    ("Zhejiang Huacai Chemicals", "chemicals", "Wuyang", "Wuyang-1", "91330521MA28C0B30",
     (30.560, 119.990)),
    ("Deqing Delman Piano", "manufacturing", "Qianyuan", "Qianyuan-1", "91330521MA28C0B40",
     (30.612, 120.081)),
    ("Zhejiang Zhebei Pharmaceutical", "pharmaceuticals", "Qianyuan", "Qianyuan-1",
     "91330521MA28C0B50", (30.618, 120.090)),
    ("Huzhou Jinlang Winery", "food and drink", "Xinshi", "Xinshi-1", "91330521MA28C0B60",
     (30.630, 120.300)),
]

# Their accounts are <prefix>.<name> (e.g. baide.manager); one not listed has its credit code.
ACCOUNT_PREFIXES = {"Baide Fabrics": "baide", "Deqing Bolly Coating Machinery": "bolly",
                    "Zhejiang Huacai Chemicals": "huacai", "Deqing Delman Piano": "delman",
                    "Zhejiang Zhebei Pharmaceutical": "zhebei", "Huzhou Jinlang Winery": "jinlang"}

CATEGORIES = ["electrical", "fire", "machinery", "chemicals", "housekeeping", "PPE"]

GENERAL_ITEMS = [
    ("Fire exits and escape routes are free", "fire", "GB 50016-2014 5.5.17", 2, True, False),
    ("Extinguishers in place and inspected this month", "fire", "GB 50444-2008 5.2", 1, False,
     False),
    ("Distribution cabinets closed and locked", "electrical", "GB/T 13869-2017 5.4", 2, False,
     True),
    ("Machine guards fitted", "machinery", "GB/T 8196-2018 5", 2, True, False),
    ("Aisles marked and clear", "housekeeping", "", 1, False, False),
    ("Workers wear the required PPE", "PPE", "GB 39800.1-2020 4", 1, False, False),
]


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _general_checklist(session, base_url):
    """A published universal checklist for every enterprise; returns its version."""
    created = session.post(base_url + "/api/v1/checklists", json={
        "title": "General workplace safety round", "scope": "universal", "items": [
            {"prompt": prompt, "category": category, "legal_basis": basis, "weight": weight,
             "major": major, "photo_required": photo}
            for prompt, category, basis, weight, major, photo in GENERAL_ITEMS]}, timeout=30)
    created.raise_for_status()
    checklist_id = created.json()["id"]
    session.post(base_url + "/api/v1/checklists/%s/publish" % checklist_id,
                 timeout=30).raise_for_status()
    return session.get(base_url + "/api/v1/checklists/%s/versions/1" % checklist_id,
                       timeout=30).json()


DEMO_PASSWORD = "demo-password-1"


def load(base_url, admin_token, seed=2016):
    """Load the demo set unless enterprises are registered already, as the
    authority admin. Returns the enterprises' ids (new or existing) and the
    demo accounts [(username, password, role)]."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + admin_token
    existing = session.get(base_url + "/api/v1/enterprises", timeout=30).json()["items"]
    if existing:
        return [e["id"] for e in existing], _accounts(session, base_url, existing[0]["id"])
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    checklist = _general_checklist(session, base_url)
    ids = []
    for number, (name, industry, town, grid, code, (lat, lon)) in enumerate(ENTERPRISES):
        response = session.post(base_url + "/api/v1/enterprises", json={
            "credit_code": complete(code), "name": name, "industry": industry, "town": town,
            "grid": grid, "address": "%d Example Road, %s" % (number + 1, town),
            "latitude": lat, "longitude": lon, "employees": rng.randrange(30, 600),
            "account_prefix": ACCOUNT_PREFIXES.get(name)}, timeout=30)
        response.raise_for_status()
        enterprise_id = response.json()["id"]
        ids.append(enterprise_id)
        if number % 2 == 0:         # the others read their notices in Chinese, the default
            session.put(base_url + "/api/v1/recipients/enterprise:%s/settings" % enterprise_id,
                        json={"language": "en", "emails": []}, timeout=30).raise_for_status()
        diligence = 1.0 - number / len(ENTERPRISES)     # the first is the model enterprise
        workshops = [session.post(base_url + "/api/v1/enterprises/%s/positions" % enterprise_id,
                                  json={"name": "Workshop %d" % (n + 1), "latitude": lat,
                                        "longitude": lon,
                                        "checklist_ids": [checklist["checklist_id"]]},
                                  timeout=30).json()["id"] for n in range(3)]
        photo = _photo(session, base_url, enterprise_id, rng)
        for week in range(13):
            if rng.random() < diligence + 0.15:
                completed = now - timedelta(days=7 * week + rng.random() * 3)
                # Only this week's round finds something: a failed item becomes a
                # hazard recorded now, and one found weeks ago would count as late.
                failure_rate = 0.05 + 0.3 * (1 - diligence) if week == 0 else 0.0
                results = [{"item_id": item["item_id"],
                            "result": "fail" if rng.random() < failure_rate else "pass",
                            "note": "seen on the weekly round", "photos": [photo]}
                           for item in checklist["items"]]
                session.post(base_url + "/api/v1/inspections", json={
                    "enterprise_id": enterprise_id, "position_id": workshops[week % 3],
                    "checklist_id": checklist["checklist_id"],
                    "checklist_version": checklist["version"], "kind": "self",
                    "started_at": iso(completed - timedelta(minutes=40)),
                    "completed_at": iso(completed), "results": results,
                    "inspector": "safety.manager"}, timeout=30).raise_for_status()
        _safety_actions(session, base_url, enterprise_id, rng, diligence, now)
        for _ in range(rng.randrange(2, 6)):
            late = rng.random() > diligence
            found = now - (timedelta(days=rng.randrange(3, 20)) if late
                           else timedelta(hours=rng.randrange(1, 20)))
            hazard = session.post(base_url + "/api/v1/hazards", json={
                "enterprise_id": enterprise_id, "level": rng.choice(["general"] * 4 + ["major"]),
                "category": rng.choice(CATEGORIES),
                "description": "found during the weekly round",
                "found_at": iso(found), "reporter": "shift.leader",
                "rectification_deadline": iso(found + timedelta(days=rng.choice([7, 30])))},
                timeout=30)
            hazard.raise_for_status()
            if rng.random() < diligence + 0.2:
                if hazard.json()["level"] == "major":      # a major hazard needs a plan first
                    session.post(base_url + "/api/v1/hazards/%s/plan" % hazard.json()["id"],
                                 json={"goal": "hazard removed for good",
                                       "measures": "repair and re-inspect", "funds": "5000",
                                       "responsible_person": "safety.manager",
                                       "deadline": iso(found + timedelta(days=20)),
                                       "interim_measures": "area fenced off"},
                                 timeout=30).raise_for_status()
                session.post(base_url + "/api/v1/hazards/%s/rectification" % hazard.json()["id"],
                             json={"measures": "fixed and checked by the safety manager",
                                   "done_at": iso(now - timedelta(minutes=rng.randrange(1, 60))),
                                   "evidence": []}, timeout=30).raise_for_status()
    _enforcement_notice(session, base_url)
    return ids, _accounts(session, base_url, ids[0])


def _photo(session, base_url, enterprise_id, rng):
    """A photo of the round, uploaded as the enterprise's evidence: its ref."""
    image = Image.new("RGB", (320, 240), (rng.randrange(60, 200), 110, 120))
    ImageDraw.Draw(image).rectangle((100, 40, 220, 200), fill=(205, 205, 195), outline=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    response = session.post(base_url + "/api/v1/evidence", data=out.getvalue(), timeout=30,
                            params={"enterprise_id": enterprise_id},
                            headers={"Content-Type": "image/jpeg"})
    response.raise_for_status()
    return response.json()["ref"]


def _accounts(session, base_url, enterprise_id):
    """One account per role, over the model enterprise (Baide Fabrics),
    its grid and town; created once."""
    wanted = [("baide.manager", "enterprise_manager", {"enterprise_id": enterprise_id}),
              ("baide.staff", "enterprise_staff", {"enterprise_id": enterprise_id}),
              ("wukang1.grid", "grid_officer", {"grid": "Wukang-1"}),
              ("wukang.town", "town_officer", {"town": "Wukang"}),
              ("bureau.inspector", "authority_inspector", {}),
              ("integrator.demo", "integrator", {"grants": [enterprise_id]})]
    for username, role, anchor in wanted:
        response = session.post(base_url + "/api/v1/accounts", json=dict(
            anchor, username=username, password=DEMO_PASSWORD, role=role), timeout=30)
        if response.status_code != 409:        # 409: there from an earlier run
            response.raise_for_status()
    return [(username, DEMO_PASSWORD, role) for username, role, _ in wanted]


def _enforcement_notice(session, base_url):
    """The seed's publication of information: the bureau tells a town's
    enterprises of its next enforcement round (once notify knows them)."""
    for _ in range(50):
        response = session.post(base_url + "/api/v1/publications", json={
            "title": "Enforcement inspections in Wukang next month",
            "body": "The county bureau will inspect fire exits, electrical cabinets and "
                    "hazard ledgers in every Wukang enterprise next month. Enterprises graded "
                    "D or E are visited first.",
            "audience": "town", "audience_value": "Wukang",
            "published_by": "Deqing Emergency Management Bureau"}, timeout=30)
        if response.status_code == 201:
            return
        time.sleep(0.2)
    response.raise_for_status()


def _safety_actions(session, base_url, enterprise_id, rng, diligence, now):
    """A monthly training or drill and daily management records, as often as
    the enterprise is diligent."""
    url = base_url + "/api/v1/enterprises/%s/safety-actions" % enterprise_id
    for month in range(3):
        if rng.random() < diligence + 0.1:
            session.post(url, json={
                "kind": rng.choice(["training", "drill", "meeting"]),
                "topic": rng.choice(["fire safety", "electrical safety", "forklift operation"]),
                "held_on": (now - timedelta(days=30 * month + 3)).date().isoformat(),
                "people": rng.randrange(10, 80), "recorded_by": "safety.manager"},
                timeout=30).raise_for_status()
    for day in range(0, 90, 2):
        if rng.random() < diligence:
            session.post(url, json={
                "kind": "daily_record", "topic": "shift handover safety check",
                "held_on": (now - timedelta(days=day)).date().isoformat(),
                "recorded_by": "shift.leader"}, timeout=30).raise_for_status()
