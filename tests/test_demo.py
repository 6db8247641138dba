"""The demo data as a newcomer meets it after `make run`: each enterprise's
history reads like a real one. Its records are dated over the past months
(imported with their original times, einspection/imports.py), every grade
notice stands for one real change of grade on the day it happened — none
comes in a burst at load time — and every month that ended has its statement.
On the session's demo platform (tests/conftest.py `demo_platform`), SQLite as
`make run` has it."""
import os
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from einspection import days, money
from einspection.errors import InvalidCommand
from services.enforcement.unit.county_plan import PLAN
from tools import demo, demo_enforcement, launch

from .support import Api, wait_until


@pytest.fixture
def loaded(demo_platform):
    return demo_platform


def _instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local_day(text):
    """The day of the deployment's zone (scoring's days) an instant falls on."""
    return days.local_day(_instant(text), days.deployment_zone())


def _by_enterprise(events, kind):
    grouped = defaultdict(list)
    for event in events:
        if event["type"] == "einspection.grade.%s.v1" % kind:
            grouped[event["subject"]].append(event)
    for items in grouped.values():
        items.sort(key=lambda e: e["time"])
    return grouped


def test_each_grade_notice_is_one_real_change_on_its_own_day(loaded):
    events = loaded.at_load["grade_events"]
    assigned = _by_enterprise(events, "assigned")
    assert set(assigned) == set(loaded.history_ids)
    first_day = loaded.today - timedelta(days=demo.HISTORY_DAYS)
    for enterprise_id, grades in assigned.items():
        previous = None
        for grade in grades:
            data, when = grade["data"], _instant(grade["time"])
            # dated on the (local) day it is as of, within the history, not at load
            # time; the history ends yesterday in UTC, which may be today locally
            assert _local_day(grade["time"]).isoformat() == data["as_of"], grade
            assert first_day <= _local_day(grade["time"]) <= loaded.today
            # a change: from the grade before it
            assert data["previous_grade"] == (previous and previous["data"]["grade"])
            assert data["grade"] != data["previous_grade"]
            if previous is not None:        # no burst: hours apart at least
                assert when - _instant(previous["time"]) >= timedelta(hours=1), (previous,
                                                                                  grade)
            previous = grade
    days = sorted(_instant(g["time"]).date() for grades in assigned.values() for g in grades)
    months = {(day.year, day.month) for day in days}
    assert len(months) >= 3, days                   # spread over the months of the history
    # grades rise as the records build up (A is the best), and some fall: not only a fill-up
    changes = [(g["data"]["previous_grade"], g["data"]["grade"])
               for grades in assigned.values() for g in grades if g["data"]["previous_grade"]]
    assert any(new < old for old, new in changes) and any(new > old for old, new in changes)


def test_every_month_that_ended_is_stated_once_at_its_end(loaded):
    events = loaded.at_load["grade_events"]
    stated = _by_enterprise(events, "stated")
    first_day = loaded.today - timedelta(days=demo.HISTORY_DAYS)
    months, day = [], date(first_day.year, first_day.month, 1)
    while True:
        day = (day + timedelta(days=32)).replace(day=1)      # the next month's first day
        if day >= loaded.today:
            break
        months.append(day)
    assert len(months) >= 3
    for enterprise_id in loaded.history_ids:
        statements = stated[enterprise_id]
        assert [s["data"]["period"] for s in statements] == [
            "%04d-%02d" % ((m - timedelta(days=1)).year, (m - timedelta(days=1)).month)
            for m in months]
        assert [_local_day(s["time"]) for s in statements] == months


