"""Each candidate's weight in the draw, and who is excluded and why: a
versioned function of facts the platform holds, with its rules in
`rules/weights.json` (the version, the factors) and
`rules/industry_risk.json` (industry → risk class; per class a factor and a
yearly visit cap; the "recently visited" period).

    weight = grade × industry risk × hazards × since last visit / 1000³      (milli-units)
    hazards = 1000 + Σ per_hazard × min(count, counted_up_to)
              over open major, overdue and listed (挂牌督办) hazards

| factor | from the facts | rule (weights-2026-12) |
| --- | --- | --- |
| `grade` | the enterprise's grade | E ×8, D ×4, C ×2, B ×1, A ×0.5; not yet graded ×2 (no evidence it is safe) |
| `industry_risk` | `industry` → class | very high ×2, high ×1.5, medium ×1, low ×0.8; an industry not in the table is of the default class |
| `hazards` | open major, overdue, listed | +0.5 per open major (up to 4), +0.25 per overdue (up to 8), +0.5 per listed (up to 4); a listed hazard is also an open major one and counts in both |
| `since_last_visit` | the last enforcement visit | never ×1.5, 730 days or more ×1.5, 365 or more ×1.25, else ×1 |

The product is rounded half up to an integer of milli-units, at least 1, so
the snapshot is exact JSON. Exclusions (listed in the snapshot with a code,
a readable reason in Chinese and the figures behind it):

| code | when |
| --- | --- |
| `visited_recently` | the last enforcement visit fewer than `recently_visited_days` days before the snapshot's day |
| `yearly_cap` | `visits_this_year` at or above the yearly cap of the enterprise's class |

A mandatory enterprise (the campaign's key list) is never excluded: the
exclusion it would have had is kept on it as `waived`. Both rule files are
versioned; `weights.json` names the industry table's version it was made
with and loading refuses a mismatch, so `weights_version` alone says which
rules made a snapshot.
"""
import functools
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date

from . import quotas as quota_rules
from .draw import DrawError, check_snapshot

RULES_DIR = os.path.join(os.path.dirname(__file__), "rules")
DEFAULT_WEIGHTS = os.path.join(RULES_DIR, "weights.json")
DEFAULT_INDUSTRY_RISK = os.path.join(RULES_DIR, "industry_risk.json")
GRADES = ("A", "B", "C", "D", "E")
HAZARD_COUNTS = ("open_major", "overdue", "listed")
MILLI = 1000

FACTOR_LABELS = {
    "grade": {"zh": "企业等级", "en": "grade"},
    "industry_risk": {"zh": "行业风险类别", "en": "industry risk class"},
    "hazards": {"zh": "隐患（重大、逾期、挂牌督办）", "en": "hazards (major, overdue, listed)"},
    "since_last_visit": {"zh": "距上次执法检查", "en": "time since the last enforcement visit"},
}
EXCLUSION_LABELS = {
    "visited_recently": {"zh": "近期已执法检查", "en": "visited recently"},
    "yearly_cap": {"zh": "已达年度检查上限", "en": "at the yearly visit cap"},
}


class FactsError(DrawError):
    """An enterprise's facts that cannot be weighed; `field` names the fact."""

    def __init__(self, field, reason):
        super().__init__("%s: %s" % (field, reason))
        self.field = field


def _milli_text(milli):
    return "×%d.%03d" % divmod(milli, MILLI)


