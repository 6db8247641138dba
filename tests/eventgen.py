"""Realistic streams of domain events, deterministic for a given seed: for
replay, replica and consumer tests that feed the bus or a projection directly."""
import functools
import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone

from marshmallow import missing

from einspection.contract import UNIVERSAL, Event, data_schema
from services.checklist.credit_code import complete

BASE = datetime(2026, 6, 30, 8, 0, tzinfo=timezone.utc)


def credit_code(number):
    """A valid unified social credit code of its own for enterprise `number`:
    the register takes each code once."""
    return complete("91330521MA%07d" % number)


def _id(rng):
    return str(uuid.UUID(int=rng.getrandbits(128)))


@functools.lru_cache(maxsize=None)
def _fields(name):
    """An event's data fields in the schema's order, each with its default."""
    return tuple((key, declared.load_default) for key, declared in data_schema(name).fields.items())


def new_event(name, data, *, actor, time):
    """contract.new_event's event, without validating again what this module
    makes (marshmallow's dump and load were most of a stream's cost): the
    data in the schema's order, defaults filled in, the instants already
    aware UTC. tests/test_eventgen.py checks that each is new_event's."""
    canonical = {}
    for key, default in _fields(name):
        if key in data:
            canonical[key] = data[key]
        elif default is not missing:
            canonical[key] = default() if callable(default) else default
    return Event(name=name, subject=canonical.get("enterprise_id") or UNIVERSAL, data=canonical,
                 actor=actor, time=time)


def activity(count, enterprises=12, seed=7):
    """About `count` events for `enterprises` enterprises over four months:
    registrations, hazards (some recorded late), rectifications (some late),
    self and grid inspections."""
    return list(stream(count, enterprises, seed))


def stream(count, enterprises=12, seed=7):
    """`activity` one event at a time, the same events: for benchmarks with
    more of them than a list would hold in memory."""
    return itertools.islice(_endless(enterprises, seed), count)


def _endless(enterprises, seed):
    rng = random.Random(seed)
    ids = [_id(rng) for _ in range(enterprises)]
    for n, enterprise_id in enumerate(ids):
        yield new_event("EnterpriseRegistered", {
            "enterprise_id": enterprise_id, "credit_code": credit_code(n),
            "name": "Enterprise %d" % n, "industry": rng.choice(["textiles", "machinery"]),
            "town": rng.choice(["Wukang", "Xinshi"]), "grid": "grid-%d" % (n % 3),
            "address": "", "latitude": None, "longitude": None, "employees": 50,
            "registered_at": BASE - timedelta(days=200)}, actor="test",
            time=BASE - timedelta(days=200))
    for enterprise_id in ids:
        for number in range(3):
            yield new_event("PositionRegistered", {
                "position_id": "%s-p-%d" % (enterprise_id, number),
                "enterprise_id": enterprise_id, "name": "Workshop %d" % number,
                "checklist_ids": ["c-1"] if number < 2 else []},
                actor="test", time=BASE - timedelta(days=150))
    for enterprise_id in ids:
        # a position given a checklist later, another retired: the coverage follows
        yield new_event("PositionUpdated", {
            "position_id": "%s-p-2" % enterprise_id, "enterprise_id": enterprise_id,
            "checklist_ids": ["c-1"], "updated_at": BASE - timedelta(days=100)},
            actor="test", time=BASE - timedelta(days=100))
        yield new_event("PositionRetired", {
            "position_id": "%s-p-1" % enterprise_id, "enterprise_id": enterprise_id,
            "reason": "demolished", "retired_at": BASE - timedelta(days=90)},
            actor="test", time=BASE - timedelta(days=90))
    while True:
        enterprise_id = rng.choice(ids)
        moment = BASE - timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        if rng.random() < 0.1:
            yield new_event("SafetyActionRecorded", {
                "action_id": _id(rng), "enterprise_id": enterprise_id,
                "kind": rng.choice(["training", "drill", "meeting", "daily_record"]),
                "topic": "fire safety", "held_on": moment.date(), "people": rng.randrange(40),
                "recorded_by": "safety.manager"}, actor="test", time=moment)
            continue
        if rng.random() < 0.35:
            yield new_event("InspectionLogged", {
                "inspection_id": _id(rng), "enterprise_id": enterprise_id,
                "position_id": "%s-p-%d" % (enterprise_id, rng.randrange(3)),
                "checklist_id": "c-1",
                "checklist_version": 1, "kind": rng.choice(["self", "self", "grid"]),
                "started_at": moment - timedelta(minutes=30), "completed_at": moment,
                "items_passed": rng.randrange(20), "items_failed": rng.randrange(3),
                "items_not_applicable": rng.randrange(3), "inspector": "inspector"},
                actor="test", time=moment)
            continue
        hazard_id = _id(rng)
        found = moment - timedelta(hours=rng.choice([1, 2, 5, 30, 100]))
        deadline = found + timedelta(days=rng.choice([7, 30]))
        stream = "hazard-" + hazard_id
        report = new_event("HazardReported", {
            "hazard_id": hazard_id, "enterprise_id": enterprise_id, "position_id": None,
            "level": rng.choice(["general", "general", "major"]), "category": "fire",
            "description": "blocked exit", "found_at": found, "reported_at": moment,
            "rectification_deadline": deadline, "reporter": "staff"}, actor="test", time=moment)
        life = [report]
        if rng.random() < 0.7:
            done = moment + timedelta(days=rng.choice([1, 3, 10, 40]))
            life.append(new_event("RectificationDone", {
                "hazard_id": hazard_id, "enterprise_id": enterprise_id, "measures": "cleared",
                "done_at": done, "evidence": []}, actor="test", time=done))
            if rng.random() < 0.2:       # the rectification did not hold, and was redone
                returned = done + timedelta(days=1)
                life.append(new_event("HazardReturned", {
                    "hazard_id": hazard_id, "enterprise_id": enterprise_id,
                    "returned_at": returned, "reason": "still blocked", "verifier": "grid"},
                    actor="test", time=returned))
                redone = returned + timedelta(days=rng.choice([1, 20]))
                life.append(new_event("RectificationDone", {
                    "hazard_id": hazard_id, "enterprise_id": enterprise_id,
                    "measures": "cleared for good", "done_at": redone, "evidence": []},
                    actor="test", time=redone))
        for version, event in enumerate(life, start=1):
            event.stream_id, event.stream_version = stream, version
        yield from life
