"""Three months of a small county's activity, built through the HTTP API,
scored indicator by indicator; then scoring's clock moves on and the window
slides: the enterprise that stopped recording falls, says so in GradeAssigned,
every score is stated for the month that ended, and a replay gives the same
scores. Rankings and the grade distribution before and after.

The clock is stepped months ahead, for good: these tests run a platform of
their own, so the session's platform keeps today's scores."""
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

import einspection.nameko_glue  # noqa: F401  (an RPC caller gets InvalidCommand back as itself)
from conftest import BACKENDS
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from einspection.errors import InvalidCommand
from services.scoring import cli, projection
from services.scoring.rules import load_rules, period_before

from . import factories, fixtures
from .conftest import own_platform
from .fixtures import created
from .support import Api, EventTap, wait_until

SLIDE_DAYS = 45


@pytest.fixture(scope="module", params=BACKENDS)
def county(request, databases, run_id, tmp_path_factory):
    """Its own platform with the scoring clock checked every second, and the
    county's activity recorded through the API."""
    def record(running):
        running.ids = record_activity(Api(running.base_url, running.token))
    with own_platform(request, databases, run_id, tmp_path_factory, "scoring", record,
                      SCORING_CLOCK_CHECK_SECONDS="1", HAZARD_DEADLINE_DAYS_GENERAL="7",
                      HAZARD_DEADLINE_DAYS_MAJOR="30") as running:
        yield running


# --- the activity ------------------------------------------------------------------------

def record_activity(api):
    """Four enterprises in two towns and two industries. Times are days before
    now; what is recorded is recorded now (reported_at, event times)."""
    ids = {}

    # Baide Fabrics: two positions with a checklist, inspected in turn every
    # third day (14 inspections, 0 … 39 days ago), six safety actions over three
    # months, a hazard recorded in time and rectified.
    ids["baide"] = baide = fixtures.register_enterprise(
        api, name="Baide Fabrics", town="Wukang", grid="Wukang-1", industry="textiles")
    version = fixtures.published_checklist(api, baide)
    positions = [fixtures.position(api, baide, name, [version["checklist_id"]])["id"]
                 for name in ("Weaving hall", "Dye house")]
    for n, days in enumerate(range(0, 40, 3)):
        inspect(api, baide, positions[n % 2], version, days)
    for kind, days in [("training", 80), ("drill", 60), ("meeting", 38), ("training", 25),
                       ("drill", 12), ("meeting", 2)]:
        safety_action(api, baide, kind, days)
    hazard = report(api, baide, found=timedelta(hours=3))
    rectify(api, hazard, done=timedelta(minutes=1))

    # Late Records Machinery: hazards kept afterwards (found 30, 10 and 40 days
    # before they were recorded), one rectified on time, two left open past
    # their deadlines (one of them major), two new ones recorded in time; three
    # positions, one without a checklist; one grid inspection, no self-inspection.
    ids["late"] = late = fixtures.register_enterprise(
        api, name="Late Records Machinery", town="Wukang", grid="Wukang-2",
        industry="machinery")
    version = fixtures.published_checklist(api, late)
    positions = [fixtures.position(api, late, name, checklist_ids)["id"] for name, checklist_ids
                 in [("Press line", [version["checklist_id"]]),
                     ("Paint booth", [version["checklist_id"]]), ("Yard", [])]]
    inspect(api, late, positions[0], version, 10, kind="grid")
    rectify(api, report(api, late, found=timedelta(days=30)), done=timedelta(days=25))
    report(api, late, found=timedelta(days=10))
    report(api, late, found=timedelta(days=40), level="major")
    report(api, late, found=timedelta(hours=1))
    report(api, late, found=timedelta(hours=2), level="major")

    # Steady Dyeing: recorded steadily, then stopped 50 days ago: 14
    # inspections 50 … 76 days ago in turn at its two positions, four safety
    # actions 55 … 80 days ago, no hazard.
    ids["steady"] = steady = fixtures.register_enterprise(
        api, name="Steady Dyeing", town="Xinshi", grid="Xinshi-1", industry="textiles")
    version = fixtures.published_checklist(api, steady)
    positions = [fixtures.position(api, steady, name, [version["checklist_id"]])["id"]
                 for name in ("Boiler room", "Warehouse")]
    for n, days in enumerate(range(50, 77, 2)):
        inspect(api, steady, positions[n % 2], version, days)
    for kind, days in [("training", 55), ("drill", 62), ("meeting", 70), ("training", 80)]:
        safety_action(api, steady, kind, days)

    # Quiet Plastics: a position without a checklist, nothing else.
    ids["quiet"] = quiet = fixtures.register_enterprise(
        api, name="Quiet Plastics", town="Xinshi", grid="Xinshi-1", industry="machinery")
    fixtures.position(api, quiet, "Moulding shop")
    return ids


