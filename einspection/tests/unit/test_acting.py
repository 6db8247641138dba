"""The one context of who acts: an account's act crosses RPC and comes back
the same; a command that names no account, an account acting under another
name, and an event without an actor are refused."""
from datetime import date

import pytest

from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import new_event
from einspection.errors import DeadlinePassed, InvalidCommand, NotAuthenticated

MANAGER = Principal(account_id="a-1", username="baide.manager", role="enterprise_manager",
                    enterprise_id="e-1")
DAY = date(2026, 11, 29)


def test_an_accounts_act_crosses_rpc_unchanged():
    acting = Acting.by_account(MANAGER, "corr-1", ["e-1"])
    again = Acting.from_dict(acting.to_dict())
    assert again == acting
    assert (again.actor, again.role, again.scope) == ("baide.manager", "enterprise_manager",
                                                      ("e-1",))
    assert Acting.from_dict(Acting.by_account(MANAGER).to_dict()).scope is None   # all


@pytest.mark.parametrize("sent", [None, {}, {"actor": "bureau.inspector"},
                                  {"account": None, "correlation_id": "x"}])
def test_a_command_that_names_no_account_is_refused(sent):
    with pytest.raises(NotAuthenticated):
        Acting.from_dict(sent)


def test_an_account_acts_under_its_own_name_and_every_act_has_an_actor():
    with pytest.raises(ValueError):
        Acting(actor="bureau.inspector", account=MANAGER)
    for nobody in ("", "  ", None):
        with pytest.raises(ValueError):
            Acting(actor=nobody)


def test_the_platform_follows_the_event_that_caused_its_act():
    logged = new_event("ScoringClockAdvanced", {"day": DAY}, actor="baide.staff",
                       correlation_id="corr-9")
    following = Acting.following(logged)
    assert (following.actor, following.correlation_id, following.causation_id,
            following.account) == ("baide.staff", "corr-9", logged.id, None)
    assert Acting.following(logged, actor="notify").actor == "notify"


@pytest.mark.parametrize("actor", ["", None])
def test_an_event_without_an_actor_is_not_made(actor):
    with pytest.raises(ValueError):
        new_event("ScoringClockAdvanced", {"day": DAY}, actor=actor)


def test_an_act_carries_its_command_id_and_deadline_and_a_late_one_is_not_executed():
    acting = Acting.by_account(MANAGER, "corr-1", command_id="c" * 64, deadline=1000.0)
    again = Acting.from_dict(acting.to_dict(), now=lambda: 999.5)
    assert (again.command_id, again.deadline) == ("c" * 64, 1000.0)
    with pytest.raises(DeadlinePassed) as late:
        Acting.from_dict(acting.to_dict(), now=lambda: 1002.5)
    assert late.value.status == 503 and "2.5 s after" in str(late.value)
    # a caller that sends no id gets a fresh one (journaled, never a repeat)
    sent = dict(acting.to_dict(), command_id=None, deadline=None)
    assert Acting.from_dict(sent).command_id != Acting.from_dict(sent).command_id


@pytest.mark.parametrize("field, value", [("command_id", ""), ("command_id", "c" * 65),
                                          ("command_id", 7), ("deadline", "soon"),
                                          ("deadline", True)])
def test_a_malformed_command_id_or_deadline_is_refused(field, value):
    with pytest.raises(InvalidCommand) as refused:
        Acting.from_dict(dict(Acting.by_account(MANAGER).to_dict(), **{field: value}))
    assert field in refused.value.errors
