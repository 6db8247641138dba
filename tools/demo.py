"""The demo data of `make run`: six enterprises in four towns with four months
of history — registration, positions, weekly self-inspections, daily
management records, trainings, hazards with their plans, rectifications and
verifications — each dated when it happened.

How it gets in: the history is imported through the services' own
import path (einspection/imports.py), day by day in time order, with
scoring's clock stepped to each day first, so that every score is evaluated
as of its day, grades change when the records change them (one GradeAssigned
per change, dated then) and each month that ended is stated. Each day waits
until scoring has every event of the day before the clock moves on. What is
"now" (accounts, notice languages, an enforcement publication) goes through
the HTTP API like any client; so does, last, the seed's enforcement campaign
(tools/demo_enforcement.py): the county's enterprises in its twelve towns,
100 targets by the 2016 plan's town quotas, 58 of them visited, their cases.

| enterprise | how it keeps its records |
| --- | --- |
| Baide Fabrics | the model: everything on time |
| Deqing Bolly Coating Machinery | good, then lets the daily records and inspections slip in the last month |
| Zhejiang Huacai Chemicals | records hazards days after finding them, rectifies late |
| Deqing Delman Piano | sloppy at first, improves from the second month |
| Zhejiang Zhebei Pharmaceutical | steady, a little short of the model |
| Huzhou Jinlang Winery | inspects rarely, trains never |
"""
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests
from nameko.standalone.rpc import ClusterRpcProxy

import einspection.nameko_glue  # noqa: F401  (an RPC caller gets InvalidCommand back as itself)
from einspection import days
from services.checklist.credit_code import complete
from tools import demo_enforcement

HISTORY_DAYS = 120          # the three-month window fills, then a month of changes
LOCAL = timezone(timedelta(hours=8))       # the county's working hours, Asia/Shanghai
DEMO_PASSWORD = "demo-password-1"
IMPORTER = "admin"          # the import's own actor: the authority admin who loads it
# One account per role, over the model enterprise (Baide Fabrics), its grid and town:
# the ones `make run` prints first.
FEATURED = ("baide.manager", "baide.staff", "wukang1.grid", "wukang.town", "bureau.inspector",
            "integrator.demo")


@dataclass
class Profile:
    """How an enterprise keeps its records: each a share from 0 to 1, by the
    day of the history (a function, so habits can change)."""
    diligence: object                  # day -> how regularly it records
    timely: float = 1.0                # share of hazards recorded the day they are found
    on_time: float = 1.0               # share of hazards rectified before their deadline
    trains: bool = True


@dataclass
class Enterprise:
    short: str
    name: str
    industry: str
    town: str
    grid: str
    code: str                          # 17 characters of the credit code
    location: tuple
    language: str
    profile: Profile
    id: str = None
    positions: list = field(default_factory=list)


def _steady(level):
    return lambda day: level


def _slips_at_the_end(day):
    return 0.95 if day < HISTORY_DAYS - 40 else 0.15


def _improves(day):
    return 0.35 if day < 35 else 0.9


ENTERPRISES = [
    Enterprise("baide", "Baide Fabrics", "textiles", "Wukang", "Wukang-1", "91330521MA28C0B10",
               (30.545, 119.970), "en", Profile(_steady(1.0))),
    Enterprise("bolly", "Deqing Bolly Coating Machinery", "machinery", "Wukang", "Wukang-2",
               "91330521MA28C0B20", (30.552, 119.958), "zh", Profile(_slips_at_the_end)),
    Enterprise("huacai", "Zhejiang Huacai Chemicals", "chemicals", "Wuyang", "Wuyang-1",
               "91330521MA28C0B30", (30.560, 119.990), "en",
               Profile(_steady(0.8), timely=0.4, on_time=0.5)),
    Enterprise("delman", "Deqing Delman Piano", "manufacturing", "Qianyuan", "Qianyuan-1",
               "91330521MA28C0B40", (30.612, 120.081), "zh", Profile(_improves, on_time=0.8)),
    Enterprise("zhebei", "Zhejiang Zhebei Pharmaceutical", "pharmaceuticals", "Qianyuan",
               "Qianyuan-1", "91330521MA28C0B50", (30.618, 120.090), "en",
               Profile(_steady(0.85), timely=0.9)),
    Enterprise("jinlang", "Huzhou Jinlang Winery", "food and drink", "Xinshi", "Xinshi-1",
               "91330521MA28C0B60", (30.630, 120.300), "zh",
               Profile(_steady(0.3), timely=0.6, on_time=0.6, trains=False)),
]

