"""Valid request bodies for the API, varied enough to be realistic."""
import random
import string
from datetime import datetime, timedelta, timezone

from services.checklist.credit_code import ALPHABET, complete

# The smallest valid PNG (1x1, transparent): evidence that passes the magic-bytes check.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")

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


def inspection(enterprise_id, completed_days_ago=0, kind="self"):
    completed = ago(days=completed_days_ago, minutes=1)
    return {"enterprise_id": enterprise_id, "position_id": "boiler-room",
            "checklist_id": "universal-fire", "checklist_version": 1, "kind": kind,
            "started_at": iso(completed - timedelta(minutes=30)), "completed_at": iso(completed),
            "items_passed": 18, "items_failed": 1, "items_not_applicable": 2,
            "inspector": "wang.wei"}
