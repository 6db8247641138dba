"""Replay rate: how fast the scoring projection is rebuilt from its inbox
(`projection.rebuild`, what `make replay` runs), beside the database's own
ceiling in the same run: a plain SELECT scan of the same inbox rows.

    python bench/bench_replay.py [--events N] [--enterprises E] [--backend sqlite|postgres]

The events come from tests/eventgen.py, one at a time (never all in memory).
Up to --live events they go through the consumer's own step
(`projection.handle_batch`, 200 a transaction, as the consumer runs it), which
stores them in the inbox and projects them: that step is timed (not the making
of the events), and the rebuilt projection must be identical to it. Above, handling them live would take longer than the benchmark is
worth, so each is stored in the inbox as `handle` stores it
(`eventstore.record_received`, 5,000 a transaction) and the identity is left
to the replay tests. RSS (VmRSS) is sampled after every page the replay
reads, so it shows whether memory grows with the number of events.
The last line printed is one JSON object with the figures.
"""
import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import select  # noqa: E402

from einspection import eventstore  # noqa: E402
from einspection.db import make_engine  # noqa: E402
from services.scoring import projection  # noqa: E402
from services.scoring.rules import load_rules  # noqa: E402
from tests.eventgen import stream  # noqa: E402

POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FILL_BATCH = 5000


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


def fill(engine, events, live, rules):
    """Store the events as the consumer does; returns (count, seconds, CPU
    seconds of this process while writing). Live,
    the seconds are those of the consumer's step alone (handle_batch, one
    transaction a batch, as the scoring consumer runs it), not of making
    the events."""
    count, started = 0, time.perf_counter()
    batch = []
    handling = [0.0, 0.0]          # seconds, CPU seconds of this process

    def write(batch):
        began, began_cpu = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            if live:
                projection.handle_batch(conn, batch, rules)
            else:
                for event in batch:
                    eventstore.record_received(conn, projection.CONSUMER, event)
        handling[0] += time.perf_counter() - began
        handling[1] += time.process_time() - began_cpu

    for event in events:
        batch.append(event)
        count += 1
        if len(batch) == (200 if live else FILL_BATCH):
            write(batch)
            batch = []
    if batch:
        write(batch)
    return count, handling[0] if live else time.perf_counter() - started, handling[1]


def scan(engine):
    """The ceiling: every inbox row replay reads, by a plain SELECT streamed
    from the database (a server-side cursor on PostgreSQL), nothing decoded."""
    inbox = eventstore.inbox
    # the rows and the order rebuild reads (eventstore.RECEIVED_BODIES), in one go
    query = (select(inbox.c.position, inbox.c.name, inbox.c.body)
             .where((inbox.c.consumer + "") == projection.CONSUMER).order_by(inbox.c.position))
    rows, size, started = 0, 0, time.perf_counter()
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=FILL_BATCH).execute(query):
            rows += 1
            size += len(row.body)
    return rows, time.perf_counter() - started, size


def timed_rebuild(engine, rules):
    """projection.rebuild, with (events read so far, RSS MiB) after each page."""
    samples, read = [], [0]
    original = eventstore.received_bodies

    def counting(conn, consumer, after_position=0, limit=5000):
        samples.append((read[0], rss_mib()))
        page = original(conn, consumer, after_position, limit)
        read[0] += len(page)
        return page

    eventstore.received_bodies = counting
    try:
        started = time.perf_counter()
        replayed = projection.rebuild(engine, rules)
        elapsed = time.perf_counter() - started
    finally:
        eventstore.received_bodies = original
    samples.append((read[0], rss_mib()))
    return replayed, elapsed, samples


