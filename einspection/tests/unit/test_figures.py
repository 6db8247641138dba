from datetime import date, datetime, timezone

from einspection import figures

NAMES = ("total", "closed")
RATES = {"rectification_rate": ("closed", "total")}


def test_a_rate_is_exact_text_rounded_half_up_and_null_over_nothing():
    assert figures.rate(1, 3) == "0.3333"
    assert figures.rate(2, 3) == "0.6667"
    assert figures.rate(1, 8) == "0.1250"
    assert figures.rate(0, 5) == "0.0000"
    assert figures.rate(0, 0) is None


def test_the_period_before_is_as_long_and_ends_just_before_and_a_year_back_keeps_the_dates():
    assert figures.previous_window(date(2026, 3, 10), date(2026, 3, 19), "previous_period") == (
        date(2026, 2, 28), date(2026, 3, 9))
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    end = datetime(2026, 12, 2, tzinfo=timezone.utc)
    before = figures.previous_window(start, end, "previous_period")
    assert before == (datetime(2026, 11, 30, tzinfo=timezone.utc),
                      datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=timezone.utc))
    assert figures.previous_window(date(2028, 2, 29), date(2028, 3, 31), "previous_year") == (
        date(2027, 2, 28), date(2027, 3, 31))


def test_folding_per_enterprise_counts_by_an_attribute_computes_the_rates_again():
    per_enterprise = figures.with_rates({"group_by": "enterprise", "groups": [
        {"key": "e1", "total": 2, "closed": 1}, {"key": "e2", "total": 2, "closed": 0},
        {"key": "e3", "total": 1, "closed": 1}], "totals": {"total": 5, "closed": 2}}, RATES)
    folded = figures.fold(per_enterprise, {"e1": "North", "e2": "North"}, "town", NAMES, RATES)
    assert folded["group_by"] == "town"
    assert folded["groups"] == [
        {"key": "(unknown)", "total": 1, "closed": 1, "rectification_rate": "1.0000"},
        {"key": "North", "total": 4, "closed": 1, "rectification_rate": "0.2500"}]
    assert folded["totals"]["rectification_rate"] == "0.4000"


def test_compared_keeps_groups_of_either_period_and_the_csv_has_both_side_by_side():
    now = figures.with_rates({"group_by": "town", "groups": [
        {"key": "A", "total": 3, "closed": 1}], "totals": {"total": 3, "closed": 1}}, RATES)
    before = figures.with_rates({"group_by": "town", "groups": [
        {"key": "B", "total": 2, "closed": 2}], "totals": {"total": 2, "closed": 2},
        "from": "x", "to": "y"}, RATES)
    result = figures.compared(now, before, NAMES, tuple(RATES))
    by_key = {group["key"]: group for group in result["groups"]}
    assert by_key["A"]["change"] == {"total": 3, "closed": 1}
    assert by_key["A"]["previous"] == {"total": 0, "closed": 0, "rectification_rate": None}
    assert by_key["B"]["total"] == 0 and by_key["B"]["change"] == {"total": -2, "closed": -2}
    assert result["totals"]["change"] == {"total": 1, "closed": -1}
    assert result["previous_period"] == {"from": "x", "to": "y"}
    lines = figures.to_csv(result, NAMES, tuple(RATES)).splitlines()
    assert lines[0] == ("town,total,closed,rectification_rate,previous_total,previous_closed,"
                        "previous_rectification_rate,change_total,change_closed")
    assert lines[1] == "A,3,1,0.3333,0,0,,3,1"
    assert lines[-1] == "total,3,1,0.3333,2,2,1.0000,1,-1"


def test_money_is_compared_as_ints_and_written_as_decimal_strings_after():
    # 0.10 + 0.20 and x.x5 amounts: ints of fen, so the sums and differences are exact
    now = {"groups": [{"key": "a", "cases": 2, "fines": 30, "paid": None},
                      {"key": "b", "cases": 1, "fines": 1005, "paid": 5}],
           "totals": {"cases": 3, "fines": 1035, "paid": 5}}
    then = {"groups": [{"key": "a", "cases": 1, "fines": 1065, "paid": None},
                       {"key": "c", "cases": 1, "fines": 15, "paid": 15}],
            "totals": {"cases": 2, "fines": 1080, "paid": 15}}
    names = ("cases", "fines", "paid")
    written = figures.with_amounts(figures.compared(now, then, names), ("fines", "paid"))
    groups = {group["key"]: group for group in written["groups"]}
    assert (groups["a"]["fines"], groups["a"]["previous"]["fines"],
            groups["a"]["change"]["fines"]) == ("0.30", "10.65", "-10.35")
    assert groups["a"]["paid"] is None and groups["a"]["change"]["paid"] is None
    assert (groups["c"]["fines"], groups["c"]["change"]["fines"]) == ("0.00", "-0.15")
    assert written["totals"]["change"] == {"cases": 1, "fines": "-0.45", "paid": "-0.10"}
    text = figures.to_csv(dict(written, group_by="campaign"), names)
    assert text.splitlines()[-1] == "total,3,10.35,0.05,2,10.80,0.15,1,-0.45,-0.10"
