"""The scoring projection keeps running tallies of what the rules count, so
an event costs the same however long the enterprise's history: a property
test that, for randomised streams (tests/eventgen.py and the facts it does
not make: citations, rounds, position edits, redeliveries, steps before
their report, clock steps), every stored score after every event equals a
full re-evaluation of the enterprise's facts, and a replay rebuilds the same
projection."""
import random
from datetime import date, timedelta

import pytest

from einspection import eventstore
from einspection.contract import Event, new_event
from einspection.db import make_engine
from services.scoring import clock, projection
from services.scoring.rules import load_rules
from tests.eventgen import activity


def _rounds_and_citations(rng, events):
    """Citations overdue (some withdrawn, some withdrawn first), scheduled
    rounds done or missed, position edits and retirements: for the
    enterprises and times of `events`."""
    extra = []
    moments = [(e.subject, e.time) for e in events if e.name == "HazardReported"]
    for number, (enterprise_id, moment) in enumerate(rng.sample(moments, len(moments) // 8)):
        citation = "cit-%d" % number
        overdue = new_event("CitationAbatementOverdue", {
            "case_id": "case-%d" % number, "enterprise_id": enterprise_id,
            "citation_id": citation, "clause": "第九十九条", "violation_class": "serious",
            "abatement_date": (moment - timedelta(days=1)).date(), "overdue_since": moment,
            "hazard_ids": [], "detected_at": moment}, actor="test", time=moment)
        extra.append(overdue)
        if rng.random() < 0.3:
            extra.insert(rng.randrange(len(extra)), new_event("CitationWithdrawn", {
                "case_id": "case-%d" % number, "enterprise_id": enterprise_id,
                "citation_id": citation, "reason": "复议撤销",
                "withdrawn_at": moment + timedelta(days=2), "abatement_overdue": True},
                actor="test", time=moment + timedelta(days=2)))
    for number, (enterprise_id, moment) in enumerate(rng.sample(moments, len(moments) // 6)):
        common = {"schedule_id": "s-%s" % enterprise_id[:8], "enterprise_id": enterprise_id,
                  "checklist_id": "c-1", "position_id": "%s-p-0" % enterprise_id[:8],
                  "round": "r-%d" % number, "window_start": moment - timedelta(days=7),
                  "window_end": moment}
        if rng.random() < 0.6:
            extra.append(new_event("InspectionRoundDone", dict(
                common, inspection_id="i-%d" % number, completed_at=moment - timedelta(days=1)),
                actor="test", time=moment))
        else:
            extra.append(new_event("InspectionMissed", common, actor="test", time=moment))
    for enterprise_id, moment in rng.sample(moments, len(moments) // 20):
        position = "%s-p-%d" % (enterprise_id[:8], rng.randrange(4))
        if rng.random() < 0.5:
            data = {"position_id": position, "enterprise_id": enterprise_id,
                    "updated_at": moment}
            if rng.random() < 0.7:
                data["checklist_ids"] = rng.choice([[], ["c-2"]])
            extra.append(new_event("PositionUpdated", data, actor="test", time=moment))
        else:
            extra.append(new_event("PositionRetired", {
                "position_id": position, "enterprise_id": enterprise_id, "reason": "moved",
                "retired_at": moment}, actor="test", time=moment))
    return extra


def stream(seed, count=600, enterprises=4):
    """A randomised stream: the activity, the extra facts spliced in at
    random places, some events delivered twice, some hazard steps moved before
    their report."""
    rng = random.Random(seed)
    events = activity(count, enterprises=enterprises, seed=seed)
    for event in _rounds_and_citations(rng, events):
        events.insert(rng.randrange(len(events) + 1), event)
    for _ in range(len(events) // 30):
        events.insert(rng.randrange(len(events) + 1), rng.choice(events))    # redelivered
    for index in range(len(events) - 1):
        if events[index + 1].name in ("RectificationDone", "HazardReturned") and rng.random() < 0.2:
            events[index], events[index + 1] = events[index + 1], events[index]
    return events


def clock_days(seed, events):
    """Where the clock steps in the stream: a few days spread over its times."""
    rng = random.Random(seed)
    times = sorted(e.time for e in events)
    return {rng.randrange(len(events)): (times[0] + (times[-1] - times[0]) * f).date()
            for f in (0.3, 0.6, 0.9, 1.05)}
