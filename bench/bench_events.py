#!/usr/bin/env python
"""Event-path benchmark: the raw broker ceiling against the platform end to end.

    python bench/bench_events.py [--events N] [--backend sqlite|postgres] [--concurrency C]

One run, one broker, one throwaway vhost (`einspection-bench-<random>`):

1. raw kombu: N persistent messages the size of a real HazardReported
   CloudEvent, published with publisher confirms to a durable topic exchange
   and consumed with ack from a durable queue (a) while they are published and
   (b) from a pre-filled queue;
2. the platform: all services as processes (tools/launch.py) on fresh
   databases, N hazards reported through the gateway by C concurrent clients,
   timed until the scoring service has every HazardReported in its inbox.

Prints a table and, last, one line of JSON. Everything it creates (vhost,
processes, databases, temp files) is removed in `finally`, also on error.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import requests  # noqa: E402
from kombu import Connection, Queue  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from einspection import bus  # noqa: E402
from einspection.contract import EVENT_TYPES, new_event  # noqa: E402
from tests import factories  # noqa: E402
from tools import launch  # noqa: E402

BROKER_HOST = os.environ.get("BENCH_BROKER_HOST", "127.0.0.1:5672")
POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
HAZARD_TYPE = EVENT_TYPES["HazardReported"].type
SENT_HEADER = "x-bench-sent-at"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


# --- small helpers ---------------------------------------------------------------------

def percentile(values, q):
    """Linear-interpolated percentile of a list; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def rate(count, seconds):
    return count / seconds if seconds and seconds > 0 else None


def ms(seconds):
    return None if seconds is None else seconds * 1000.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid):
    """VmRSS and VmHWM (peak RSS) of a process in MiB, from /proc."""
    found = {}
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) / 1024.0   # kB -> MiB
    except OSError:
        pass
    return found


def _stat_cpu_seconds(pid, user_field):
    """The sum of two CPU fields of /proc/<pid>/stat (user, then system), in
    seconds; `user_field` counts from the field after the command's name."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[user_field]) + int(fields[user_field + 1])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    return _stat_cpu_seconds(pid, 11)


def machine_cpu():
    """(busy, total) jiffies of all cores, from the first line of /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)      # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy_percent(seconds):
    """How busy the whole machine is over `seconds`, in % of all cores."""
    busy0, total0 = machine_cpu()
    time.sleep(seconds)
    busy1, total1 = machine_cpu()
    return 100.0 * (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet_machine(limit_seconds, threshold=20.0):
    """Other load on a 2-core machine skews every figure: wait (bounded) until
    it is quiet. Returns the busy % last seen."""
    deadline = time.monotonic() + limit_seconds
    while True:
        busy = machine_busy_percent(3.0)
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        log("machine is %.0f%% busy with other work; waiting (up to %.0fs more)"
            % (busy, deadline - time.monotonic()))


# postgres auxiliary processes: they work for every database of the server
POSTGRES_AUXILIARIES = ("checkpointer", "background writer", "walwriter", "autovacuum",
                        "logical replication", "archiver", "stats collector")


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\x00", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def infrastructure_cpu(database_tag=None):
    """{pid: cpu seconds} of the broker (beam.smp) and of the PostgreSQL server
    the benchmark's databases live on: the backends serving a database whose
    name contains `database_tag`, the server's auxiliary processes and its
    postmaster — not the backends of other sessions' databases on the same
    (shared) server. Without `database_tag` (the SQLite runs) no postgres."""
    found = {"rabbitmq": {}, "postgres": {}}
    postgres = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        if comm == "beam.smp":
            # rabbitmqctl runs a short-lived beam.smp too: only the broker boots `rabbit`.
            if "rabbit boot" not in _cmdline(entry):
                continue
            cpu = proc_cpu_seconds(int(entry))
            if cpu is not None:
                found["rabbitmq"][int(entry)] = cpu
        elif comm == "postgres" and database_tag:
            postgres[int(entry)] = _cmdline(entry)
    # the server (postmaster) is the parent of the backends of our databases
    servers = {_ppid(pid) for pid, cmdline in postgres.items() if database_tag in cmdline}
    for pid, cmdline in postgres.items():
        ours = (pid in servers or database_tag in cmdline or (
            _ppid(pid) in servers and any(name in cmdline for name in POSTGRES_AUXILIARIES)))
        cpu = proc_cpu_seconds(pid) if ours else None
        if cpu is not None:
            found["postgres"][pid] = cpu
    return found


def _reaped_cpu_seconds(pid):
    """cutime + cstime of a process: the CPU of the children it waited for."""
    return _stat_cpu_seconds(pid, 13)


class PostgresExits(threading.Thread):
    """The CPU of PostgreSQL backends of this run's databases that ended
    inside the window (a pool closing a connection it opened while busy):
    gone from /proc at its end, they are in no per-process figure, but their
    postmaster reaped them, and its cutime + cstime grew by their CPU.

    That growth holds the exits of every database of the (shared) server,
    so the backends of the others are taken out of it: every `interval` the
    server's backends are listed, and one of another database seen alive and
    gone at the end takes its CPU as last seen with it; one of ours seen at
    the start takes what it had spent before the window. Another session's
    backend that began and ended between two listings stays in the figure:
    exact on the quiet machine the benchmark is meant for."""

    def __init__(self, database_tag, interval=0.2):
        super().__init__(daemon=True)
        self.database_tag, self.interval = database_tag, interval
        self.stopping = threading.Event()
        self.servers = {}        # postmaster pid: its reaped CPU at the start
        self.started = {}        # backend pid: CPU at the start (alive then)
        self.last_seen = {}      # backend pid: (ours, CPU when last seen)
        self._scan(first=True)

    def _scan(self, first=False):
        backends = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % entry) as handle:
                    if handle.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            backends[int(entry)] = _cmdline(entry)
        if first:
            servers = {_ppid(pid) for pid, cmdline in backends.items()
                       if self.database_tag in cmdline}
            self.servers = {pid: _reaped_cpu_seconds(pid) for pid in servers if pid}
        for pid, cmdline in backends.items():
            if _ppid(pid) not in self.servers:
                continue
            cpu = proc_cpu_seconds(pid)
            if cpu is None:
                continue
            if first:
                self.started[pid] = cpu
            self.last_seen[pid] = (self.database_tag in cmdline, cpu)
        return backends

    def run(self):
        while not self.stopping.wait(self.interval):
            self._scan()

    def exited_cpu(self):
        """CPU seconds of this run's backends that ended since the start."""
        self.stopping.set()
        alive = self._scan()
        reaped = 0.0
        for pid, before in self.servers.items():
            now = _reaped_cpu_seconds(pid)
            if None not in (now, before):
                reaped += now - before
        for pid, (ours, cpu) in self.last_seen.items():
            if pid in alive:
                continue
            reaped -= self.started.get(pid, 0.0) if ours else cpu
        return max(0.0, reaped)


def process_cpu():
    """CPU seconds of this process, every thread."""
    times = os.times()
    return times.user + times.system


