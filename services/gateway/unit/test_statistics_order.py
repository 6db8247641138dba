import pytest

from einspection.errors import InvalidCommand
from einspection.contract import load_command
from services.gateway import statistics


def test_groups_in_the_order_of_a_figure_ties_by_key_nulls_last_and_the_first_few():
    found = {"groups": [{"key": "c", "fines": 5}, {"key": "a", "fines": 5},
                        {"key": "b", "fines": 9}, {"key": "d", "fines": None}],
             "totals": {"fines": 19}}
    ordered = statistics.arranged(found, "-fines", None)
    assert [group["key"] for group in ordered["groups"]] == ["b", "a", "c", "d"]
    assert [g["key"] for g in statistics.arranged(found, "fines", 2)["groups"]] == ["a", "c"]
    assert [g["key"] for g in statistics.arranged(found, None, 3)["groups"]] == ["a", "b", "c"]
    assert statistics.arranged(found, "-fines", 1)["totals"] == {"fines": 19}   # of every group


@pytest.mark.parametrize("query,field", [({"sort": "-fine"}, "sort"), ({"limit": "0"}, "limit"),
                                         ({"limit": "ten"}, "limit")])
def test_a_bad_order_is_refused_naming_its_field(query, field):
    with pytest.raises(InvalidCommand) as refused:
        load_command(statistics.EnforcementStatisticsQuery(only=("sort", "limit")), query)
    assert field in refused.value.errors
