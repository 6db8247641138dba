"""Quotas per town by the largest remainder method: the seed's plan, the
ties rule, and the edges (no enterprise, more targets than enterprises,
one town)."""
import itertools
from fractions import Fraction

import pytest

from services.enforcement.quotas import largest_remainder
from services.enforcement.unit.county_plan import ENTERPRISES, PLAN


def test_the_seeds_plan_of_100_targets_over_the_towns():
    quotas = largest_remainder(100, ENTERPRISES)
    assert quotas == PLAN
    assert quotas["武康街道"] == 9 and quotas["乾元镇"] == 7
    assert quotas["新市镇"] == 11 and quotas["钟管镇"] == 5
    assert sum(quotas.values()) == 100


def test_plain_rounding_would_miss_a_target_where_largest_remainder_does_not():
    whole = sum(ENTERPRISES.values())
    rounded = {town: round(Fraction(100 * count, whole)) for town, count in ENTERPRISES.items()}
    assert sum(rounded.values()) == 99
    # 下渚湖街道's share is 11.495…: the fifth largest remainder, so it gets the 100th target
    assert rounded["下渚湖街道"] == 11 and PLAN["下渚湖街道"] == 12


def test_ties_go_to_the_larger_remainder_then_the_larger_count_then_the_name():
    # shares 1/3, 4/3 and 7/3: every remainder is 1/3, one seat left over the floors
    assert largest_remainder(4, {"a": 1, "b": 4, "c": 7}) == {"a": 0, "b": 1, "c": 3}
    # equal remainders and counts: the name decides (code point order)
    assert largest_remainder(2, {"乙": 1, "甲": 1, "丙": 1}) == {"丙": 1, "乙": 1, "甲": 0}
    assert largest_remainder(1, {"b": 5, "a": 5}) == {"a": 1, "b": 0}
    # the larger remainder wins over the larger count
    assert largest_remainder(3, {"small": 3, "large": 7}) == {"small": 1, "large": 2}


def test_a_town_without_enterprises_gets_nothing():
    assert largest_remainder(5, {"a": 0, "b": 3, "c": 2}) == {"a": 0, "b": 3, "c": 2}
    assert largest_remainder(0, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert largest_remainder(0, {"a": 4, "b": 9}) == {"a": 0, "b": 0}
    assert largest_remainder(0, {}) == {}
    with pytest.raises(ValueError, match="no enterprise"):
        largest_remainder(3, {"a": 0, "b": 0})


def test_one_town_takes_every_target():
    assert largest_remainder(7, {"武康街道": 114}) == {"武康街道": 7}


def test_more_targets_than_enterprises_are_still_shared_in_proportion():
    quotas = largest_remainder(8, {"a": 1, "b": 3})
    assert quotas == {"a": 2, "b": 6}          # beyond their counts: the draw reports it short


def test_every_small_case_adds_up_stays_within_one_of_its_share_and_within_its_count():
    for counts in itertools.product(range(5), repeat=3):
        towns = dict(zip("xyz", counts))
        whole = sum(counts)
        for total in range(0, whole + 1):
            quotas = largest_remainder(total, towns)
            assert sum(quotas.values()) == total
            for town, count in towns.items():
                share = Fraction(total * count, whole or 1)
                assert share - 1 < quotas[town] < share + 1
                assert quotas[town] <= count       # total ≤ Σ count: never above the count


@pytest.mark.parametrize("total, counts, field", [
    (-1, {"a": 1}, "total"), (True, {"a": 1}, "total"), (2.0, {"a": 1}, "total"),
    (1, {"a": -1}, "counts.a"), (1, {"a": 1.5}, "counts.a"), (1, {"": 1}, "counts"),
    (1, [("a", 1)], "counts")])
def test_bad_figures_are_refused_by_name(total, counts, field):
    with pytest.raises(ValueError, match=field):
        largest_remainder(total, counts)
