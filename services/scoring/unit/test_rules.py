from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import os

from services.scoring.rules import (RULES_DIR, ActionFact, CitationFact, Facts, HazardFact,
                                    RoundFact, InspectionFact, PositionFact, Window, evaluate, grade_for,
                                    load_rules, months_before, period_before)

RULES = load_rules(os.path.join(RULES_DIR, "v1.json"))     # the first rule set, kept as it was
V2 = load_rules(os.path.join(RULES_DIR, "v2.json"))        # kept: its scores stay explained
V3 = load_rules(os.path.join(RULES_DIR, "v3.json"))        # kept: its scores stay explained
V4 = load_rules()                                           # the default


def at(day, hour=10):
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.mark.parametrize("points,grade", [("9.00", "A"), ("8.99", "B"), ("8.00", "B"),
                                          ("7.86", "C"), ("7.00", "C"), ("6.99", "D"),
                                          ("6.00", "D"), ("5.99", "E"), ("0", "E")])
def test_grade_thresholds_match_the_seed(points, grade):
    assert grade_for(RULES, Decimal(points)) == grade


def test_window_is_the_three_months_up_to_and_including_as_of(monkeypatch):
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "UTC")
    window = Window.ending(date(2026, 11, 29), 3)
    assert (window.start, window.end) == (date(2026, 8, 30), date(2026, 11, 29))
    assert window.contains(at(date(2026, 8, 30), 0))
    assert not window.contains(at(date(2026, 8, 29), 23))
    assert window.contains(datetime(2026, 11, 29, 23, 59, 59, tzinfo=timezone.utc))
    assert not window.contains(datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc))


def test_the_window_is_of_whole_days_of_the_deployments_zone(monkeypatch):
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "Asia/Shanghai")
    window = Window.ending(date(2026, 11, 29), 3)
    # 00:30 on 30 August in Shanghai is 16:30 UTC on the 29th: in the window
    assert window.contains(datetime(2026, 8, 29, 16, 30, tzinfo=timezone.utc))
    assert not window.contains(datetime(2026, 8, 29, 15, 59, tzinfo=timezone.utc))
    # the window ends with 29 November in Shanghai: 16:00 UTC that day
    assert window.contains(datetime(2026, 11, 29, 15, 59, tzinfo=timezone.utc))
    assert not window.contains(datetime(2026, 11, 29, 16, 0, tzinfo=timezone.utc))


def test_month_arithmetic_clips_to_month_end():
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 3) == date(2025, 10, 15)


def test_nothing_to_measure_has_the_documented_values():
    score = evaluate(RULES, date(2026, 11, 29), Facts())
    values = {i["key"]: (i["value"], i["nothing_to_measure"]) for i in score["indicators"]}
    assert values == {"timeliness": ("0.5000", True), "rectification_on_time": ("1.0000", True),
                      "self_inspection": ("0.0000", True)}
    assert score["points"] == "5.50" and score["grade"] == "E"


def test_indicators_from_facts():
    as_of = date(2026, 11, 29)
    hazards = [
        # recorded in time, rectified on time
        HazardFact(found_at=at(date(2026, 10, 1), 8), reported_at=at(date(2026, 10, 1), 9),
                   deadline=at(date(2026, 10, 8)), level="general",
                   rectified_at=at(date(2026, 10, 5))),
        # recorded two days late, rectified late
        HazardFact(found_at=at(date(2026, 10, 10)), reported_at=at(date(2026, 10, 12)),
                   deadline=at(date(2026, 10, 17)), level="major",
                   rectified_at=at(date(2026, 10, 20))),
        # recorded in time, due in the window, never rectified
        HazardFact(found_at=at(date(2026, 11, 1)), reported_at=at(date(2026, 11, 1), 12),
                   deadline=at(date(2026, 11, 8)), level="general"),
        # outside the window entirely
        HazardFact(found_at=at(date(2026, 5, 1)), reported_at=at(date(2026, 5, 9)),
                   deadline=at(date(2026, 5, 8)), level="general"),
    ]
    inspections = [InspectionFact("self", at(as_of - timedelta(days=7 * n))) for n in range(10)]
    inspections.append(InspectionFact("grid", at(as_of)))       # not a self-inspection
    score = evaluate(RULES, as_of, Facts(hazards, inspections))
    by_key = {i["key"]: i for i in score["indicators"]}
    assert by_key["timeliness"]["value"] == "0.6667"            # 2 of 3 in time
    assert by_key["timeliness"]["points"] == "2.00"
    assert by_key["rectification_on_time"]["value"] == "0.3333"  # 1 of 3 due on time
    assert by_key["rectification_on_time"]["points"] == "1.33"
    # 10 inspections against 92 days / 7 = 13.14 expected
    assert by_key["self_inspection"]["value"] == "0.7609"
    assert by_key["self_inspection"]["points"] == "2.28"
    assert score["points"] == "5.61" and score["grade"] == "E"
    assert by_key["timeliness"]["to_gain"].startswith("part of the hazard records")
    assert Decimal(by_key["timeliness"]["missing_points"]) == Decimal("1.00")


