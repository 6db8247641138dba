"""Passwords and tokens: plain functions."""
from datetime import datetime, timedelta, timezone

import pytest

from einspection import auth

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
MANAGER = auth.Principal(account_id="a-1", username="wang", role="enterprise_manager",
                         enterprise_id="e-1")


def test_a_password_hash_is_salted_and_checks_only_the_password():
    first, second = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert auth.check_password("correct horse", first)
    assert not auth.check_password("correct horsf", first)
    assert not auth.check_password("correct horse", "not-a-hash")


def test_a_token_carries_the_account_until_it_expires():
    token, expires = auth.issue_token(MANAGER, "secret", 3600, now=NOW)
    assert expires == NOW + timedelta(hours=1)
    assert auth.verify_token(token, "secret", now=NOW + timedelta(minutes=59)) == MANAGER
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.verify_token(token, "secret", now=NOW + timedelta(hours=1))


@pytest.mark.parametrize("mangle, reason", [
    (lambda token: token, "signature"),                              # another key
    (lambda token: token.replace(".", ""), "malformed"),
    (lambda token: "", "missing"),
])
def test_a_foreign_or_broken_token_is_refused(mangle, reason):
    token, _ = auth.issue_token(MANAGER, "another key", 3600, now=NOW)
    with pytest.raises(auth.InvalidToken, match=reason):
        auth.verify_token(mangle(token), "secret", now=NOW)


def test_changing_the_claims_breaks_the_signature():
    token, _ = auth.issue_token(MANAGER, "secret", 3600, now=NOW)
    admin, _ = auth.issue_token(auth.Principal("a-2", "x", "authority_admin"), "other", 3600,
                                now=NOW)
    with pytest.raises(auth.InvalidToken, match="signature"):
        auth.verify_token(admin.split(".")[0] + "." + token.split(".")[1], "secret", now=NOW)


def test_the_scope_an_account_carries():
    assert auth.scope_without_register(MANAGER) == ["e-1"]
    assert auth.scope_without_register(auth.Principal("a", "x", "authority_inspector")) is None
    assert auth.scope_without_register(auth.Principal("a", "x", "integrator",
                                                      grants=("e-2",))) == ["e-2"]
    with pytest.raises(LookupError):
        auth.scope_without_register(auth.Principal("a", "x", "grid_officer", grid="G"))


@pytest.mark.parametrize("role,phrase", [
    ("integrator", "an integrator"), ("authority_inspector", "an authority inspector"),
    ("authority_admin", "an authority admin"), ("enterprise_manager", "an enterprise manager"),
    ("enterprise_staff", "an enterprise staff member"), ("grid_officer", "a grid officer"),
    ("town_officer", "a town officer"), ("unknown_role", "an unknown role")])
def test_every_role_reads_as_english_with_its_article(role, phrase):
    assert auth.a_role(role) == phrase
    assert set(auth.ROLE_NAMES) == set(auth.ROLES)