CATEGORIES = ["electrical", "fire", "machinery", "chemicals", "housekeeping", "PPE"]

GENERAL_ITEMS = [
    ("Fire exits and escape routes are free", "fire", "GB 50016-2014 5.5.17", 2, True, False),
    ("Extinguishers in place and inspected this month", "fire", "GB 50444-2008 5.2", 1, False,
     False),
    ("Distribution cabinets closed and locked", "electrical", "GB/T 13869-2017 5.4", 2, False,
     True),
    ("Machine guards fitted", "machinery", "GB/T 8196-2018 5", 2, True, False),
    ("Aisles marked and clear", "housekeeping", "", 1, False, False),
    ("Workers wear the required PPE", "PPE", "GB 39800.1-2020 4", 1, False, False),
]

FINDINGS = {
    "electrical": "distribution cabinet door left open",
    "fire": "fire exit blocked by pallets",
    "machinery": "guard of the press removed for maintenance and not refitted",
    "chemicals": "solvent drums stored without a drip tray",
    "housekeeping": "oil spill on the aisle",
    "PPE": "grinder operator without goggles",
}


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def at(day, hour, minute=0):
    """A moment of a working day, in the county's time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)


def record(command, moment, actor, account=None, **payload):
    """One import record; `account` ({"role", and its enterprise_id, grid or
    town}) where the command's rules ask who acts (a verification)."""
    found = {"command": command, "at": iso(moment), "actor": actor, "payload": payload}
    if account:
        found["account"] = account
    return found


# --- loading ---------------------------------------------------------------------------