def test_an_enterprise_like_the_seeds_is_graded_c():
    # some records kept afterwards (3 of 4 in time), every due hazard rectified
    # on time, irregular self-inspection (6 against 13.14 expected)
    as_of = date(2026, 11, 29)
    hazards = [HazardFact(found_at=at(date(2026, 11, d)), reported_at=at(date(2026, 11, d), 11),
                          deadline=at(date(2026, 11, d + 7)), level="general",
                          rectified_at=at(date(2026, 11, d + 1))) for d in (1, 2, 3)]
    hazards.append(HazardFact(found_at=at(date(2026, 11, 4)), reported_at=at(date(2026, 11, 9)),
                              deadline=at(date(2026, 11, 11)), level="general",
                              rectified_at=at(date(2026, 11, 10))))
    inspections = [InspectionFact("self", at(as_of - timedelta(days=8 * n))) for n in range(6)]
    score = evaluate(RULES, as_of, Facts(hazards, inspections))
    assert (score["points"], score["grade"]) == ("7.62", "C")


def test_v2_measures_every_indicator_of_the_seed():
    as_of = date(2026, 11, 29)
    hazards = [
        HazardFact(found_at=at(date(2026, 10, 1), 8), reported_at=at(date(2026, 10, 1), 9),
                   deadline=at(date(2026, 10, 8)), level="general",
                   rectified_at=at(date(2026, 10, 5))),
        # a major one, open past its deadline: counts three times
        HazardFact(found_at=at(date(2026, 11, 1)), reported_at=at(date(2026, 11, 1), 12),
                   deadline=at(date(2026, 11, 8)), level="major"),
    ]
    inspections = [InspectionFact("self", at(as_of - timedelta(days=7 * n)), "p-1")
                   for n in range(13)]
    actions = ([ActionFact("training", date(2026, 9, 15)), ActionFact("drill", date(2026, 10, 20)),
                ActionFact("meeting", date(2026, 8, 1))]          # outside the window
               + [ActionFact("daily_record", date(2026, 11, d)) for d in range(1, 16)])
    positions = [PositionFact("p-1", True), PositionFact("p-2", True), PositionFact("p-3", False),
                 PositionFact("p-4", False)]
    score = evaluate(V2, as_of, Facts(hazards, inspections, actions, positions))
    by_key = {i["key"]: i for i in score["indicators"]}
    assert score["rule_version"] == "2026.2"
    assert by_key["timeliness"]["points"] == "2.00"
    # weights: general on time 1, major open 3 → 1/4
    assert by_key["rectification_on_time"]["value"] == "0.2500"
    assert by_key["rectification_on_time"]["detail"]["majors_late_or_open"] == 1
    assert by_key["self_inspection"]["value"] == "0.9891"          # 13 of 13.14
    # 2 in the window against 92 / 30.4375 = 3.02 expected
    assert by_key["safety_actions"]["detail"] == {"recorded": 2, "expected": "3.02"}
    assert by_key["safety_actions"]["value"] == "0.6617"
    # 15 daily records against 60.45 expected
    assert by_key["daily_management"]["value"] == "0.2481"
    # p-1 has a checklist and was inspected; p-2 has one but was not inspected
    assert by_key["standardisation"]["value"] == "0.2500"
    assert by_key["standardisation"]["to_gain"].startswith("improve level of standardization")
    # 2.00 + 0.63 + 1.98 + 0.99 + 0.25 + 0.25
    assert score["points"] == "6.10" and score["grade"] == "D"


def test_v2_with_nothing_recorded_is_not_a_silent_ten():
    score = evaluate(V2, date(2026, 11, 29), Facts())
    assert score["points"] == "3.50"       # half timeliness (1.0) + no due hazard late (2.5)
    assert all(i["nothing_to_measure"] for i in score["indicators"])


