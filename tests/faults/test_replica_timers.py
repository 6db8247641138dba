"""Three processes each of hazard, enforcement, scoring and notify, their
timers ticking fast: every timer's effect happens once, as with one process.

- hazard's overdue check: one HazardOverdue per hazard, so one overdue
  notice per hazard and recipient; and its listing check: one
  HazardListingDue per listed hazard (its deadline in an hour: one reminder
  due), so one reminder per hazard and recipient;
- enforcement's abatement check: one CitationAbatementOverdue per citation
  past its abatement day, so one notice per citation and recipient (the
  enterprise, its grid);
- scoring's clock (its timer, and advance_clock asked of every replica at
  once): one ScoringClockAdvanced per day, one GradeStated per enterprise
  and month;
- notify's dispatcher: every webhook delivery POSTed once, one attempt each.
"""
import collections
import json
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from einspection import eventstore
from einspection.days import deployment_zone, local_day
from einspection.db import make_engine
from services.notify import channels, model

from .. import factories, fixtures
from ..support import Api, WebhookReceiver, wait_until

HAZARDS = 30
CASES, CITATIONS = 3, 2          # per case, each past its abatement day
REPLICAS = {"hazard": 3, "enforcement": 3, "scoring": 3, "notify": 3}


def events_named(url, *names):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [event for _, event in eventstore.read_all(conn, limit=100000)
                    if event.name in names]
    finally:
        engine.dispose()


def rows(url, table):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(table)).all()
    finally:
        engine.dispose()


