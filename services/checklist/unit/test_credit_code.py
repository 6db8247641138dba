import pytest

from services.checklist.credit_code import complete, problem


def test_known_valid_code():
    assert problem("91330521MA2B3C4D5Q") is None


@pytest.mark.parametrize("code,reason", [
    ("91330521MA2B3C4D5X", "check character"),
    ("91330521MA2B3C4D5", "18 characters"),
    ("91330521MA2B3C4DIQ", "outside the code alphabet"),
])
def test_invalid_codes_say_why(code, reason):
    assert reason in problem(code)


def test_complete_makes_valid_codes():
    for body in ("91330521MA2B3C4D5", "12100000400000624", "9133052100000000X"):
        assert problem(complete(body)) is None
