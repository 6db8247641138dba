"""Rebuild the hazard service's read models: `python -m services.hazard.cli
replay` (part of `make replay`).

- the standing book (the ledger), from its own events;
- the names of enterprises and positions (names.py), from the events it
  received (its inbox).

The tables are dropped and made again in one transaction, so a model of an
older shape comes back in the current one."""
import argparse
import os
import sys
import time

from sqlalchemy import func, select

from einspection import eventstore
from einspection.db import make_engine

from . import ledger, names


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hazard")
    parser.add_argument("command", choices=["replay"])
    parser.add_argument("--database-url", default=os.environ.get(
        "HAZARD_DATABASE_URL", "sqlite:///var/hazard.db"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    try:
        eventstore.create_tables(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            ledger.metadata.drop_all(conn)
            ledger.metadata.create_all(conn)
            replayed = ledger.rebuild(conn)
            received = names.rebuild(conn)
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(ledger.hazards)).scalar_one()
    finally:
        engine.dispose()
    print("replayed %d hazard events and %d received names in %.2fs: %d hazards in the ledger"
          % (replayed, received, elapsed, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