def first_of_month(day, months_on):
    month = day.month - 1 + months_on
    return date(day.year + month // 12, month % 12 + 1, 1)


def test_every_timer_has_its_effect_once_with_three_replicas(fault_platform):
    receiver = WebhookReceiver()
    try:
        platform = fault_platform("timers", replicas=REPLICAS,
                                  HAZARD_OVERDUE_CHECK_SECONDS="0.2",
                                  ENFORCEMENT_ABATEMENT_CHECK_SECONDS="0.2",
                                  SCORING_CLOCK_CHECK_SECONDS="0.3",
                                  NOTIFY_DISPATCH_SECONDS="0.1", NOTIFY_LEASE_SECONDS="30")
        run(platform, receiver)
    finally:
        receiver.close()


def cases_past_their_abatement_day(platform):
    """CASES enforcement inspections with a finding each (so a hazard each,
    and a case each), CITATIONS citations each due yesterday. Returns the
    citation ids."""
    api = Api(platform.base_url, platform.token)
    inspector = fixtures.account(api, "authority_inspector")
    universal = fixtures.published_checklist(api, title="执法检查表 " + uuid.uuid4().hex[:6])
    yesterday = local_day(datetime.now(timezone.utc), deployment_zone()) - timedelta(days=1)
    citations = []
    for enterprise_id in platform.enterprise_ids[:CASES]:
        where = fixtures.position(api, enterprise_id, checklist_ids=[universal["checklist_id"]])
        logged = fixtures.created(inspector.post("/api/v1/inspections", factories.inspection(
            enterprise_id, where["id"], universal, kind="enforcement", failed=(0,),
            photo=fixtures.photo(api, enterprise_id), inspector="钱执法")))
        [case] = wait_until(lambda: [c for c in fixtures.created(api.get(
            "/api/v1/cases", params={"enterprise_id": enterprise_id}), 200)["items"]
            if c["inspection_id"] == logged["id"]], timeout=30, message="the case")
        for n in range(CITATIONS):
            cited = fixtures.created(inspector.post(
                "/api/v1/cases/%s/citations" % case["case_id"], {
                    "clause": "《安全生产法》第一百零二条", "violation_class": "other",
                    "description": "逾期未整改 %d" % n, "fine_proposed": "1000.00",
                    "abatement_date": yesterday.isoformat()}))
            citations.append(cited["citations"][-1]["citation_id"])
    return citations


def run(platform, receiver):
    session = platform.session()
    hook = session.post(platform.base_url + "/api/v1/webhooks", timeout=30, json={
        "url": receiver.url, "event_types": ["einspection.hazard.#",
                                             "einspection.grade.stated.v1"]})
    assert hook.status_code == 201, hook.text
    soon = factories.iso(factories.ago(seconds=-4))          # four seconds from now
    hazard_ids = []
    for n in range(HAZARDS):
        body = factories.hazard(platform.enterprise_ids[n % len(platform.enterprise_ids)],
                                level="major" if n % 3 == 0 else "general",
                                rectification_deadline=soon)
        response = session.post(platform.base_url + "/api/v1/hazards", json=body, timeout=30)
        assert response.status_code == 201, response.text
        hazard_ids.append(response.json()["id"])
    # the major ones listed for supervision (挂牌督办), due within the hour
    listed_ids = hazard_ids[::3]
    for hazard_id in listed_ids:
        response = session.post(platform.base_url + "/api/v1/hazards/%s/listing" % hazard_id,
                                timeout=30, json={
                                    "deadline": factories.iso(factories.ago(hours=-1)),
                                    "office": "执法大队", "reason": "重大隐患"})
        assert response.status_code == 201, response.text

    # the clock, asked of all replicas at once: two months on, each day twice
    today = date.today()
    days = [first_of_month(today, 1), first_of_month(today, 2)]
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=60) as rpc:
        for day in days:            # six requests at once: the replicas take them together
            replies = [rpc.scoring.advance_clock.call_async(day.isoformat()) for _ in range(6)]
            steps = [reply.result() for reply in replies]
            assert sum(step["advanced"] for step in steps) == 1, steps

    citation_ids = cases_past_their_abatement_day(platform)

    urls = platform.database_urls
    wait_until(lambda: len(events_named(urls["enforcement"], "CitationAbatementOverdue"))
               >= len(citation_ids), timeout=60, interval=0.5,
               message="every citation overdue for abatement")
    wait_until(lambda: len(events_named(urls["hazard"], "HazardOverdue")) >= HAZARDS,
               timeout=60, interval=0.5, message="every hazard overdue")
    wait_until(lambda: len(events_named(urls["hazard"], "HazardListingDue")) >= len(listed_ids),
               timeout=60, interval=0.5, message="every listed hazard reminded")
    stated = len(platform.enterprise_ids) * len(days)
    wait_until(lambda: len(events_named(urls["scoring"], "GradeStated")) >= stated,
               timeout=60, interval=0.5, message="a statement per enterprise and month")
    # reported + overdue, listed + reminded, statements, and the hazard of each case
    expected_deliveries = HAZARDS * 2 + len(listed_ids) * 2 + stated + CASES
    wait_until(lambda: len(receiver.received) >= expected_deliveries, timeout=60,
               interval=0.5, message="every webhook delivery")
    time.sleep(3.0)                 # many more ticks of every timer on every replica

    overdue = collections.Counter(e.data["hazard_id"] for e in
                                  events_named(urls["hazard"], "HazardOverdue"))
    steps = collections.Counter(e.data["day"] for e in
                                events_named(urls["scoring"], "ScoringClockAdvanced"))
    statements = collections.Counter((e.data["enterprise_id"], e.data["period"]) for e in
                                     events_named(urls["scoring"], "GradeStated"))
    reminders = collections.Counter(e.data["hazard_id"] for e in
                                    events_named(urls["hazard"], "HazardListingDue"))
    abatements = collections.Counter(e.data["citation_id"] for e in events_named(
        urls["enforcement"], "CitationAbatementOverdue"))
    all_notices = rows(urls["notify"], model.notices)
    notices = [row for row in all_notices if row.kind == "overdue"]
    per_notice = collections.Counter((row.recipient, row.cause_event_id) for row in notices)
    reminder_notices = collections.Counter((row.recipient, row.cause_event_id)
                                           for row in all_notices if row.kind == "listing_due")
    abatement_notices = collections.Counter((row.recipient, row.cause_event_id) for row in
                                            all_notices if row.kind == "abatement_overdue")
    posts = collections.Counter(headers[channels.DELIVERY_HEADER]
                                for headers, _ in receiver.received)
    per_event = collections.Counter(json.loads(body)["id"] for _, body in receiver.received)
    attempts = collections.Counter(e.data["delivery_id"] for e in
                                   events_named(urls["notify"], "DeliveryAttempted"))
    print("\n[timers with replicas %s] abatement marks %d for %d citations / "
          "overdue events %d for %d hazards / clock steps %s / "
          "statements %d for %d enterprise-months / overdue notices %d / webhook POSTs %d "
          "of %d deliveries, %d events / delivery attempts %d"
          % (REPLICAS, sum(abatements.values()), len(abatements), sum(overdue.values()),
             len(overdue), dict(steps),
             sum(statements.values()), len(statements), len(notices), sum(posts.values()),
             len(posts), len(per_event), sum(attempts.values())))

    assert abatements == {citation_id: 1 for citation_id in citation_ids}
    # the enterprise and its grid: one notice each per citation
    assert len(abatement_notices) == len(citation_ids) * 2
    assert set(abatement_notices.values()) == {1}
    assert overdue == {hazard_id: 1 for hazard_id in hazard_ids}
    assert reminders == {hazard_id: 1 for hazard_id in listed_ids}
    # enterprise, grid and authority: one reminder each
    assert len(reminder_notices) == len(listed_ids) * 3
    assert set(reminder_notices.values()) == {1}
    assert set(steps.values()) == {1} and {date.fromisoformat(str(d)) for d in steps} >= set(
        days)
    assert len(statements) == stated and set(statements.values()) == {1}
    assert len(notices) == HAZARDS * 2 and set(per_notice.values()) == {1}    # grid, authority
    assert len(posts) == expected_deliveries and set(posts.values()) == {1}
    assert set(per_event.values()) == {1}
    assert set(attempts.values()) == {1}
    platform.require_alive()