@dataclass(frozen=True)
class Rules:
    version: str
    industry_risk_version: str
    grade: dict                 # "A".."E", "ungraded" -> milli
    hazards: dict               # open_major/overdue/listed -> (per_hazard milli, counted_up_to)
    since_last_visit: tuple     # ((days_from, milli), ...) largest days_from first
    never_visited: int
    recently_visited_days: int
    classes: dict               # class -> {"zh", "en", "factor", "yearly_visit_cap"}
    default_class: str
    industries: dict            # normalised industry -> class
    prefixes: tuple             # ((normalised prefix, class), ...) longest first

    @classmethod
    def from_dicts(cls, weights, industry_risk, source="the weight rules"):
        def wrong(what):
            return ValueError("%s: %s" % (source, what))

        def milli(value, where, minimum=1):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise wrong("%s must be a whole number of milli-units ≥ %d" % (where, minimum))
            return value

        for data, name in ((weights, "weights"), (industry_risk, "industry_risk")):
            if not isinstance(data, dict) or not isinstance(data.get("version"), str):
                raise wrong("%s needs a text `version`" % name)
        if weights.get("industry_risk_version") != industry_risk["version"]:
            raise wrong("weights %s was made with the industry table %r, not %r: bump the "
                        "weights' version with the table's" % (
                            weights["version"], weights.get("industry_risk_version"),
                            industry_risk["version"]))
        grade = weights.get("grade") or {}
        if set(grade) != set(GRADES) | {"ungraded"}:
            raise wrong("grade needs A to E and `ungraded`")
        grade = {key: milli(value, "grade." + key) for key, value in grade.items()}
        hazards = {}
        for key in HAZARD_COUNTS:
            entry = (weights.get("hazards") or {}).get(key)
            if not isinstance(entry, dict):
                raise wrong("hazards.%s needs per_hazard and counted_up_to" % key)
            hazards[key] = (milli(entry.get("per_hazard"), "hazards.%s.per_hazard" % key, 0),
                            milli(entry.get("counted_up_to"), "hazards.%s.counted_up_to" % key,
                                  0))
        bands = weights.get("since_last_visit")
        if not isinstance(bands, list) or not bands:
            raise wrong("since_last_visit must be a non-empty list")
        since = sorted(((milli(b.get("days_from"), "since_last_visit.days_from", 0),
                         milli(b.get("factor"), "since_last_visit.factor")) for b in bands),
                       reverse=True)
        if since[-1][0] != 0:
            raise wrong("since_last_visit needs a band from 0 days")
        classes = industry_risk.get("classes")
        if not isinstance(classes, dict) or not classes:
            raise wrong("classes must be a non-empty object")
        for key, entry in classes.items():
            if not (isinstance(entry, dict) and isinstance(entry.get("zh"), str)):
                raise wrong("class %s needs a Chinese label `zh`" % key)
            milli(entry.get("factor"), "classes.%s.factor" % key)
            milli(entry.get("yearly_visit_cap"), "classes.%s.yearly_visit_cap" % key)
        default_class = industry_risk.get("default_class")
        if default_class not in classes:
            raise wrong("default_class must be one of the classes")

        def table(name):
            entries = industry_risk.get(name) or {}
            normalised = {}
            for key, risk in entries.items():
                if risk not in classes:
                    raise wrong("%s.%s: class %r is not one of the classes" % (name, key, risk))
                if _normalise(key) in normalised:
                    raise wrong("%s: %r is listed twice" % (name, key))
                normalised[_normalise(key)] = risk
            return normalised

        return cls(
            version=weights["version"], industry_risk_version=industry_risk["version"],
            grade=grade, hazards=hazards, since_last_visit=tuple(since),
            never_visited=milli(weights.get("never_visited"), "never_visited"),
            recently_visited_days=milli(industry_risk.get("recently_visited_days"),
                                        "recently_visited_days", 0),
            classes=classes, default_class=default_class, industries=table("industries"),
            prefixes=tuple(sorted(table("prefixes").items(), key=lambda p: (-len(p[0]), p[0]))))

    def risk_class(self, industry):
        """The industry's class: the table's entry, else the longest prefix
        (NAICS and SIC codes), else the default class."""
        key = _normalise(industry or "")
        if key in self.industries:
            return self.industries[key]
        for prefix, risk in self.prefixes:
            if key.startswith(prefix):
                return risk
        return self.default_class


def _normalise(industry):
    return " ".join(industry.split()).casefold()


