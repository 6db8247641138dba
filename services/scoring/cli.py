"""Rebuild the scoring projection from the events it received:
`python -m services.scoring.cli replay` (or `make replay`)."""
import argparse
import os
import sys
import time

from einspection import eventstore
from einspection.db import make_engine

from . import projection
from .rules import load_rules


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scoring")
    parser.add_argument("command", choices=["replay"])
    parser.add_argument("--database-url", default=os.environ.get(
        "SCORING_DATABASE_URL", "sqlite:///var/scoring.db"))
    parser.add_argument("--rules", default=os.environ.get("SCORING_RULES"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    eventstore.create_tables(engine, projection.metadata)
    started = time.perf_counter()
    replayed = projection.rebuild(engine, load_rules(args.rules))
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        enterprises = len(projection.snapshot(conn))
    print("replayed %d events into %d enterprise scores in %.2fs (%.0f events/s)"
          % (replayed, enterprises, elapsed, replayed / elapsed if elapsed else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