def inspect(api, enterprise_id, position_id, version, days_ago, kind="self"):
    created(api.post("/api/v1/inspections", factories.inspection(
        enterprise_id, position_id, version, completed_days_ago=days_ago, kind=kind)))


def safety_action(api, enterprise_id, kind, days_ago):
    created(api.post("/api/v1/enterprises/%s/safety-actions" % enterprise_id, {
        "kind": kind, "topic": "fire safety", "people": 12, "recorded_by": "safety.manager",
        "held_on": (datetime.now(timezone.utc) - timedelta(days=days_ago)).date().isoformat()}))


def report(api, enterprise_id, found, level="general"):
    return created(api.post("/api/v1/hazards", factories.hazard(
        enterprise_id, found_hours_ago=found / timedelta(hours=1), level=level)))["id"]


def rectify(api, hazard_id, done):
    created(api.post("/api/v1/hazards/%s/rectification" % hazard_id, {
        "measures": "fixed and checked", "done_at": factories.iso(factories.ago() - done)}))


# --- reading scores --------------------------------------------------------------------------

COUNTS = ("hazards_recorded", "recorded_late", "hazards_due", "rectified_on_time",
          "majors_late_or_open", "inspections", "recorded", "positions",
          "with_checklist_and_inspected")


def counted(score):
    """What each indicator counted (the expected rhythms depend on the window's length)."""
    return {i["key"]: {k: v for k, v in i["detail"].items() if k in COUNTS}
            for i in score["indicators"]}


def values(score):
    return {i["key"]: (i["value"], i["points"]) for i in score["indicators"]}


def score_of(api, enterprise_id, as_of=None):
    query = "?as_of=%s" % as_of.isoformat() if as_of else ""
    response = api.get("/api/v1/enterprises/%s/score%s" % (enterprise_id, query))
    return response.json() if response.status_code == 200 else None


def settled(api, enterprise_id, counts):
    """The stored score once every fact it counts has arrived."""
    def arrived():
        score = score_of(api, enterprise_id)
        return score if score and counted(score) == counts else None
    return wait_until(arrived, timeout=60,
                      message="the score of %s to count %s" % (enterprise_id, counts))


def window_of(as_of):
    """(as_of − 3 months, as_of], the month step clipped to the month's end."""
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - 3, 12)
    for day in (as_of.day, 30, 29, 28):
        try:
            return (date(year, month + 1, day) + timedelta(days=1)).isoformat(), as_of.isoformat()
        except ValueError:
            continue


NOTHING = {"timeliness": {"hazards_recorded": 0}, "rectification_on_time": {"hazards_due": 0}}

