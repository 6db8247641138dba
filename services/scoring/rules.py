"""The scoring rule set: indicators, their points out of 10, how each is
measured, and the grade thresholds — read from a versioned JSON file, so a
new rule set is configuration, not a code branch.

All arithmetic is Decimal: a score recomputed anywhere, any time, is the
same to the last digit.

An indicator may also carry `deductions` (rule set 2026.3 on): points taken
off what it measured for findings elsewhere — `per` each, at most `cap`,
never below zero — each shown in the explanation with its count, the points
taken and why, under the rule version that took them."""
import functools
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from einspection import days

RULES_DIR = os.path.join(os.path.dirname(__file__), "rules")
DEFAULT_RULES = "v4.json"
VALUE_QUANTUM = Decimal("0.0001")
POINTS_QUANTUM = Decimal("0.01")


@functools.lru_cache(maxsize=8)
def load_rules(path=None):
    with open(path or os.path.join(RULES_DIR, DEFAULT_RULES), encoding="utf-8") as handle:
        return json.load(handle)


def months_before(day, months):
    """The same day `months` earlier, clipped to the month's end (31 May → 28/29 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def period_before(day):
    """The month before `day`'s, as "YYYY-MM": what a statement made on `day` is about."""
    year, month = divmod(day.year * 12 + day.month - 2, 12)
    return "%04d-%02d" % (year, month + 1)


@dataclass(frozen=True)
class Window:
    """(as_of − N months, as_of], in whole days of the deployment's time
    zone (einspection.days): in Shanghai 2026-11-29 covers 2026-08-29 16:00Z
    up to 2026-11-29 16:00Z (exclusive)."""
    start: date
    end: date

    @classmethod
    def ending(cls, as_of, months):
        return cls(months_before(as_of, months) + timedelta(days=1), as_of)

    # Cached: the rules test every fact against the window's ends.
    @functools.cached_property
    def start_instant(self):
        return days.start_of(self.start, days.deployment_zone())

    @functools.cached_property
    def end_instant(self):        # exclusive
        return days.start_of(self.end + timedelta(days=1), days.deployment_zone())

    def contains(self, moment):
        return moment is not None and self.start_instant <= moment < self.end_instant

    @property
    def days(self):
        return (self.end - self.start).days + 1


@dataclass
class HazardFact:
    found_at: datetime
    reported_at: datetime
    deadline: datetime
    level: str
    rectified_at: datetime = None


@dataclass
class InspectionFact:
    kind: str
    completed_at: datetime
    position_id: str = None


@dataclass
class ActionFact:
    """A safety action: training, drill, meeting or daily management record."""
    kind: str
    held_on: date


@dataclass
class PositionFact:
    position_id: str
    has_checklist: bool


@dataclass
class CitationFact:
    """A citation of an enforcement case that was not abated by its
    abatement day: overdue from `overdue_since` (the start of the next day in
    the deployment's zone); `withdrawn` if the citation was withdrawn since."""
    citation_id: str
    overdue_since: datetime
    withdrawn: bool = False


@dataclass
class RoundFact:
    """A scheduled round decided: `done` (at the inspection's completion) or
    missed (at the end of its window); `at` is that instant."""
    done: bool
    at: datetime


@dataclass
class Facts:
    """What the rules can see of one enterprise."""
    hazards: list = field(default_factory=list)
    inspections: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    positions: list = field(default_factory=list)
    citations: list = field(default_factory=list)
    rounds: list = field(default_factory=list)


def _ratio(numerator, denominator):
    return (Decimal(numerator) / Decimal(denominator)).quantize(VALUE_QUANTUM, ROUND_HALF_UP)


def _capped(done, expected):
    return min(Decimal(1), Decimal(done) / expected).quantize(VALUE_QUANTUM, ROUND_HALF_UP)


# --- measures: each returns (value in [0, 1] or None when nothing to measure, detail) -------

