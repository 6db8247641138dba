"""Money: integer minor units (fen) everywhere inside, decimal strings at the API.

| where | form | example |
| --- | --- | --- |
| API request and answer | decimal string, at most 2 decimals | `"30000.00"`, `"30000.5"`, `"30000"` |
| events, database, sums | `int` of minor units, with the record's `currency` | `3000000`, `"CNY"` |

A float cannot hold 0.10 exactly (ten of them sum to 0.9999999999999999), so
no amount is ever a float: `parse` refuses JSON numbers altogether — a
client that sends `30000` may as well have sent `30000.1` and been rounded
by its own JSON library — and takes only plain ASCII decimal text. Every
refusal is an InvalidCommand naming the field, so the API answers 400 and
says which field and why.

Both currencies the platform holds (CNY for its own cases, USD for imported
OSHA records) have two decimals, so one rule parses both.
"""
import re

from marshmallow import ValidationError, fields

from .errors import InvalidCommand

CURRENCY = "CNY"
CURRENCIES = ("CNY", "USD")      # ISO 4217 codes the platform records; both have 2 decimals
# A trillion yuan is beyond any fine or cost: longer text is a typing mistake
# (and bounds the work of parsing what a client sends).
_DECIMAL = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,2}))?", re.ASCII)
MAX_FEN = 10 ** 14 - 1           # 999999999999.99, the most _DECIMAL takes
EXAMPLE = '"30000.00"'


def problem(value):
    """Why `value` is not an amount of money as the API takes it, or None."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return ("must be a decimal string such as %s, not a JSON number "
                "(a number loses cents in floating point)" % EXAMPLE)
    if not isinstance(value, str):
        return "must be a decimal string such as %s" % EXAMPLE
    if value.startswith("-"):
        return "must not be negative"
    if _DECIMAL.fullmatch(value):
        return None
    if re.fullmatch(r"[0-9]+\.[0-9]{3,}", value, re.ASCII):
        return "must have at most 2 decimals (fen)"
    if re.fullmatch(r"[0-9]{13,}(\.[0-9]*)?", value, re.ASCII):
        return "must be at most %s" % format(MAX_FEN)
    return ("must be digits with at most 2 decimals, such as %s (no sign, exponent, "
            "spaces or thousands separators)" % EXAMPLE)


def parse(text, field):
    """The fen in `text` ("30000", "30000.5", "30000.00"); InvalidCommand
    {field: [reason]} for anything else."""
    reason = problem(text)
    if reason:
        raise InvalidCommand({field: [reason]})
    whole, cents = _DECIMAL.fullmatch(text).groups()
    return int(whole) * 100 + int((cents or "").ljust(2, "0"))


def format(fen):               # noqa: A001 - the name the shared design gives it
    """"30000.00" for 3000000; exact for any int (a negative one is a difference)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("money is an int of minor units, not %r" % (fen,))
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return "%s%d.%02d" % (sign, whole, cents)


def total(amounts):
    """The exact sum of amounts in fen (None: not stated, counts nothing)."""
    result = 0
    for amount in amounts:
        if amount is None:
            continue
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError("money is an int of minor units, not %r" % (amount,))
        result += amount
    return result


class Money(fields.Field):
    """A marshmallow field: a decimal string in, int fen out (and back to the
    string when dumped). Its errors are under its own field name."""

    def __init__(self, *, minimum=0, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kwargs):
        reason = problem(value)
        if reason:
            raise ValidationError(reason)
        fen = parse(value, attr)
        if fen < self.minimum:
            raise ValidationError("must be at least %s" % format(self.minimum))
        return fen

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(value)