# What each enterprise's indicators count today, and (value, points) each.
# Rule set 2026.3 (2026.2 with overdue citations deducted; none here): timeliness 2, rectification 2.5 (a major counts 3 times),
# self-inspection 2 (one a week), safety actions 1.5 (one a month), daily
# management 1 (20 a month), standardisation 1. The window has 89 to 92 days,
# so 13.14 self-inspections and 3.02 safety actions are expected at most.
TODAY = {
    "baide": {
        "counts": {"timeliness": {"hazards_recorded": 1, "recorded_late": 0},
                   "rectification_on_time": {"hazards_due": 0},        # due in 7 days
                   "self_inspection": {"inspections": 14},
                   "safety_actions": {"recorded": 6},
                   "daily_management": {"recorded": 0},
                   "standardisation": {"positions": 2, "with_checklist_and_inspected": 2}},
        "values": {"timeliness": ("1.0000", "2.00"),             # 1 of 1 in time
                   "rectification_on_time": ("1.0000", "2.50"),  # nothing due: none late
                   "self_inspection": ("1.0000", "2.00"),        # 14 ≥ 13.14, capped
                   "safety_actions": ("1.0000", "1.50"),         # 6 ≥ 3.02, capped
                   "daily_management": ("0.0000", "0.00"),       # none recorded
                   "standardisation": ("1.0000", "1.00")},       # 2 of 2 positions
        "points": "9.00", "grade": "A"},                          # 2 + 2.5 + 2 + 1.5 + 0 + 1
    "late": {
        "counts": {"timeliness": {"hazards_recorded": 5, "recorded_late": 3},
                   "rectification_on_time": {"hazards_due": 3, "rectified_on_time": 1,
                                             "majors_late_or_open": 1},
                   "self_inspection": {"inspections": 0},
                   "safety_actions": {"recorded": 0},
                   "daily_management": {"recorded": 0},
                   "standardisation": {"positions": 3, "with_checklist_and_inspected": 1}},
        "values": {"timeliness": ("0.4000", "0.80"),             # 2 of 5 in time; 2 × 0.4
                   # due: the general found 30 days ago (on time, 1), the one found
                   # 10 days ago (open, 1), the major found 40 days ago (open, 3): 1 / 5
                   "rectification_on_time": ("0.2000", "0.50"),
                   "self_inspection": ("0.0000", "0.00"),        # a grid inspection only
                   "safety_actions": ("0.0000", "0.00"),
                   "daily_management": ("0.0000", "0.00"),
                   "standardisation": ("0.3333", "0.33")},       # 1 of 3 positions
        "points": "1.63", "grade": "E"},                          # 0.80 + 0.50 + 0.33
    "steady": {
        "counts": dict(NOTHING, self_inspection={"inspections": 14},
                       safety_actions={"recorded": 4}, daily_management={"recorded": 0},
                       standardisation={"positions": 2, "with_checklist_and_inspected": 2}),
        "values": {"timeliness": ("0.5000", "1.00"),             # nothing recorded: half
                   "rectification_on_time": ("1.0000", "2.50"),
                   "self_inspection": ("1.0000", "2.00"),        # 14 ≥ 13.14
                   "safety_actions": ("1.0000", "1.50"),         # 4 ≥ 3.02
                   "daily_management": ("0.0000", "0.00"),
                   "standardisation": ("1.0000", "1.00")},
        "points": "8.00", "grade": "B"},                          # 1 + 2.5 + 2 + 1.5 + 0 + 1
    "quiet": {
        "counts": dict(NOTHING, self_inspection={"inspections": 0},
                       safety_actions={"recorded": 0}, daily_management={"recorded": 0},
                       standardisation={"positions": 1, "with_checklist_and_inspected": 0}),
        "values": {"timeliness": ("0.5000", "1.00"), "rectification_on_time": ("1.0000", "2.50"),
                   "self_inspection": ("0.0000", "0.00"), "safety_actions": ("0.0000", "0.00"),
                   "daily_management": ("0.0000", "0.00"),
                   "standardisation": ("0.0000", "0.00")},
        "points": "3.50", "grade": "E"},
}

