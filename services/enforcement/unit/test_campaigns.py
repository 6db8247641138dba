"""The campaign aggregate and the facts of the draw, without a broker: the
campaign's rules, its record re-run identical, and facts that come out the
same whatever order their events arrive in."""
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from einspection import eventstore
from einspection.acting import Acting
from einspection.auth import Principal
from einspection.contract import new_event
from einspection.db import make_engine
from einspection.errors import Conflict, Forbidden, InvalidCommand
from services.enforcement import draw, facts
from services.enforcement.campaigns import Campaign, min_random_share

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)
ZONE = ZoneInfo("Asia/Shanghai")
ADMIN = Acting.by_account(Principal("a-1", "sun.admin", "authority_admin"))
MANAGER = Acting.by_account(Principal("a-2", "baide.li", "enterprise_manager",
                                      enterprise_id="e-1"))
TOWNS = {"e-%d" % n: town for n, town in enumerate(["Wukang"] * 5 + ["Xinshi"] * 3)}
DIRECTORY = {enterprise_id: {"town": town, "grid": town + "-1", "name": "Firm " + enterprise_id}
             for enterprise_id, town in TOWNS.items()}
COUNTS = {"Wukang": 5, "Xinshi": 3}


def opened(**command):
    body = {"name": "2016年度重点企业执法检查", "legal_basis": "德安监发[2016]5号",
            "period_start": date(2016, 5, 1), "period_end": date(2016, 11, 30), "targets": 4,
            "quotas": None, "mandatory": [], "conflicts": [], "per_target": 2}
    body.update(command)
    return Campaign.open(body, command.pop("acting", ADMIN), now=NOW, directory=DIRECTORY,
                         town_counts=COUNTS, min_share=Decimal("0.70"))


def facts_of_all():
    return [{"enterprise_id": e, "town": t, "industry": "textiles", "grade": "C",
             "open_major": 0, "overdue": 0, "listed": 0, "last_enforcement_visit": None,
             "visits_this_year": 0} for e, t in sorted(TOWNS.items())]


def test_a_campaign_commits_draws_and_assigns_and_its_record_re_runs_identical():
    campaign = opened(quotas={"Wukang": 3, "Xinshi": 1}, mandatory=["e-4"],
                      conflicts=[{"inspector": "wu", "enterprise_id": "e-4", "reason": "亲属"}])
    campaign.commit(facts_of_all(), NOW.date(), ["wu", "li", "zhao"], ADMIN,
                    now=NOW + timedelta(minutes=1))
    campaign.draw_targets({"seed": "4 7 1", "seed_source": "福彩3D"}, DIRECTORY, ADMIN,
                          now=NOW + timedelta(hours=1))
    campaign.assign(ADMIN, now=NOW + timedelta(hours=2))
    assert [e.name for e in campaign.pending] == ["CampaignOpened", "CandidatesCommitted",
                                                  "TargetsDrawn", "InspectorsAssigned"]
    targets = campaign.drawing["targets"]
    assert [t["town"] for t in targets].count("Wukang") == 3 and targets[0]["enterprise_id"] \
        == "e-4" and targets[0]["mandatory"]
    assert all(t["grid"] == t["town"] + "-1" for t in targets)
    assert not any("wu" in a["inspectors"] for a in campaign.assignment["assignments"]
                   if a["enterprise_id"] == "e-4")
    record = campaign.record()
    assert record["snapshot_digest"] == draw.snapshot_digest(record["snapshot"])
    verified = draw.verify(record)
    assert (verified["identical"], verified["digest_matches"],
            verified["committed_before_revealed"]) == (True, True, True)
    assert draw.verify(dict(record, inspectors=["wu", "li", "qian"]))["digest_matches"] is False
    assert draw.verify(dict(record, seed="4 7 2"))["identical"] is False
    with pytest.raises(Conflict):
        campaign.draw_targets({"seed": "again", "seed_source": "x"}, DIRECTORY, ADMIN, now=NOW)


def test_quotas_by_largest_remainder_when_none_are_given():
    campaign = opened(targets=5)                # 5 × 5/8 = 3.125, 5 × 3/8 = 1.875
    assert campaign.opened["quotas"] == {"Wukang": 3, "Xinshi": 2}
    assert campaign.opened["quota_basis"] == "proportional"
    assert campaign.opened["town_counts"] == COUNTS


def test_proportional_quotas_give_a_town_its_mandatory_enterprises_plus_its_share_of_the_rest():
    # without the key list: 4 × 5/8 = 2.5, 4 × 3/8 = 1.5, the tie to the larger town: 3 and 1;
    # with Xinshi's e-5 on it: 3 left over 5 and 2 others, 2.14 and 0.86: 2 and 1, plus e-5
    assert opened().opened["quotas"] == {"Wukang": 3, "Xinshi": 1}
    campaign = opened(mandatory=["e-5"])
    assert campaign.opened["quotas"] == {"Wukang": 2, "Xinshi": 2}
    assert campaign.opened["town_counts"] == COUNTS


