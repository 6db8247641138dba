"""The password policy, temporary passwords and the login throttle's rules
(on a SQLite file of the test's own; tests/test_accounts.py runs them on
the platform, both backends, several processes)."""
from datetime import datetime, timedelta, timezone

import pytest

from einspection.db import make_engine
from einspection.errors import TooManyAttempts
from services.checklist import passwords, throttle
from services.checklist.schemas import CreateAccount

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("password, username, broken", [
    ("short-1", "li.ming", ["must be at least 12 characters"]),
    ("li.ming.1234", "li.ming.1234", ["must not be the username"]),
    ("Li.Ming.1234", "li.ming.1234", ["must not be the username"]),
    ("aaaaaaaaaaaaaaaa", "li.ming", ["must not be one character repeated"]),
    ("Password1234", "li.ming", ["is a commonly used password"]),
    ("1qaz2wsx3edc", "li.ming", ["is a commonly used password"]),
    ("aaaa", "aaaa", ["must be at least 12 characters", "must not be the username",
                      "must not be one character repeated"]),
    ("x" * 201 + "y", "li.ming", ["must be at most 200 characters"]),
    ("correct horse battery", "li.ming", []),
    ("admin-password-1", "admin", []),
])
def test_the_policy_names_every_rule_a_password_breaks(password, username, broken):
    assert passwords.problems(password, username) == broken


def test_an_account_command_refuses_a_weak_password_on_the_password_field():
    errors = CreateAccount().validate({"username": "bureau.li", "password": "bureau.li",
                                       "role": "authority_inspector"})
    assert errors == {"password": ["must be at least 12 characters",
                                   "must not be the username"]}


def test_temporary_passwords_pass_the_policy_and_differ():
    made = {passwords.temporary() for _ in range(50)}
    assert len(made) == 50
    assert all(passwords.problems(p) == [] and len(p) == 19 for p in made)


def test_delays_grow_after_the_free_failures_and_stop_at_the_cap():
    limit = throttle.Limit(free_failures=5, base_seconds=1, max_seconds=60)
    assert [limit.delay(n) for n in range(1, 13)] == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert limit.delay(10 ** 6) == 60


@pytest.fixture
def engine(tmp_path):
    engine = make_engine("sqlite:///%s" % (tmp_path / "throttle.db"))
    throttle.metadata.create_all(engine)
    yield engine
    engine.dispose()


POLICY = throttle.Policy(username=throttle.Limit(2, 1, 10), address=throttle.Limit(3, 1, 100),
                         forget_seconds=600)


def attempt(engine, username, address, at, right=False):
    """One login attempt at `at`: True if it was let through, else the
    seconds to wait."""
    try:
        with engine.begin() as conn:
            reservation = throttle.admit(conn, POLICY, POLICY.keys(username, address), at)
    except TooManyAttempts as exc:
        return exc.retry_after
    if right:
        with engine.begin() as conn:
            throttle.succeeded(conn, reservation)
    return True


def test_a_username_is_held_back_then_a_success_forgets_its_failures(engine):
    assert attempt(engine, "li", "10.0.0.1", NOW) is True
    assert attempt(engine, "LI", "10.0.0.2", NOW) is True        # the same username: 1 s
    assert attempt(engine, "li", "10.0.0.4", NOW, right=True) == 1   # refused, right or not
    later = NOW + timedelta(seconds=1)
    assert attempt(engine, "li", "10.0.0.3", later) is True      # a third failure: 2 s
    assert attempt(engine, "li", "10.0.0.3", later + timedelta(seconds=1)) == 1
    later += timedelta(seconds=2)
    assert attempt(engine, "li", "10.0.0.4", later, right=True) is True
    # forgotten: two free failures again
    assert attempt(engine, "li", "10.0.0.5", later) is True
    assert attempt(engine, "li", "10.0.0.6", later) is True
    assert attempt(engine, "li", "10.0.0.7", later) == 1


def test_an_address_is_held_back_for_every_username_and_forgotten_after_a_while(engine):
    for name in ("a", "b", "c"):
        assert attempt(engine, name, "192.0.2.9", NOW) is True
    assert attempt(engine, "e", "192.0.2.9", NOW) == 1             # a new name, same address
    assert attempt(engine, "e", "192.0.2.10", NOW, right=True) is True
    at = NOW
    for wait in (1, 2, 4, 8, 16):           # each try just after the last wait ran out
        at += timedelta(seconds=wait)
        assert attempt(engine, "f%d" % wait, "192.0.2.9", at) is True
    assert attempt(engine, "g", "192.0.2.9", at + timedelta(seconds=1)) == 31
    # ten quiet minutes after the last failure (forget_seconds) it starts from nothing
    quiet = at + timedelta(seconds=601)
    assert attempt(engine, "g", "192.0.2.9", quiet) is True


def test_a_success_takes_back_its_own_count_from_the_address(engine):
    for name in ("a", "b"):
        assert attempt(engine, name, "192.0.2.9", NOW) is True
    for _ in range(5):                      # right every time: never counts as a failure
        assert attempt(engine, "owner", "192.0.2.9", NOW, right=True) is True
    assert attempt(engine, "c", "192.0.2.9", NOW) is True            # the third failure: 1 s
    assert attempt(engine, "owner", "192.0.2.9", NOW, right=True) == 1