def at_fraction(samples, total, fraction):
    """RSS at the first sample once `fraction` of the events had been read."""
    for read, rss in samples:
        if read >= fraction * total:
            return round(rss, 1)
    return round(samples[-1][1], 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--enterprises", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--live", type=int, default=20000,
                        help="up to this many events, fill through projection.handle_batch and "
                             "check the rebuilt projection is identical (default 20000)")
    args = parser.parse_args()
    live = args.events <= args.live
    rules = load_rules()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.backend, tmp)
        try:
            engine = make_engine(url)
            eventstore.create_tables(engine, projection.metadata)
            stored, fill_seconds, fill_cpu_seconds = fill(engine, stream(args.events, args.enterprises, seed=1),
                                        live, rules)
            before = None
            if live:
                with engine.connect() as conn:
                    before = projection.snapshot(conn)
            rss_before = rss_mib()
            scanned, scan_seconds, size = scan(engine)
            replayed, replay_seconds, samples = timed_rebuild(engine, rules)
            identical = None
            if live:
                with engine.connect() as conn:
                    identical = projection.snapshot(conn) == before
            with engine.connect() as conn:
                scored = len(projection.snapshot(conn))
            # Again after the replay; the faster of the two is the ceiling.
            scanned_again, scan_again_seconds, _ = scan(engine)
            scan_seconds = min(scan_seconds, scan_again_seconds)
            engine.dispose()
        finally:
            drop()
    assert scanned == scanned_again == replayed == stored, (scanned, replayed, stored)
    scan_rate = scanned / scan_seconds
    replay_rate = replayed / replay_seconds
    rss = {"before": round(rss_before, 1), "10%": at_fraction(samples, replayed, 0.1),
           "50%": at_fraction(samples, replayed, 0.5), "100%": at_fraction(samples, replayed, 1.0),
           "max": round(max(r for _, r in samples), 1)}
    load_after = os.getloadavg()[0]
    print("scoring replay, %d events (%.0f bytes each on average), %d enterprises, %s"
          % (replayed, size / scanned, args.enterprises, args.backend))
    if live:
        print("%-46s %10.0f events/s  (%.3f ms CPU an event in this process)"
              % ("live projection (handle_batch, 200 a transaction)", stored / fill_seconds,
                 fill_cpu_seconds * 1000 / stored))
    else:
        print("%-46s %10.0f events/s" % ("stored in the inbox (record_received)",
                                         stored / fill_seconds))
    print("%-46s %10.0f rows/s" % ("ceiling: plain SELECT scan of the inbox", scan_rate))
    print("%-46s %10.0f events/s  (%.1f s)" % ("replay (projection.rebuild, make replay)",
                                              replay_rate, replay_seconds))
    print("replay / scan: %.3f; %d enterprise scores; rebuilt projection identical to live: %s"
          % (replay_rate / scan_rate, scored, "not checked (over --live)" if identical is None
             else identical))
    print("replay RSS MiB: before %.1f, at 10%% of the events %.1f, 50%% %.1f, 100%% %.1f, "
          "max %.1f" % (rss["before"], rss["10%"], rss["50%"], rss["100%"], rss["max"]))
    print("load average (1 min) %.1f before, %.1f after, %d cores"
          % (load_before, load_after, os.cpu_count()))
    print(json.dumps({
        "bench": "replay", "date": datetime.now(timezone.utc).date().isoformat(),
        "backend": args.backend, "events": replayed, "enterprises": args.enterprises,
        "scores": scored, "fill": "handle" if live else "record_received",
        "live_rate": round(stored / fill_seconds, 1) if live else None,
        "live_cpu_ms_per_event": round(fill_cpu_seconds * 1000 / stored, 3) if live else None,
        "scan_rate": round(scan_rate, 1), "replay_rate": round(replay_rate, 1),
        "replay_over_scan": round(replay_rate / scan_rate, 3), "replay_seconds":
        round(replay_seconds, 2), "identical": identical, "rss_mib": rss,
        "cores": os.cpu_count(), "load_before": round(load_before, 1),
        "load_after": round(load_after, 1)}, separators=(",", ":")))
    return 0 if identical is not False else 1


if __name__ == "__main__":
    sys.exit(main())