@functools.lru_cache(maxsize=None)
def load_rules(weights_path=DEFAULT_WEIGHTS, industry_risk_path=DEFAULT_INDUSTRY_RISK):
    with open(weights_path, encoding="utf-8") as handle:
        weights = json.load(handle)
    with open(industry_risk_path, encoding="utf-8") as handle:
        industry_risk = json.load(handle)
    return Rules.from_dicts(weights, industry_risk, source=weights_path)


WEIGHTS_VERSION = load_rules().version


# --- one enterprise --------------------------------------------------------------------------

def _facts(facts, today):
    """The facts checked and completed: counts missing read 0, grade and last visit None."""
    if not isinstance(facts, dict):
        raise FactsError("facts", "must be an object")
    for key in ("enterprise_id", "town"):
        if not isinstance(facts.get(key), str) or not facts[key]:
            raise FactsError(key, "must be a non-empty text")
    grade = facts.get("grade")
    if grade is not None and grade not in GRADES:
        raise FactsError("grade", "must be one of A, B, C, D, E or null, not %r" % (grade,))
    industry = facts.get("industry") or ""
    if not isinstance(industry, str):
        raise FactsError("industry", "must be a text")
    counts = {}
    for key in HAZARD_COUNTS + ("visits_this_year",):
        value = facts.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FactsError(key, "must be a whole number ≥ 0, not %r" % (value,))
        counts[key] = value
    last = facts.get("last_enforcement_visit")
    if last is not None:
        try:
            last = date.fromisoformat(last) if isinstance(last, str) else None
        except ValueError:
            last = None
        if last is None:
            raise FactsError("last_enforcement_visit", "must be a day YYYY-MM-DD or null")
        if last > today:
            raise FactsError("last_enforcement_visit", "%s is after the snapshot's day %s"
                             % (last, today))
    return dict(counts, enterprise_id=facts["enterprise_id"], town=facts["town"], grade=grade,
                industry=industry, last_enforcement_visit=last)


