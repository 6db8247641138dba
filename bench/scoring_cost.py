#!/usr/bin/env python
"""CPU cost of one scoring projection step (`projection.handle`) as an
enterprise's history grows (up to 2026-12-04 every HazardReported reloaded
and re-evaluated all of that enterprise's facts in the window; now it
changes the enterprise's kept tally by one fact). Each event is its own
transaction and is built (schema-validated) inside the timing. In-process,
on a temporary SQLite file; no broker, no services.

    python bench/scoring_cost.py [--steps 10,200,1000,2000]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from einspection import eventstore  # noqa: E402
from einspection.contract import new_event, utcnow  # noqa: E402
from einspection.db import make_engine  # noqa: E402
from services.scoring import projection  # noqa: E402
from services.scoring.rules import load_rules  # noqa: E402


def hazard_reported(enterprise_id):
    now = utcnow()
    return new_event("HazardReported", {
        "hazard_id": str(uuid.uuid4()), "enterprise_id": enterprise_id, "position_id": None,
        "level": "general", "category": "electrical", "description": "cabinet door open",
        "found_at": now - timedelta(hours=1), "reported_at": now,
        "rectification_deadline": now + timedelta(days=7), "reporter": "bench",
    }, actor="bench")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="10,200,1000,2000",
                        help="report the mean cost of the events up to each count")
    args = parser.parse_args()
    steps = sorted(int(s) for s in args.steps.split(","))
    rules = load_rules(None)
    directory = tempfile.mkdtemp(prefix="einspection-scoring-cost-")
    try:
        engine = make_engine("sqlite:///" + os.path.join(directory, "scoring.db"))
        eventstore.create_tables(engine, projection.metadata)
        enterprise_id = str(uuid.uuid4())
        done = 0
        for target in steps:
            started, count = time.process_time(), 0
            while done < target:
                with engine.begin() as conn:
                    projection.handle(conn, hazard_reported(enterprise_id), rules)
                done += 1
                count += 1
            if count:
                print("hazards %5d of one enterprise: %6.2f ms CPU per event (events %d-%d)"
                      % (target, (time.process_time() - started) * 1000 / count,
                         done - count + 1, done), flush=True)
        engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