# 45 days on, the window reaches back 44 to 47 days from today: what happened
# 50 days ago and earlier has left it, deadlines up to 45 days ahead are in it.
SLID = {
    # unchanged in points: the hazard found 3 hours ago is now due, and was
    # rectified on time (1 of 1); the 14 inspections (≤ 39 days ago) and 4 of
    # the safety actions (≤ 38 days ago) are still in the window
    "baide": {"rectification_on_time": ("1.0000", "2.50"), "safety_actions": ("1.0000", "1.50"),
              "points": "9.00", "grade": "A"},
    # the two hazards recorded today are due and open too (general 1, major 3):
    # 1 on time of weight 1 + 1 + 3 + 1 + 3 = 9 → 0.1111 × 2.5 = 0.28;
    # 0.80 + 0.28 + 0.33 = 1.41
    "late": {"rectification_on_time": ("0.1111", "0.28"), "points": "1.41", "grade": "E"},
    # every inspection and safety action has left the window: 1.00 + 2.50 +
    # 0 + 0 + 0 + standardisation 0 of 2 positions = 3.50
    "steady": {"self_inspection": ("0.0000", "0.00"), "safety_actions": ("0.0000", "0.00"),
               "standardisation": ("0.0000", "0.00"), "points": "3.50", "grade": "E"},
    "quiet": {"points": "3.50", "grade": "E"},
}


def check(score, expected):
    by_key = values(score)
    for key, value in expected.items():
        if key in ("points", "grade"):
            assert score[key] == value, (key, score[key], value)
        else:
            assert by_key[key] == value, (key, by_key[key], value)
    assert sum(Decimal(points) for _, points in by_key.values()) == Decimal(score["points"])


def ranked(listing):
    return [(e["name"], e["points"]) for e in listing["items"]]


# --- the tests ---------------------------------------------------------------------------------

def test_three_months_of_activity_scored_indicator_by_indicator(county):
    api = Api(county.base_url, county.token)
    today = None
    for name, expected in TODAY.items():
        score = settled(api, county.ids[name], expected["counts"])
        check(score, dict(expected["values"], points=expected["points"],
                          grade=expected["grade"]))
        today = date.fromisoformat(score["as_of"])
        assert (score["window_start"], score["window_end"]) == window_of(today)
    assert today == local_day(datetime.now(timezone.utc), deployment_zone())    # scoring's day
    late = {i["key"]: i for i in score_of(api, county.ids["late"])["indicators"]}
    assert late["timeliness"]["to_gain"].startswith("part of the hazard records are kept")
    assert late["timeliness"]["i18n"]["zh"]["to_gain"] == (
        "部分隐患记录为事后补录，请提高隐患上报的及时性")
    assert late["rectification_on_time"]["i18n"]["zh"]["title"] == "隐患按期整改"

    # As of a day 45 days on: the same facts, the slid window.
    slid = today + timedelta(days=SLIDE_DAYS)
    for name, expected in SLID.items():
        score = score_of(api, county.ids[name], slid)
        assert (score["as_of"], score["window_start"]) == (slid.isoformat(),
                                                           window_of(slid)[0])
        check(score, expected)

    # Rankings: best and worst overall, by town; excellent performers; grades.
    best = created(api.get("/api/v1/rankings"), 200)
    assert ranked(best) == [("Baide Fabrics", "9.00"), ("Steady Dyeing", "8.00"),
                            ("Quiet Plastics", "3.50"), ("Late Records Machinery", "1.63")]
    first = best["items"][0]
    assert first == {"rank": 1, "enterprise_id": county.ids["baide"], "name": "Baide Fabrics",
                     "town": "Wukang", "industry": "textiles", "points": "9.00",
                     "grade": "A", "as_of": today.isoformat()}
    worst = created(api.get("/api/v1/rankings?order=worst&limit=2"), 200)
    assert ranked(worst) == [("Late Records Machinery", "1.63"), ("Quiet Plastics", "3.50")]
    by_town = created(api.get("/api/v1/rankings?by=town"), 200)
    assert [(g["town"], g["enterprises"], ranked(g)) for g in by_town["groups"]] == [
        ("Wukang", 2, [("Baide Fabrics", "9.00"), ("Late Records Machinery", "1.63")]),
        ("Xinshi", 2, [("Steady Dyeing", "8.00"), ("Quiet Plastics", "3.50")])]
    machinery = created(api.get("/api/v1/rankings?industry=machinery&order=worst"), 200)
    assert ranked(machinery) == [("Late Records Machinery", "1.63"), ("Quiet Plastics", "3.50")]
    excellent = created(api.get("/api/v1/rankings/excellent"), 200)
    assert (excellent["grade"], excellent["count"], ranked(excellent)) == (
        "A", 1, [("Baide Fabrics", "9.00")])
    overall = created(api.get("/api/v1/grades/distribution"), 200)
    assert (overall["counts"], overall["total"]) == (
        {"A": 1, "B": 1, "C": 0, "D": 0, "E": 2}, 4)
    by_industry = created(api.get("/api/v1/grades/distribution?by=industry"), 200)
    assert [(g["industry"], g["counts"]) for g in by_industry["groups"]] == [
        ("machinery", {"A": 0, "B": 0, "C": 0, "D": 0, "E": 2}),
        ("textiles", {"A": 1, "B": 1, "C": 0, "D": 0, "E": 0})]