def test_the_notices_are_the_grade_changes_and_statements_dated_with_them(loaded):
    events, notices = loaded.at_load["grade_events"], loaded.at_load["notices"]
    by_id = {event["id"]: event for event in events}
    for enterprise_id in loaded.history_ids:
        causes = [by_id[n["cause_event_id"]] for n in notices[enterprise_id]]
        assert [c["type"].split(".")[2] for c in causes] == [
            {"grade": "assigned", "monthly": "stated"}[n["kind"]] for n in notices[enterprise_id]]
        for notice, cause in zip(notices[enterprise_id], causes):
            assert _instant(notice["issued_at"]) == _instant(cause["time"])
            assert cause["data"]["grade"] in notice["title"]
        grade_notices = [n for n in notices[enterprise_id] if n["kind"] == "grade"]
        assert len(grade_notices) == len([e for e in events if e["subject"] == enterprise_id
                                          and e["type"].startswith("einspection.grade.assig")])
    # the model enterprise reads its notices in English, the others as they chose
    baide = loaded.ids[0]
    assert all(n["language"] == "en" for n in notices[baide])


def test_the_records_are_dated_over_the_past_months(loaded):
    api = Api(loaded.base_url, loaded.token)
    hazards, inspections = loaded.at_load["hazards"], loaded.at_load["inspections"]
    for rows, key in ((hazards, "reported_at"), (inspections, "completed_at")):
        months = {row[key][:7] for row in rows}
        assert len(months) >= 4, (key, sorted(months))
        assert max(row[key] for row in rows) < loaded.today.isoformat()
    # a hazard's history has each step at its own time, by the accounts that did it
    closed = next(h for h in hazards if h["status"] == "closed")
    history = api.get("/api/v1/hazards/%s/history" % closed["id"]).json()["items"]
    times = [step["time"] for step in history]
    assert times == sorted(times) and times[0][:10] != times[-1][:10]
    actors = {step["type"].split(".")[2]: step["actor"] for step in history}
    assert actors["reported"].endswith(".staff")
    assert actors["verified"] != actors["rectification-done"]
    # those found overdue in the history were found when their deadline passed
    overdue = [h for h in hazards if h["overdue"]
               and h["rectification_deadline"] < loaded.today.isoformat()]
    assert overdue and all(_instant(h["overdue_at"]) - _instant(h["rectification_deadline"])
                           < timedelta(minutes=2) for h in overdue)


def _every(api, path, **params):
    items, page = [], 1
    while True:
        found = api.get(path, params=dict(params, page=page, size=200)).json()
        items += found["items"]
        if len(items) >= found["total"] or not found["items"]:
            return items
        page += 1


def test_the_seeds_campaign_drew_100_targets_by_its_town_quotas_and_re_runs_identical(loaded):
    api = Api(loaded.base_url, loaded.token)
    [summary] = [c for c in _every(api, "/api/v1/campaigns")
                 if c["name"] == demo_enforcement.CAMPAIGN_NAME]
    path = "/api/v1/campaigns/" + summary["campaign_id"]
    campaign = api.get(path).json()
    assert (campaign["status"], campaign["legal_basis"], campaign["targets"]) == (
        "assigned", "德安监发[2016]5号", 100)
    assert campaign["quota_basis"] == "given" and campaign["quotas"] == PLAN
    targets = campaign["draw"]["targets"]
    drawn = defaultdict(int)
    for target in targets:
        drawn[target["town"]] += 1
    assert dict(drawn) == PLAN and campaign["draw"]["shortfall"] == {}
    assert len({t["enterprise_id"] for t in targets}) == 100
    assert campaign["draw"]["seed_source"] == demo_enforcement.SEED_SOURCE
    # every town had more candidates than its quota, beside those excluded
    candidates = api.get(path + "/candidates").json()
    towns = defaultdict(int)
    for candidate in candidates["candidates"]:
        towns[candidate["town"]] += 1
    assert all(towns[town] > quota for town, quota in PLAN.items()), dict(towns)
    excluded = [e for e in candidates["exclusions"] if e["town"] in PLAN]
    assert {e["town"] for e in excluded} == set(PLAN)
    assert {e["code"] for e in excluded} == {"visited_recently"} and all(e["reason"]
                                                                         for e in excluded)
    # two inspectors each, of the six, the load balanced
    load = defaultdict(int)
    for each in campaign["assignment"]["assignments"]:
        assert len(set(each["inspectors"])) == 2
        for inspector in each["inspectors"]:
            load[inspector] += 1
    assert len(load) == 6 and max(load.values()) - min(load.values()) <= 1
    verified = api.post(path + "/draw/verify").json()
    assert (verified["identical"], verified["digest_matches"],
            verified["committed_before_revealed"]) == (True, True, True)


