"""Who may verify a hazard: the verification rule's roles by level, and
separation of duties — the accounts that planned or rectified a hazard do
not verify (accept or return) it, whatever their role."""
import json

import pytest

from einspection.errors import Forbidden
from services.hazard import verification
from services.hazard.domain import CLOSED, RETURNED, SUBMITTED

from .test_domain import RULE, acting, plan, rectification, reloaded, report, verdict

MANAGER = acting("baide.manager")
STAFF = acting("baide.staff", "enterprise_staff")
GRID = acting("wukang1.grid", "grid_officer", grid="Wukang-1")
TOWN = acting("wukang.town", "town_officer", town="Wukang")
INSPECTOR = acting("bureau.inspector", "authority_inspector")


def submitted(level="general", planner=MANAGER, rectifier=MANAGER):
    hazard = reloaded(report(level=level))
    if level == "major":
        hazard.record_plan(plan(), planner, now=hazard.found_at)
    hazard.submit_rectification(rectification(), rectifier, now=rectification()["done_at"])
    return hazard


def refused(hazard, by, outcome="verified"):
    pending = len(hazard.pending)
    with pytest.raises(Forbidden) as error:
        hazard.verify(verdict(outcome, reason="no"), by, RULE, now=hazard.found_at)
    assert hazard.state == SUBMITTED and len(hazard.pending) == pending   # nothing recorded
    return str(error.value)


def test_the_default_rule_by_level():
    assert RULE.version == "2026.1"
    assert set(RULE.roles["general"]) == {"enterprise_manager", "grid_officer", "town_officer",
                                          "authority_inspector", "authority_admin"}
    assert set(RULE.roles["major"]) == {"grid_officer", "town_officer", "authority_inspector",
                                        "authority_admin"}


def test_a_general_hazard_is_verified_by_the_manager_or_an_officer_never_by_staff():
    staff_rectified = submitted(rectifier=STAFF)
    reason = refused(staff_rectified, acting("other.staff", "enterprise_staff"))
    assert "an enterprise staff member may not verify a general hazard" in reason and "2026.1" in reason
    staff_rectified.verify(verdict(), MANAGER, RULE, now=staff_rectified.found_at)
    assert staff_rectified.state == CLOSED
    assert staff_rectified.pending[-1].actor == "baide.manager"
    assert staff_rectified.pending[-1].data["rule_version"] == "2026.1"
    for officer in (GRID, TOWN, INSPECTOR):
        hazard = submitted()
        hazard.verify(verdict(), officer, RULE, now=hazard.found_at)
        assert hazard.state == CLOSED


def test_a_major_hazard_is_verified_only_by_an_officer_or_the_authority():
    hazard = submitted("major")
    assert "an enterprise manager may not verify a major hazard" in refused(
        hazard, acting("another.manager"))
    assert "may not verify a major hazard" in refused(hazard, STAFF)
    hazard.verify(verdict(), GRID, RULE, now=hazard.found_at)
    assert hazard.state == CLOSED


def test_the_rectifier_does_not_verify_or_return_their_own_work():
    hazard = submitted(rectifier=MANAGER)
    for outcome in ("verified", "returned"):
        reason = refused(hazard, MANAGER, outcome)
        assert "baide.manager recorded a rectification" in reason
        assert "another account must verify it" in reason
    # an officer who rectified it alone is refused too: the role does not lift it
    alone = submitted("major", planner=TOWN, rectifier=TOWN)
    assert "wukang.town recorded a remediation plan" in refused(alone, TOWN)


def test_whoever_planned_or_rectified_before_a_return_stays_excluded():
    hazard = submitted("major", planner=GRID, rectifier=MANAGER)
    assert "wukang1.grid recorded a remediation plan" in refused(hazard, GRID)
    hazard.verify(verdict("returned", reason="loose"), TOWN, RULE, now=hazard.found_at)
    assert hazard.state == RETURNED
    hazard.submit_rectification(rectification(), acting("contractor.account"),
                                now=rectification()["done_at"])
    assert "baide.manager" not in refused(hazard, acting("contractor.account",
                                                         "town_officer", town="Wukang"))
    hazard.verify(verdict(), TOWN, RULE, now=hazard.found_at)     # returned it; fixed nothing
    assert hazard.state == CLOSED


def test_the_verifier_named_in_the_body_is_data_not_a_signature():
    hazard = submitted()
    hazard.verify(verdict(verifier="bureau.inspector"), GRID, RULE, now=hazard.found_at)
    event = hazard.pending[-1]
    assert event.actor == "wukang1.grid" and event.data["verifier"] == "bureau.inspector"
    unnamed = submitted()
    unnamed.verify(verdict(verifier=None), GRID, RULE, now=unnamed.found_at)
    assert unnamed.pending[-1].data["verifier"] == "wukang1.grid"


def test_a_configured_rule_is_checked_when_it_is_read(tmp_path):
    def written(data):
        path = tmp_path / ("rule-%d.json" % len(list(tmp_path.iterdir())))   # load caches by path
        path.write_text(json.dumps(data))
        return str(path)

    own = verification.load(written({"version": "county-7", "levels": {
        "general": {"roles": ["enterprise_manager"]}, "major": {"roles": ["authority_admin"]}}}))
    assert own.version == "county-7" and own.roles["major"] == ("authority_admin",)
    for bad, says in [({"levels": {}}, "version"),
                      ({"version": "x", "levels": {"general": {"roles": ["grid_officer"]}}},
                       "levels"),
                      ({"version": "x", "levels": {"general": {"roles": []},
                                                   "major": {"roles": ["grid_officer"]}}},
                       "levels.general.roles"),
                      ({"version": "x", "levels": {"general": {"roles": ["integrator"]},
                                                   "major": {"roles": ["boss"]}}},
                       "integrator may not verify")]:
        with pytest.raises(ValueError) as error:
            verification.load(written(bad))
        assert says in str(error.value)