def cpu_spent(before, after):
    """CPU seconds between two {pid: cpu seconds}; a pid new in `after` counts from 0."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def as_epoch(moment):
    """A DB timestamp (naive UTC from SQLite, aware from PostgreSQL) as epoch seconds."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def sample_event_body():
    """The JSON body of a real HazardReported CloudEvent, as the relay publishes it."""
    now = datetime.now(timezone.utc)
    body = factories.hazard("bench-" + uuid.uuid4().hex[:8])
    event = new_event("HazardReported", {
        "hazard_id": str(uuid.uuid4()), "enterprise_id": str(uuid.uuid4()),
        "position_id": None, "level": body["level"], "category": body["category"],
        "description": body["description"], "found_at": now - timedelta(hours=1),
        "reported_at": now, "rectification_deadline": now + timedelta(days=7),
        "reporter": body["reporter"],
    }, actor=body["reporter"], correlation_id=str(uuid.uuid4()))
    event.stream_id = "hazard-" + event.data["hazard_id"]
    event.stream_version = 1
    return event.to_json()


# --- 1. raw kombu ------------------------------------------------------------------------

class RawConsumer(threading.Thread):
    """Consumes `expected` messages with ack on its own connection; records, per
    message, the latency from the publisher's header timestamp."""

    def __init__(self, amqp_uri, queue, expected, prefetch, timeout):
        super().__init__(daemon=True)
        self.amqp_uri, self.queue, self.expected = amqp_uri, queue, expected
        self.prefetch, self.timeout = prefetch, timeout
        self.ready = threading.Event()
        self.latencies = []
        self.count = 0
        self.first = self.last = None
        self.error = None

    def run(self):
        try:
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                channel = connection.channel()
                channel.basic_qos(0, self.prefetch, False)
                with connection.Consumer(queues=[self.queue], channel=channel,
                                         on_message=self._on_message, no_ack=False):
                    self.ready.set()
                    deadline = time.monotonic() + self.timeout
                    while self.count < self.expected and time.monotonic() < deadline:
                        try:
                            connection.drain_events(timeout=0.5)
                        except (socket.timeout, TimeoutError):
                            pass
        except Exception as exc:   # reported by the caller
            self.error = exc
        finally:
            self.ready.set()

    def _on_message(self, message):
        now = time.time()
        message.ack()
        sent = (message.headers or {}).get(SENT_HEADER)
        if sent is not None:
            self.latencies.append(now - float(sent))
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1


def raw_publish(amqp_uri, exchange, n, body, stamp=True):
    """Publish n messages exactly as the relay does (bus.publish, confirms on)."""
    with bus.connect(amqp_uri, confirm=True) as connection:
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        producer = connection.Producer(channel=channel)
        started = time.time()
        for _ in range(n):
            headers = {SENT_HEADER: time.time()} if stamp else {}
            bus.publish(producer, exchange, HAZARD_TYPE, body, headers=headers,
                        message_id=str(uuid.uuid4()))
        return started, time.time()


def raw_kombu(amqp_uri, n, body, prefetch, timeout):
    tag = uuid.uuid4().hex[:6]
    exchange = bus.events_exchange("bench.raw.%s.events" % tag)
    queue = Queue("bench.raw.%s.consumer" % tag, exchange=exchange,
                  routing_key="einspection.hazard.#", durable=True)
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        exchange.bind(channel).declare()
        queue.bind(channel).declare()

    # (a) pipelined: the consumer runs while the publisher publishes.
    log("raw kombu: %d messages of %d bytes, pipelined" % (n, len(body)))
    consumer = RawConsumer(amqp_uri, queue, n, prefetch, timeout)
    consumer.start()
    consumer.ready.wait(10)
    # the ceiling of CPU per hazard: what publishing and consuming one message costs
    # this process (publisher and consumer) and the broker
    client_before, broker_before = process_cpu(), infrastructure_cpu()["rabbitmq"]
    pub_start, pub_end = raw_publish(amqp_uri, exchange, n, body)
    consumer.join(timeout)
    client_cpu = process_cpu() - client_before
    broker_cpu = cpu_spent(broker_before, infrastructure_cpu()["rabbitmq"])
    if consumer.error or consumer.count < n:
        raise RuntimeError("raw consumer got %d of %d messages (%s)"
                           % (consumer.count, n, consumer.error))
    pipelined = {
        "publish_rate": rate(n, pub_end - pub_start),
        "consume_rate": rate(n, consumer.last - consumer.first),
        "e2e_rate": rate(n, consumer.last - pub_start),
        "latency_p50_ms": ms(percentile(consumer.latencies, 0.50)),
        "latency_p99_ms": ms(percentile(consumer.latencies, 0.99)),
        "seconds": consumer.last - pub_start,
        "cpu_ms_per_message": {"bench client": 1000.0 * client_cpu / n,
                               "rabbitmq (server)": 1000.0 * broker_cpu / n,
                               "total": 1000.0 * (client_cpu + broker_cpu) / n},
    }

    # (b) pre-filled: publish everything, then drain the queue.
    log("raw kombu: pre-filled queue, publish then drain")
    pub_start, pub_end = raw_publish(amqp_uri, exchange, n, body, stamp=False)
    consumer = RawConsumer(amqp_uri, queue, n, prefetch, timeout)
    consumer.start()
    consumer.join(timeout)
    if consumer.error or consumer.count < n:
        raise RuntimeError("raw drain got %d of %d messages (%s)"
                           % (consumer.count, n, consumer.error))
    prefilled = {"publish_rate": rate(n, pub_end - pub_start),     # first to last delivery
                 "consume_rate": rate(n - 1, consumer.last - consumer.first)}
    return {"message_bytes": len(body), "pipelined": pipelined, "prefilled": prefilled}


# --- 2. the platform ------------------------------------------------------------------------

class Databases:
    """Fresh databases for the services: SQLite files, or PostgreSQL databases
    created here and dropped in `drop_all`."""

    def __init__(self, backend, tag, directory):
        self.backend, self.tag, self.directory = backend, tag, directory
        self.created = []

    def urls(self):
        if self.backend == "sqlite":
            return launch.sqlite_urls(os.path.join(self.directory, "db"))
        import psycopg2
        urls = {}
        connection = psycopg2.connect(POSTGRES_DSN)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for name in launch.DATABASE_KEYS:
                    database = "ein_bench_%s_%s" % (self.tag, name)
                    cursor.execute('CREATE DATABASE "%s"' % database)
                    self.created.append(database)
                    urls[name] = POSTGRES_DSN.rsplit("/", 1)[0] + "/" + database
        finally:
            connection.close()
        return urls

    def drop_all(self):
        if not self.created:
            return
        import psycopg2
        connection = psycopg2.connect(POSTGRES_DSN)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for database in self.created:
                    cursor.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % database)
        finally:
            connection.close()
        self.created = []


