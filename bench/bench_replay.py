"""Replay rate: how fast the scoring projection is rebuilt from its inbox,
beside the raw ceiling of the same database (plain inserts of the same rows).

    python bench/bench_replay.py [--events N] [--backend sqlite|postgres]
"""
import argparse
import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert  # noqa: E402

from einspection import eventstore  # noqa: E402
from einspection.db import make_engine  # noqa: E402
from services.scoring import projection  # noqa: E402
from services.scoring.rules import load_rules  # noqa: E402
from tests.eventgen import activity  # noqa: E402

POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def database(backend, tmp):
    if backend == "sqlite":
        return "sqlite:///" + os.path.join(tmp, "scoring.db"), lambda: None
    import psycopg2
    name = "ein_bench_replay_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE "%s"' % name)

    def drop():
        admin.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin.close()
    return POSTGRES_DSN.rsplit("/", 1)[0] + "/" + name, drop


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--enterprises", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    events = activity(args.events, enterprises=args.enterprises, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.backend, tmp)
        try:
            engine = make_engine(url)
            eventstore.create_tables(engine, projection.metadata)
            rules = load_rules()
            started, cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(events), 200):
                with engine.begin() as conn:
                    for event in events[start:start + 200]:
                        projection.handle(conn, event, rules)
            live, live_cpu = time.perf_counter() - started, time.process_time() - cpu
            with engine.connect() as conn:
                before = projection.snapshot(conn)

            started = time.perf_counter()
            replayed = projection.rebuild(engine, rules)
            replay = time.perf_counter() - started
            with engine.connect() as conn:
                identical = projection.snapshot(conn) == before

            # The ceiling: the same number of rows of the same size, plain inserts.
            raw = Table("raw_rows", MetaData(), Column("id", Integer, primary_key=True),
                        Column("subject", String(64)), Column("body", Text))
            raw.create(engine)
            bodies = [(event.subject, event.to_json()) for event in events]
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(insert(raw), [{"subject": s, "body": b} for s, b in bodies])
            ceiling = time.perf_counter() - started
            engine.dispose()
        finally:
            drop()
    print("scoring replay, %d events, %d enterprises, %s" % (replayed, args.enterprises,
                                                               args.backend))
    print("%-44s %10.0f events/s" % ("live projection (handle, 200 a transaction)",
                                     len(events) / live))
    # CPU of this process only (on PostgreSQL the server's is not in it): on a
    # shared machine it moves less than the wall-clock rate
    print("%-44s %10.2f ms CPU per event" % ("live projection, this process", live_cpu * 1000
                                             / len(events)))
    print("%-44s %10.0f events/s" % ("replay (make replay)", replayed / replay))
    print("%-44s %10.0f rows/s" % ("raw ceiling: bulk insert of the same rows", len(events) / ceiling))
    print("replay / raw: %.3f; rebuilt projection identical: %s; RSS %.0f MiB"
          % ((replayed / replay) / (len(events) / ceiling), identical, rss_mib()))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
