"""Operator commands on the scoring database:

- `python -m services.scoring.cli replay` (or `make replay`): rebuild the
  projection from the events it received and scoring's own clock steps and
  statements;
- `python -m services.scoring.cli advance-clock --to YYYY-MM-DD`: step the
  clock (no step if it is there already) and catch up, as the daily timer
  does; the GradeAssigned and GradeStated it records wait in the outbox for
  a running scoring process's relay."""
import argparse
import os
import sys
import time
from datetime import date

from einspection import eventstore
from einspection.db import make_engine

from . import clock, projection
from .rules import load_rules


def _day(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date, YYYY-MM-DD") from None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scoring")
    parser.add_argument("command", choices=["replay", "advance-clock"])
    parser.add_argument("--to", type=_day, help="advance-clock: the day to step the clock to")
    parser.add_argument("--database-url", default=os.environ.get(
        "SCORING_DATABASE_URL", "sqlite:///var/scoring.db"))
    parser.add_argument("--rules", default=os.environ.get("SCORING_RULES"))
    args = parser.parse_args(argv)
    if args.command == "advance-clock" and args.to is None:
        parser.error("advance-clock needs --to YYYY-MM-DD")
    engine = make_engine(args.database_url)
    try:
        eventstore.create_tables(engine, projection.metadata)
        if args.command == "replay":
            replay(engine, load_rules(args.rules))
        else:
            outcome = clock.step(engine, load_rules(args.rules), args.to)
            print("clock at %(day)s (%(step)s); %(grades_assigned)d grades changed, "
                  "%(statements)d statements for %(period)s"
                  % dict(outcome, step="stepped" if outcome["advanced"] else "no step"))
    finally:
        engine.dispose()
    return 0


def replay(engine, rules):
    started = time.perf_counter()
    replayed = projection.rebuild(engine, rules)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        enterprises = len(projection.snapshot(conn))
    print("replayed %d events into %d enterprise scores in %.2fs (%.0f events/s)"
          % (replayed, enterprises, elapsed, replayed / elapsed if elapsed else 0))


if __name__ == "__main__":
    sys.exit(main())
