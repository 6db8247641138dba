"""The draw: re-run from its record (the function and the offline CLI) it is
identical; the seed and every weight matter; quotas and the mandatory list
are honoured; the weights make a real difference (a statistical test);
inspectors never against a conflict, with the most even load; a tampered
record is caught."""
import copy
import itertools
import json
import math
import os
import subprocess
import sys

import pytest

from services.enforcement import draw, weights
from services.enforcement.draw import DrawError
from services.enforcement.unit import draw_example
from services.enforcement.unit.county_plan import (MANDATORY, PLAN, TODAY,
                                                   county_facts_with_listings)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SEED = "2016-03-01 双色球 第2016023期 03 08 15 21 27 30 + 11"
INSPECTORS = ["bureau.inspector"] + ["inspector.%02d" % n for n in range(1, 12)]


@pytest.fixture(scope="module")
def county():
    """The seed's plan: snapshot, its draw, conflicts and the assignment."""
    snapshot = weights.snapshot("campaign-2016-5", 100, PLAN, county_facts_with_listings(),
                                MANDATORY, TODAY)
    report = draw.draw_report(snapshot, SEED)
    targets = report["targets"]
    # every fifth target has a recusal, every seventh a second one
    conflicts = [{"inspector": INSPECTORS[n % len(INSPECTORS)],
                  "enterprise_id": target["enterprise_id"], "reason": "亲属在该企业任职"}
                 for n, target in enumerate(targets) if n % 5 == 0]
    conflicts += [{"inspector": INSPECTORS[(n + 3) % len(INSPECTORS)],
                   "enterprise_id": target["enterprise_id"], "reason": "曾任该企业安全顾问"}
                  for n, target in enumerate(targets) if n % 7 == 0]
    assignments = draw.assign_inspectors(targets, INSPECTORS, conflicts, SEED)
    record = draw.export_record(snapshot, SEED, targets, assignments=assignments,
                                inspectors=INSPECTORS, conflicts=conflicts, per_target=2)
    return {"snapshot": snapshot, "report": report, "targets": targets,
            "conflicts": conflicts, "assignments": assignments,
            "record": json.loads(draw.dumps_record(record))}


@pytest.fixture(scope="module")
def example():
    """The documentation's record: 28 enterprises of three towns, 8 targets."""
    return draw_example.example_record()


def ids(targets):
    return [target["enterprise_id"] for target in targets]


# --- canonical form and keys -----------------------------------------------------------------

def test_the_canonical_form_is_sorted_compact_utf8_and_refuses_floats():
    assert draw.canonical({"b": 1, "a": ["乾元镇", None, True]}) \
        == '{"a":["乾元镇",null,true],"b":1}'.encode("utf-8")
    with pytest.raises(DrawError, match=r"\$\.w\[1\].*float"):
        draw.canonical({"w": [1, 2.5]})


def test_a_key_is_the_same_decimal_string_everywhere():
    # a fixed value: the decimal module's ln and division are correctly rounded,
    # so any machine and any Python gives exactly this string
    key = draw.es_key("seed", "enterprise", 1000)
    assert str(key) == "-0.85215630712592334089126990762155663942150440315030"
    u = (int.from_bytes(__import__("hashlib").sha256(b"seed\x00enterprise").digest(), "big")
         + 1) / (2 ** 256 + 1)
    assert math.isclose(float(key), math.log(u), rel_tol=1e-12)
    assert math.isclose(float(draw.es_key("seed", "enterprise", 4000)), math.log(u) / 4,
                        rel_tol=1e-12)


# --- re-running the record -------------------------------------------------------------------

def test_a_rerun_from_the_record_is_identical(county):
    result = draw.verify(county["record"])
    assert result["identical"] is True and result["digest_matches"] is True
    assert result["differences"] == []
    assert result["targets"] == county["targets"]
    assert result["assignments"] == county["assignments"]
    assert county["record"]["snapshot_digest"] == draw.snapshot_digest(county["snapshot"])