def share_recorded_within(window, facts, hours):
    recorded = [h for h in facts.hazards if window.contains(h.reported_at)]
    if not recorded:
        return None, {"hazards_recorded": 0}
    late = [h for h in recorded if h.reported_at - h.found_at > timedelta(hours=hours)]
    return _ratio(len(recorded) - len(late), len(recorded)), {
        "hazards_recorded": len(recorded), "recorded_late": len(late)}


def share_rectified_by_deadline(window, facts, major_weight=1):
    """Hazards due in the window, rectified by their deadline; a major one
    counts `major_weight` times, so an open major weighs heavily."""
    due = [h for h in facts.hazards if window.contains(h.deadline)]
    if not due:
        return None, {"hazards_due": 0}
    on_time = [h for h in due if h.rectified_at is not None and h.rectified_at <= h.deadline]

    def weight(hazards):
        return sum(major_weight if h.level == "major" else 1 for h in hazards)
    return _ratio(weight(on_time), weight(due)), {
        "hazards_due": len(due), "rectified_on_time": len(on_time),
        "majors_late_or_open": (len([h for h in due if h.level == "major"])
                                - len([h for h in on_time if h.level == "major"]))}


def inspections_against_rhythm(window, facts, per_week, kinds):
    done = [i for i in facts.inspections
            if i.kind in kinds and window.contains(i.completed_at)]
    expected = Decimal(window.days) / Decimal(7) * Decimal(per_week)
    detail = {"inspections": len(done), "expected": str(expected.quantize(POINTS_QUANTUM))}
    return (_capped(len(done), expected) if done else None), detail


def rounds_done_of_due(window, facts, per_week, kinds):
    """Rule set 2026.4: the share of the scheduled rounds decided in the
    window that were done; an enterprise without any is measured against
    the rhythm of `per_week` inspections, as before."""
    decided = [r for r in facts.rounds if window.contains(r.at)]
    if not decided:
        value, detail = inspections_against_rhythm(window, facts, per_week, kinds)
        return value, dict(detail, measured_by="rhythm")
    done = len([r for r in decided if r.done])
    return _ratio(done, len(decided)), {"measured_by": "rounds", "rounds_due": len(decided),
                                        "rounds_done": done,
                                        "rounds_missed": len(decided) - done}


def actions_against_rhythm(window, facts, kinds, per_month):
    """Safety actions of `kinds` held in the window, against `per_month`."""
    done = [a for a in facts.actions
            if a.kind in kinds and window.start <= a.held_on <= window.end]
    expected = Decimal(window.days) / Decimal("30.4375") * Decimal(per_month)
    detail = {"recorded": len(done), "expected": str(expected.quantize(POINTS_QUANTUM))}
    return (_capped(len(done), expected) if done else None), detail


def positions_standardised(window, facts):
    """Share of the positions that have a checklist and were inspected in the window."""
    if not facts.positions:
        return None, {"positions": 0}
    inspected = {i.position_id for i in facts.inspections if window.contains(i.completed_at)}
    standard = [p for p in facts.positions if p.has_checklist and p.position_id in inspected]
    return _ratio(len(standard), len(facts.positions)), {
        "positions": len(facts.positions), "with_checklist_and_inspected": len(standard)}


MEASURES = {f.__name__: f for f in (share_recorded_within, share_rectified_by_deadline,
                                    inspections_against_rhythm, rounds_done_of_due,
                                    actions_against_rhythm, positions_standardised)}


# --- deductions: each returns (how many findings, detail) -------------------------------------

def citations_abatement_overdue(window, facts):
    """Citations in force that became overdue for abatement in the window
    (a later abatement does not undo that it was late; a withdrawal does:
    the violation was not upheld)."""
    overdue = sorted(c.citation_id for c in facts.citations
                     if not c.withdrawn and window.contains(c.overdue_since))
    return len(overdue), {"citations": overdue}


DEDUCTIONS = {f.__name__: f for f in (citations_abatement_overdue,)}