def reader_engine(url):
    """A plain engine for the benchmark's own reads. Not einspection.db.make_engine:
    its SQLite engine begins every transaction IMMEDIATE, i.e. takes the write lock."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; the project ships psycopg2.
    url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    return create_engine(url, pool_size=2, max_overflow=0)


def count_projected(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM inbox WHERE consumer = 'scoring' AND name = 'HazardReported'"
        )).scalar_one()


def count_outbox_pending(engine):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()


class Monitor(threading.Thread):
    """Samples, every `interval`: hazard outbox backlog, scoring queue depth and
    scoring inbox count; notes when the inbox reaches `target`."""

    def __init__(self, hazard_db, scoring_db, amqp_uri, queue_name, target, interval=0.2):
        super().__init__(daemon=True)
        self.hazard_db, self.scoring_db = hazard_db, scoring_db
        self.amqp_uri, self.queue_name = amqp_uri, queue_name
        self.target, self.interval = target, interval
        self.stopping = threading.Event()
        self.reached = threading.Event()
        self.reached_at = None
        self.samples = []          # (epoch, outbox_pending, queue_depth, projected)
        self.error = None

    def _queue_depth(self, channel):
        try:
            return channel.queue_declare(self.queue_name, passive=True).message_count
        except Exception:
            return None

    def run(self):
        try:
            with Connection(self.amqp_uri, connect_timeout=5) as connection:
                channel = connection.channel()
                while not self.stopping.is_set():
                    projected = count_projected(self.scoring_db)
                    now = time.time()
                    depth = self._queue_depth(channel)
                    if depth is None:         # a failed passive declare closes the channel
                        channel = connection.channel()
                    self.samples.append((now, count_outbox_pending(self.hazard_db), depth,
                                         projected))
                    if projected >= self.target and not self.reached.is_set():
                        self.reached_at = now
                        self.reached.set()
                    self.stopping.wait(self.interval)
        except Exception as exc:
            self.error = exc
            self.reached.set()

    def peak(self, index, since=0.0):
        values = [s[index] for s in self.samples if s[0] >= since and s[index] is not None]
        return max(values) if values else None


# the platform's admin token, set once it is up: every request is authenticated
AUTH = {}


def register_enterprises(base_url, count):
    ids = []
    with requests.Session() as session:
        session.headers.update(AUTH)
        for _ in range(count):
            response = session.post(base_url + "/api/v1/enterprises",
                                    data=json.dumps(factories.enterprise()),
                                    headers={"Content-Type": "application/json"}, timeout=30)
            if response.status_code != 201:
                raise RuntimeError("registering an enterprise: %s %s"
                                   % (response.status_code, response.text[:300]))
            ids.append(response.json()["id"])
    return ids


def report_hazards(base_url, enterprise_ids, n, concurrency, deadline):
    """POST n hazards with `concurrency` client threads, one requests session each.
    Returns [(hazard_id or None, sent_at, answered_at, status)]."""
    local = threading.local()
    stop = threading.Event()

    def one(index):
        if stop.is_set() or time.monotonic() > deadline:
            return None, None, None, "skipped"
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(AUTH)
        body = json.dumps(factories.hazard(enterprise_ids[index % len(enterprise_ids)],
                                           found_hours_ago=random.choice((1, 2, 30, 80)),
                                           level=random.choice(("general", "general", "major"))))
        sent = time.time()
        try:
            response = session.post(base_url + "/api/v1/hazards", data=body, timeout=30,
                                    headers={"Content-Type": "application/json"})
        except requests.RequestException as exc:
            return None, sent, time.time(), type(exc).__name__
        answered = time.time()
        hazard_id = response.json().get("id") if response.status_code == 201 else None
        return hazard_id, sent, answered, response.status_code

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="client") as pool:
        try:
            return list(pool.map(one, range(n)))
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def projected_times(engine):
    """{hazard_id: received_at (epoch)} from the scoring inbox."""
    times = {}
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT body, received_at FROM inbox "
            "WHERE consumer = 'scoring' AND name = 'HazardReported'")).all()
    for body, received_at in rows:
        times[json.loads(body)["data"]["hazard_id"]] = as_epoch(received_at)
    return times


def process_snapshot(platform):
    return {key.rsplit("-", 1)[0]: {"pid": p.pid, "cpu": proc_cpu_seconds(p.pid),
                                    **proc_status(p.pid)}
            for key, p in platform.processes.items()}


def stop_platform(platform, grace=15.0):
    """SIGTERM every service at once, SIGKILL whatever still runs after one shared
    `grace`. (Platform.stop alone waits up to 20 s per process, one after another:
    five hung processes, e.g. stopped while still starting, take 100 s.)"""
    processes = list(platform.processes.values())
    started = time.monotonic()
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(p.poll() is None for p in processes):
        time.sleep(0.1)
    for process in processes:
        if process.poll() is None:
            log("pid %d did not stop in %.0fs: SIGKILL" % (process.pid, grace))
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)
    platform.stop()             # all have exited: this only forgets them
    log("platform: stopped in %.1fs" % (time.monotonic() - started))


def wait_projected(monitor, engine, target, timeout):
    if not monitor.reached.wait(timeout):
        raise TimeoutError("scoring projected %d of %d HazardReported in %ss"
                           % (count_projected(engine), target, timeout))
    if monitor.error:
        raise monitor.error


# --- HTTP reads: the ceiling at C clients, and readers while ingesting -------------------

def get_load(base_url, path, n, concurrency):
    """GET `path` n times from `concurrency` client threads (a session each), like
    report_hazards does its POSTs. Returns [(sent_at, answered_at, status)]."""
    local = threading.local()

    def one(_index):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(AUTH)
        sent = time.time()
        try:
            status = session.get(base_url + path, timeout=30).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        return sent, time.time(), status

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="getter") as pool:
        return list(pool.map(one, range(n)))


def reader_targets(enterprise_ids, ledger_size):
    """What each reader asks in turn: an enterprise's score, a page of the standing
    book filtered to that enterprise, and /health/live (the ceiling: the same
    gateway, the same client, no RPC and no database)."""
    targets = []
    for enterprise_id in enterprise_ids:
        targets.append(("score", "/api/v1/enterprises/%s/score" % enterprise_id))
        targets.append(("ledger", "/api/v1/hazards?enterprise_id=%s&page=1&size=%d"
                        % (enterprise_id, ledger_size)))
        targets.append(("live", "/health/live"))
    return targets


def reader_process(base_url, token, targets, readers, ready, stop, results):
    """Runs in a process of its own, so that the readers do not share a GIL with
    the writers: `readers` threads, each GETs the next of `targets` as soon as
    the previous one is answered (closed loop, no pause) until `stop`; puts
    [(kind, sent_at, answered_at, status)] on `results`."""
    records, lock = [], threading.Lock()

    def loop(offset):
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + token
        mine, index = [], offset
        while not stop.is_set():
            kind, path = targets[index % len(targets)]
            index += 1
            sent = time.time()
            try:
                status = session.get(base_url + path, timeout=30).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            mine.append((kind, sent, time.time(), status))
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(readers)]
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()
    results.put(records)


def read_figures(records, since, until):
    """p50/p99 per kind of the reads sent in [since, until] (while ingesting)."""
    figures = {}
    for kind in ("score", "ledger", "live"):
        mine = [r for r in records if r[0] == kind and since <= r[1] <= until]
        ok = [r[2] - r[1] for r in mine if r[3] == 200]
        figures[kind] = {"count": len(mine), "failed": len(mine) - len(ok),
                         "statuses": sorted({str(r[3]) for r in mine if r[3] != 200}),
                         "p50_ms": ms(percentile(ok, 0.50)), "p99_ms": ms(percentile(ok, 0.99))}
    return figures


def read_phase(args, platform, enterprise_ids, monitor_for, scoring_db):
    """16 (`--readers`) readers run while `--read-events` hazards are ingested by
    `--concurrency` writers; the reads sent between the first write and the last
    write's answer count."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    token = AUTH["Authorization"].split(" ", 1)[1]
    process = context.Process(target=reader_process, daemon=True, args=(
        platform.base_url, token, reader_targets(enterprise_ids, args.ledger_size),
        args.readers, ready, stop, results))
    log("reads: %d readers (score, ledger page, /health/live) while %d hazards are reported"
        % (args.readers, args.read_events))
    process.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the reader process did not start in 60 s")
        time.sleep(1.0)          # every reader has sessions and connections
        monitor = monitor_for(args.read_events)
        writes = report_hazards(platform.base_url, enterprise_ids, args.read_events,
                                args.concurrency, time.monotonic() + args.timeout)
        stop.set()
        records = results.get(timeout=120)
    finally:
        stop.set()
        process.join(30)
        if process.is_alive():
            process.kill()
    accepted = [r for r in writes if r[3] == 201]
    if not accepted:
        raise RuntimeError("reads: no hazard accepted while reading")
    since, until = min(r[1] for r in accepted), max(r[2] for r in accepted)
    monitor.target = monitor.target - args.read_events + len(accepted)
    wait_projected(monitor, scoring_db, monitor.target, args.timeout)
    monitor.stopping.set()
    monitor.join(5)
    figures = read_figures(records, since, until)
    figures["readers"] = args.readers
    figures["writes_accepted"] = len(accepted)
    figures["write_rate"] = rate(len(accepted), until - since)
    figures["write_p99_ms"] = ms(percentile([r[2] - r[1] for r in accepted], 0.99))
    figures["seconds"] = until - since
    return figures


