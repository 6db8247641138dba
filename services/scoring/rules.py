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

    # worked out once per window: every fact is tested against them
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


# --- tallies: what the measures count, fact by fact -------------------------------------------
#
# Every measure is a function of counts over the facts in the window, so the
# facts are first summed into a tally: {part: {key: count}}, a fact's marks
# added one by one. The projection keeps an enterprise's tally and, when a
# fact changes, takes the old fact's marks off and adds the new one's: the
# same tally as summing all the facts again, at the cost of one fact.
# Parts: "n" (counts per indicator, "<index>.<what>"), "citations" (in force,
# overdue in the window), "positions" and "checklist" (positions in use, and
# those with a checklist), "inspected" (inspections in the window per position).

def hazard_marks(rules, window, hazard):
    for index, indicator in enumerate(rules["indicators"]):
        measure, params = indicator["measure"], indicator.get("params", {})
        if measure == "share_recorded_within" and window.contains(hazard.reported_at):
            yield "n", "%d.recorded" % index
            if hazard.reported_at - hazard.found_at > timedelta(hours=params["hours"]):
                yield "n", "%d.late" % index
        elif measure == "share_rectified_by_deadline" and window.contains(hazard.deadline):
            major = hazard.level == "major"
            on_time = hazard.rectified_at is not None and hazard.rectified_at <= hazard.deadline
            weight = params.get("major_weight", 1) if major else 1
            for what, counts in (("due", True), ("on_time", on_time)):
                if counts:
                    yield "n", "%d.%s" % (index, what)
                    yield "n", "%d.%s_weight" % (index, what), weight
                    if major:
                        yield "n", "%d.%s_majors" % (index, what)


def inspection_marks(rules, window, inspection):
    if not window.contains(inspection.completed_at):
        return
    if inspection.position_id is not None:
        yield "inspected", inspection.position_id
    for index, indicator in enumerate(rules["indicators"]):
        if (indicator["measure"] in ("inspections_against_rhythm", "rounds_done_of_due")
                and inspection.kind in indicator["params"]["kinds"]):
            yield "n", "%d.inspections" % index


def action_marks(rules, window, action):
    if not window.start <= action.held_on <= window.end:
        return
    for index, indicator in enumerate(rules["indicators"]):
        if (indicator["measure"] == "actions_against_rhythm"
                and action.kind in indicator["params"]["kinds"]):
            yield "n", "%d.actions" % index


def round_marks(rules, window, decided):
    if not window.contains(decided.at):
        return
    for index, indicator in enumerate(rules["indicators"]):
        if indicator["measure"] == "rounds_done_of_due":
            yield "n", "%d.rounds" % index
            if decided.done:
                yield "n", "%d.rounds_done" % index


def position_marks(rules, window, position):
    yield "positions", position.position_id
    if position.has_checklist:
        yield "checklist", position.position_id


def citation_marks(rules, window, citation):
    if not citation.withdrawn and window.contains(citation.overdue_since):
        yield "citations", citation.citation_id


MARKS = {"hazards": hazard_marks, "inspections": inspection_marks, "actions": action_marks,
         "rounds": round_marks, "positions": position_marks, "citations": citation_marks}


def add_marks(tally, marks, sign=1):
    """Add (sign 1) or take off (sign -1) a fact's marks: (part, key[, amount])."""
    for mark in marks:
        part, key = mark[0], mark[1]
        amount = mark[2] if len(mark) > 2 else 1
        counts = tally.setdefault(part, {})
        count = counts.get(key, 0) + sign * amount
        if count:
            counts[key] = count
        else:
            counts.pop(key)
            if not counts:
                del tally[part]        # one shape for one content: what replay compares
    return tally


def tally_of(rules, window, facts):
    """The tally of all of `facts` in `window`."""
    tally = {}
    for kind, marks in MARKS.items():
        for fact in getattr(facts, kind):
            add_marks(tally, marks(rules, window, fact))
    return tally


def _count(tally, index, what):
    return tally.get("n", {}).get("%d.%s" % (index, what), 0)


# --- measures: each returns (value in [0, 1] or None when nothing to measure, detail) -------

def share_recorded_within(window, tally, index, hours):
    recorded = _count(tally, index, "recorded")
    if not recorded:
        return None, {"hazards_recorded": 0}
    late = _count(tally, index, "late")
    return _ratio(recorded - late, recorded), {
        "hazards_recorded": recorded, "recorded_late": late}