def load(base_url, admin_token, amqp_uri, seed=2016, progress=print, today=None):
    """Load the demo unless enterprises are registered already. Returns the
    enterprises' ids and the demo accounts [(username, password, role)]."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + admin_token
    existing = _registered(session, base_url)
    if existing:
        return [e["id"] for e in existing], _accounts(session, base_url, existing)
    # The history ends yesterday (the county's, as scoring's clock counts days),
    # so that no working hour of it lies ahead of now.
    last_day = (today or days.local_day(datetime.now(timezone.utc),
                                        days.deployment_zone())) - timedelta(days=1)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=120) as rpc:
        loader = _Loader(rpc, random.Random(seed), last_day, progress)
        loader.register_enterprises()
        accounts = _accounts(session, base_url, [{"id": e.id, "name": e.name}
                                                 for e in ENTERPRISES])
        for enterprise in ENTERPRISES:
            if enterprise.language != "zh":        # the others read Chinese, the default
                _settings(session, base_url, enterprise)
        loader.register_positions()
        loader.history()
    _enforcement_notice(session, base_url)
    county = demo_enforcement.run(session, base_url, DEMO_PASSWORD, progress)
    return [e.id for e in ENTERPRISES] + county, accounts


def _registered(session, base_url):
    """Every enterprise of the register, page by page."""
    found, page = [], 1
    while True:
        answer = session.get(base_url + "/api/v1/enterprises", params={
            "page": page, "size": 200, "sort": "registered_at"}, timeout=30).json()
        found += answer["items"]
        if len(found) >= answer["total"] or not answer["items"]:
            return found
        page += 1


class _Loader:
    """Builds each day's records and imports them, in order."""

    def __init__(self, rpc, rng, last_day, progress):
        self.rpc, self.rng, self.last_day = rpc, rng, last_day
        self.first_day = last_day - timedelta(days=HISTORY_DAYS - 1)
        self.end = at(last_day, 23, 59)            # no record of the history after this
        self.progress = progress
        self.stories = {}          # day a hazard's story ends -> [its records]
        self.checklist = None

    def _import(self, service, records):
        if not records:
            return {"results": [], "events": []}
        return getattr(self.rpc, service).import_records(
            {"records": sorted(records, key=lambda r: r["at"]), "actor": IMPORTER})

    def register_enterprises(self):
        """Day one: the universal checklist and the enterprises."""
        day = self.first_day
        clock = self.rpc.scoring.advance_clock(day.isoformat())
        if clock["day"] != day.isoformat():
            self.progress("scoring's clock is at %s already: the demo's grades are as of that "
                          "day, not spread over its history" % clock["day"])
        created = self._import("checklist", [record(
            "create_checklist", at(day, 8), IMPORTER, title="General workplace safety round",
            scope="universal", items=[{"prompt": p, "category": c, "legal_basis": b,
                                       "weight": w, "major": m, "photo_required": f}
                                      for p, c, b, w, m, f in GENERAL_ITEMS])])
        checklist_id = created["results"][0]["id"]
        published = self._import("checklist", [record("publish_checklist", at(day, 8, 5),
                                                      IMPORTER, checklist_id=checklist_id)])
        self.checklist = published["results"][0]["latest"]
        registered = self._import("checklist", [record(
            "register_enterprise", at(day, 9, n), IMPORTER, credit_code=complete(e.code),
            name=e.name, industry=e.industry, town=e.town, grid=e.grid,
            address="%d Example Road, %s" % (n + 1, e.town), latitude=e.location[0],
            longitude=e.location[1], employees=self.rng.randrange(30, 600),
            account_prefix=e.short)              # its accounts: baide.manager, baide.staff
            for n, e in enumerate(ENTERPRISES)])
        for enterprise, result in zip(ENTERPRISES, registered["results"]):
            enterprise.id = result["id"]
        self._settle(created["events"] + published["events"] + registered["events"])

    def register_positions(self):
        """Day one, later: each enterprise's positions, with the checklist."""
        positions = self._import("checklist", [record(
            "register_position", at(self.first_day, 10, n), e.short + ".manager",
            enterprise_id=e.id, name=name, latitude=e.location[0], longitude=e.location[1],
            checklist_ids=[self.checklist["checklist_id"]])
            for n, e in enumerate(ENTERPRISES)
            for name in ("Workshop 1", "Workshop 2", "Warehouse")])
        for n, enterprise in enumerate(ENTERPRISES):
            enterprise.positions = [r["id"] for r in positions["results"][3 * n:3 * n + 3]]
        self._settle(positions["events"])

    def history(self):
        started = time.monotonic()
        for offset in range(HISTORY_DAYS):
            day = self.first_day + timedelta(days=offset)
            if offset:
                self.rpc.scoring.advance_clock(day.isoformat())
            checklist_records = []
            for enterprise in ENTERPRISES:
                checklist_records += self._day_of(enterprise, day, offset)
            events = self._import("checklist", checklist_records)["events"]
            events += self._stories_ending(day)
            self._settle(events)
            if offset % 30 == 29:
                self.progress("demo history: %s (%d of %d days, %.0f s)" % (
                    day, offset + 1, HISTORY_DAYS, time.monotonic() - started))

    def _settle(self, events):
        """Wait until scoring (and the hazard service, which raises hazards
        from inspections) has processed every event of the day."""
        deadline = time.monotonic() + 120
        for service in ("hazard", "scoring"):
            while getattr(self.rpc, service).awaiting(events):
                if time.monotonic() > deadline:
                    raise TimeoutError("%s did not get the demo's events in 120 s" % service)
                time.sleep(0.02)

    # --- what an enterprise records on a day -----------------------------------------
    def _day_of(self, enterprise, day, offset):
        rng, profile = self.rng, enterprise.profile
        diligence = profile.diligence(offset)
        manager, staff = enterprise.short + ".manager", enterprise.short + ".staff"
        workday = day.weekday() < 5
        records = []
        if workday and rng.random() < diligence:
            records.append(record("record_safety_action", at(day, 17, rng.randrange(60)), staff,
                                  enterprise_id=enterprise.id, kind="daily_record",
                                  topic="shift handover safety check", held_on=day.isoformat(),
                                  recorded_by=staff))
        if day.weekday() == 2 and rng.random() < diligence + 0.05:       # Wednesday's round
            records.append(self._inspection(enterprise, day, offset, staff))
        if profile.trains and day.day == 15 and rng.random() < diligence + 0.1:
            kind, topic = rng.choice([("training", "fire safety"), ("drill", "evacuation"),
                                      ("meeting", "monthly safety meeting"),
                                      ("training", "forklift operation")])
            records.append(record("record_safety_action", at(day, 16), manager,
                                  enterprise_id=enterprise.id, kind=kind, topic=topic,
                                  held_on=day.isoformat(), people=rng.randrange(10, 80),
                                  recorded_by=manager))
        if workday and rng.random() < 0.1 and offset < HISTORY_DAYS - 7:
            self._hazard_story(enterprise, day)
        return records

    def _inspection(self, enterprise, day, offset, inspector):
        """A self-inspection of one position. The last week's rounds find
        something: a failed item is a hazard raised by the hazard service,
        still open today."""
        checklist = self.checklist
        position = enterprise.positions[(day.toordinal() // 7) % len(enterprise.positions)]
        recent = offset >= HISTORY_DAYS - 7
        failing = 0.3 * (1.0 - enterprise.profile.diligence(offset)) + 0.05 if recent else 0
        results = []
        for item in checklist["items"]:
            failed = not item["photo_required"] and self.rng.random() < failing
            results.append({"item_id": item["item_id"], "result": "fail" if failed else "pass",
                            "note": "found on the weekly round" if failed else ""})
        completed = at(day, 10, self.rng.randrange(60))
        return record("log_inspection", completed, inspector, enterprise_id=enterprise.id,
                      position_id=position, checklist_id=checklist["checklist_id"],
                      checklist_version=checklist["version"], kind="self",
                      started_at=iso(completed - timedelta(minutes=40)),
                      completed_at=iso(completed), inspector=inspector, results=results)

    def _hazard_story(self, enterprise, found_day):
        """A hazard found on `found_day`, with the rest of its life: recorded
        (late, for some), a plan if it is major, rectified (late, for some),
        verified by someone other than who rectified it. Imported whole on the
        day its story ends, so no half-told hazard is ever in the store."""
        rng, profile = self.rng, enterprise.profile
        manager, staff = enterprise.short + ".manager", enterprise.short + ".staff"
        major = rng.random() < 0.15
        category = rng.choice(CATEGORIES)
        found = at(found_day, 9, rng.randrange(60))
        reported = found + (timedelta(minutes=rng.randrange(20, 240))
                            if rng.random() < profile.timely
                            else timedelta(days=rng.randrange(2, 6), hours=3))
        deadline = found + timedelta(days=30 if major else 7)
        story = [("report_hazard", reported, staff, dict(
            enterprise_id=enterprise.id, level="major" if major else "general",
            category=category, description=FINDINGS[category],
            position_id=rng.choice(enterprise.positions), found_at=iso(found),
            reporter=staff, rectification_deadline=iso(deadline)))]
        if major:
            story.append(("record_plan", reported + timedelta(hours=2), manager, dict(
                goal="hazard removed for good", measures="repair and re-inspect",
                funds="5000.00", responsible_person=manager,
                deadline=iso(deadline - timedelta(days=5)),
                interim_measures="area fenced off, warning signs posted")))
        on_time = rng.random() < profile.on_time
        span = (deadline - reported) if on_time else timedelta(days=rng.randrange(3, 20))
        done = (reported + span * rng.uniform(0.2, 0.8) if on_time else deadline + span)
        checked = deadline + timedelta(minutes=1)   # the periodic check that finds it overdue
        if not on_time and checked <= self.end:
            story.append(("check_overdue", checked, IMPORTER, {}))
        if done <= self.end:
            story.append(("submit_rectification", done, staff, dict(
                measures="fixed and checked", done_at=iso(done),
                cost="%d.00" % rng.randrange(50, 3000), rectified_by=staff)))
            verifier, account = ((enterprise.grid.lower().replace("-", "") + ".grid",
                                  {"role": "grid_officer", "grid": enterprise.grid}) if major
                                 else (manager, {"role": "enterprise_manager",
                                                 "enterprise_id": enterprise.id}))
            verified = done + timedelta(hours=rng.randrange(2, 30))
            if verified <= self.end:
                story.append(("verify", verified, verifier, dict(
                    outcome="verified", verifier=verifier, comment="holds", account=account)))
        ends = max(moment for _, moment, _, _ in story).astimezone(timezone.utc).date()
        self.stories.setdefault(ends, []).append(story)

    def _stories_ending(self, day):
        """Import the hazards whose story ends today: their reports first (the
        hazard service gives each its id), then everything after."""
        stories = sorted(self.stories.pop(day, []), key=lambda story: story[0][1])
        if not stories:
            return []
        reported = self._import("hazard", [record("report_hazard", moment, actor, **body)
                                           for _, moment, actor, body in
                                           (story[0] for story in stories)])
        rest = []
        for story, result in zip(stories, reported["results"]):      # both in report order
            for command, moment, actor, body in story[1:]:
                rest.append(record(command, moment, actor, hazard_id=result["id"], **body))
        return reported["events"] + self._import("hazard", rest)["events"]


# --- what is now: accounts, a publication ------------------------------------------------

def _accounts(session, base_url, enterprises):
    """A manager and a staff member for every enterprise, a grid officer for
    every grid, the town officer of Wukang, six authority inspectors and an
    integrator granted Baide Fabrics; created once. Returns them, Baide's and
    the officers first."""
    ids = {enterprise["name"]: enterprise["id"] for enterprise in enterprises}
    wanted = []
    for enterprise in ENTERPRISES:
        if enterprise.name in ids:
            anchor = {"enterprise_id": ids[enterprise.name]}
            wanted += [(enterprise.short + ".manager", "enterprise_manager", anchor),
                       (enterprise.short + ".staff", "enterprise_staff", anchor)]
    grids = sorted({e.grid for e in ENTERPRISES})
    wanted += [(grid.lower().replace("-", "") + ".grid", "grid_officer", {"grid": grid})
               for grid in grids]
    wanted += [("wukang.town", "town_officer", {"town": "Wukang"})]
    # double random: two a target, drawn from the bureau's six (tools/demo_enforcement.py)
    wanted += [(username, "authority_inspector", {})
               for username in demo_enforcement.INSPECTORS]
    wanted += [("integrator.demo", "integrator", {"grants": [ids[ENTERPRISES[0].name]]})]
    for username, role, anchor in wanted:
        response = session.post(base_url + "/api/v1/accounts", json=dict(
            anchor, username=username, password=DEMO_PASSWORD, role=role), timeout=30)
        if response.status_code != 409:        # 409: there from an earlier run
            response.raise_for_status()
    wanted.sort(key=lambda w: (FEATURED.index(w[0]) if w[0] in FEATURED else len(FEATURED)))
    return [(username, DEMO_PASSWORD, role) for username, role, _ in wanted]


def _settings(session, base_url, enterprise):
    """The enterprise reads its notices in its language (once notify knows it)."""
    for _ in range(50):
        response = session.put(base_url + "/api/v1/recipients/enterprise:%s/settings"
                               % enterprise.id, json={"language": enterprise.language,
                                                      "emails": []}, timeout=30)
        if response.status_code == 200:
            return
        time.sleep(0.2)
    response.raise_for_status()


def _enforcement_notice(session, base_url):
    """The seed's publication of information: the bureau tells a town's
    enterprises of its next enforcement round (once notify knows them)."""
    for _ in range(50):
        response = session.post(base_url + "/api/v1/publications", json={
            "title": "Enforcement inspections in Wukang next month",
            "body": "The county bureau will inspect fire exits, electrical cabinets and "
                    "hazard ledgers in every Wukang enterprise next month. Enterprises graded "
                    "D or E are visited first.",
            "audience": "town", "audience_value": "Wukang",
            "published_by": "Deqing Emergency Management Bureau"}, timeout=30)
        if response.status_code == 201:
            return
        time.sleep(0.2)
    response.raise_for_status()
