"""Money is exact: integer fen inside, decimal strings outside, never a float."""
import pytest
from marshmallow import Schema, ValidationError

from einspection import money
from einspection.errors import InvalidCommand


@pytest.mark.parametrize("text,fen", [
    ("30000", 3000000), ("30000.5", 3000050), ("30000.00", 3000000), ("0", 0),
    ("0.01", 1), ("0.10", 10), ("19.99", 1999), ("999999999999.99", money.MAX_FEN),
    ("007.5", 750),
])
def test_parse_takes_decimal_text(text, fen):
    assert money.parse(text, "fine") == fen


@pytest.mark.parametrize("value,reason", [
    ("1e3", "digits with at most 2 decimals"),
    ("1,000", "digits with at most 2 decimals"),
    ("-5", "must not be negative"),
    ("0.001", "at most 2 decimals"),
    ("12.345", "at most 2 decimals"),
    (" 12", "digits with at most 2 decimals"),
    ("12.", "digits with at most 2 decimals"),
    (".5", "digits with at most 2 decimals"),
    ("+5", "digits with at most 2 decimals"),
    ("", "digits with at most 2 decimals"),
    ("NaN", "digits with at most 2 decimals"),
    ("Infinity", "digits with at most 2 decimals"),
    ("３０", "digits with at most 2 decimals"),       # full-width digits are not ASCII
    ("1000000000000", "must be at most 999999999999.99"),
    (30000, "not a JSON number"),                   # an int from JSON
    (19.99, "not a JSON number"),                   # a float from JSON
    (True, "not a JSON number"),
    (None, "must be a decimal string"),
    (["1"], "must be a decimal string"),
])
def test_parse_refuses_with_the_field_named(value, reason):
    with pytest.raises(InvalidCommand) as error:
        money.parse(value, "fine_proposed")
    assert list(error.value.errors) == ["fine_proposed"]
    assert reason in error.value.errors["fine_proposed"][0]


def test_amounts_floats_get_wrong_sum_exactly():
    # in floating point these come to 0.9999999999999999 and 19989.999999999996
    assert sum([0.10] * 10) != 1.0 and sum([19.99] * 1000) != 19990.0
    assert money.format(money.total([money.parse("0.10", "a")] * 10)) == "1.00"
    assert money.format(money.total([money.parse("19.99", "a")] * 1000)) == "19990.00"
    assert money.format(money.total([money.parse("30000.00", "a"),
                                     money.parse("0.01", "b")])) == "30000.01"


@pytest.mark.parametrize("fen,text", [
    (3000000, "30000.00"), (0, "0.00"), (1, "0.01"), (10, "0.10"), (1999, "19.99"),
    (-5, "-0.05"), (-1999, "-19.99"), (10 ** 20 + 7, "1000000000000000000.07"),
])
def test_format(fen, text):
    assert money.format(fen) == text


@pytest.mark.parametrize("value", [1.5, True, "100", None])
def test_format_and_total_take_only_ints(value):
    with pytest.raises(TypeError):
        money.format(value)
    if value is not None:          # None is "not stated" in a total
        with pytest.raises(TypeError):
            money.total([1, value])


def test_total_skips_what_is_not_stated():
    assert money.total([100, None, 250]) == 350
    assert money.total([]) == 0


class Fine(Schema):
    amount = money.Money(required=True)
    refund = money.Money(minimum=1, load_default=None, allow_none=True)


def test_the_marshmallow_field_loads_fen_and_dumps_text():
    assert Fine().load({"amount": "30000.5"}) == {"amount": 3000050, "refund": None}
    assert Fine().dump({"amount": 3000050, "refund": None}) == {"amount": "30000.50",
                                                                "refund": None}


@pytest.mark.parametrize("payload,field,reason", [
    ({"amount": 30000}, "amount", "not a JSON number"),
    ({"amount": "1,000"}, "amount", "digits"),
    ({"amount": "1", "refund": "0"}, "refund", "at least 0.01"),
    ({"amount": "-1"}, "amount", "negative"),
])
def test_the_marshmallow_field_names_the_field(payload, field, reason):
    with pytest.raises(ValidationError) as error:
        Fine().load(payload)
    assert list(error.value.messages) == [field]
    assert reason in error.value.messages[field][0]
