"""Rebuild the hazard service's standing book (the ledger) from its events:
`python -m services.hazard.cli replay` (part of `make replay`). The table is
dropped and made again, so a ledger of an older shape comes back in the
current one."""
import argparse
import os
import sys
import time

from sqlalchemy import func, select

from einspection import eventstore
from einspection.db import make_engine

from . import ledger


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
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(ledger.hazards)).scalar_one()
    finally:
        engine.dispose()
    print("replayed %d hazard events in %.2fs: %d hazards in the ledger"
          % (replayed, elapsed, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
