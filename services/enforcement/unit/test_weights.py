"""The weight function (weights-2026-12), the industry table, the
exclusions with their reasons, and the snapshot built from the facts."""
import copy
import json
from datetime import timedelta

import pytest

from services.enforcement import draw, weights
from services.enforcement.unit.county_plan import (ENTERPRISES, MANDATORY, PLAN, TODAY,
                                                   county_facts_with_listings)

RULES = weights.load_rules()


def facts(**changes):
    base = {"enterprise_id": "e-1", "town": "武康街道", "industry": "textiles", "grade": "C",
            "open_major": 0, "overdue": 0, "listed": 0, "last_enforcement_visit": None,
            "visits_this_year": 0}
    base.update(changes)
    return base


def ago(days):
    return (TODAY - timedelta(days=days)).isoformat()


def weight(**changes):
    return weights.candidate(facts(**changes), TODAY)["weight"]


def test_the_version_is_the_rule_files():
    assert weights.WEIGHTS_VERSION == "weights-2026-12"
    assert RULES.industry_risk_version == "industry-risk-2026-12"


def test_the_weight_is_the_product_of_its_factors_in_milli_units():
    # E ×8, chemicals ×2, hazards 1 + 2×0.5 + 3×0.25 + 1×0.5 = ×3.25, never visited ×1.5
    worst = weights.candidate(facts(grade="E", industry="chemicals", open_major=2, overdue=3,
                                    listed=1), TODAY)
    assert worst["weight"] == 78000
    assert [(f["name"], f["effect"]) for f in worst["factors"]] == [
        ("grade", "×8.000"), ("industry_risk", "×2.000"), ("hazards", "×3.250"),
        ("since_last_visit", "×1.500")]
    assert worst["factors"][1]["value"] == {"industry": "chemicals", "class": "very_high"}
    assert worst["factors"][2]["value"] == {"open_major": 2, "overdue": 3, "listed": 1}
    # A ×0.5, textiles ×1, no hazard ×1, visited 400 days ago ×1.25
    best = weights.candidate(facts(grade="A", last_enforcement_visit=ago(400)), TODAY)
    assert best["weight"] == 625
    assert best["factors"][3]["value"] == {"last_visit": ago(400), "days": 400}
    assert json.loads(json.dumps(worst)) == worst and draw.canonical(worst)


def test_e_and_d_come_first_then_c_b_a_and_ungraded_counts_as_c():
    by_grade = {grade: weight(grade=grade) for grade in "ABCDE"}
    assert by_grade["E"] > by_grade["D"] > by_grade["C"] > by_grade["B"] > by_grade["A"]
    assert weight(grade=None) == by_grade["C"]


def test_hazards_raise_the_weight_up_to_their_caps():
    assert weight(open_major=1) > weight() and weight(overdue=1) > weight()
    assert weight(listed=1) > weight()
    assert weight(open_major=4) == weight(open_major=40)
    assert weight(overdue=8) == weight(overdue=9) > weight(overdue=7)


def test_the_longer_since_the_last_visit_the_heavier():
    # C ×2, textiles ×1, no hazard ×1: then ×1, ×1.25, ×1.5, and never visited ×1.5
    assert weight(last_enforcement_visit=ago(364)) == 2000
    assert weight(last_enforcement_visit=ago(365)) == 2500
    assert weight(last_enforcement_visit=ago(730)) == weight() == 3000


def test_the_product_is_rounded_half_up_to_a_milli_unit_and_is_at_least_one():
    data = json.load(open(weights.DEFAULT_WEIGHTS, encoding="utf-8"))
    table = json.load(open(weights.DEFAULT_INDUSTRY_RISK, encoding="utf-8"))
    data["grade"] = dict(data["grade"], A=333, B=1)
    table["classes"]["low"]["factor"] = 1
    rules = weights.Rules.from_dicts(data, table)
    # 333 × 1000 × 1000 × 1500 / 1000³ = 499.5 → 500
    assert weights.candidate(facts(grade="A"), TODAY, rules)["weight"] == 500
    # 1 × 1 × 1000 × 1500 / 1000³ = 0.0015 → at least 1
    assert weights.candidate(facts(grade="B", industry="retail"), TODAY, rules)["weight"] == 1


