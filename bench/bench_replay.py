"""Replay rate: how fast the scoring projection is rebuilt from its inbox
(`projection.rebuild`, what `make replay` runs), beside the database's own
ceiling in the same run: a plain SELECT scan of the same inbox rows.

    python bench/bench_replay.py [--events N] [--enterprises E] [--backend sqlite|postgres]

The events come from tests/eventgen.py, one at a time (never all in memory).
The first --live of them go through the consumer's own step
(`projection.handle_batch`, 200 a transaction, as the scoring consumer runs
it), which stores them in the inbox and projects them: that step is timed
(not the making of the events: live projection), and when it was all of
them the rebuilt projection must be identical to it. Handling the rest live
would take longer than the benchmark is worth, so each is stored in the
inbox as `handle` stores it (the row of `eventstore.record_received`, 20,000
a statement and a transaction) and the identity is left to the replay tests.
RSS (VmRSS) is sampled every 50 ms during the replay, so it shows whether
memory grows with the number of events. The last line printed is one JSON
object with the figures.
"""
import argparse
import json
import os
import itertools
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import select  # noqa: E402

from einspection import eventstore  # noqa: E402
from einspection.contract import utcnow  # noqa: E402
from einspection.db import insert_ignoring_duplicates, make_engine  # noqa: E402
from services.scoring import projection  # noqa: E402
from services.scoring.rules import load_rules  # noqa: E402
from tests.eventgen import stream  # noqa: E402

POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FILL_BATCH = 5000         # rows a scan fetches at a time
STORE_BATCH = 20000       # events stored in the inbox in one statement and transaction
RSS_EVERY = 0.05          # seconds between RSS samples during the replay


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


def store(engine, events):
    """Store the events in scoring's inbox as `handle` does (the row
    eventstore.record_received writes, INSERT ... ON CONFLICT DO NOTHING),
    STORE_BATCH a statement: without the live projection. Returns (count,
    seconds)."""
    count, started = 0, time.perf_counter()
    events = iter(events)
    while True:
        batch = list(itertools.islice(events, STORE_BATCH))
        if not batch:
            break
        with engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(conn, eventstore.inbox), [
                {"consumer": projection.CONSUMER, "event_id": event.id, "name": event.name,
                 "subject": event.subject, "body": event.to_json(), "received_at": utcnow()}
                for event in batch])
        count += len(batch)
    return count, time.perf_counter() - started


def scan(engine):
    """The ceiling: every inbox row replay reads, by a plain SELECT streamed
    from the database (a server-side cursor on PostgreSQL), nothing decoded.
    Returns (rows, seconds, bytes of bodies, CPU seconds: this process's and
    its PostgreSQL backends')."""
    inbox = eventstore.inbox
    # the rows and the order rebuild reads (eventstore.RECEIVED_BODIES), in one go
    query = (select(inbox.c.position, inbox.c.name, inbox.c.body)
             .where((inbox.c.consumer + "") == projection.CONSUMER).order_by(inbox.c.position))
    rows, size = 0, 0
    database_before = database_cpu_seconds(engine)
    cpu, started = time.process_time(), time.perf_counter()
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=FILL_BATCH).execute(query):
            rows += 1
            size += len(row.body)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    database = database_cpu_seconds(engine)
    return rows, elapsed, size, cpu + (database - database_before if database is not None else 0)