def test_the_campaign_visits_hazards_and_fines_are_of_the_seeds_order(loaded):
    """The seed's results page: 58 enterprises frequently visited, over 380
    hazards identified by inspectors, over 300 thousand yuan fined — counted
    here from the inspections, the standing book and the cases."""
    api = Api(loaded.base_url, loaded.token)
    [summary] = [c for c in _every(api, "/api/v1/campaigns")
                 if c["name"] == demo_enforcement.CAMPAIGN_NAME]
    campaign = api.get("/api/v1/campaigns/" + summary["campaign_id"]).json()
    assigned = {a["enterprise_id"]: set(a["inspectors"])
                for a in campaign["assignment"]["assignments"]}
    inspections = _every(api, "/api/v1/inspections", campaign_id=campaign["campaign_id"])
    visited = {i["enterprise_id"] for i in inspections}
    assert len(visited) == 58 and visited <= set(assigned)
    assert len(inspections) > len(visited)          # some twice: frequently visited
    for inspection in inspections:                  # by the target's own inspectors
        assert inspection["kind"] == "enforcement"
        assert set(inspection["inspectors"]) == assigned[inspection["enterprise_id"]]

    hazards = _every(api, "/api/v1/hazards", source="enforcement")
    ours = [h for h in hazards if h["source_inspection_id"] in {i["id"] for i in inspections}]
    assert 380 <= len(ours) <= 400 and len(ours) == sum(i["items_failed"] for i in inspections)

    cases = _every(api, "/api/v1/cases", campaign_id=campaign["campaign_id"])
    assert len(cases) == len({i["id"] for i in inspections if i["items_failed"]}) == 58
    assert {c["currency"] for c in cases} == {"CNY"}
    imposed = sum(money.parse(c["totals"]["imposed"], "imposed") for c in cases)
    paid = sum(money.parse(c["totals"]["paid"], "paid") for c in cases)
    assert 300_000_00 <= imposed <= 320_000_00, money.format(imposed)
    assert 0 < paid < imposed
    statuses = {c["status"] for c in cases}
    assert statuses >= {"closed", "paid", "penalty_decided"}, statuses
    classes = set()
    for case in cases[:20]:
        detail = api.get("/api/v1/cases/" + case["case_id"]).json()
        for citation in detail["citations"]:
            classes.add(citation["violation_class"])
            assert citation["abatement_date"] and citation["clause"].startswith("《安全生产法》")
            assert citation["hazard_ids"] and set(citation["hazard_ids"]) <= {h["id"]
                                                                             for h in ours}
    assert classes >= {"serious", "other"}

    # the second visits (复查) found everything put right: the hazards verified, and so
    # their citations abated
    twice = {e for e in visited if sum(i["enterprise_id"] == e for i in inspections) > 1}
    assert {h["status"] for h in ours if h["enterprise_id"] in twice} == {"closed"}
    assert "closed" not in {h["status"] for h in ours if h["enterprise_id"] not in twice}

    def citations_of_the_twice_visited():
        citations = [citation for case in cases if case["enterprise_id"] in twice
                     for citation in api.get("/api/v1/cases/" + case["case_id"]).json()[
                         "citations"]]
        return all(c["abated"] for c in citations) and citations
    assert wait_until(citations_of_the_twice_visited, timeout=30,
                      message="the verified hazards' citations abated")