def test_no_advice_from_an_indicator_with_nothing_to_judge():
    """No hazard recorded: timeliness keeps its half credit for want of
    evidence, and says nothing — "part of the hazard records are kept
    afterwards" would be untrue. Indicators that score the absence of records
    as nothing done (no self-inspection, no position) still advise."""
    as_of = date(2026, 11, 29)
    actions = [ActionFact("training", as_of - timedelta(days=30 * n)) for n in range(4)]
    score = evaluate(V2, as_of, Facts(actions=actions))
    by_key = {i["key"]: i for i in score["indicators"]}
    timeliness = by_key["timeliness"]
    assert (timeliness["nothing_to_measure"], timeliness["points"],
            timeliness["missing_points"]) == (True, "1.00", "1.00")      # the points stay
    assert timeliness["to_gain"] == "" and timeliness["i18n"]["zh"]["to_gain"] == ""
    assert by_key["self_inspection"]["nothing_to_measure"]
    assert by_key["self_inspection"]["to_gain"] == (
        "inspect your positions regularly with the checklists")
    assert by_key["standardisation"]["to_gain"].startswith("improve level of standardization")
    assert by_key["safety_actions"]["to_gain"] == ""                     # full points
    assert score["points"] == "5.00"       # 1.00 + 2.50 + 0 + 1.50 + 0 + 0, as before


@pytest.mark.parametrize("rules", [RULES, V2, V3, V4],
                         ids=["2026.1", "2026.2", "2026.3", "2026.4"])
def test_every_indicator_has_a_chinese_title_and_advice(rules):
    for indicator in rules["indicators"]:
        zh = indicator["i18n"]["zh"]
        assert zh["title"] and zh["advice"], indicator["key"]
        assert all("\u4e00" <= ch <= "\u9fff" for ch in zh["title"]), zh["title"]


def test_the_explanation_carries_chinese_advice_only_where_points_were_lost():
    as_of = date(2026, 11, 29)
    late = HazardFact(found_at=at(date(2026, 11, 1)), reported_at=at(date(2026, 11, 5)),
                      deadline=at(date(2026, 11, 20)), level="general",
                      rectified_at=at(date(2026, 11, 6)))
    score = evaluate(V2, as_of, Facts(hazards=[late]))
    by_key = {i["key"]: i for i in score["indicators"]}
    assert by_key["timeliness"]["i18n"] == {"zh": {
        "title": "隐患上报及时性", "to_gain": "部分隐患记录为事后补录，请提高隐患上报的及时性"}}
    # rectified before its deadline: full points, nothing to gain, in either language
    assert by_key["rectification_on_time"]["to_gain"] == ""
    assert by_key["rectification_on_time"]["i18n"] == {"zh": {"title": "隐患按期整改",
                                                              "to_gain": ""}}


@pytest.mark.parametrize("day,period", [(date(2026, 12, 1), "2026-11"),
                                        (date(2027, 1, 15), "2026-12"),
                                        (date(2026, 3, 31), "2026-02")])
def test_a_statement_is_about_the_month_before(day, period):
    assert period_before(day) == period


# --- rule set 2026.3: overdue abatement of citations ------------------------------------------

def seed_like_facts(citations=()):
    as_of = date(2026, 11, 29)
    hazards = [HazardFact(found_at=at(date(2026, 10, 1), 8), reported_at=at(date(2026, 10, 1), 9),
                          deadline=at(date(2026, 10, 8)), level="general",
                          rectified_at=at(date(2026, 10, 5)))]
    inspections = [InspectionFact("self", at(as_of - timedelta(days=7 * n)), "p-1")
                   for n in range(13)]
    return as_of, Facts(hazards=hazards, inspections=inspections, citations=list(citations))


def overdue(citation_id, day, withdrawn=False):
    return CitationFact(citation_id, at(day, 16), withdrawn=withdrawn)


def test_v3_is_the_default_and_scores_like_v2_without_overdue_citations():
    assert V3["version"] == "2026.3" and V3["grades"] == V2["grades"]
    as_of, facts = seed_like_facts()
    v2, v3 = evaluate(V2, as_of, facts), evaluate(V3, as_of, facts)
    assert (v3["points"], v3["grade"]) == (v2["points"], v2["grade"])
    [rectification] = [i for i in v3["indicators"] if i["key"] == "rectification_on_time"]
    [deduction] = rectification["deductions"]
    assert (deduction["count"], deduction["points"]) == (0, "0.00")
    assert deduction["why"].startswith("no cited violation overdue")
    assert "2026.3" in deduction["why"] and "不扣分" in deduction["i18n"]["zh"]["why"]
    # rule sets before it explain as they did
    assert all("deductions" not in i for i in v2["indicators"])