def database_cpu_seconds(engine):
    """CPU seconds so far of the PostgreSQL backends connected to this
    run's database (the server is on this machine); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars().all()
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def timed_rebuild(engine, rules):
    """projection.rebuild, with (seconds since its start, RSS MiB) every
    RSS_EVERY seconds, and the CPU seconds it took: this process's and, on
    PostgreSQL, its backend's (the connection pool's, measured around it)."""
    samples, done = [], threading.Event()

    def sample():
        started = time.perf_counter()
        while not done.is_set():
            samples.append((time.perf_counter() - started, rss_mib()))
            done.wait(RSS_EVERY)

    database_before = database_cpu_seconds(engine)
    sampler = threading.Thread(target=sample, daemon=True)
    cpu, started = time.process_time(), time.perf_counter()
    sampler.start()
    try:
        replayed = projection.rebuild(engine, rules)
    finally:
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        done.set()
        sampler.join()
    samples.append((elapsed, rss_mib()))
    database = database_cpu_seconds(engine)
    if database is not None:
        database -= database_before
    return replayed, elapsed, samples, cpu, database


def at_fraction(samples, total, fraction):
    """RSS at the first sample once `fraction` of the replay's time had passed."""
    for moment, rss in samples:
        if moment >= fraction * total:
            return round(rss, 1)
    return round(samples[-1][1], 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000000)
    parser.add_argument("--enterprises", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--live", type=int, default=20000,
                        help="the first this many events go through projection.handle_batch "
                             "(the live projection's rate); if that is all of them, the rebuilt "
                             "projection must be identical (default 20000)")
    args = parser.parse_args()
    live = args.events <= args.live
    rules = load_rules()
    load_before = os.getloadavg()[0]
    run_started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.backend, tmp)
        try:
            engine = make_engine(url)
            eventstore.create_tables(engine, projection.metadata)
            events = stream(args.events, args.enterprises, seed=1)
            handled, fill_seconds, fill_cpu_seconds = fill(
                engine, itertools.islice(events, args.live), True, rules)
            rest, store_seconds = store(engine, events)
            stored = handled + rest
            before = None
            if live:
                with engine.connect() as conn:
                    before = projection.snapshot(conn)
            rss_before = rss_mib()
            scanned, scan_seconds, size, scan_cpu = scan(engine)
            replayed, replay_seconds, samples, replay_cpu, database_cpu = timed_rebuild(
                engine, rules)
            identical = None
            if live:
                with engine.connect() as conn:
                    identical = projection.snapshot(conn) == before
            with engine.connect() as conn:
                scored = len(projection.snapshot(conn))
            # Again after the replay; the faster of the two is the ceiling.
            scanned_again, scan_again_seconds, _, scan_again_cpu = scan(engine)
            scan_seconds = min(scan_seconds, scan_again_seconds)
            scan_cpu = min(scan_cpu, scan_again_cpu)
            engine.dispose()
        finally:
            drop()
    assert scanned == scanned_again == replayed == stored, (scanned, replayed, stored)
    scan_rate = scanned / scan_seconds
    replay_rate = replayed / replay_seconds
    rss = {"before": round(rss_before, 1), "10%": at_fraction(samples, replay_seconds, 0.1),
           "50%": at_fraction(samples, replay_seconds, 0.5),
           "100%": at_fraction(samples, replay_seconds, 1.0),
           "max": round(max(r for _, r in samples), 1)}
    load_after = os.getloadavg()[0]
    total_seconds = time.perf_counter() - run_started
    print("scoring replay, %d events (%.0f bytes each on average), %d enterprises, %s"
          % (replayed, size / scanned, args.enterprises, args.backend))
    print("%-46s %10.0f events/s  (%d events, %.3f ms CPU an event in this process)"
          % ("live projection (handle_batch, 200 a transaction)", handled / fill_seconds,
             handled, fill_cpu_seconds * 1000 / handled))
    if rest:
        print("%-46s %10.0f events/s  (%d events, %.1f s)"
              % ("then stored in the inbox (generated + stored)", rest / store_seconds, rest,
                 store_seconds))
    print("%-46s %10.0f rows/s" % ("ceiling: plain SELECT scan of the inbox", scan_rate))
    print("%-46s %10.0f events/s  (%.1f s)" % ("replay (projection.rebuild, make replay)",
                                              replay_rate, replay_seconds))
    replay_cpu_total = replay_cpu + (database_cpu or 0)
    print("replay CPU seconds: this process %.1f%s; the scan's %.1f (CPU scan / replay %.3f)" % (
        replay_cpu, "" if database_cpu is None else ", its PostgreSQL backends %.1f" % database_cpu,
        scan_cpu, scan_cpu / replay_cpu_total))
    print("replay / scan: %.3f; %d enterprise scores; rebuilt projection identical to live: %s"
          % (replay_rate / scan_rate, scored, "not checked (over --live)" if identical is None
             else identical))
    print("replay RSS MiB: before %.1f, at 10%% of its time %.1f, 50%% %.1f, 100%% %.1f, "
          "max %.1f" % (rss["before"], rss["10%"], rss["50%"], rss["100%"], rss["max"]))
    print("load average (1 min) %.1f before, %.1f after, %d cores; the whole run took %.0f s"
          % (load_before, load_after, os.cpu_count(), total_seconds))
    print(json.dumps({
        "bench": "replay", "date": datetime.now(timezone.utc).date().isoformat(),
        "backend": args.backend, "events": replayed, "enterprises": args.enterprises,
        "scores": scored, "fill": "handle" if live else "handle, then record_received's rows",
        "live_events": handled, "live_rate": round(handled / fill_seconds, 1),
        "live_cpu_ms_per_event": round(fill_cpu_seconds * 1000 / handled, 3),
        "store_seconds": round(store_seconds, 1),
        "scan_rate": round(scan_rate, 1), "replay_rate": round(replay_rate, 1),
        "replay_over_scan": round(replay_rate / scan_rate, 3), "replay_seconds":
        round(replay_seconds, 2), "replay_cpu_seconds": round(replay_cpu, 2),
        "replay_database_cpu_seconds": None if database_cpu is None else round(database_cpu, 2),
        "scan_cpu_seconds": round(scan_cpu, 2),
        "scan_over_replay_cpu": round(scan_cpu / replay_cpu_total, 3),
        "identical": identical, "rss_mib": rss, "total_seconds": round(total_seconds, 1),
        "cores": os.cpu_count(), "load_before": round(load_before, 1),
        "load_after": round(load_after, 1)}, separators=(",", ":")))
    return 0 if identical is not False else 1


if __name__ == "__main__":
    sys.exit(main())