def _deductions(rules, indicator, window, facts, measured):
    """The indicator's deductions as the explanation shows them, and the
    points they take together (never more than `measured`)."""
    shown, left = [], measured
    for rule in indicator.get("deductions", []):
        count, detail = DEDUCTIONS[rule["measure"]](window, facts)
        per, cap = Decimal(rule["per"]), Decimal(rule["cap"])
        taken = min(per * count, cap, left).quantize(POINTS_QUANTUM, ROUND_HALF_UP)
        left -= taken
        words = {"count": count, "per": rule["per"], "cap": rule["cap"],
                 "taken": str(taken), "version": rules["version"]}

        def why(texts):
            return (texts["why"] if count else texts["why_none"]).format(**words)
        shown.append({
            "key": rule["key"], "count": count, "per": str(per.quantize(POINTS_QUANTUM)),
            "cap": str(cap.quantize(POINTS_QUANTUM)), "points": str(-taken) if taken else "0.00",
            "rule_version": rules["version"], "detail": detail, "why": why(rule),
            "i18n": {language: {"why": why(texts)}
                     for language, texts in sorted(rule.get("i18n", {}).items())}})
    return shown, measured - left


def grade_for(rules, points):
    for grade, threshold in rules["grades"]:
        if points >= Decimal(threshold):
            return grade
    return rules["grades"][-1][0]


def judged(indicator, empty):
    """Whether the points an indicator lost are a finding that its advice may
    speak of. A measured shortfall is; so is the absence of records the rule
    set scores as nothing done (`when_empty` 0: no self-inspection at all).
    Credit withheld only for want of evidence is not: timeliness gives half
    credit when no hazard was recorded, and "part of the hazard records are
    kept afterwards" would then be untrue. Only the advice depends on this,
    never the points."""
    return not empty or Decimal(indicator["when_empty"]) == 0


def evaluate(rules, as_of, facts):
    """The score of one enterprise as of a day, from its facts alone."""
    window = Window.ending(as_of, rules["window_months"])
    indicators, total = [], Decimal(0)
    for indicator in rules["indicators"]:
        measure = MEASURES[indicator["measure"]]
        value, detail = measure(window, facts, **indicator.get("params", {}))
        empty = value is None
        if empty:
            value = Decimal(indicator["when_empty"]).quantize(VALUE_QUANTUM)
        max_points = Decimal(indicator["points"])
        points = (max_points * value).quantize(POINTS_QUANTUM, ROUND_HALF_UP)
        deductions, taken = _deductions(rules, indicator, window, facts, points)
        points -= taken
        total += points
        missing = max_points - points
        advised = missing > 0 and (judged(indicator, empty) or taken > 0)
        shown = {
            "key": indicator["key"], "title": indicator["title"], "value": str(value),
            "points": str(points), "max_points": str(max_points.quantize(POINTS_QUANTUM)),
            "nothing_to_measure": empty, "detail": detail,
            "to_gain": (indicator["advice"] if advised else ""),
            "missing_points": str(missing.quantize(POINTS_QUANTUM)),
            # the same title and advice in the rule set's other languages
            "i18n": {language: {"title": text["title"],
                                "to_gain": (text["advice"] if advised else "")}
                     for language, text in sorted(indicator.get("i18n", {}).items())},
        }
        if "deductions" in indicator:         # rule sets before 2026.3 explain as they did
            shown["deductions"] = deductions
        if "why" in indicator:                # how it is measured (2026.4 on)
            shown["why"] = indicator["why"]
            for language, text in indicator.get("i18n", {}).items():
                if "why" in text:
                    shown["i18n"][language]["why"] = text["why"]
        indicators.append(shown)
    return {
        "rule_version": rules["version"], "as_of": as_of.isoformat(),
        "window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
        "points": str(total.quantize(POINTS_QUANTUM)), "grade": grade_for(rules, total),
        "indicators": indicators,
    }
