"""The draw record of the documentation (docs/examples/draw-record.json): a
small campaign of three towns, made by the draw's own code. A test checks
that the committed file is what this makes, so the example follows the code.

    python -m services.enforcement.unit.draw_example > docs/examples/draw-record.json
"""
import sys
import uuid
from datetime import date, timedelta

from services.enforcement import draw, quotas, weights

TODAY = date(2026, 12, 5)
NAMESPACE = uuid.UUID("c3a4f0de-8a7e-4f11-9a55-2d6f0e7b1c83")
TOWNS = {"武康街道": 10, "乾元镇": 7, "新市镇": 11}
INSPECTORS = ["bureau.inspector", "li.na", "wang.qiang", "zhao.min", "chen.jie"]
SEED = "2026-12-08 福彩3D 第2026333期 开奖号码 4 7 1"


def enterprise_id(town, number):
    return str(uuid.uuid5(NAMESPACE, "%s/%d" % (town, number)))


def example_facts():
    facts = []
    for town, count in TOWNS.items():
        for number in range(count):
            mix = number * 5 + len(town)
            visit = None if mix % 3 == 0 else TODAY - timedelta(days=(mix * 97) % 900)
            facts.append({"enterprise_id": enterprise_id(town, number), "town": town,
                          "industry": ("chemicals", "textiles", "machinery", "wood")[mix % 4],
                          "grade": "ABCDEC"[mix % 6], "open_major": mix % 2 * (mix % 3),
                          "overdue": (mix // 2) % 3, "listed": 0,
                          "last_enforcement_visit": visit and visit.isoformat(),
                          "visits_this_year": mix % 4})
    return facts


def example_record():
    facts = example_facts()
    listed = enterprise_id("新市镇", 4)
    for entry in facts:
        if entry["enterprise_id"] == listed:
            entry.update(listed=1, open_major=1)
    plan = quotas.largest_remainder(8, TOWNS)
    snapshot = weights.snapshot("7b0e2c1a-2f5d-5c3e-9a41-0d5e6f7a8b90", 8, plan, facts,
                                [listed], TODAY)
    targets = draw.draw(snapshot, SEED)
    conflicts = [{"inspector": "li.na", "enterprise_id": targets[0]["enterprise_id"],
                  "reason": "亲属在该企业任职，申请回避"},
                 {"inspector": "zhao.min", "enterprise_id": targets[1]["enterprise_id"],
                  "reason": "曾为该企业提供安全咨询服务"}]
    assignments = draw.assign_inspectors(targets, INSPECTORS, conflicts, SEED, per_target=2)
    return draw.export_record(
        snapshot, SEED, targets, assignments=assignments, inspectors=INSPECTORS,
        conflicts=conflicts, per_target=2, campaign_name="2026年度重点执法检查（示例）",
        legal_basis="德安监发[2026]5号（示例）",
        seed_source="福彩3D 第2026333期开奖号码（摘要公布后开奖，示例数据）",
        committed_at="2026-12-05T02:00:00+00:00", revealed_at="2026-12-08T13:30:00+00:00")


if __name__ == "__main__":
    sys.stdout.write(draw.dumps_record(example_record()))
