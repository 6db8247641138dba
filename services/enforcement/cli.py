"""Rebuild the enforcement service's read models from events:
`python -m services.enforcement.cli replay` (part of `make replay`).

- the facts of the draw (facts.py), from the events it received (its inbox);
- the lists of campaigns and cases and the cited hazards (records.py), from
  its own events.

Each table is dropped and made again in one transaction, so a model of an
older shape comes back in the current one, and a failed rebuild leaves the
old one in place. Days are cut in EINSPECTION_TIME_ZONE, as live."""
import argparse
import os
import sys
import time

from einspection import eventstore
from einspection.days import deployment_zone
from einspection.db import make_engine

from . import facts, records


def main(argv=None):
    parser = argparse.ArgumentParser(prog="enforcement")
    parser.add_argument("command", choices=["replay"])
    parser.add_argument("--database-url", default=os.environ.get(
        "ENFORCEMENT_DATABASE_URL", "sqlite:///var/enforcement.db"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    try:
        outcome = replay(engine, deployment_zone())
    finally:
        engine.dispose()
    print("replayed %(received)d received events into the facts and %(own)d own events into "
          "%(campaigns)d campaigns and %(cases)d cases in %(seconds).2fs" % outcome)
    return 0


def replay(engine, zone):
    eventstore.create_tables(engine, facts.metadata, records.metadata)
    started = time.perf_counter()
    with engine.begin() as conn:
        received = facts.rebuild(conn, zone)
        own, campaigns, cases = records.rebuild(conn)
    return {"received": received, "own": own, "campaigns": campaigns, "cases": cases,
            "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    sys.exit(main())
