"""A province's register: every service's memory with E enterprises (default
100,000) in its projections and the register, and the rankings route's
latency over all of them.

    python bench/bench_enterprises.py [--enterprises E] [--backend sqlite|postgres]

The data come from tests/eventgen.py (six events per enterprise: its
registration, three positions, one given a checklist later, one retired;
plus --extra events each: hazards, rectifications, inspections, safety
actions) and go in through each service's own code, not as rows:

- checklist (the register) stores its events as its command handlers do
  (`eventstore.append` to the enterprise's or position's stream) and
  projects each (`projections.project`); their outbox entries are marked
  published, as the relay leaves them (the consumers below have them);
- scoring, hazard, notify and enforcement receive the events they subscribe
  to as their consumers store them (`eventstore.record_received` into their
  inbox), and their projections are then rebuilt from those inboxes by their
  own `replay` commands (`make replay`), which is what the consumers' live
  step would have left (the replay tests hold them identical).
  Handling 100,000 enterprises' events live, or registering them over HTTP,
  would take hours on two cores.

Then the platform starts on those databases (tools/launch.Platform, a
throwaway vhost), the RSS of each service is read from /proc, and
`GET /api/v1/rankings` is called --requests times each as best / worst
overall and by town (and the excellent list and the grade distribution)
for p50 / p99. The scoring clock's timer is set not to fire during the run
(SCORING_CLOCK_CHECK_SECONDS): its daily catch-up re-evaluates every
enterprise, a load of its own, not what this measures.
The last line printed is one JSON object with the figures.
"""
import argparse
import json
import os
import shutil
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402

from einspection import eventstore  # noqa: E402
from einspection.contract import EVENT_TYPES  # noqa: E402
from einspection.db import make_engine  # noqa: E402
from services.checklist import positions as checklist_positions  # noqa: E402
from services.checklist import projections as checklist_projections  # noqa: E402
from services.checklist import throttle  # noqa: E402
from services.checklist.domain import enterprise_stream  # noqa: E402
from services.enforcement import facts as enforcement_facts  # noqa: E402
from services.hazard import names as hazard_names  # noqa: E402
from services.notify import model as notify_model  # noqa: E402
from services.scoring import projection as scoring_projection  # noqa: E402
from tests.eventgen import stream  # noqa: E402
from tools import launch  # noqa: E402

POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BROKER_HOST = os.environ.get("BENCH_BROKER_HOST", "127.0.0.1:5672")
BATCH = 2000
BASE_EVENTS = 6                      # per enterprise, from the generator
CHECKLIST_EVENTS = {"EnterpriseRegistered", "PositionRegistered", "PositionUpdated",
                    "PositionRetired"}
ENFORCEMENT_TYPES = set(enforcement_facts.SUBSCRIBED)


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def inboxes():
    """Which received events each consumer keeps: (consumer, predicate)."""
    return {
        "scoring": (scoring_projection.CONSUMER, lambda e: True),
        "hazard": (hazard_names.CONSUMER, lambda e: e.name in hazard_names.NAMED),
        # notify's directory (model.py): the registrations alone
        "notify": (notify_model.CONSUMER, lambda e: e.name == "EnterpriseRegistered"),
        "enforcement": (enforcement_facts.CONSUMER,
                        lambda e: EVENT_TYPES[e.name].type in ENFORCEMENT_TYPES),
    }


def databases(backend, tmp, tag):
    if backend == "sqlite":
        return launch.sqlite_urls(os.path.join(tmp, "db")), lambda: None
    import psycopg2
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    names = {service: "ein_bench_ent_%s_%s" % (tag, service) for service in launch.DATABASE_KEYS}
    for name in names.values():
        admin.cursor().execute('CREATE DATABASE "%s"' % name)

    def drop():
        for name in names.values():
            admin.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin.close()
    base = POSTGRES_DSN.rsplit("/", 1)[0]
    return {service: base + "/" + name for service, name in names.items()}, drop