def test_the_readme_states_the_demos_figures_as_the_api_counts_them(loaded):
    api = Api(loaded.base_url, loaded.token)
    [summary] = [c for c in _every(api, "/api/v1/campaigns")
                 if c["name"] == demo_enforcement.CAMPAIGN_NAME]
    inspections = _every(api, "/api/v1/inspections", campaign_id=summary["campaign_id"])
    cases = _every(api, "/api/v1/cases", campaign_id=summary["campaign_id"])

    def total(key):
        fen = sum(money.parse(c["totals"][key], key) for c in cases)
        return "{:,}.{:02d}".format(*divmod(fen, 100))
    with open(os.path.join(launch.ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines()
            if line.startswith("| ") and line.count("|") == 4}
    assert "%d, in %d enforcement inspections" % (
        len({i["enterprise_id"] for i in inspections}), len(inspections)) in rows[
        "enterprises visited"]
    assert " %d (`source=enforcement`)" % sum(i["items_failed"] for i in inspections) in rows[
        "hazards identified by inspectors"]
    assert "CNY %s imposed in %d citations (%s proposed), %s paid" % (
        total("imposed"), sum(c["citations"] for c in cases), total("proposed"),
        total("paid")) in rows["fined"]
    closed = sum(c["status"] == "closed" for c in cases)
    assert "%d cases closed" % closed in " ".join(readme.split())


def test_a_second_start_loads_nothing_again(loaded):
    api = Api(loaded.base_url, loaded.token)
    before = api.get("/api/v1/hazards", params={"size": 1}).json()["total"]
    ids, accounts = demo.load(loaded.base_url, loaded.token, loaded.amqp_uri)
    assert set(ids) == set(loaded.ids)
    assert accounts == loaded.accounts
    assert api.get("/api/v1/hazards", params={"size": 1}).json()["total"] == before


def test_an_import_checks_every_record_and_names_the_one_that_fails(loaded):
    now = datetime.now(timezone.utc)

    def at(delta):
        return (now + delta).isoformat().replace("+00:00", "Z")
    report = {"enterprise_id": loaded.ids[0], "level": "general", "category": "fire",
              "description": "extinguisher missing", "reporter": "baide.staff",
              "found_at": at(-timedelta(days=3))}
    with ClusterRpcProxy({"AMQP_URI": loaded.amqp_uri}, timeout=30) as rpc:
        def refused(records):
            with pytest.raises(InvalidCommand) as raised:
                rpc.hazard.import_records({"records": records, "actor": "admin"})
            return raised.value.errors
        assert refused([{"command": "report_hazard", "at": at(timedelta(hours=1)),
                         "payload": report}]) == {"records": {"0": {"at": ["is in the future"]}}}
        assert "not a command this service imports" in refused([{
            "command": "drop_everything", "at": at(-timedelta(days=1)),
            "payload": {}}])["records"]["0"]["command"][0]
        assert refused([
            {"command": "report_hazard", "at": at(-timedelta(days=1)), "payload": report},
            {"command": "report_hazard", "at": at(-timedelta(days=2)), "payload": report},
        ])["records"]["1"]["at"] == ["is before the record before it: import in time order"]
        before = rpc.hazard.list_hazards({"enterprise_id": loaded.ids[0], "size": 1})["total"]
        # the second one was found after it was recorded: that record fails, the first stays
        errors = refused([
            {"command": "report_hazard", "at": at(-timedelta(days=2)), "payload": report},
            {"command": "report_hazard", "at": at(-timedelta(days=2, hours=-1)),
             "payload": dict(report, found_at=at(-timedelta(days=1)))}])
        assert errors["records"] == {"1": {"found_at": ["is in the future"]}}
        assert "records before 1 were imported" in errors["imported"][0]
        after = rpc.hazard.list_hazards({"enterprise_id": loaded.ids[0], "size": 1})["total"]
        assert after == before + 1
        # what was imported is dated when it was recorded then
        outcome = rpc.hazard.import_records({"records": [
            {"command": "report_hazard", "at": at(-timedelta(days=2)), "actor": "baide.staff",
             "payload": report}], "actor": "admin"})
        hazard = outcome["results"][0]
        assert hazard["reported_at"][:16] == at(-timedelta(days=2))[:16]
        assert [e["type"] for e in outcome["events"]] == ["einspection.hazard.reported.v1"]
        wait_until(lambda: not rpc.scoring.awaiting(outcome["events"]), timeout=30,
                   message="scoring to have the imported report")