@pytest.mark.parametrize("industry, risk", [
    ("chemicals", "very_high"), ("  Chemicals ", "very_high"), ("危险化学品", "very_high"),
    ("NAICS 325211", "very_high"), ("NAICS 331110", "very_high"), ("NAICS 336111", "medium"),
    ("SIC 2851", "very_high"), ("SIC 5812", "low"), ("retail", "low"),
    ("basket weaving", "medium"), ("", "medium"), (None, "medium")])
def test_industries_map_to_classes_by_name_then_longest_prefix_then_the_default(industry, risk):
    assert RULES.risk_class(industry) == risk


def test_visited_within_the_period_is_excluded_with_the_reason():
    excluded = weights.candidate(facts(last_enforcement_visit=ago(179)), TODAY)
    assert excluded["code"] == "visited_recently"
    assert excluded["excluded"] == "近期已执法检查（%s，距今 179 天，未满 180 天）" % ago(179)
    assert excluded["details"] == {"last_visit": ago(179), "days": 179, "period_days": 180}
    assert "weight" in weights.candidate(facts(last_enforcement_visit=ago(180)), TODAY)
    assert weights.candidate(facts(last_enforcement_visit=TODAY.isoformat()), TODAY)["code"] \
        == "visited_recently"


def test_at_the_yearly_cap_of_its_class_is_excluded_with_the_reason():
    capped = weights.candidate(facts(visits_this_year=2), TODAY)      # medium: 2 a year
    assert capped["code"] == "yearly_cap"
    assert capped["excluded"] == "本年度已执法检查 2 次，已达一般风险行业年度上限 2 次"
    assert capped["details"] == {"visits_this_year": 2, "class": "medium", "yearly_visit_cap": 2}
    assert "weight" in weights.candidate(facts(industry="chemicals", visits_this_year=3), TODAY)
    assert weights.candidate(facts(industry="retail", visits_this_year=1), TODAY)["code"] \
        == "yearly_cap"


@pytest.mark.parametrize("changes, field", [
    ({"grade": "F"}, "grade"), ({"overdue": -1}, "overdue"), ({"open_major": "2"}, "open_major"),
    ({"listed": True}, "listed"), ({"last_enforcement_visit": "5 Dec"}, "last_enforcement_visit"),
    ({"last_enforcement_visit": "2027-01-01"}, "last_enforcement_visit"),
    ({"town": ""}, "town"), ({"enterprise_id": None}, "enterprise_id"),
    ({"industry": 3}, "industry")])
def test_facts_that_cannot_be_weighed_are_refused_by_name(changes, field):
    with pytest.raises(weights.FactsError) as refused:
        weights.candidate(facts(**changes), TODAY)
    assert refused.value.field == field and isinstance(refused.value, ValueError)


def test_rules_made_with_another_industry_table_are_refused():
    data = json.load(open(weights.DEFAULT_WEIGHTS, encoding="utf-8"))
    table = json.load(open(weights.DEFAULT_INDUSTRY_RISK, encoding="utf-8"))
    with pytest.raises(ValueError, match="bump the weights' version"):
        weights.Rules.from_dicts(data, dict(table, version="industry-risk-2027-01"))
    broken = copy.deepcopy(table)
    broken["industries"]["chemicals"] = "extreme"
    with pytest.raises(ValueError, match="not one of the classes"):
        weights.Rules.from_dicts(data, broken)


# --- the snapshot ----------------------------------------------------------------------------

def county_snapshot(quotas=PLAN):
    return weights.snapshot("campaign-2016-5", 100, quotas, county_facts_with_listings(),
                            MANDATORY, TODAY)