def fill(urls, enterprises, extra, writers=1):
    """The generator's events into the register and the consumers' inboxes.

    Per batch, the register's part is split by enterprise among `writers`
    connections side by side (an enterprise's events stay in order on one;
    on PostgreSQL most of an append is waiting for round trips), and each
    inbox is written on a connection of its own while the next batch is
    generated and registered (each inbox still gets the batches in order)."""
    checklist = make_engine(urls["checklist"])
    eventstore.create_tables(checklist, checklist_projections.metadata, throttle.metadata)
    consumers = {service: (make_engine(urls[service]),) + kept
                 for service, kept in inboxes().items()}
    for engine, _, _ in consumers.values():
        eventstore.create_tables(engine)
    position_versions = {}
    total = enterprises * (BASE_EVENTS + extra)
    started, count, batch = time.perf_counter(), 0, []
    pool = ThreadPoolExecutor(max_workers=writers + len(consumers))
    receiving = []

    def register(events):
        with checklist.begin() as conn:
            positions = []
            for event in events:
                if event.name == "EnterpriseRegistered":
                    stream_id, version = enterprise_stream(event.data["enterprise_id"]), 0
                else:
                    position_id = event.data["position_id"]
                    stream_id = checklist_positions.stream_id(position_id)
                    version = position_versions.get(position_id, 0)
                    position_versions[position_id] = version + 1
                positions += eventstore.append(conn, stream_id, version, [event])
                checklist_projections.project(conn, event)
            # long published, as the relay leaves them: the consumers have them
            eventstore.mark_published(conn, positions)

    def receive(engine, consumer, events):
        with engine.begin() as conn:
            eventstore.record_received_many(conn, consumer, events)

    def write(batch):
        shares = [[] for _ in range(writers)]
        for event in batch:
            if event.name in CHECKLIST_EVENTS:
                shares[hash(event.data["enterprise_id"]) % writers].append(event)
        for done in [pool.submit(register, share) for share in shares if share]:
            done.result()
        # each event's body once (after its append gave it its stream), as a
        # consumer receives it from the bus; each inbox's rows in one
        # statement: the consumers' batch step (record_received_many)
        for event in batch:
            event.received_json = event.to_json()
        for done in receiving:
            done.result()
        receiving.clear()
        for engine, consumer, keeps in consumers.values():
            receiving.append(pool.submit(receive, engine, consumer,
                                         [event for event in batch if keeps(event)]))

    try:
        for event in stream(total, enterprises, seed=1):
            batch.append(event)
            count += 1
            if len(batch) == BATCH:
                write(batch)
                batch = []
                if count % (BATCH * 50) == 0:
                    log("stored %d of %d events (%.0f/s)"
                        % (count, total, count / (time.perf_counter() - started)))
        if batch:
            write(batch)
        for done in receiving:
            done.result()
    finally:
        pool.shutdown(wait=True)
    checklist.dispose()
    for engine, _, _ in consumers.values():
        engine.dispose()
    return count, time.perf_counter() - started


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def replay(service, url):
    """The service's own `replay` command (what `make replay` runs): its
    seconds, its CPU seconds (more telling on a shared machine) and what it
    said last."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-m", "services.%s.cli" % service, "replay",
                           "--database-url", url], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError("%s replay failed: %s" % (service, done.stderr[-2000:]))
    return elapsed, cpu, (done.stdout.strip().splitlines() or [""])[-1]


def status_mib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith(key + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed_calls(session, url, params, requests_count):
    latencies = []
    for _ in range(requests_count):
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=60)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return latencies, response.json()


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100000)
    parser.add_argument("--extra", type=int, default=1,
                        help="events per enterprise beyond its six of registration (default 1)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=100,
                        help="calls of each ranking query (default 100)")
    parser.add_argument("--log-dir", help="keep the services' logs here")
    parser.add_argument("--writers", type=int,
                        help="connections registering side by side while filling (default 1 "
                             "on SQLite, whose writers queue anyway, 4 on PostgreSQL)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases afterwards (their URLs are printed): to look "
                             "into them, or to query them again")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="bench-enterprises-")
    log_dir = args.log_dir or os.path.join(tmp, "logs")
    os.makedirs(log_dir, exist_ok=True)
    vhost, vhost_made, platform, drop = "einspection-bench-" + tag, False, None, lambda: None
    urls = {}
    load_before, run_started = os.getloadavg()[0], time.perf_counter()
    try:
        urls, drop = databases(args.backend, tmp, tag)
        log("storing the events of %d enterprises (%s)" % (args.enterprises, args.backend))
        writers = args.writers or (1 if args.backend == "sqlite" else 4)
        fill_cpu = time.process_time()
        events, fill_seconds = fill(urls, args.enterprises, args.extra, writers)
        fill_cpu = time.process_time() - fill_cpu
        log("stored %d events in %.0f s (%.0f s of CPU here)" % (events, fill_seconds, fill_cpu))
        replays, replays_cpu = {}, {}
        for service in ("scoring", "hazard", "notify", "enforcement"):
            seconds, cpu, said = replay(service, urls[service])
            replays[service], replays_cpu[service] = round(seconds, 1), round(cpu, 1)
            log("%s replay: %.0f s, %.0f s of CPU (%s)" % (service, seconds, cpu, said))
        rabbitmqctl("add_vhost", vhost)
        vhost_made = True
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        port = launch._free_port()
        env = launch.environment("amqp://guest:guest@%s/%s" % (BROKER_HOST, vhost), urls, port,
                                 exchange="bench-%s.events" % tag,
                                 queue_prefix="bench-%s" % tag)
        env["SCORING_CLOCK_CHECK_SECONDS"] = "86400"
        platform = launch.Platform(env, port, log_dir)
        started = time.perf_counter()
        platform.start(timeout=300)
        log("platform up in %.0f s" % (time.perf_counter() - started))
        pids = {key.rsplit("-", 1)[0]: process.pid for key, process in platform.processes.items()}
        rss_started = {name: status_mib(pid, "VmRSS") for name, pid in pids.items()}
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + platform.login()
        base = platform.base_url + "/api/v1"
        queries = {
            "rankings best": ("/rankings", {"limit": 10}),
            "rankings worst": ("/rankings", {"order": "worst", "limit": 10}),
            "rankings by town": ("/rankings", {"by": "town", "limit": 10}),
            "excellent": ("/rankings/excellent", {"limit": 50}),
            "distribution by town": ("/grades/distribution", {"by": "town"}),
        }
        timed, ranked = {}, None
        for label, (path, params) in queries.items():
            timed_calls(session, base + path, params, 3)          # warm
            latencies, answer = timed_calls(session, base + path, params, args.requests)
            timed[label] = latencies
            if label == "rankings best":
                ranked = answer
        rss = {name: status_mib(pid, "VmRSS") for name, pid in pids.items()}
        peak = {name: status_mib(pid, "VmHWM") for name, pid in pids.items()}
    finally:
        if platform is not None:
            platform.stop()
        if args.keep:
            log("databases kept: %s" % json.dumps(urls))
        else:
            drop()
        if vhost_made:
            try:
                rabbitmqctl("delete_vhost", vhost)
            except Exception as exc:                      # noqa: BLE001 - reported, not fatal
                log("could not delete vhost %s: %s" % (vhost, exc))
        # the SQLite databases go unless --keep; the logs stay only in --log-dir
        if not args.keep:
            shutil.rmtree(tmp if not args.log_dir else os.path.join(tmp, "db"),
                          ignore_errors=True)
            if args.log_dir:
                shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()[0]
    all_rankings = [ms for label, values in timed.items() if label.startswith("rankings")
                    for ms in values]
    print()
    print("%d enterprises, %d events, backend %s, %d cores, load average %.1f before / %.1f "
          "after" % (args.enterprises, events, args.backend, os.cpu_count(), load_before,
                     load_after))
    print("stored through the services' code in %.0f s (%.0f s of CPU); replays (s, CPU s): %s; "
          "the whole run %.0f s"
          % (fill_seconds, fill_cpu, ", ".join("%s %s, %s" % (service, replays[service],
                                                               replays_cpu[service])
                                               for service in replays),
             time.perf_counter() - run_started))
    print("%-22s %12s %12s %12s" % ("process", "RSS start", "RSS end", "peak RSS"))
    for name in pids:
        print("%-22s %12s %12s %12s" % (name, rss_started[name], rss[name], peak[name]))
    print("%-22s %10s %10s %10s   (%d calls each)" % ("query", "p50 ms", "p99 ms", "max ms",
                                                       args.requests))
    for label, values in timed.items():
        print("%-22s %10.1f %10.1f %10.1f" % (label, percentile(values, 0.5),
                                              percentile(values, 0.99), max(values)))
    print("top of the ranking: %s" % ", ".join(
        "%s %s" % (item["name"], item["points"]) for item in ranked["items"][:3]))
    print(json.dumps({
        "bench": "enterprises", "date": datetime.now(timezone.utc).date().isoformat(),
        "backend": args.backend, "enterprises": args.enterprises, "events": events,
        "fill_seconds": round(fill_seconds, 1), "fill_cpu_seconds": round(fill_cpu, 1),
        "replay_seconds": replays, "replay_cpu_seconds": replays_cpu,
        "run_seconds": round(time.perf_counter() - run_started, 1),
        "rss_mib": rss, "rss_started_mib": rss_started, "peak_rss_mib": peak,
        "max_service_rss_mib": max(v for v in rss.values() if v is not None),
        "rankings_p50_ms": round(percentile(all_rankings, 0.5), 1),
        "rankings_p99_ms": round(percentile(all_rankings, 0.99), 1),
        "p99_ms": {label: round(percentile(values, 0.99), 1) for label, values in timed.items()},
        "requests": args.requests, "cores": os.cpu_count(),
        "load_before": round(load_before, 1), "load_after": round(load_after, 1)},
        separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
