"""Rebuild notify's read models from its events:
`python -m services.notify.cli replay` (part of `make replay`)."""
import argparse
import os
import sys
import time

from einspection import eventstore
from einspection.db import make_engine

from . import model


def main(argv=None):
    parser = argparse.ArgumentParser(prog="notify")
    parser.add_argument("command", choices=["replay"])
    parser.add_argument("--database-url", default=os.environ.get(
        "NOTIFY_DATABASE_URL", "sqlite:///var/notify.db"))
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    eventstore.create_tables(engine, model.metadata)
    started = time.perf_counter()
    replayed = model.rebuild(engine)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        counts = {name: len(rows) for name, rows in model.snapshot(conn).items()}
    print("replayed %d events in %.2fs: %s" % (replayed, elapsed, ", ".join(
        "%d %s" % (n, name) for name, n in counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