def test_the_clock_slides_the_window_states_the_month_and_replay_agrees(county):
    api = Api(county.base_url, county.token)
    for name, expected in TODAY.items():
        settled(api, county.ids[name], expected["counts"])
    engine = make_engine(county.urls["scoring"])
    today = local_day(datetime.now(timezone.utc), deployment_zone())   # the clock's days are local

    def clock():
        with engine.connect() as conn:
            return projection.clock_state(conn)
    # the timer (every second here) has put the clock at today
    wait_until(lambda: clock() is not None and clock().day == today,
               message="the timer to step the clock to today")

    slid = today + timedelta(days=SLIDE_DAYS)
    expected_as_of_slid = {name: score_of(api, county.ids[name], slid) for name in SLID}
    tap = EventTap(county.amqp_uri, county.exchange, "einspection.grade.#")
    try:
        with ClusterRpcProxy({"AMQP_URI": county.amqp_uri}, timeout=30) as rpc:
            with pytest.raises(InvalidCommand) as bad_day:
                rpc.scoring.advance_clock("next tuesday")
            assert "day" in bad_day.value.errors
            # The timer may catch up beside this call; either way, each effect once.
            step_id = "operator-step-%s" % slid.isoformat()
            outcome = rpc.scoring.advance_clock(slid.isoformat(), command_id=step_id)
            # the operator's retry of the same step: its first answer, nothing done again
            assert rpc.scoring.advance_clock(slid.isoformat(), command_id=step_id) == outcome
        assert (outcome["day"], outcome["advanced"], outcome["period"]) == (
            slid.isoformat(), True, period_before(slid))
        step = clock()

        # Every stored score is now as of the slid day, and what ?as_of= said it would be.
        for name, expected in SLID.items():
            def slid_score():
                score = score_of(api, county.ids[name])
                return score if score["as_of"] == slid.isoformat() else None
            score = wait_until(slid_score, message="%s's score to slide" % name)
            check(score, expected)
            assert score == dict(expected_as_of_slid[name], enterprise_id=county.ids[name])

        # Steady stopped recording and fell, B → E, because of the clock step.
        [message] = tap.wait_for(lambda e: e["type"] == "einspection.grade.assigned.v1"
                                 and e["causationid"] == step.event_id)
        fell = json.loads(message.body)
        assert (fell["subject"], fell["data"]["previous_grade"], fell["data"]["grade"],
                fell["data"]["points"], fell["data"]["as_of"]) == (
            county.ids["steady"], "B", "E", "3.50", slid.isoformat())
        standardisation = {i["key"]: i for i in fell["data"]["indicators"]}["standardisation"]
        assert standardisation["i18n"]["zh"]["advice"].startswith("提高标准化水平")

        # One statement each for the month that ended before the slid day.
        wait_until(lambda: len([e for e in tap.bodies()
                                if e["type"] == "einspection.grade.stated.v1"]) >= 4,
                   message="four monthly statements")
        tap.drain(2.0)                      # time for a duplicate to show up
        stated = [e for e in tap.bodies() if e["type"] == "einspection.grade.stated.v1"]
        assert sorted(e["subject"] for e in stated) == sorted(county.ids.values())
        assert {(e["data"]["period"], e["data"]["as_of"]) for e in stated} == {
            (period_before(slid), slid.isoformat())}
        assert {e["subject"]: e["data"]["points"] for e in stated} == {
            county.ids[name]: SLID[name]["points"] for name in SLID}
        assert [e for e in tap.bodies() if e["type"] == "einspection.grade.assigned.v1"
                and e["causationid"] == step.event_id] == [fell]
    finally:
        tap.close()

    # Notify: the fall is a grade notice naming what Steady lost, weakest first
    # (four indicators at nothing, by key), in Chinese, the default — not
    # timeliness: its half credit is for want of any hazard in the window, and
    # nothing shows records kept afterwards; every enterprise has its monthly
    # statement as a notice.
    def notices_of(name):
        return created(api.get("/api/v1/enterprises/%s/notices" % county.ids[name]),
                       200)["items"]
    fall_notice = wait_until(lambda: next((n for n in notices_of("steady")
                                           if n["cause_event_id"] == fell["id"]), None),
                             message="the notice of Steady's fall")
    assert fall_notice["kind"] == "grade" and fall_notice["title"].startswith("综合评定E级")
    advice = {i["key"]: i["i18n"]["zh"]["advice"] for i in load_rules()["indicators"]}
    weakest_first = ["daily_management", "safety_actions", "self_inspection",
                     "standardisation"]
    assert "安全生产管理提示：%s。" % "；".join(advice[k] for k in weakest_first) in (
        fall_notice["body"])
    assert advice["timeliness"] not in fall_notice["body"]
    statements = {e["id"] for e in stated}
    for name in county.ids:
        monthly = wait_until(lambda: [n for n in notices_of(name) if n["kind"] == "monthly"],
                             message="%s's monthly notice" % name)
        assert len(monthly) == 1 and monthly[0]["cause_event_id"] in statements
        assert monthly[0]["title"].startswith(period_before(slid))

    # Rankings as of the slid day: Steady and Quiet tie on points, by name.
    worst = created(api.get("/api/v1/rankings?order=worst"), 200)
    assert ranked(worst) == [("Late Records Machinery", "1.41"), ("Quiet Plastics", "3.50"),
                             ("Steady Dyeing", "3.50"), ("Baide Fabrics", "9.00")]
    assert {e["as_of"] for e in worst["items"]} == {slid.isoformat()}
    distribution = created(api.get("/api/v1/grades/distribution?by=town"), 200)
    assert [(g["town"], g["counts"]) for g in distribution["groups"]] == [
        ("Wukang", {"A": 1, "B": 0, "C": 0, "D": 0, "E": 1}),
        ("Xinshi", {"A": 0, "B": 0, "C": 0, "D": 0, "E": 2})]

    # Replay: the scoring projection dropped and rebuilt from its events.
    county.stop_service("scoring-0")
    with engine.connect() as conn:
        before = projection.snapshot(conn)
    assert len(before) == 4
    assert cli.main(["replay", "--database-url", county.urls["scoring"]]) == 0
    with engine.connect() as conn:
        assert projection.snapshot(conn) == before
        assert projection.clock_state(conn) == step
    engine.dispose()


@pytest.mark.parametrize("path,field", [
    ("/api/v1/rankings?by=county", "by"),
    ("/api/v1/rankings?order=middling", "order"),
    ("/api/v1/rankings?limit=0", "limit"),
    ("/api/v1/rankings?limit=101", "limit"),
    ("/api/v1/rankings?limit=ten", "limit"),
    ("/api/v1/rankings?town=", "town"),
    ("/api/v1/rankings?surprise=1", "surprise"),
    ("/api/v1/rankings/excellent?limit=-1", "limit"),
    ("/api/v1/grades/distribution?by=grid", "by"),
    ("/api/v1/grades/distribution?order=best", "order"),
])
def test_bad_ranking_queries_get_400_naming_the_field(api, path, field):
    response = api.get(path)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]
