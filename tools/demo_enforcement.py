"""The demo's enforcement campaign: the seed's 2016 plan (德安监发[2016]5号,
100 focused enterprises with a quota per town) run through the HTTP API like
a client, after the history is loaded, so that its results page reads as the
seed's does: 58 enterprises visited (some twice), about 380 hazards found by
the inspectors, about 300 thousand yuan fined.

What it does, in order, each step a route of docs/enforcement.md:

1. registers the county: enterprises in the seed's twelve towns, each town
   with more than its quota (`extra`), with grids, industries, Chinese names
   and valid credit codes (the six inspectors' accounts, `INSPECTORS`, are
   tools/demo.py's, made before the history);
2. publishes the bureau's universal enforcement checklist;
3. records one earlier enforcement visit in each town (weeks ago, nothing
   found), so the snapshot lists exclusions with their reasons;
4. opens the campaign with the seed's quotas, commits the snapshot, draws with
   a lottery result as the seed, assigns two inspectors per target;
5. visits 58 of the targets: an enforcement inspection by their assigned
   inspectors, its failed items the enforcement hazards;
6. on every case: citations (class, clause, abatement day, the hazards they
   cite), the penalty, payments;
7. 14 of them put everything right (their manager's plans and
   rectifications) and get a second visit (复查) that finds nothing and
   verifies each hazard, which abates the citations;
8. the closings, last (a closed case takes no abatement).

Which enterprises are drawn depends on their ids (the register makes them),
so it differs from one start to the next; what is done at the n-th visit —
its failed items, citations, fines, payments — is fixed by `plan()` with its
own seed, so the figures are the same on every start."""
import random
import time
from datetime import datetime, timedelta, timezone

import requests

from services.checklist.credit_code import complete
from services.enforcement.unit.county_plan import PLAN

LOCAL = timezone(timedelta(hours=8))       # the county's days, Asia/Shanghai
CAMPAIGN_NAME = "德清县安全生产重点执法检查（按2016年度重点执法检查对象名单）"
LEGAL_BASIS = "德安监发[2016]5号"
SEED = "3D 2016126: 2 5 8"
SEED_SOURCE = "中国福利彩票3D 第2016126期开奖号码（快照摘要公布后开奖）"
PLAN_SEED = 2021           # the plan's seed: one whose fines are of the seed's order
VISITED = 58               # the seed: "58 enterprises frequently visited"
REVISITED = 14             # of them, visited a second time (复查)
HAZARDS = 386              # the seed: "over 380 hazards identified by inspectors"
FINES = (300_000_00, 320_000_00)     # the seed: "over 300 thousand yuan fined", in fen
EARLIER_VISIT_DAYS = (35, 150)       # the earlier round's visits, days ago: within 180

# the bureau's inspectors: the two of tools/demo.py and four more, for a real double random draw
INSPECTORS = {"bureau.inspector": "王建华", "bureau.zhao": "赵明", "bureau.qian": "钱立新",
              "bureau.sun": "孙伟", "bureau.li": "李国强", "bureau.zhou": "周晓东"}

TOWNS = {      # town -> (latitude, longitude) of its centre, roughly
    "武康街道": (30.545, 119.960), "舞阳街道": (30.570, 120.000), "阜溪街道": (30.520, 119.930),
    "下渚湖街道": (30.580, 120.040), "乾元镇": (30.610, 120.080), "新市镇": (30.630, 120.290),
    "钟管镇": (30.640, 120.170), "洛舍镇": (30.650, 120.080), "禹越镇": (30.580, 120.180),
    "新安镇": (30.660, 120.230), "雷甸镇": (30.550, 120.210), "莫干山镇": (30.600, 119.870)}

# industry (as the risk table names it) -> what a company of it is called
INDUSTRIES = [("化工", "化工"), ("机械", "机械制造"), ("建材", "新型建材"), ("医药", "药业"),
              ("涂装", "涂装设备"), ("纺织", "纺织"), ("食品", "食品"), ("木业", "木业"),
              ("家具", "家具"), ("皮革", "皮革制品"), ("塑料", "塑料科技"), ("印刷", "印务"),
              ("仓储", "仓储物流")]