@pytest.mark.parametrize("command, field, words", [
    ({"quotas": {"Wukang": 1}}, "quotas", "add up to 1, not to the 4 targets"),
    ({"mandatory": ["e-0", "e-1"]}, "mandatory", "drawn at random"),
    ({"targets": 10, "quotas": {"Wukang": 9, "Xinshi": 1}, "mandatory": ["e-5", "e-6"]},
     "mandatory", "Xinshi has 2 mandatory enterprises and a quota of 1"),
    ({"mandatory": ["e-0", "e-0"]}, "mandatory", "twice"),
    ({"period_end": date(2016, 4, 1)}, "period_end", "before period_start"),
])
def test_a_campaign_that_breaks_a_rule_is_refused_naming_the_field(command, field, words):
    with pytest.raises(InvalidCommand) as refused:
        opened(**command)
    assert words in str(refused.value.errors[field])


def test_only_the_authority_opens_a_campaign():
    with pytest.raises(Forbidden):
        opened(acting=MANAGER)


@pytest.mark.parametrize("text", ["0.70", "0", "1"])
def test_the_random_share_setting_reads_a_decimal_from_0_to_1(text):
    assert min_random_share(text) == Decimal(text)


@pytest.mark.parametrize("text", ["70%", "1.5", "-0.1", "NaN", ""])
def test_a_random_share_setting_outside_0_to_1_stops_the_service(text):
    with pytest.raises(ValueError):
        min_random_share(text)


# --- the facts -------------------------------------------------------------------------------

def _events():
    def event(name, data, when):
        return new_event(name, data, actor="someone", time=when)
    registered = event("EnterpriseRegistered", {
        "enterprise_id": "e-1", "credit_code": "9" * 18, "name": "Baide", "industry": "textiles",
        "town": "Wukang", "grid": "Wukang-1", "registered_at": NOW}, NOW)
    hazard = {"enterprise_id": "e-1", "category": "fire", "description": "valve shut",
              "found_at": NOW, "reported_at": NOW, "rectification_deadline": NOW,
              "reporter": "li"}
    grade = {"enterprise_id": "e-1", "points": "5.00", "rule_version": "v2",
             "window_start": date(2026, 9, 1), "indicators": []}
    return [
        registered,
        event("HazardReported", dict(hazard, hazard_id="h-1", level="major"), NOW),
        event("HazardReported", dict(hazard, hazard_id="h-2", level="major"), NOW),
        event("HazardOverdue", {"hazard_id": "h-2", "enterprise_id": "e-1", "level": "major",
                                "rectification_deadline": NOW, "detected_at": NOW}, NOW),
        event("HazardListed", {"hazard_id": "h-2", "enterprise_id": "e-1", "listed_at": NOW,
                               "deadline": NOW, "office": "执法大队", "reason": "重大"}, NOW),
        event("HazardVerified", {"hazard_id": "h-1", "enterprise_id": "e-1", "verified_at": NOW,
                                 "verifier": "zhao"}, NOW),
        event("GradeAssigned", dict(grade, grade="B", as_of=date(2026, 11, 1),
                                    window_end=date(2026, 11, 1)), NOW - timedelta(days=30)),
        event("GradeStated", dict(grade, grade="E", as_of=date(2026, 12, 1), period="2026-11",
                                  window_end=date(2026, 12, 1)), NOW - timedelta(days=2)),
        event("InspectionLogged", {
            "inspection_id": "i-1", "enterprise_id": "e-1", "position_id": "p-1",
            "checklist_id": "c-1", "checklist_version": 1, "kind": "enforcement",
            # 17:00 UTC on 1 December is 2 December in Shanghai
            "started_at": datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc),
            "completed_at": datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc),
            "items_passed": 3, "items_failed": 0, "items_not_applicable": 0,
            "inspector": "zhao"}, NOW),
    ]


def _facts_after(events, path):
    engine = make_engine("sqlite:///" + str(path))
    try:
        eventstore.create_tables(engine, facts.metadata)
        with engine.begin() as conn:
            for event in events:
                facts.apply(conn, event, ZONE)
        with engine.connect() as conn:
            return facts.facts_list(conn, NOW.date()), facts.snapshot(conn)
    finally:
        engine.dispose()


def test_the_facts_of_an_enterprise_for_its_weight(tmp_path):
    [found], _ = _facts_after(_events(), tmp_path / "facts.db")
    assert found == {"enterprise_id": "e-1", "town": "Wukang", "industry": "textiles",
                     "grade": "E", "open_major": 1, "overdue": 1, "listed": 1,
                     "last_enforcement_visit": "2026-12-02", "visits_this_year": 1}


def test_the_facts_are_the_same_whatever_order_their_events_arrive_in(tmp_path):
    events = _events()
    expected = _facts_after(events, tmp_path / "in-order.db")
    for seed in range(5):
        order = list(events)
        random.Random(seed).shuffle(order)     # fixed seeds: the same orders every run
        assert _facts_after(order, tmp_path / ("order-%d.db" % seed)) == expected