def share_rectified_by_deadline(window, tally, index, major_weight=1):
    """Hazards due in the window, rectified by their deadline; a major one
    counts `major_weight` times, so an open major weighs heavily."""
    due = _count(tally, index, "due")
    if not due:
        return None, {"hazards_due": 0}
    return _ratio(_count(tally, index, "on_time_weight"), _count(tally, index, "due_weight")), {
        "hazards_due": due, "rectified_on_time": _count(tally, index, "on_time"),
        "majors_late_or_open": (_count(tally, index, "due_majors")
                                - _count(tally, index, "on_time_majors"))}


def inspections_against_rhythm(window, tally, index, per_week, kinds):
    done = _count(tally, index, "inspections")
    expected = Decimal(window.days) / Decimal(7) * Decimal(per_week)
    detail = {"inspections": done, "expected": str(expected.quantize(POINTS_QUANTUM))}
    return (_capped(done, expected) if done else None), detail


def rounds_done_of_due(window, tally, index, per_week, kinds):
    """Rule set 2026.4: the share of the scheduled rounds decided in the
    window that were done; an enterprise without any is measured against
    the rhythm of `per_week` inspections, as before."""
    decided = _count(tally, index, "rounds")
    if not decided:
        value, detail = inspections_against_rhythm(window, tally, index, per_week, kinds)
        return value, dict(detail, measured_by="rhythm")
    done = _count(tally, index, "rounds_done")
    return _ratio(done, decided), {"measured_by": "rounds", "rounds_due": decided,
                                   "rounds_done": done, "rounds_missed": decided - done}


def actions_against_rhythm(window, tally, index, kinds, per_month):
    """Safety actions of `kinds` held in the window, against `per_month`."""
    done = _count(tally, index, "actions")
    expected = Decimal(window.days) / Decimal("30.4375") * Decimal(per_month)
    detail = {"recorded": done, "expected": str(expected.quantize(POINTS_QUANTUM))}
    return (_capped(done, expected) if done else None), detail


def positions_standardised(window, tally, index):
    """Share of the positions that have a checklist and were inspected in the window."""
    positions = tally.get("positions", {})
    if not positions:
        return None, {"positions": 0}
    inspected = tally.get("inspected", {})
    standard = [p for p in tally.get("checklist", {}) if p in inspected]
    return _ratio(len(standard), len(positions)), {
        "positions": len(positions), "with_checklist_and_inspected": len(standard)}


MEASURES = {f.__name__: f for f in (share_recorded_within, share_rectified_by_deadline,
                                    inspections_against_rhythm, rounds_done_of_due,
                                    actions_against_rhythm, positions_standardised)}


# --- deductions: each returns (how many findings, detail) -------------------------------------

def citations_abatement_overdue(window, tally):
    """Citations in force that became overdue for abatement in the window
    (a later abatement does not undo that it was late; a withdrawal does:
    the violation was not upheld)."""
    overdue = sorted(tally.get("citations", {}))
    return len(overdue), {"citations": overdue}


DEDUCTIONS = {f.__name__: f for f in (citations_abatement_overdue,)}


def _deductions(rules, indicator, window, tally, measured):
    """The indicator's deductions as the explanation shows them, and the
    points they take together (never more than `measured`)."""
    shown, left = [], measured
    for rule in indicator.get("deductions", []):
        count, detail = DEDUCTIONS[rule["measure"]](window, tally)
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
    return evaluate_tally(rules, as_of, tally_of(rules, window, facts))


def evaluate_tally(rules, as_of, tally):
    """The score as of a day from the tally of the facts in its window."""
    window = Window.ending(as_of, rules["window_months"])
    indicators, total = [], Decimal(0)
    for index, indicator in enumerate(rules["indicators"]):
        measure = MEASURES[indicator["measure"]]
        value, detail = measure(window, tally, index, **indicator.get("params", {}))
        empty = value is None
        if empty:
            value = Decimal(indicator["when_empty"]).quantize(VALUE_QUANTUM)
        max_points = Decimal(indicator["points"])
        points = (max_points * value).quantize(POINTS_QUANTUM, ROUND_HALF_UP)
        deductions, taken = _deductions(rules, indicator, window, tally, points)
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