BRANDS = ("恒达 华鑫 金诚 永盛 宏远 瑞丰 鑫源 天成 博远 嘉禾 新润 联创 国泰 万利 正兴 欣成 "
          "华彩 顾氏 锆谷 渝盛 博力 爱普 东升 明辉 德润 众鑫 兴隆 汇丰 荣达 佳通 金鹰 久盛 "
          "中天 安泰 立峰 长虹 星辰 光明 先锋 凯达 宇航 飞鹰 富源 昌盛 振华 龙腾 泰和 新禾 "
          "清源 莫干").split()
ROADS = ("工业园路", "兴业路", "环城北路", "长虹街", "永安街", "创业大道", "科技路", "春晖街")


def extra(quota):
    """How many more enterprises than its quota a town has: some are excluded
    (visited in the earlier round), and the draw must still have a choice."""
    return max(3, quota // 2)


# --- the checklist ------------------------------------------------------------------------

CHECKLIST_TITLE = "德清县安全生产执法检查表"
CHECKLIST = [   # prompt, category, legal basis, weight, major
    ("安全出口、疏散通道畅通，未被占用、堵塞或锁闭", "fire", "《安全生产法》第四十二条", 3, True),
    ("灭火器、消火栓配置齐全并按月检查", "fire", "《消防法》第十六条", 2, False),
    ("应急照明和疏散指示标志完好有效", "fire", "GB 50016-2014 10.3", 1, False),
    ("配电箱（柜）门关闭上锁，线路无私拉乱接", "electrical", "GB/T 13869-2017 5.4", 2, False),
    ("电气设备接地（接零）保护可靠", "electrical", "GB 50169-2016 3.0", 2, False),
    ("易燃易爆场所使用防爆电气", "electrical", "GB 50058-2014 5.2", 3, True),
    ("机械设备传动部位防护罩齐全", "machinery", "GB/T 8196-2018 5", 2, False),
    ("冲压设备安全联锁、双手按钮有效", "machinery", "GB 27607-2011 5", 3, True),
    ("起重机械、叉车等特种设备定期检验合格", "machinery", "《特种设备安全法》第四十条", 2, False),
    ("特种作业人员持证上岗", "machinery", "《安全生产法》第三十条", 2, False),
    ("危险化学品专库存放、分类分区，标识清楚", "chemicals", "《危险化学品安全管理条例》第二十四条",
     3, True),
    ("化学品安全技术说明书和安全标签齐全", "chemicals", "GB/T 16483-2008", 1, False),
    ("涂装作业场所通风良好，可燃气体报警装置有效", "chemicals", "GB 6514-2008 4", 2, False),
    ("作业现场物料堆放整齐，通道划线清晰", "housekeeping", "GB 2894-2008", 1, False),
    ("粉尘作业场所定期清扫，无积尘", "housekeeping", "AQ 4273-2016 7", 2, False),
    ("从业人员按规定佩戴劳动防护用品", "PPE", "《安全生产法》第四十五条", 1, False),
    ("劳动防护用品按标准配发并有发放记录", "PPE", "GB 39800.1-2020 4", 1, False),
    ("安全生产责任制和规章制度健全", "housekeeping", "《安全生产法》第二十二条", 1, False),
    ("从业人员经安全生产教育和培训合格", "housekeeping", "《安全生产法》第二十八条", 1, False),
    ("隐患排查治理台账完整，整改闭环", "housekeeping", "《安全生产法》第四十一条", 2, False),
]

# a citation of what failed: its clause and description, by the failed items' category
CLAUSES = {
    "fire": ("《安全生产法》第一百零五条第（四）项", "生产经营场所和员工宿舍未设有符合紧急疏散需要的出口，消防设施不符合要求"),
    "electrical": ("《安全生产法》第九十九条第（二）项", "安全设备、电气线路的安装、使用、检测不符合国家标准"),
    "machinery": ("《安全生产法》第九十九条第（三）项", "未对安全设备进行经常性维护、保养和定期检测"),
    "chemicals": ("《安全生产法》第一百零一条第（一）项", "危险物品的储存、使用未执行安全管理制度"),
    "housekeeping": ("《安全生产法》第一百零二条", "未采取措施消除事故隐患"),
    "PPE": ("《安全生产法》第九十九条第（五）项", "未为从业人员提供符合标准的劳动防护用品"),
}
FINE_STEPS = {   # violation class -> proposed fines to choose from, in yuan
    "serious": (5_000, 8_000, 10_000, 15_000),
    "repeat": (3_000, 5_000, 8_000),
    "other": (0, 0, 1_000, 2_000),      # 0: ordered to put it right (责令限期改正) only
}


# --- the plan: what happens at the n-th visit, fixed by its seed --------------------------

def plan(checklist_size=len(CHECKLIST), majors=None, seed=PLAN_SEED):
    """One dict per visit (VISITED of them, in order of the targets chosen):
    `target` (its index in the drawn list), `failed` (indices of checklist
    items), `citations` [{items, violation_class, fine_proposed, fine_imposed}]
    (fen), `payments` (fen each), `closing` (an outcome or None), `revisit`.
    A pure function: the same on every machine and start."""
    rng = random.Random(seed)
    majors = set(majors if majors is not None else
                 [n for n, item in enumerate(CHECKLIST) if item[4]])
    targets = sorted(rng.sample(range(sum(PLAN.values())), VISITED))
    counts = [rng.randint(3, 10) for _ in targets]
    while sum(counts) != HAZARDS:       # to the seed's order exactly, each visit in 2..12
        n = rng.randrange(VISITED)
        step = 1 if sum(counts) < HAZARDS else -1
        if 2 <= counts[n] + step <= 12:
            counts[n] += step
    revisits = set(rng.sample(range(VISITED), REVISITED))
    lenient = set(rng.sample(range(VISITED), 5))        # first offence, put right: no fine
    visits = []
    for n, (target, count) in enumerate(zip(targets, counts)):
        failed = sorted(rng.sample(range(checklist_size), count))
        groups = [failed[i:i + 4] for i in range(0, len(failed), 4)]
        citations = []
        for items in groups:
            if n in lenient:
                violation_class = "other"
            elif majors & set(items) and not any(c["violation_class"] == "serious"
                                                 for c in citations) and rng.random() < 0.5:
                violation_class = "serious"     # a major hazard, left as it was found
            elif rng.random() < 0.15:   # cited for the same before (in the bureau's paper files)
                violation_class = "repeat"
            else:
                violation_class = "other"
            proposed = 0 if n in lenient else rng.choice(FINE_STEPS[violation_class]) * 100
            # the party's statement heard: some fines lowered (从轻), never raised
            imposed = proposed if rng.random() < 0.7 else proposed * rng.choice((80, 85, 90)) // 100
            citations.append({"items": items, "violation_class": violation_class,
                              "fine_proposed": proposed, "fine_imposed": imposed})
        total = sum(c["fine_imposed"] for c in citations)
        payments, closing = [], None
        if n in lenient:
            closing = "no_penalty"
        else:
            settle = rng.random()
            if settle < 0.55:                           # paid in full, and closed
                payments, closing = [total], "paid"
            elif settle < 0.70:                         # paid in two parts (分期缴纳)
                first = total // 2 // 100 * 100
                payments = [first, total - first]
                closing = "paid" if rng.random() < 0.5 else None
            elif settle < 0.85:                         # the first part only, so far
                payments = [total // 2 // 100 * 100]
            if not total:           # only ordered to put it right: a penalty of nothing
                payments, closing = [], "no_penalty"
        visits.append({"target": target, "failed": failed, "citations": citations,
                       "payments": payments, "closing": closing, "revisit": n in revisits,
                       "lenient": n in lenient})
    imposed = sum(c["fine_imposed"] for v in visits for c in v["citations"])
    if not FINES[0] <= imposed <= FINES[1]:
        raise AssertionError("the plan fines %d fen, not of the seed's order" % imposed)
    return visits


# --- through the API ----------------------------------------------------------------------

class _Api:
    """The authority admin's session, and the inspectors' logins."""

    def __init__(self, session, base_url, password):
        self.session, self.base_url, self.password = session, base_url, password
        self.inspectors = {}

    def call(self, method, path, body=None, status=(200, 201), session=None, **params):
        response = (session or self.session).request(
            method, self.base_url + path, json=body, params=params or None, timeout=60)
        if response.status_code not in status:
            raise RuntimeError("%s %s answered %s: %s" % (method, path, response.status_code,
                                                          response.text[:500]))
        return response.json()

    def login(self, username):
        """A session of `username` (the demo's password)."""
        session = requests.Session()
        token = self.call("POST", "/api/v1/auth/token", {"username": username,
                                                        "password": self.password},
                          session=session)["token"]
        session.headers["Authorization"] = "Bearer " + token
        return session

    def as_inspector(self, username):
        if username not in self.inspectors:
            self.inspectors[username] = self.login(username)
        return self.inspectors[username]

    def every(self, path, **params):
        """Every item of a list route, page by page."""
        items, page = [], 1
        while True:
            found = self.call("GET", path, page=page, size=200, **params)
            items += found["items"]
            if len(items) >= found["total"] or not found["items"]:
                return items
            page += 1


def _wait(what, check, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError("the demo campaign waited %d s for %s" % (timeout, what))
        time.sleep(0.2)


def _iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def county():
    """The county's enterprises to register: [(town, body)], town by town."""
    rng = random.Random(PLAN_SEED)
    found, number = [], 0
    for town_number, (town, quota) in enumerate(PLAN.items()):
        centre = TOWNS[town]
        grids = 2 if quota < 9 else 3
        for n in range(quota + extra(quota)):
            industry, called = INDUSTRIES[(number * 7) % len(INDUSTRIES)]
            brand = BRANDS[number % len(BRANDS)]
            name = ("浙江" if number % 5 == 0 else "德清县") + brand + called + "有限公司"
            found.append((town, {
                "credit_code": complete("91330521MA2DK%04d" % number), "name": name,
                "industry": industry, "town": town,
                "grid": "%s第%d网格" % (town, n % grids + 1),
                "address": "浙江省湖州市德清县%s%s%d号" % (town, ROADS[n % len(ROADS)],
                                                     rng.randrange(1, 300)),
                "latitude": round(centre[0] + rng.uniform(-0.02, 0.02), 5),
                "longitude": round(centre[1] + rng.uniform(-0.02, 0.02), 5),
                "employees": rng.randrange(20, 400),
                "account_prefix": "dq%02d%03d" % (town_number + 1, n + 1)}))
            number += 1
    return found


def run(session, base_url, password, progress=print):
    """The campaign, from registering the county to the closed cases.
    Returns the ids of the enterprises it registered."""
    started = time.monotonic()
    api = _Api(session, base_url, password)
    visits = plan()
    registered, prefixes = [], {}
    for town, body in county():
        enterprise_id = api.call("POST", "/api/v1/enterprises", body)["id"]
        registered.append((town, enterprise_id))
        prefixes[enterprise_id] = body["account_prefix"]
    checklist = _checklist(api)
    earlier = _earlier_visits(api, registered, checklist)
    campaign_id, assignments = _campaign(api, len(registered) + _others(api, registered),
                                         len(earlier))
    progress("demo campaign: %d targets drawn and assigned (%.0f s)"
             % (len(assignments), time.monotonic() - started))
    inspections = _visit(api, visits, assignments, checklist, campaign_id)
    hazards = _cases(api, visits, inspections, checklist)
    progress("demo campaign: %d enterprises visited, %d hazards, their cases decided (%.0f s)"
             % (len(visits), HAZARDS, time.monotonic() - started))
    _follow_ups(api, visits, inspections, hazards, checklist, campaign_id, prefixes)
    _close(api, visits)
    progress("demo campaign: %d visited again, their citations abated; cases closed (%.0f s)"
             % (REVISITED, time.monotonic() - started))
    return [enterprise_id for _, enterprise_id in registered]


def _others(api, registered):
    """The register's enterprises outside the county's towns (the history's)."""
    return api.call("GET", "/api/v1/enterprises", size=1)["total"] - len(registered)


def _checklist(api):
    """The bureau's universal checklist, published: its version with items."""
    created = api.call("POST", "/api/v1/checklists", {
        "title": CHECKLIST_TITLE, "scope": "universal",
        "items": [{"prompt": prompt, "category": category, "legal_basis": basis,
                   "weight": weight, "major": major}
                  for prompt, category, basis, weight, major in CHECKLIST]})
    api.call("POST", "/api/v1/checklists/%s/publish" % created["id"])
    return api.call("GET", "/api/v1/checklists/%s/versions/1" % created["id"])


def _position(api, enterprise_id):
    return api.call("POST", "/api/v1/enterprises/%s/positions" % enterprise_id,
                    {"name": "生产车间"})["id"]


def _inspect(api, inspector, other, enterprise_id, position_id, checklist, completed,
             failed=(), campaign_id=None):
    """An enforcement inspection by `inspector` with `other`: the `failed`
    items fail, the rest pass."""
    results = []
    for n, item in enumerate(checklist["items"]):
        if n in failed:
            results.append({"item_id": item["item_id"], "result": "fail",
                            "note": "现场检查发现：%s不符合要求" % item["prompt"].split("，")[0]})
        else:
            results.append({"item_id": item["item_id"], "result": "pass", "note": ""})
    body = {"enterprise_id": enterprise_id, "position_id": position_id,
            "checklist_id": checklist["checklist_id"], "checklist_version": checklist["version"],
            "kind": "enforcement", "inspector": "%s、%s" % (INSPECTORS[inspector],
                                                         INSPECTORS[other]),
            "inspectors": [other], "started_at": _iso(completed - timedelta(minutes=50)),
            "completed_at": _iso(completed), "results": results}
    if campaign_id:
        body["campaign_id"] = campaign_id
    return api.call("POST", "/api/v1/inspections", body, session=api.as_inspector(inspector))


def _earlier_visits(api, registered, checklist):
    """The earlier round: in each town its first enterprise was inspected weeks
    ago and nothing was found, so this campaign's snapshot excludes it."""
    now = datetime.now(timezone.utc)
    rng = random.Random(PLAN_SEED + 1)
    earlier, seen = [], set()
    names = sorted(INSPECTORS)
    for town, enterprise_id in registered:
        if town in seen:
            continue
        seen.add(town)
        inspector, other = rng.sample(names, 2)
        when = now - timedelta(days=rng.randrange(*EARLIER_VISIT_DAYS), hours=3)
        _inspect(api, inspector, other, enterprise_id, _position(api, enterprise_id), checklist,
                 when)
        earlier.append(enterprise_id)
    return earlier


def _campaign(api, enterprises, excluded):
    """Opened with the seed's quotas, committed, drawn, assigned: the
    assignments [{enterprise_id, inspectors, ...}] in the draw's order."""
    today = datetime.now(LOCAL).date()
    campaign = api.call("POST", "/api/v1/campaigns", {
        "name": CAMPAIGN_NAME, "legal_basis": LEGAL_BASIS, "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=90)).isoformat(), "targets": sum(PLAN.values()),
        "quotas": PLAN})
    path = "/api/v1/campaigns/%s" % campaign["campaign_id"]

    def every_fact_in():        # the enforcement service has them from the register's events
        preview = api.call("GET", path + "/candidates")
        return (len(preview["candidates"]) + len(preview["exclusions"]) == enterprises
                and len(preview["exclusions"]) == excluded)
    _wait("every enterprise and visit among the enforcement facts", every_fact_in)
    api.call("POST", path + "/commit")
    drawn = api.call("POST", path + "/draw", {"seed": SEED, "seed_source": SEED_SOURCE})
    if drawn["draw"]["shortfall"]:
        raise RuntimeError("the demo county is short of candidates: %s"
                           % drawn["draw"]["shortfall"])
    assigned = api.call("POST", path + "/assignments", {})
    return campaign["campaign_id"], assigned["assignment"]["assignments"]


def _visit(api, visits, assignments, checklist, campaign_id):
    """Each planned first visit: the inspection by the target's assigned
    inspectors. Returns the inspections, in the plan's order."""
    first = []
    for visit in visits:
        target = assignments[visit["target"]]
        inspector, other = target["inspectors"][:2]
        position = _position(api, target["enterprise_id"])
        visit.update(enterprise_id=target["enterprise_id"], position=position,
                     inspectors=(inspector, other))
        first.append(_inspect(api, inspector, other, target["enterprise_id"], position,
                              checklist, datetime.now(timezone.utc), visit["failed"],
                              campaign_id))
    return first


def _cases(api, visits, inspections, checklist):
    """Citations of what each visit found (with the hazards they cite), the
    penalty, the payments, the closing. Returns the hazards
    {(inspection id, item id): hazard}."""
    _wait("the enforcement hazards", lambda: api.call(
        "GET", "/api/v1/hazards", source="enforcement", size=1)["total"] >= HAZARDS)
    hazards = {}
    for hazard in api.every("/api/v1/hazards", source="enforcement"):
        hazards.setdefault((hazard["source_inspection_id"], hazard["source_item_id"]), hazard)
    item_ids = [item["item_id"] for item in checklist["items"]]
    today = datetime.now(LOCAL).date()
    receipt = 0
    for visit, inspection in zip(visits, inspections):
        inspector = api.as_inspector(visit["inspectors"][0])
        case = api.call("POST", "/api/v1/cases", {"inspection_id": inspection["id"]},
                        session=inspector)
        path = "/api/v1/cases/%s" % case["case_id"]
        citations = []
        for citation in visit["citations"]:
            category = CHECKLIST[citation["items"][0]][1]
            clause, description = CLAUSES[category]
            days = 15 if citation["violation_class"] == "serious" else 30
            cited = api.call("POST", path + "/citations", {
                "clause": clause, "violation_class": citation["violation_class"],
                "description": description + "：" + "；".join(
                    CHECKLIST[n][0] for n in citation["items"]),
                "fine_proposed": _yuan(citation["fine_proposed"]),
                "abatement_date": (today + timedelta(days=days)).isoformat(),
                "hazard_ids": [hazards[(inspection["id"], item_ids[n])]["id"]
                               for n in citation["items"]]},
                session=inspector)
            citations.append((cited["citations"][-1]["citation_id"], citation["fine_imposed"]))
        visit["case"] = path
        if visit["lenient"]:
            continue
        api.call("POST", path + "/penalty", {"fines": [
            {"citation_id": citation_id, "fine_imposed": _yuan(imposed)}
            for citation_id, imposed in citations]})
        for amount in visit["payments"]:
            receipt += 1
            api.call("POST", path + "/payments", {
                "amount": _yuan(amount), "paid_on": today.isoformat(),
                "reference": "非税收入缴款书 33052126%05d" % receipt})
    return hazards


def _close(api, visits):
    """The closings, last: a case visited again once its citations are abated."""
    def abated(visit):
        return all(c["abated"] for c in api.call("GET", visit["case"])["citations"])
    for visit in visits:
        if visit["revisit"]:
            _wait("the citations of %s abated" % visit["case"], lambda: abated(visit), 60)
        if visit["lenient"]:
            api.call("POST", visit["case"] + "/close", {
                "outcome": "no_penalty", "note": "首次违法且已当场整改，依法不予行政处罚"})
        elif visit["closing"]:
            api.call("POST", visit["case"] + "/close", {"outcome": visit["closing"]})


def _follow_ups(api, visits, inspections, hazards, checklist, campaign_id, prefixes):
    """The second visits (复查): the enterprise put everything right (its
    manager records a plan for each major hazard and the rectification of
    each), the inspectors inspect again and find nothing, and verify each
    hazard — which abates the citations that cite it."""
    item_ids = [item["item_id"] for item in checklist["items"]]
    now = datetime.now(timezone.utc)
    for visit, inspection in zip(visits, inspections):
        if not visit["revisit"]:
            continue
        username = prefixes[visit["enterprise_id"]] + ".manager"
        api.call("POST", "/api/v1/accounts", {
            "username": username, "password": api.password, "role": "enterprise_manager",
            "enterprise_id": visit["enterprise_id"]}, status=(201, 409))
        manager = api.login(username)
        found = [hazards[(inspection["id"], item_ids[n])] for n in visit["failed"]]
        for hazard in found:
            path = "/api/v1/hazards/%s" % hazard["id"]
            if hazard["level"] == "major":
                api.call("POST", path + "/plan", {
                    "goal": "彻底消除隐患", "measures": "停用整改，完善设施，复查验收",
                    "funds": "20000.00", "responsible_person": "企业负责人",
                    "deadline": _iso(now + timedelta(days=10)),
                    "interim_measures": "划定警戒区域，设置警示标志，专人监护"}, session=manager)
            api.call("POST", path + "/rectification", {
                "measures": "已按执法检查要求整改到位", "done_at": _iso(datetime.now(timezone.utc)),
                "cost": "1500.00", "rectified_by": "设备安全员"}, session=manager)
        inspector, other = visit["inspectors"]
        _inspect(api, other, inspector, visit["enterprise_id"], visit["position"], checklist,
                 datetime.now(timezone.utc), campaign_id=campaign_id)
        for hazard in found:
            api.call("POST", "/api/v1/hazards/%s/verification" % hazard["id"], {
                "outcome": "verified", "verifier": INSPECTORS[other],
                "comment": "复查：整改到位"}, session=api.as_inspector(other))


def _yuan(fen):
    return "%d.%02d" % divmod(fen, 100)