def test_the_snapshot_holds_every_enterprise_once_as_candidate_or_exclusion():
    snap = county_snapshot()
    ids = [c["enterprise_id"] for c in snap["candidates"] + snap["exclusions"]]
    assert len(ids) == len(set(ids)) == sum(ENTERPRISES.values())
    assert snap["quotas"] == PLAN and snap["targets"] == 100
    assert snap["weights_version"] == "weights-2026-12" and snap["as_of"] == "2026-12-05"
    assert {e["code"] for e in snap["exclusions"]} == {"visited_recently", "yearly_cap"}
    assert all(e["reason"] for e in snap["exclusions"])
    assert sorted(c["enterprise_id"] for c in snap["candidates"] if c["mandatory"]) \
        == sorted(MANDATORY)
    keys = [(c["town"], c["enterprise_id"]) for c in snap["candidates"]]
    assert keys == sorted(keys)
    # exact JSON: a round trip changes nothing, so neither does the digest
    assert json.loads(json.dumps(snap, ensure_ascii=False)) == snap
    assert draw.snapshot_digest(json.loads(draw.canonical(snap))) == draw.snapshot_digest(snap)


def test_a_mandatory_enterprise_is_never_excluded_and_keeps_the_exclusion_it_waived():
    listed = facts(enterprise_id="listed", listed=1, open_major=1,
                   last_enforcement_visit=ago(10))
    snap = weights.snapshot("c", 1, None, [listed, facts(enterprise_id="other")], ["listed"],
                            TODAY)
    (entry,) = [c for c in snap["candidates"] if c["enterprise_id"] == "listed"]
    assert entry["mandatory"] is True and entry["waived"]["code"] == "visited_recently"
    assert snap["quotas"] == {"武康街道": 1}


def test_quotas_left_out_are_the_mandatory_plus_a_largest_remainder_share_of_the_rest():
    snap = county_snapshot(quotas=None)
    drawable = {}
    for c in snap["candidates"]:
        if not c["mandatory"]:
            drawable[c["town"]] = drawable.get(c["town"], 0) + 1
    from services.enforcement.quotas import largest_remainder
    shares = largest_remainder(100 - len(MANDATORY), drawable)
    mandatory = {}
    for c in snap["candidates"]:
        if c["mandatory"]:
            mandatory[c["town"]] = mandatory.get(c["town"], 0) + 1
    assert snap["quotas"] == {town: shares[town] + mandatory.get(town, 0) for town in shares}
    assert sum(snap["quotas"].values()) == 100


def test_snapshot_refusals_name_what_does_not_fit():
    county = county_facts_with_listings()
    with pytest.raises(weights.FactsError, match="mandatory_ids"):
        weights.snapshot("c", 100, PLAN, county, ["no-such-enterprise"], TODAY)
    with pytest.raises(draw.DrawError, match="钟管镇.*mandatory.*quota of 0"):
        weights.snapshot("c", 100, dict(PLAN, 钟管镇=0, 乾元镇=12), county, MANDATORY, TODAY)
    with pytest.raises(draw.DrawError, match="add up to 99"):
        weights.snapshot("c", 100, dict(PLAN, 钟管镇=4), county, MANDATORY, TODAY)
    with pytest.raises(draw.DrawError, match="cannot hold the 5 mandatory"):
        weights.snapshot("c", 4, None, county, MANDATORY, TODAY)
    broken = copy.deepcopy(county)
    broken[7]["grade"] = "Z"
    with pytest.raises(weights.FactsError, match=r"facts\[7\] \(.*\)\.grade"):
        weights.snapshot("c", 100, PLAN, broken, MANDATORY, TODAY)
    with pytest.raises(weights.FactsError, match="listed twice"):
        weights.snapshot("c", 100, PLAN, county + county[:1], MANDATORY, TODAY)