def test_v3_takes_half_a_point_per_overdue_citation_off_rectification_on_time():
    as_of, facts = seed_like_facts([overdue("c-1", date(2026, 11, 2)),
                                    overdue("c-2", date(2026, 10, 1)),
                                    overdue("c-0", date(2026, 8, 1)),        # before the window
                                    overdue("c-9", date(2026, 11, 3), withdrawn=True)])
    before = evaluate(V2, as_of, facts)
    score = evaluate(V3, as_of, facts)
    by_key = {i["key"]: i for i in score["indicators"]}
    rectification = by_key["rectification_on_time"]
    assert rectification["value"] == "1.0000"                 # what it measured is unchanged
    assert (rectification["points"], rectification["missing_points"]) == ("1.50", "1.00")
    [deduction] = rectification["deductions"]
    assert deduction == {
        "key": "abatement_overdue", "count": 2, "per": "0.50", "cap": "1.50",
        "points": "-1.00", "rule_version": "2026.3", "detail": {"citations": ["c-1", "c-2"]},
        "why": "2 cited violation(s) of an enforcement case not abated by the abatement day, "
               "overdue in the window: -0.50 each, at most 1.50; 1.00 taken off "
               "(rule set 2026.3)",
        "i18n": {"zh": {"why": "窗口期内有2项执法检查违法行为逾期未整改：每项扣0.50分，"
                               "最多扣1.50分，共扣1.00分（评分规则2026.3）"}}}
    # a full indicator now advises, in both languages
    assert "abate every cited violation" in rectification["to_gain"]
    assert "违法行为须在整改期限内整改完毕" in rectification["i18n"]["zh"]["to_gain"]
    assert Decimal(score["points"]) == Decimal(before["points"]) - Decimal("1.00")


def test_v3_deduction_is_capped_and_never_below_zero():
    as_of, facts = seed_like_facts([overdue("c-%d" % n, date(2026, 11, n + 1))
                                    for n in range(5)])
    rectification = {i["key"]: i for i in evaluate(V3, as_of, facts)["indicators"]}[
        "rectification_on_time"]
    assert rectification["deductions"][0]["points"] == "-1.50"          # 5 × 0.50, capped
    assert rectification["points"] == "1.00"
    # a major hazard open past its deadline: 0.63 measured, not less than zero after
    facts.hazards.append(HazardFact(found_at=at(date(2026, 11, 1)),
                                    reported_at=at(date(2026, 11, 1), 12),
                                    deadline=at(date(2026, 11, 8)), level="major"))
    rectification = {i["key"]: i for i in evaluate(V3, as_of, facts)["indicators"]}[
        "rectification_on_time"]
    assert rectification["deductions"][0]["points"] == "-0.63"
    assert rectification["points"] == "0.00"


def test_v3_advises_on_overdue_citations_even_with_no_hazard_due():
    """Nothing fell due: the indicator keeps its credit for want of evidence,
    but an overdue citation is a finding, and the advice says so."""
    as_of = date(2026, 11, 29)
    score = evaluate(V3, as_of, Facts(citations=[overdue("c-1", date(2026, 11, 2))]))
    rectification = {i["key"]: i for i in score["indicators"]}["rectification_on_time"]
    assert rectification["nothing_to_measure"] and rectification["points"] == "2.00"
    assert rectification["to_gain"].startswith("rectify hazards")
    assert score["points"] == "3.00"              # 3.50 with nothing recorded, less 0.50


# --- rule set 2026.4: scheduled rounds done vs due --------------------------------------------

def _self_inspection(rules, facts, as_of=date(2026, 11, 29)):
    return {i["key"]: i for i in evaluate(rules, as_of, facts)["indicators"]}["self_inspection"]


def test_2026_4_measures_self_inspection_by_rounds_done_of_due():
    rounds = [RoundFact(done=True, at=at(date(2026, 11, day))) for day in (1, 2, 3)] + [
        RoundFact(done=False, at=at(date(2026, 11, 4))),
        RoundFact(done=False, at=at(date(2026, 1, 4)))]         # outside the window
    shown = _self_inspection(V4, Facts(rounds=rounds))
    assert shown["value"] == "0.7500" and shown["points"] == "1.50"
    assert shown["detail"] == {"measured_by": "rounds", "rounds_due": 4, "rounds_done": 3,
                               "rounds_missed": 1}
    assert "2026.4" in shown["why"] and "2026.4" in shown["i18n"]["zh"]["why"]
    assert shown["to_gain"] and shown["i18n"]["zh"]["to_gain"]
    # the same facts under 2026.3: no rounds measured, no self-inspection, nothing, no why
    old = _self_inspection(V3, Facts(rounds=rounds))
    assert old["points"] == "0.00" and "why" not in old and "measured_by" not in old["detail"]


def test_2026_4_without_rounds_falls_back_to_the_weekly_rhythm_of_2026_3():
    inspections = [InspectionFact(kind="self", completed_at=at(date(2026, 11, day)))
                   for day in range(1, 8)]
    new, old = (_self_inspection(rules, Facts(inspections=inspections)) for rules in (V4, V3))
    assert new["points"] == old["points"] and new["value"] == old["value"]
    assert new["detail"] == dict(old["detail"], measured_by="rhythm")
