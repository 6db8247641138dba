"""Valid request bodies for the API, varied enough to be realistic."""
import io
import os
import random
import string
from datetime import datetime, timedelta, timezone

from PIL import Image
from pypdf import PdfWriter

from services.checklist.credit_code import ALPHABET, complete

def image(kind="PNG", size=(8, 6), colour=(200, 60, 40)):
    """A real image file: evidence the store decodes."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def unique_photo(kind="PNG", size=(8, 6)):
    """An image no other test has: random pixels (one ref per call)."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, kind)
    return out.getvalue()


def pdf(pages=1):
    """A real PDF of blank A4 pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PNG = image()          # a small photo, the same bytes every time (one ref)

TOWNS = {"Wukang": ["Wukang-1", "Wukang-2"], "Qianyuan": ["Qianyuan-1"], "Xinshi": ["Xinshi-1"]}


def credit_code(rng=random):
    # 91 = enterprise registered with the market regulator; 330521 = Deqing county
    return complete("91330521" + "".join(rng.choice(ALPHABET[:-1]) for _ in range(9)))


def enterprise(name=None, town="Wukang", grid="Wukang-1", industry="textiles"):
    return {"credit_code": credit_code(), "town": town, "grid": grid, "industry": industry,
            "name": name or "Enterprise " + "".join(random.choices(string.ascii_uppercase, k=6)),
            "address": "1 Example Road", "latitude": 30.54, "longitude": 119.96,
            "employees": 120}


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def ago(**delta):
    return datetime.now(timezone.utc) - timedelta(**delta)


def hazard(enterprise_id, found_hours_ago=1, level="general", **extra):
    body = {"enterprise_id": enterprise_id, "level": level, "category": "electrical",
            "description": "distribution cabinet door open, live parts exposed",
            "found_at": iso(ago(hours=found_hours_ago)), "reporter": "safety.manager"}
    body.update(extra)
    return body


def checklist(enterprise_id=None, title="Daily fire and electrical round", items=None,
              industry=None, required_frequency=None):
    """An enterprise checklist (or a universal one without enterprise_id)."""
    body = {"title": title, "scope": "enterprise" if enterprise_id else "universal",
            "items": items if items is not None else [
                {"prompt": "Fire exits and escape routes are free", "category": "fire",
                 "legal_basis": "GB 50016-2014 5.5.17", "weight": 2, "major": True},
                {"prompt": "Extinguishers inspected this month", "category": "fire",
                 "legal_basis": "GB 50444-2008 5.2", "weight": 1},
                {"prompt": "Distribution cabinets closed and locked", "category": "electrical",
                 "legal_basis": "GB/T 13869-2017 5.4", "weight": 2, "photo_required": True},
                {"prompt": "Forklift daily check sheet filled in", "category": "machinery",
                 "weight": 1}]}
    if enterprise_id:
        body["enterprise_id"] = enterprise_id
    if industry:
        body["industry"] = industry
    if required_frequency:
        body["required_frequency"] = required_frequency
    return body


def inspection(enterprise_id, position_id, version, completed_days_ago=0, kind="self",
               failed=(), not_applicable=(), photos=None, inspector="wang.wei", photo=None):
    """Per-item results for every item of a published checklist `version`
    (as GET /checklists/{id}/versions/{n} returns it): `failed` and
    `not_applicable` are item indexes, the rest pass. A failed item gets
    `photos`, or by default `photo` (a ref the enterprise uploaded) if the
    item requires one."""
    completed = ago(days=completed_days_ago, minutes=1)
    results = []
    for index, item in enumerate(version["items"]):
        outcome = "fail" if index in failed else "na" if index in not_applicable else "pass"
        result = {"item_id": item["item_id"], "result": outcome}
        if outcome == "fail":
            result["note"] = "found on the round: " + item["prompt"].lower()
            result["photos"] = photos if photos is not None else (
                [photo] if item["photo_required"] else [])
        results.append(result)
    return {"enterprise_id": enterprise_id, "position_id": position_id,
            "checklist_id": version["checklist_id"], "checklist_version": version["version"],
            "kind": kind, "started_at": iso(completed - timedelta(minutes=30)),
            "completed_at": iso(completed), "inspector": inspector, "results": results}