def run_cli(path, *options):
    return subprocess.run([sys.executable, "-m", "services.enforcement.verify_draw", str(path),
                           *options], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def test_the_cli_reruns_an_exported_file_with_no_database(county, tmp_path):
    exported = tmp_path / "draw-record.json"
    exported.write_text(draw.dumps_record(county["record"]), encoding="utf-8")
    identical = run_cli(exported)
    assert identical.returncode == 0, identical.stderr
    assert identical.stdout.startswith("抽取结果核验：一致 ✓")
    assert "recorded 100, recomputed 100 of 100 planned" in identical.stdout
    assert "钟管镇 5" in identical.stdout and "(一致 matches)" in identical.stdout


def test_the_cli_reports_a_difference_and_an_unreadable_record(example, tmp_path):
    exported = tmp_path / "draw-record.json"
    tampered = copy.deepcopy(example)
    tampered["targets"][3]["enterprise_id"] = tampered["snapshot"]["exclusions"][0][
        "enterprise_id"]
    exported.write_text(draw.dumps_record(tampered), encoding="utf-8")
    differs = run_cli(exported)
    assert differs.returncode == 1, differs.stderr
    assert differs.stdout.startswith("抽取结果核验：不一致 ✗")
    assert "targets[3]  recorded   " in differs.stdout
    differs = run_cli(exported, "--json")
    assert differs.returncode == 1, differs.stderr
    answer = json.loads(differs.stdout)
    assert answer["identical"] is False and answer["digest_matches"] is True
    assert [(d["part"], d["position"]) for d in answer["differences"]] == [("targets", 3)]

    exported.write_text("{not json", encoding="utf-8")
    unreadable = run_cli(exported)
    assert unreadable.returncode == 2 and "无法读取抽取记录" in unreadable.stderr


def test_the_documentations_record_is_what_the_code_makes_and_verifies():
    path = os.path.join(ROOT, "docs", "examples", "draw-record.json")
    with open(path, encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == draw.dumps_record(draw_example.example_record()), (
        "regenerate it: python -m services.enforcement.unit.draw_example > %s" % path)
    result = draw.verify(json.loads(committed))
    assert result["identical"] and result["digest_matches"]


# --- what the list depends on ----------------------------------------------------------------

def test_another_seed_draws_another_list(example):
    other = draw.draw(example["snapshot"], example["seed"] + " ")
    assert set(ids(other)) != set(ids(example["targets"]))
    mandatory = [c["enterprise_id"] for c in example["snapshot"]["candidates"] if c["mandatory"]]
    assert mandatory and set(mandatory) <= set(ids(other))       # whatever the seed


def test_changing_one_weight_changes_the_list(example):
    snapshot, seed, targets = example["snapshot"], example["seed"], example["targets"]
    # one milli-unit more on a drawn enterprise changes its key, so the list (with keys) differs
    lightly = copy.deepcopy(snapshot)
    (first,) = [c for c in lightly["candidates"]
                if c["enterprise_id"] == targets[0]["enterprise_id"]]
    first["weight"] += 1
    assert draw.draw(lightly, seed) != targets
    assert draw.snapshot_digest(lightly) != draw.snapshot_digest(snapshot)
    # an enterprise left out, made a thousand times heavier, is drawn
    heavier = copy.deepcopy(snapshot)
    left_out = next(c for c in heavier["candidates"] if c["enterprise_id"] not in ids(targets))
    left_out["weight"] *= 1000
    assert left_out["enterprise_id"] in ids(draw.draw(heavier, seed))
    assert ids(draw.draw(heavier, seed)) != ids(targets)


# --- quotas and the mandatory list -----------------------------------------------------------

def test_each_town_gets_its_quota_and_the_mandatory_come_first(county):
    targets, snapshot = county["targets"], county["snapshot"]
    by_town = {}
    for target in targets:
        by_town.setdefault(target["town"], []).append(target)
    assert {town: len(drawn) for town, drawn in by_town.items()} == PLAN
    assert county["report"]["shortfall"] == {}
    assert county["report"]["mandatory"] == len(MANDATORY) == 5
    assert county["report"]["random"] == 95
    assert len(set(ids(targets))) == 100
    candidates = {c["enterprise_id"]: c for c in snapshot["candidates"]}
    assert set(ids(targets)) <= set(candidates)                 # never an excluded one
    for town, drawn in by_town.items():
        flags = [target["mandatory"] for target in drawn]
        assert flags == sorted(flags, reverse=True)               # mandatory first
        assert all(candidates[t["enterprise_id"]]["mandatory"] == t["mandatory"] for t in drawn)
        random_part = [t for t in drawn if not t["mandatory"]]
        # the drawn ones are the largest keys of the town's candidates not mandatory
        keys = sorted((draw.es_key(SEED, c["enterprise_id"], c["weight"])
                       for c in snapshot["candidates"]
                       if c["town"] == town and not c["mandatory"]), reverse=True)
        assert [t["key"] for t in random_part] == [str(k) for k in keys[:len(random_part)]]
    assert set(MANDATORY) <= set(ids(targets))


def test_a_quota_beyond_the_towns_candidates_takes_them_all_and_reports_the_shortfall(county):
    snapshot = copy.deepcopy(county["snapshot"])
    zhongguan = [c for c in snapshot["candidates"] if c["town"] == "钟管镇"]
    keep = [c for c in zhongguan if c["mandatory"]] + [c for c in zhongguan
                                                        if not c["mandatory"]][:2]
    snapshot["candidates"] = [c for c in snapshot["candidates"]
                              if c["town"] != "钟管镇" or c in keep]
    report = draw.draw_report(snapshot, SEED)
    assert report["shortfall"] == {"钟管镇": 2}           # a quota of 5, three candidates
    assert sorted(ids(t for t in report["targets"] if t["town"] == "钟管镇")) \
        == sorted(c["enterprise_id"] for c in keep)
    assert len(report["targets"]) == 98


# --- the weights make a difference -----------------------------------------------------------

def test_e_graded_and_overdue_enterprises_are_drawn_far_more_often_than_a_graded_ones():
    """2,000 draws with the seeds "stat-0" … "stat-1999" of 2 targets out of
    6 candidates in one town, weighed by weights-2026-12: two graded E, two
    graded B with 4 overdue hazards, two graded A (textiles, never visited).

    Null hypothesis: group X is drawn as often as the A group. Given the n
    draws that fell on X or A, the X count is then Binomial(n, 1/2) (the
    groups are the same size), and z = (count_X − n/2) / √(n/4). Stated
    bound: z > 5 for X = E and for X = overdue (p < 3·10⁻⁷ one-sided, no
    chance failure over any number of runs that matters). Expected
    weights: E 12000, B + 4 overdue 3000, A 750 milli."""
    def enterprise(name, **changes):
        return dict({"enterprise_id": name, "town": "新市镇", "industry": "textiles",
                     "grade": "A", "open_major": 0, "overdue": 0, "listed": 0,
                     "last_enforcement_visit": None, "visits_this_year": 0}, **changes)
    facts = [enterprise("E-1", grade="E"), enterprise("E-2", grade="E"),
             enterprise("O-1", grade="B", overdue=4), enterprise("O-2", grade="B", overdue=4),
             enterprise("A-1"), enterprise("A-2")]
    snapshot = weights.snapshot("stat", 2, None, facts, [], TODAY)
    assert [c["weight"] for c in snapshot["candidates"]] == [750, 750, 12000, 12000, 3000, 3000]
    drawn = {"E": 0, "O": 0, "A": 0}
    for n in range(2000):
        for target in draw.draw(snapshot, "stat-%d" % n):
            drawn[target["enterprise_id"][0]] += 1
    assert sum(drawn.values()) == 4000

    def z(group):
        n = drawn[group] + drawn["A"]
        return (drawn[group] - n / 2) / math.sqrt(n / 4)
    assert z("E") > 5 and z("O") > 5, drawn


def test_the_first_drawn_follows_the_weights():
    """P(the first drawn is i) = w_i / Σ w for Efraimidis–Spirakis. Two
    candidates of weights 3000 and 1000 over 2,000 seeds: the heavier one
    comes first with p = 3/4; stated bound |z| < 4 for Binomial(2000, 3/4)
    (a draw that used u^w instead of u^(1/w) would give p = 1/4, z ≈ −52)."""
    snapshot = {"campaign_id": "c", "targets": 1, "quotas": {"t": 1}, "exclusions": [],
                "weights_version": "test", "candidates": [
                    {"enterprise_id": "heavy", "town": "t", "weight": 3000, "mandatory": False},
                    {"enterprise_id": "light", "town": "t", "weight": 1000, "mandatory": False}]}
    heavy = sum(draw.draw(snapshot, "first-%d" % n)[0]["enterprise_id"] == "heavy"
                for n in range(2000))
    assert abs((heavy - 1500) / math.sqrt(2000 * 0.75 * 0.25)) < 4, heavy


# --- inspectors ------------------------------------------------------------------------------

def test_no_inspector_is_assigned_against_the_conflict_list_and_the_load_is_even(county):
    barred = {(c["inspector"], c["enterprise_id"]) for c in county["conflicts"]}
    assert len(barred) == 35
    for assignment in county["assignments"]:
        assert len(set(assignment["inspectors"])) == len(assignment["inspectors"]) == 2
        for inspector in assignment["inspectors"]:
            assert (inspector, assignment["enterprise_id"]) not in barred
    assert ids(county["assignments"]) == ids(county["targets"])
    load = draw.loads(county["assignments"])
    assert set(load) == set(INSPECTORS) and sum(load.values()) == 200
    assert max(load.values()) - min(load.values()) <= 1


def test_the_seed_decides_who_goes_where(county):
    other = draw.assign_inspectors(county["targets"], INSPECTORS, county["conflicts"], "other")
    assert other != county["assignments"]
    load = draw.loads(other)
    assert max(load.values()) - min(load.values()) <= 1


def optimum(targets, inspectors, barred, per_target):
    """By brute force over every assignment: the least max − min and sum of squares."""
    options = [[pair for pair in itertools.combinations(inspectors, per_target)
                if not any((i, t) in barred for i in pair)] for t in targets]
    best = None
    for choice in itertools.product(*options):
        load = {i: 0 for i in inspectors}
        for pair in choice:
            for i in pair:
                load[i] += 1
        figures = (max(load.values()) - min(load.values()), sum(v * v for v in load.values()))
        best = figures if best is None else min(best, figures)
    return best


def test_the_load_is_the_most_even_the_conflicts_allow():
    targets = ["t1", "t2", "t3", "t4", "t5"]
    inspectors = ["a", "b", "c", "d"]
    pairs = [(i, t) for i in inspectors for t in targets]
    checked = 0
    for n in range(40):
        # a spread of conflict lists: every pair barred when bit k of a mixed number is set
        mixed = (n * 2654435761 + 12345) % 2 ** 20
        barred = {pair for k, pair in enumerate(pairs) if mixed >> k & 1 and (k + n) % 3}
        if any(sum((i, t) not in barred for i in inspectors) < 2 for t in targets):
            with pytest.raises(DrawError, match="inspector"):
                draw.assign_inspectors([{"enterprise_id": t} for t in targets], inspectors,
                                       [{"inspector": i, "enterprise_id": t, "reason": "r"}
                                        for i, t in barred], "s-%d" % n)
            continue
        assigned = draw.assign_inspectors(
            [{"enterprise_id": t} for t in targets], inspectors,
            [{"inspector": i, "enterprise_id": t, "reason": "r"} for i, t in barred], "s-%d" % n)
        load = {i: 0 for i in inspectors}
        load.update(draw.loads(assigned))
        for entry in assigned:
            assert not any((i, entry["enterprise_id"]) in barred for i in entry["inspectors"])
        spread, squares = optimum(targets, inspectors, barred, 2)
        assert max(load.values()) - min(load.values()) == spread
        assert sum(v * v for v in load.values()) == squares
        checked += 1
    assert checked >= 15


def test_a_chain_of_swaps_evens_the_load_where_taking_the_least_loaded_is_not_enough():
    # taking the least loaded inspectors target by target ends at loads a 3, b 3, c 1, d 3
    # here; a chain of swaps (each inspector on it gives up one target for another it may
    # inspect) hands c one more
    barred = [("a", "t0"), ("a", "t4"), ("b", "t2"), ("b", "t4"), ("c", "t0"), ("c", "t2"),
              ("c", "t3"), ("d", "t1")]
    targets = ["t0", "t1", "t2", "t3", "t4"]
    assigned = draw.assign_inspectors(
        [{"enterprise_id": t} for t in targets], ["a", "b", "c", "d"],
        [{"inspector": i, "enterprise_id": t, "reason": "回避"} for i, t in barred], "s-28")
    load = draw.loads(assigned)
    assert sorted(load.values()) == [2, 2, 3, 3]
    assert optimum(targets, ["a", "b", "c", "d"], set(barred), 2) == (1, 26)


def test_a_target_without_enough_inspectors_free_of_conflicts_is_refused():
    with pytest.raises(DrawError, match="enterprise e-1 has 1 inspector"):
        draw.assign_inspectors([{"enterprise_id": "e-1"}], ["a", "b"],
                               [{"inspector": "a", "enterprise_id": "e-1", "reason": "回避"}], "s")
    with pytest.raises(DrawError, match="per_target"):
        draw.assign_inspectors([{"enterprise_id": "e-1"}], ["a", "b"], [], "s", per_target=0)
    with pytest.raises(DrawError, match="listed twice"):
        draw.assign_inspectors([{"enterprise_id": "e-1"}], ["a", "a"], [], "s")


# --- tampering and bad input -----------------------------------------------------------------

def test_a_tampered_record_is_caught(example):
    changed_input = copy.deepcopy(example)
    changed_input["snapshot"]["candidates"][0]["enterprise_id"] = "someone-else"
    result = draw.verify(changed_input)
    assert result["digest_matches"] is False
    assert any(d["part"] == "snapshot_digest" for d in result["differences"])

    changed_list = copy.deepcopy(example)
    changed_list["targets"][5]["enterprise_id"] = "someone-else"
    result = draw.verify(changed_list)
    assert result["identical"] is False and result["digest_matches"] is True
    assert [(d["part"], d["position"]) for d in result["differences"]] == [("targets", 5)]

    changed_assignment = copy.deepcopy(example)
    conflict = changed_assignment["conflicts"][0]
    (entry,) = [a for a in changed_assignment["assignments"]
                if a["enterprise_id"] == conflict["enterprise_id"]]
    entry["inspectors"][0] = conflict["inspector"]
    result = draw.verify(changed_assignment)
    assert result["identical"] is False
    assert [d["part"] for d in result["differences"]] == ["assignments"]

    changed_pool = copy.deepcopy(example)
    changed_pool["conflicts"] = changed_pool["conflicts"][1:]
    assert draw.verify(changed_pool)["digest_matches"] is False


def test_a_record_whose_digest_was_published_after_the_seed_fails(example):
    assert draw.verify(example)["committed_before_revealed"] is True
    late = dict(example, committed_at="2026-12-08T13:31:00Z")
    result = draw.verify(late)
    assert result["identical"] is True and result["committed_before_revealed"] is False
    assert [d["part"] for d in result["differences"]] == ["committed_at"]
    undated = {k: v for k, v in example.items() if k != "committed_at"}
    assert draw.verify(undated)["committed_before_revealed"] is None
    with pytest.raises(DrawError, match="record.revealed_at: must be an instant"):
        draw.verify(dict(example, revealed_at="2026-12-08 13:30"))


@pytest.mark.parametrize("change, message", [
    (lambda s: s["candidates"][0].update(weight=0), r"candidates\[0\]\.weight"),
    (lambda s: s["candidates"][0].update(weight="1000"), r"candidates\[0\]\.weight"),
    (lambda s: s["candidates"][1].update(enterprise_id=s["candidates"][0]["enterprise_id"]),
     "listed twice"),
    (lambda s: s["exclusions"].append(dict(s["candidates"][0], reason="x")),
     "both excluded and"),
    (lambda s: s["quotas"].update({"钟管镇": 6}), "add up to 101"),
    (lambda s: s.pop("weights_version"), "weights_version: missing"),
    (lambda s: s["candidates"][0].update(mandatory="yes"), "mandatory")])
def test_a_snapshot_that_cannot_be_drawn_from_is_refused_by_name(county, change, message):
    snapshot = copy.deepcopy(county["snapshot"])
    change(snapshot)
    with pytest.raises(DrawError, match=message):
        draw.draw(snapshot, SEED)


def test_an_unknown_algorithm_or_an_empty_seed_is_refused(county):
    with pytest.raises(DrawError, match="algorithm"):
        draw.draw(county["snapshot"], SEED, algorithm="es-sha256-v0")
    with pytest.raises(DrawError, match="seed"):
        draw.draw(county["snapshot"], "")
    with pytest.raises(DrawError, match="record.seed: missing"):
        draw.verify({k: v for k, v in county["record"].items() if k != "seed"})
