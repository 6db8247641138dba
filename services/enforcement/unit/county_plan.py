"""The seed's 2016 plan (德安监发[2016]5号): 100 focused enterprises with a
quota per town. The seed shows 武康街道 9, 乾元镇 7, 新市镇 11 and 钟管镇 5;
the other towns' quotas, and every town's number of enterprises, are made
up so that the largest remainder method gives exactly this plan (and plain
rounding of the shares would give 99 targets, not 100).

The enterprises' facts are derived from their number, with no random
generator, so every run and every machine sees the same county."""
import uuid
from datetime import date

PLAN = {"武康街道": 9, "乾元镇": 7, "新市镇": 11, "钟管镇": 5, "洛舍镇": 6, "禹越镇": 8,
        "新安镇": 9, "雷甸镇": 10, "莫干山镇": 8, "下渚湖街道": 12, "舞阳街道": 8, "阜溪街道": 7}
ENTERPRISES = {"武康街道": 114, "乾元镇": 83, "新市镇": 141, "钟管镇": 64, "洛舍镇": 71,
               "禹越镇": 103, "新安镇": 109, "雷甸镇": 125, "莫干山镇": 104, "下渚湖街道": 143,
               "舞阳街道": 101, "阜溪街道": 86}
TODAY = date(2026, 12, 5)
INDUSTRIES = ("chemicals", "textiles", "machinery", "food and drink", "wood", "retail",
              "building materials", "NAICS 325211")
NAMESPACE = uuid.UUID("6a1c7a52-30b4-4c55-8f0e-5d8e6a2b9c41")


def enterprise_id(town, number):
    return str(uuid.uuid5(NAMESPACE, "%s/%d" % (town, number)))


def county_facts():
    """One facts dict per enterprise of the county (1,244 of them)."""
    facts = []
    for town, count in ENTERPRISES.items():
        for number in range(count):
            mix = number * 7 + len(town)
            last_visit = None
            if mix % 4:
                last_visit = date.fromordinal(TODAY.toordinal() - (mix * 37) % 900).isoformat()
            facts.append({
                "enterprise_id": enterprise_id(town, number), "town": town,
                "industry": INDUSTRIES[mix % len(INDUSTRIES)],
                "grade": (None, "A", "B", "C", "D", "E", "B", "C")[mix % 8],
                "open_major": (mix // 3) % 3 if mix % 5 == 0 else 0,
                "overdue": (mix // 2) % 4 if mix % 3 == 0 else 0,
                "listed": 0, "last_enforcement_visit": last_visit,
                "visits_this_year": (mix // 5) % 3})
    return facts


# the key list: enterprises with an open listed major hazard, which must be inspected
MANDATORY = [enterprise_id("新市镇", 3), enterprise_id("新市镇", 40), enterprise_id("乾元镇", 8),
             enterprise_id("钟管镇", 11), enterprise_id("下渚湖街道", 2)]


def county_facts_with_listings():
    facts = county_facts()
    for entry in facts:
        if entry["enterprise_id"] in MANDATORY:
            entry.update(listed=1, open_major=max(1, entry["open_major"]))
    return facts