# --- scoring consumers: 2 against 1 on a pre-filled queue ---------------------------------

def registered_enterprises(engine):
    """The enterprises scoring has taken EnterpriseRegistered for."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM inbox WHERE consumer = 'scoring' "
                                 "AND name = 'EnterpriseRegistered'")).scalars().all()
    return {json.loads(body)["data"]["enterprise_id"] for body in rows}


def queue_depth(amqp_uri, queue_name):
    with Connection(amqp_uri, connect_timeout=5) as connection:
        return connection.channel().queue_declare(queue_name, passive=True).message_count


def wait_until(condition, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("%s: not reached in %.0fs" % (what, timeout))
        time.sleep(interval)


def scoring_keys(platform):
    return sorted(key for key in platform.processes if key.startswith("scoring-"))


def drain_once(args, platform, amqp_uri, queue_name, hazard_db, scoring_db, enterprise_ids,
               consumers):
    """Stop every scoring process, report `--drain-events` hazards (they wait in
    scoring's queue), start `consumers` scoring processes and time how fast they
    drain it. Timed: the events projected once all of them consume (the broker's
    consumer count: a process starting later would otherwise count against the
    pair), and of those the middle 80 % by their time in the scoring inbox (the
    first events of a process pay for its cold start, the last ones may find one
    consumer idle). Cores used: the scoring processes' CPU seconds while all
    of them consumed."""
    for key in scoring_keys(platform):
        platform.stop_service(key)
    results = report_hazards(platform.base_url, enterprise_ids, args.drain_events,
                             args.concurrency, time.monotonic() + args.timeout)
    batch = [r[0] for r in results if r[3] == 201]
    if len(batch) != args.drain_events:
        raise RuntimeError("drain: %d of %d hazards accepted" % (len(batch), args.drain_events))
    wait_until(lambda: count_outbox_pending(hazard_db) == 0
               and queue_depth(amqp_uri, queue_name) >= len(batch), args.timeout,
               "drain: %d events in scoring's queue" % len(batch))
    before = count_projected(scoring_db)
    # as a deployment runs them: one process in batches, replicas one event a worker
    alone = launch.alone_settings(platform.env) if consumers == 1 else None
    processes = [platform.start_service("scoring", replica, alone) for replica in range(consumers)]
    samples = []      # (monotonic, projected of the batch, consumers, scoring CPU s, machine)
    deadline = time.monotonic() + args.timeout
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        while True:
            declared = channel.queue_declare(queue_name, passive=True)
            done = count_projected(scoring_db) - before
            cpu = sum(proc_cpu_seconds(p.pid) or 0.0 for p in processes)
            samples.append((time.monotonic(), done, declared.consumer_count, cpu, machine_cpu()))
            if done >= len(batch):
                break
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("drain: a scoring process exited (%s)"
                                   % [p.returncode for p in processes])
            if time.monotonic() > deadline:
                raise TimeoutError("drain: %d of %d projected by %d scoring processes"
                                   % (done, len(batch), consumers))
            time.sleep(0.1)
    all_in = next(s for s in samples if s[2] >= consumers or s[1] >= len(batch))
    last = samples[-1]
    received = projected_times(scoring_db)
    # epoch of the `all_in` sample: wall clock now minus how long ago it was
    all_in_epoch = time.time() - (time.monotonic() - all_in[0])
    timed = sorted(t for t in (received[h] for h in batch) if t >= all_in_epoch)
    middle = timed[len(timed) // 10:len(timed) - len(timed) // 10]
    wall = last[0] - all_in[0]
    busy, total = last[4][0] - all_in[4][0], last[4][1] - all_in[4][1]
    return {"consumers": consumers, "events": len(batch),
            "drained_with_all_consuming": len(timed), "timed_events": len(middle),
            "rate": rate(len(middle) - 1, middle[-1] - middle[0]) if len(middle) >= 2 else None,
            "seconds": middle[-1] - middle[0] if len(middle) >= 2 else None,
            "scoring_cores": (last[3] - all_in[3]) / wall if wall > 0 else None,
            "machine_cores": (os.cpu_count() * busy / total) if total else None}


def drain_phase(args, platform, amqp_uri, queue_name, hazard_db, scoring_db):
    """1 scoring consumer, then 2, each on a queue pre-filled with the same number
    of hazards, each batch for enterprises of its own (scoring's cost per event
    grows with an enterprise's history: the second batch must not pay more)."""
    batches = [register_enterprises(platform.base_url, args.enterprises) for _ in range(2)]
    wanted = {e for batch in batches for e in batch}
    wait_until(lambda: wanted <= registered_enterprises(scoring_db), args.timeout,
               "drain: scoring knows the %d new enterprises" % len(wanted))
    log("drain: %d events pre-filled, 1 scoring consumer then 2" % args.drain_events)
    one = drain_once(args, platform, amqp_uri, queue_name, hazard_db, scoring_db, batches[0], 1)
    two = drain_once(args, platform, amqp_uri, queue_name, hazard_db, scoring_db, batches[1], 2)
    return {"one": one, "two": two,
            "speedup": two["rate"] / one["rate"] if one["rate"] and two["rate"] else None}


# --- flame graphs ---------------------------------------------------------------------------

def py_spy():
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    found = beside if os.access(beside, os.X_OK) else shutil.which("py-spy")
    if not found:
        raise RuntimeError("--flame needs py-spy: pip install -r bench/requirements.txt")
    return found


def start_flames(platform, directory, rate_hz):
    """py-spy record on every service process, until stop_flames."""
    os.makedirs(directory, exist_ok=True)
    recorders = {}
    for key, process in platform.processes.items():
        name = key[:-2] if key.endswith("-0") else key
        output = os.path.join(directory, name + ".svg")
        recorders[name] = (subprocess.Popen(
            [py_spy(), "record", "--nonblocking", "--rate", str(rate_hz), "--format",
             "flamegraph", "-o", output, "--pid", str(process.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), output)
    return recorders


def stop_flames(recorders):
    """SIGINT makes py-spy write its SVG."""
    for recorder, _ in recorders.values():
        if recorder.poll() is None:
            recorder.send_signal(signal.SIGINT)
    written = []
    for name, (recorder, output) in recorders.items():
        try:
            recorder.wait(60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        if os.path.exists(output):
            written.append(output)
        else:
            log("flame: no SVG for %s: %s" % (name, recorder.stderr.read().decode()[-300:]))
    return written



def platform_run(args, amqp_uri, tag, workdir):
    databases = Databases(args.backend, tag, workdir)
    platform = None
    engines = []
    monitor = None
    log_dir = args.log_dir or os.path.join(workdir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    try:
        urls = databases.urls()
        port = free_port()
        prefix = "bench-" + tag
        env = launch.environment(amqp_uri, urls, port, exchange=prefix + ".events",
                                 queue_prefix=prefix)
        platform = launch.Platform(env, port, log_dir)
        log("platform: starting %s on %s" % (", ".join(launch.SERVICES), args.backend))
        started = time.monotonic()
        platform.start(timeout=90, batches_alone=True)
        startup_seconds = time.monotonic() - started
        hazard_db = reader_engine(urls["hazard"])
        scoring_db = reader_engine(urls["scoring"])
        engines = [hazard_db, scoring_db]

        AUTH["Authorization"] = "Bearer " + platform.login()
        enterprise_ids = register_enterprises(platform.base_url, args.enterprises)
        log("platform: %d enterprises registered; warming up with %d hazards"
            % (len(enterprise_ids), args.warmup))
        warm = report_hazards(platform.base_url, enterprise_ids, args.warmup,
                              min(args.concurrency, max(args.warmup, 1)),
                              time.monotonic() + 60)
        warm_ok = sum(1 for r in warm if r[3] == 201)
        if warm_ok != args.warmup:
            raise RuntimeError("warm-up: %d of %d hazards accepted: %s"
                               % (warm_ok, args.warmup, [r[3] for r in warm if r[3] != 201][:5]))
        monitor = Monitor(hazard_db, scoring_db, amqp_uri, prefix + ".scoring", warm_ok)
        monitor.start()
        wait_projected(monitor, scoring_db, warm_ok, 60)
        monitor.stopping.set()
        monitor.join(5)

        # The ceiling of the HTTP latency: the gateway's /health/live (no RPC, no
        # database) from as many clients as will POST, on an otherwise idle platform.
        log("platform: %d GET /health/live from %d clients (the HTTP ceiling)"
            % (args.events, args.concurrency))
        live = get_load(platform.base_url, "/health/live", args.events, args.concurrency)
        live_ok = [r[1] - r[0] for r in live if r[2] == 200]
        live_seconds = max(r[1] for r in live) - min(r[0] for r in live)
        http_ceiling = {"rate": rate(len(live_ok), live_seconds),
                        "p50_ms": ms(percentile(live_ok, 0.50)),
                        "p99_ms": ms(percentile(live_ok, 0.99)), "failed": len(live) - len(live_ok)}

        log("platform: reporting %d hazards with %d concurrent clients"
            % (args.events, args.concurrency))
        database_tag = "ein_bench_%s_" % tag if args.backend == "postgres" else None
        # The broker is shared with whatever else runs on the machine: what it spends
        # with this platform idle is a floor under its figure per hazard below.
        broker_idle = infrastructure_cpu()["rabbitmq"]
        time.sleep(2.0)
        broker_idle_percent = 100.0 * cpu_spent(broker_idle, infrastructure_cpu()["rabbitmq"]) / 2.0
        flames = start_flames(platform, args.flame, args.flame_rate) if args.flame else None
        before = process_snapshot(platform)
        cpu_started = time.time()
        client_cpu_before = os.times()
        infra_before, machine_before = infrastructure_cpu(database_tag), machine_cpu()
        exits = PostgresExits(database_tag) if database_tag else None
        if exits:
            exits.start()
        monitor = Monitor(hazard_db, scoring_db, amqp_uri, prefix + ".scoring",
                          warm_ok + args.events)
        monitor.start()
        run_started = time.monotonic()
        results = report_hazards(platform.base_url, enterprise_ids, args.events,
                                 args.concurrency, run_started + args.timeout)
        accepted = [r for r in results if r[3] == 201]
        failed = [r for r in results if r[3] != 201]
        if not accepted:
            raise RuntimeError("no hazard accepted: %s" % sorted({str(r[3]) for r in failed}))
        http_done = max(r[2] for r in results if r[2] is not None)
        if failed:
            log("platform: %d requests not accepted: %s"
                % (len(failed), sorted({str(r[3]) for r in failed})))
        monitor.target = warm_ok + len(accepted)
        remaining = max(5.0, args.timeout - (time.monotonic() - run_started))
        log("platform: %d accepted; waiting up to %.0fs for scoring" % (len(accepted), remaining))
        wait_projected(monitor, scoring_db, monitor.target, remaining)
        received = projected_times(scoring_db)
        # A request that timed out on the client may still have been accepted and
        # counted: make sure every accepted one is there, not just the count.
        while any(r[0] not in received for r in accepted):
            if time.monotonic() - run_started > args.timeout:
                raise TimeoutError("%d accepted hazards never reached scoring"
                                   % sum(1 for r in accepted if r[0] not in received))
            time.sleep(0.2)
            received = projected_times(scoring_db)
        after = process_snapshot(platform)
        cpu_window = time.time() - cpu_started
        client_cpu_after = os.times()
        infra_after, machine_after = infrastructure_cpu(database_tag), machine_cpu()
        exited = exits.exited_cpu() if exits else None
        monitor.stopping.set()
        monitor.join(5)
        flame_files = stop_flames(flames) if flames else []

        first_sent = min(r[1] for r in accepted)
        last_projected = max(received[r[0]] for r in accepted)
        e2e_latencies = [received[r[0]] - r[1] for r in accepted]
        http_latencies = [r[2] - r[1] for r in accepted]
        window = last_projected - first_sent
        processes = {}
        for name, snap in after.items():
            cpu_before = before.get(name, {}).get("cpu")
            cpu = (snap["cpu"] - cpu_before) if None not in (snap["cpu"], cpu_before) else None
            processes[name] = {"rss_mib": snap.get("VmRSS"), "peak_rss_mib": snap.get("VmHWM"),
                               "cpu_seconds": cpu,
                               "cpu_percent": 100.0 * cpu / cpu_window if cpu is not None else None}
        client_cpu = ((client_cpu_after.user + client_cpu_after.system)
                      - (client_cpu_before.user + client_cpu_before.system))
        processes["bench client"] = {"rss_mib": proc_status(os.getpid()).get("VmRSS"),
                                     "peak_rss_mib": proc_status(os.getpid()).get("VmHWM"),
                                     "cpu_seconds": client_cpu,
                                     "cpu_percent": 100.0 * client_cpu / cpu_window}
        for group, pids in infra_after.items():
            if not pids:
                continue
            cpu = cpu_spent(infra_before[group], pids)
            rss = (proc_status(next(iter(pids))).get("VmRSS")
                   if group == "rabbitmq" and len(pids) == 1 else None)
            processes[group + " (server)"] = {"rss_mib": rss, "peak_rss_mib": None,
                                              "cpu_seconds": cpu,
                                              "cpu_percent": 100.0 * cpu / cpu_window}
        if exited is not None:
            processes["postgres (exited)"] = {"rss_mib": None, "peak_rss_mib": None,
                                                       "cpu_seconds": exited,
                                                       "cpu_percent": 100.0 * exited / cpu_window}
        busy = machine_after[0] - machine_before[0]
        total = machine_after[1] - machine_before[1]
        listed = sum(p["cpu_seconds"] or 0.0 for p in processes.values())
        other = max(0.0, busy / CLK_TCK - listed)     # jiffy rounding can make it < 0
        processes["everything else"] = {"rss_mib": None, "peak_rss_mib": None,
                                        "cpu_seconds": other,
                                        "cpu_percent": 100.0 * other / cpu_window}
        for p in processes.values():
            p["cpu_ms_per_hazard"] = (1000.0 * p["cpu_seconds"] / len(accepted)
                                      if p["cpu_seconds"] is not None else None)
        # what the platform costs: its services, the broker and the database server
        # (not the load generator, not other work on the machine)
        platform_names = [name for name in processes
                          if name in launch.SERVICES or name.endswith("(server)")
                          or name == "postgres (exited)"]
        cpu_ms_total = sum(processes[name]["cpu_ms_per_hazard"] or 0.0 for name in platform_names)

        quarters = []
        ordered = sorted(accepted, key=lambda r: r[1])
        size = max(1, len(ordered) // 4)
        for index in range(4):
            chunk = ordered[index * size:(index + 1) * size if index < 3 else len(ordered)]
            if not chunk:
                continue
            quarters.append({
                "http_rate": rate(len(chunk), max(r[2] for r in chunk) - min(r[1] for r in chunk)),
                "http_p50_ms": ms(percentile([r[2] - r[1] for r in chunk], 0.5)),
                "e2e_p50_ms": ms(percentile([received[r[0]] - r[1] for r in chunk], 0.5)),
            })
        # How fast the event path drains a backlog once HTTP has stopped feeding it.
        tail = [(t, n) for t, _, _, n in monitor.samples if t >= http_done]
        drain_rate = None
        if len(tail) >= 2 and tail[-1][0] - tail[0][0] >= 1.0:
            drain_rate = rate(tail[-1][1] - tail[0][1], tail[-1][0] - tail[0][0])
        peak_outbox = monitor.peak(1, first_sent)
        peak_queue = monitor.peak(2, first_sent)
        reads = drain = None
        if args.readers and args.read_events:
            def monitor_for(count):
                nonlocal monitor
                monitor = Monitor(hazard_db, scoring_db, amqp_uri, prefix + ".scoring",
                                  count_projected(scoring_db) + count)
                monitor.start()
                return monitor
            reads = read_phase(args, platform, enterprise_ids, monitor_for, scoring_db)
        if args.drain_events:
            drain = drain_phase(args, platform, amqp_uri, prefix + ".scoring", hazard_db,
                                scoring_db)
        return {
            "http_ceiling": http_ceiling, "reads": reads, "drain": drain,
            "cpu_ms_per_hazard_total": cpu_ms_total, "cpu_ms_summed_over": platform_names,
            "flame_files": flame_files, "rabbitmq_idle_cpu_percent": broker_idle_percent,
            "drain_rate": drain_rate,
            "machine_cpu_percent": 100.0 * busy / total if total else None,
            "quarters": quarters,
            "backend": args.backend, "enterprises": len(enterprise_ids),
            "concurrency": args.concurrency, "startup_seconds": startup_seconds,
            "accepted": len(accepted), "failed": len(failed),
            "http_rate": rate(len(accepted), http_done - first_sent),
            "http_p50_ms": ms(percentile(http_latencies, 0.50)),
            "http_p99_ms": ms(percentile(http_latencies, 0.99)),
            "http_seconds": http_done - first_sent,
            "e2e_rate": rate(len(accepted), window),
            "e2e_seconds": window,
            "drain_after_http_seconds": last_projected - http_done,
            "e2e_p50_ms": ms(percentile(e2e_latencies, 0.50)),
            "e2e_p99_ms": ms(percentile(e2e_latencies, 0.99)),
            "peak_outbox_backlog": peak_outbox,
            "peak_scoring_queue_depth": peak_queue,
            "processes": processes,
        }
    except BaseException:
        if platform is not None:
            for name in sorted(os.listdir(log_dir)):
                with open(os.path.join(log_dir, name), errors="replace") as handle:
                    tail = handle.read()[-2000:]
                log("----- %s (tail) -----\n%s" % (name, tail))
        raise
    finally:
        if monitor is not None:
            monitor.stopping.set()
            monitor.join(5)
        if platform is not None:
            log("platform: stopping")
            stop_platform(platform)
        for engine in engines:
            engine.dispose()
        databases.drop_all()


# --- report ------------------------------------------------------------------------------

def fmt(value, spec="%.0f"):
    return "-" if value is None else spec % value


def print_report(args, raw, plat):
    pipe = raw["pipelined"]
    ratio = plat["e2e_rate"] / pipe["e2e_rate"] if plat["e2e_rate"] and pipe["e2e_rate"] else None
    lines = [
        "",
        "E-inspection event path, %d events, backend %s, %d client threads, %d enterprises, "
        "%d cores" % (args.events, args.backend, args.concurrency, plat["enterprises"],
                      os.cpu_count()),
        "message: HazardReported CloudEvent, %d bytes, persistent, publisher confirms"
        % raw["message_bytes"],
        "",
        "%-44s %12s %12s %12s" % ("", "rate msg/s", "p50 ms", "p99 ms"),
        "%-44s %12s %12s %12s" % ("raw kombu publish (confirm each)",
                                  fmt(pipe["publish_rate"]), "", ""),
        "%-44s %12s %12s %12s" % ("raw kombu consume (while publishing)",
                                  fmt(pipe["consume_rate"]), "", ""),
        "%-44s %12s %12s %12s" % ("raw kombu consume (pre-filled queue)",
                                  fmt(raw["prefilled"]["consume_rate"]), "", ""),
        "%-44s %12s %12s %12s" % ("raw kombu end to end (publish -> ack)", fmt(pipe["e2e_rate"]),
                                  fmt(pipe["latency_p50_ms"], "%.2f"),
                                  fmt(pipe["latency_p99_ms"], "%.2f")),
        "%-44s %12s %12s %12s" % ("gateway GET /health/live (HTTP ceiling)",
                                  fmt(plat["http_ceiling"]["rate"]),
                                  fmt(plat["http_ceiling"]["p50_ms"], "%.1f"),
                                  fmt(plat["http_ceiling"]["p99_ms"], "%.1f")),
        "%-44s %12s %12s %12s" % ("platform HTTP accept (POST /api/v1/hazards)",
                                  fmt(plat["http_rate"]), fmt(plat["http_p50_ms"], "%.1f"),
                                  fmt(plat["http_p99_ms"], "%.1f")),
        "%-44s %12s %12s %12s" % ("platform end to end (send -> scoring inbox)",
                                  fmt(plat["e2e_rate"]), fmt(plat["e2e_p50_ms"], "%.1f"),
                                  fmt(plat["e2e_p99_ms"], "%.1f")),
        "",
        "platform / raw end-to-end rate: %s  (raw is %sx the platform)"
        % (fmt(ratio, "%.3f"), fmt(1 / ratio if ratio else None, "%.1f")),
        "accepted %d, failed %d; HTTP phase %.1fs, end to end %.1fs, scoring finished %.1fs "
        "after the last HTTP answer" % (plat["accepted"], plat["failed"], plat["http_seconds"],
                                        plat["e2e_seconds"], plat["drain_after_http_seconds"]),
        "peak backlog while running: hazard outbox %s, scoring queue %s; after the last HTTP "
        "answer scoring drained %s events/s"
        % (fmt(plat["peak_outbox_backlog"], "%d"), fmt(plat["peak_scoring_queue_depth"], "%d"),
           fmt(plat["drain_rate"])),
        "",
        "%-18s %10s %14s %12s %10s %16s" % ("process", "RSS MiB", "peak RSS MiB", "CPU s",
                                            "CPU %", "CPU ms/hazard"),
    ]
    for name, p in plat["processes"].items():
        lines.append("%-18s %10s %14s %12s %10s %16s" % (
            name, fmt(p["rss_mib"], "%.1f"), fmt(p["peak_rss_mib"], "%.1f"),
            fmt(p["cpu_seconds"], "%.1f"), fmt(p["cpu_percent"], "%.0f"),
            fmt(p["cpu_ms_per_hazard"], "%.2f")))
    raw_cpu = pipe["cpu_ms_per_message"]
    lines.append("CPU per hazard summed over %s: %s ms; raw kombu per message (this process "
                 "publishing and consuming + RabbitMQ): %s ms"
                 % (", ".join(plat["cpu_ms_summed_over"]),
                    fmt(plat["cpu_ms_per_hazard_total"], "%.2f"), fmt(raw_cpu["total"], "%.2f")))
    lines.append("(RabbitMQ and PostgreSQL are the machine's, shared: with this platform idle, "
                 "just before the window, RabbitMQ used %s%% of a core; PostgreSQL counts the "
                 "backends of this run's databases and the server's own processes)"
                 % fmt(plat["rabbitmq_idle_cpu_percent"]))
    lines.append("(CPU: from just before the first send until all %d were projected; "
                 "100%% = one core of %d)" % (plat["accepted"], os.cpu_count()))
    lines.append("whole machine busy during the window: %s%% of %d cores"
                 % (fmt(plat["machine_cpu_percent"]), os.cpu_count()))
    other = plat["processes"]["everything else"]["cpu_percent"]
    if other is not None and other > 20:
        lines.append("WARNING: other work used %.0f%% of a core during the window; "
                     "the figures are skewed (background before start: %s%%)"
                     % (other, fmt(plat["background_cpu_percent"])))
    lines.append("")
    lines.append("by quarter of the hazards, in send order:  HTTP req/s   HTTP p50 ms   e2e p50 ms")
    for index, q in enumerate(plat["quarters"], start=1):
        lines.append("  quarter %d %40s %13s %12s" % (index, fmt(q["http_rate"]),
                                                      fmt(q["http_p50_ms"]),
                                                      fmt(q["e2e_p50_ms"])))
    reads, drain = plat["reads"], plat["drain"]
    if reads:
        lines += ["", "%d readers while %d hazards were reported (%s writes/s, write p99 %s ms):"
                  % (reads["readers"], reads["writes_accepted"], fmt(reads["write_rate"]),
                     fmt(reads["write_p99_ms"])),
                  "%-44s %12s %12s %12s %8s" % ("", "reads", "p50 ms", "p99 ms", "failed")]
        for kind, label in (("score", "GET /api/v1/enterprises/{id}/score"),
                            ("ledger", "GET /api/v1/hazards?enterprise_id=..&size=%d"
                             % args.ledger_size),
                            ("live", "GET /health/live (ceiling)")):
            r = reads[kind]
            lines.append("%-44s %12d %12s %12s %8d" % (label, r["count"], fmt(r["p50_ms"], "%.1f"),
                                                      fmt(r["p99_ms"], "%.1f"), r["failed"]))
    if drain:
        lines += ["", "scoring draining a pre-filled queue of %d HazardReported:"
                  % args.drain_events,
                  "%-30s %10s %16s %14s %14s" % ("", "events/s", "timed",
                                                 "scoring cores", "machine cores")]
        for key in ("one", "two"):
            d = drain[key]
            lines.append("%-30s %10s %16s %14s %14s" % (
                "%d scoring consumer%s" % (d["consumers"], "s" if d["consumers"] > 1 else ""),
                fmt(d["rate"]), "%d events" % d["timed_events"],
                fmt(d["scoring_cores"], "%.2f"), fmt(d["machine_cores"], "%.2f")))
        lines.append("2 consumers / 1: %s (on %d cores)" % (fmt(drain["speedup"], "%.2f"),
                                                           os.cpu_count()))
    if plat["flame_files"]:
        lines += ["", "flame graphs (py-spy sampled the measured window; its own CPU skews the "
                  "figures above): " + ", ".join(plat["flame_files"])]
    print("\n".join(lines), flush=True)
    summary = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "cores": os.cpu_count(),
        "events": args.events, "backend": args.backend, "concurrency": args.concurrency,
        "enterprises": plat["enterprises"], "message_bytes": raw["message_bytes"],
        "raw_publish_rate": pipe["publish_rate"], "raw_consume_rate": pipe["consume_rate"],
        "raw_prefilled_consume_rate": raw["prefilled"]["consume_rate"],
        "raw_e2e_rate": pipe["e2e_rate"], "raw_p50_ms": pipe["latency_p50_ms"],
        "raw_p99_ms": pipe["latency_p99_ms"],
        "http_rate": plat["http_rate"], "http_p50_ms": plat["http_p50_ms"],
        "http_p99_ms": plat["http_p99_ms"], "e2e_rate": plat["e2e_rate"],
        "e2e_p50_ms": plat["e2e_p50_ms"], "e2e_p99_ms": plat["e2e_p99_ms"],
        "e2e_over_raw": ratio, "failed": plat["failed"],
        "peak_outbox_backlog": plat["peak_outbox_backlog"],
        "peak_scoring_queue_depth": plat["peak_scoring_queue_depth"],
        "rss_mib": {k: p["rss_mib"] for k, p in plat["processes"].items()},
        "cpu_percent": {k: p["cpu_percent"] for k, p in plat["processes"].items()},
        "machine_cpu_percent": plat["machine_cpu_percent"],
        "background_cpu_percent": plat["background_cpu_percent"],
        "drain_rate": plat["drain_rate"],
        "http_rate_by_quarter": [q["http_rate"] for q in plat["quarters"]],
        # the figures of issue 14's goals (bench/run_all.py reads these keys)
        "cpu_ms_per_hazard": {k: p["cpu_ms_per_hazard"] for k, p in plat["processes"].items()},
        "cpu_ms_per_hazard_total": plat["cpu_ms_per_hazard_total"],
        "cpu_ms_summed_over": plat["cpu_ms_summed_over"],
        "raw_cpu_ms_per_message": raw_cpu["total"],
        "raw_cpu_ms_per_message_by_process": {k: v for k, v in raw_cpu.items() if k != "total"},
        "http_ceiling_rate": plat["http_ceiling"]["rate"],
        "http_ceiling_p50_ms": plat["http_ceiling"]["p50_ms"],
        "http_ceiling_p99_ms": plat["http_ceiling"]["p99_ms"],
        "readers": reads["readers"] if reads else None,
        "score_p99_ms": reads["score"]["p99_ms"] if reads else None,
        "ledger_p99_ms": reads["ledger"]["p99_ms"] if reads else None,
        "live_p99_ms_while_reading": reads["live"]["p99_ms"] if reads else None,
        "reads": reads,
        "drain_events": args.drain_events or None,
        "drain_one_rate": drain["one"]["rate"] if drain else None,
        "drain_two_rate": drain["two"]["rate"] if drain else None,
        "drain_speedup": drain["speedup"] if drain else None,
        "drain_scoring_cores_one": drain["one"]["scoring_cores"] if drain else None,
        "drain_scoring_cores_two": drain["two"]["scoring_cores"] if drain else None,
        "drain_machine_cores_two": drain["two"]["machine_cores"] if drain else None,
        "rabbitmq_idle_cpu_percent": plat["rabbitmq_idle_cpu_percent"],
        "flame": bool(plat["flame_files"]),
    }
    def tidy(value):
        if isinstance(value, float):
            return round(value, 3) if abs(value) < 1 else round(value, 1)
        if isinstance(value, list):
            return [tidy(v) for v in value]
        if isinstance(value, dict):
            return {k: tidy(v) for k, v in value.items()}
        return value
    summary = {k: tidy(v) for k, v in summary.items()}
    print(json.dumps(summary, separators=(",", ":")), flush=True)


# --- main --------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="messages / hazards (2000)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP client threads (8)")
    parser.add_argument("--enterprises", type=int, default=10,
                        help="enterprises the hazards are spread over (10)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured hazards first (20)")
    parser.add_argument("--prefetch", type=int, default=10,
                        help="raw consumer prefetch; 10 = the services' max_workers")
    parser.add_argument("--wait-idle", type=float, default=120.0,
                        help="wait up to this many seconds for other load to stop (120)")
    parser.add_argument("--log-dir", help="keep the services' logs here (default: a temp "
                        "folder, removed at the end)")
    parser.add_argument("--timeout", type=float, default=150.0,
                        help="seconds for each platform phase, HTTP + projection (150)")
    parser.add_argument("--readers", type=int, default=16,
                        help="concurrent readers (score, ledger page) while ingesting; 0: "
                             "no read phase (16)")
    parser.add_argument("--read-events", type=int,
                        help="hazards reported while the readers read (default: --events / 2)")
    parser.add_argument("--ledger-size", type=int, default=20, help="the ledger page's size (20)")
    parser.add_argument("--drain-events", type=int,
                        help="hazards pre-filled in scoring's queue for 1 and for 2 scoring "
                             "consumers; 0: no drain phase (default: --events / 2)")
    parser.add_argument("--flame", metavar="DIR",
                        help="py-spy record every service during the measured window, "
                             "DIR/<service>.svg (e.g. bench/flames)")
    parser.add_argument("--flame-rate", type=int, default=100, help="py-spy samples/s (100)")
    args = parser.parse_args(argv)
    if args.events < 1 or args.concurrency < 1 or args.enterprises < 1 or args.warmup < 1:
        parser.error("--events, --concurrency, --enterprises and --warmup must be >= 1")
    if args.read_events is None:
        args.read_events = max(1, args.events // 2)
    if args.drain_events is None:
        args.drain_events = max(2, args.events // 2)
    if args.drain_events == 1:
        parser.error("--drain-events: 0, or at least 2 (a rate needs two)")
    return args


def main(argv=None):
    args = parse_args(argv)

    def terminate(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # let the clean-up finish
        log("signal %d: cleaning up" % signum)
        raise SystemExit(128 + signum)     # unwinds through every `finally`
    signal.signal(signal.SIGTERM, terminate)

    tag = uuid.uuid4().hex[:8]
    vhost = "einspection-bench-" + tag
    workdir = tempfile.mkdtemp(prefix="einspection-bench-")
    vhost_made = False
    try:
        rabbitmqctl("add_vhost", vhost)
        vhost_made = True
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        raw_background = wait_for_quiet_machine(args.wait_idle)
        log("machine busy before the raw phase: %.0f%% of all cores" % raw_background)
        amqp_uri = "amqp://guest:guest@%s/%s" % (BROKER_HOST, vhost)
        body = sample_event_body()
        raw = raw_kombu(amqp_uri, args.events, body, args.prefetch, timeout=120)
        background = wait_for_quiet_machine(args.wait_idle)
        log("machine busy before the platform phase: %.0f%% of all cores" % background)
        plat = platform_run(args, amqp_uri, tag, workdir)
        plat["background_cpu_percent"] = background
        print_report(args, raw, plat)
        return 0
    finally:
        if vhost_made:
            try:
                rabbitmqctl("delete_vhost", vhost)
            except Exception as exc:
                log("could not delete vhost %s: %s" % (vhost, exc))
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