def _weigh(facts, today, rules):
    grade = rules.grade[facts["grade"] or "ungraded"]
    risk = rules.risk_class(facts["industry"])
    industry = rules.classes[risk]["factor"]
    hazards = MILLI + sum(per * min(facts[key], up_to)
                          for key, (per, up_to) in rules.hazards.items())
    last = facts["last_enforcement_visit"]
    days = None if last is None else (today - last).days
    if days is None:
        since = rules.never_visited
    else:
        since = next(factor for days_from, factor in rules.since_last_visit if days >= days_from)
    product = grade * industry * hazards * since
    weight = max(1, (product + MILLI ** 3 // 2) // MILLI ** 3)
    factors = [
        {"name": "grade", "value": facts["grade"], "effect": _milli_text(grade)},
        {"name": "industry_risk", "value": {"industry": facts["industry"], "class": risk},
         "effect": _milli_text(industry)},
        {"name": "hazards", "value": {key: facts[key] for key in HAZARD_COUNTS},
         "effect": _milli_text(hazards)},
        {"name": "since_last_visit",
         "value": {"last_visit": None if last is None else last.isoformat(), "days": days},
         "effect": _milli_text(since)},
    ]
    return {"weight": weight, "factors": factors}, risk, days


def _exclusion(facts, risk, days, rules):
    period = rules.recently_visited_days
    if days is not None and days < period:
        return {"code": "visited_recently",
                "reason": "近期已执法检查（%s，距今 %d 天，未满 %d 天）"
                          % (facts["last_enforcement_visit"].isoformat(), days, period),
                "details": {"last_visit": facts["last_enforcement_visit"].isoformat(),
                            "days": days, "period_days": period}}
    cap = rules.classes[risk]["yearly_visit_cap"]
    if facts["visits_this_year"] >= cap:
        return {"code": "yearly_cap",
                "reason": "本年度已执法检查 %d 次，已达%s年度上限 %d 次"
                          % (facts["visits_this_year"], rules.classes[risk]["zh"], cap),
                "details": {"visits_this_year": facts["visits_this_year"], "class": risk,
                            "yearly_visit_cap": cap}}
    return None


def candidate(facts, today, rules=None):
    """{"weight": milli-units, "factors": [{"name", "value", "effect"}]}, or
    {"excluded": readable reason, "code": ..., "details": {...}} (the table above)."""
    rules = rules or load_rules()
    checked = _facts(facts, today)
    weighed, risk, days = _weigh(checked, today, rules)
    excluded = _exclusion(checked, risk, days, rules)
    if excluded:
        return {"excluded": excluded["reason"], "code": excluded["code"],
                "details": excluded["details"]}
    return weighed


# --- the snapshot ----------------------------------------------------------------------------

def snapshot(campaign_id, targets, quotas, facts_list, mandatory_ids, today, rules=None):
    """The candidate snapshot the draw runs on (draw.py's shape), sorted by
    town then enterprise id, with `as_of` (the day the facts were read).

    `quotas` {town: n} as the campaign gives them, or None: each town's
    mandatory enterprises plus its share, by largest remainder, of the
    targets left after them, proportional to its candidates not mandatory
    (so a town's quota never exceeds what it can give while the targets do
    not exceed the candidates). FactsError/DrawError (ValueError) naming the
    enterprise and the fact, or the quota, that does not fit."""
    rules = rules or load_rules()
    if not isinstance(facts_list, list):
        raise FactsError("facts", "must be a list of enterprises' facts")
    checked = []
    for index, facts in enumerate(facts_list):
        try:
            checked.append(_facts(facts, today))
        except FactsError as error:
            ident = facts.get("enterprise_id") if isinstance(facts, dict) else None
            raise FactsError("facts[%d]%s.%s" % (index, " (%s)" % ident if ident else "",
                                                 error.field),
                             str(error).split(": ", 1)[1]) from None
    by_id = {}
    for facts in checked:
        if facts["enterprise_id"] in by_id:
            raise FactsError("facts", "enterprise %s is listed twice" % facts["enterprise_id"])
        by_id[facts["enterprise_id"]] = facts
    mandatory = set(mandatory_ids or ())
    unknown = sorted(mandatory - set(by_id))
    if unknown:
        raise FactsError("mandatory_ids", "not among the enterprises' facts: %s"
                         % ", ".join(unknown))
    candidates, exclusions = [], []
    for facts in sorted(checked, key=lambda f: (f["town"], f["enterprise_id"])):
        weighed, risk, days = _weigh(facts, today, rules)
        excluded = _exclusion(facts, risk, days, rules)
        entry = {"enterprise_id": facts["enterprise_id"], "town": facts["town"]}
        if facts["enterprise_id"] in mandatory:
            entry.update(weighed, mandatory=True)
            if excluded:
                entry["waived"] = excluded
            candidates.append(entry)
        elif excluded:
            exclusions.append(dict(entry, **excluded))
        else:
            candidates.append(dict(entry, mandatory=False, **weighed))
    if quotas is None:
        quotas = _proportional_quotas(targets, candidates)
    made = {"campaign_id": campaign_id, "targets": targets, "quotas": dict(quotas),
            "candidates": candidates, "exclusions": exclusions,
            "weights_version": rules.version, "as_of": today.isoformat()}
    check_snapshot(made)
    return made


def _proportional_quotas(targets, candidates):
    if isinstance(targets, bool) or not isinstance(targets, int) or targets < 0:
        raise DrawError("targets: must be a whole number ≥ 0, not %r" % (targets,))
    mandatory = Counter(c["town"] for c in candidates if c["mandatory"])
    drawable = Counter(c["town"] for c in candidates if not c["mandatory"])
    left = targets - sum(mandatory.values())
    if left < 0:
        raise DrawError("targets: %d targets cannot hold the %d mandatory enterprises"
                        % (targets, sum(mandatory.values())))
    towns = sorted(set(mandatory) | set(drawable))
    if left and not drawable:
        raise DrawError("targets: %d targets beyond the mandatory ones, and no candidate "
                        "left to draw them from" % left)
    shares = quota_rules.largest_remainder(left, {town: drawable[town] for town in towns})
    return {town: mandatory[town] + shares[town] for town in towns}
