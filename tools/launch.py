"""Start the platform: one nameko process per service, plus the gateway.

Used by `make run`, by the end-to-end tests and by the benchmarks, so all
three run the services exactly the same way."""
import ctypes
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "config.yaml")

SERVICES = {
    "hazard": "services.hazard.service:HazardService",
    "checklist": "services.checklist.service:ChecklistService",
    "scoring": "services.scoring.service:ScoringService",
    "notify": "services.notify.service:NotifyService",
    "enforcement": "services.enforcement.service:EnforcementService",
    "gateway": "services.gateway.service:GatewayService",
}
DATABASE_KEYS = {"hazard": "HAZARD_DATABASE_URL", "checklist": "CHECKLIST_DATABASE_URL",
                 "scoring": "SCORING_DATABASE_URL", "notify": "NOTIFY_DATABASE_URL",
                 "enforcement": "ENFORCEMENT_DATABASE_URL"}


# The first authority admin of a platform started here (tests, benchmarks,
# `make run`); the README says to change its password on a real deployment.
ADMIN = ("admin", "admin-password-1")


# HOST is an IPv4 address or a host name: nameko's web server takes no IPv6 address.
LOOPBACK = ("127.0.0.1", "localhost")
ALL_INTERFACES = ("0.0.0.0", "")


def machine_address():
    """This machine's address on its network: the one its default route goes
    out of (a UDP socket's connect sends nothing). None without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))     # TEST-NET-1: any routed address will do
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def public_base_url(host, port):
    """Where people reach a gateway listening on `host`: localhost for a
    loopback host; the machine's network address for all interfaces (so a
    phone on the same network can open a position's QR code); else the host."""
    if host in LOOPBACK:
        host = "localhost"
    elif host in ALL_INTERFACES:
        host = machine_address() or "localhost"
    return "http://%s:%d" % (host, port)


def local_url(host, port):
    """The gateway's address for callers on this machine."""
    if host in ALL_INTERFACES or host in LOOPBACK:
        host = "127.0.0.1"
    return "http://%s:%d" % (host, port)


def listen_error(host, port):
    """The OSError a server listening on (host, port) would meet, or None.
    Checked before anything starts: the gateway's listener shares a port
    (SO_REUSEPORT) with another one that does the same, so a second platform
    on the port would not even fail — it would take half the requests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as servers do
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _die_with_parent():
    """In a service process before it runs: killed when the launcher dies
    without stopping it (SIGKILL, a crash), so no service outlives its
    launcher. SIGKILL, not SIGTERM: a nameko process told to stop while its
    broker is gone waits for ever, and nobody is left to kill it; a killed
    service is a crash, which the outbox, inbox and acks after commit survive."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)           # PR_SET_PDEATHSIG
        if os.getppid() == 1:                   # the launcher died before the prctl
            os.kill(os.getpid(), signal.SIGKILL)


# A consumer that runs as one process takes its events in batches of 200 (its
# queue's prefetch, 400, lets the next batch arrive while one is applied):
# one process applies them in delivery order. Replicas keep one event a
# worker: each would hold back hundreds, and an enterprise's events would be
# applied out of order across them far more often (einspection.nameko_glue,
# EventSubscription.setup).
ALONE_PREFETCH = "400"


def alone_settings(env):
    """The settings of a service's only process (unless `env` sets them)."""
    return {} if env.get("CONSUMER_PREFETCH") else {"CONSUMER_PREFETCH": ALONE_PREFETCH}


class Platform:
    def __init__(self, env, port, log_dir, admin=ADMIN):
        self.env = env
        self.port = port
        host = env.get("GATEWAY_ADDRESS", "127.0.0.1:%d" % port).rpartition(":")[0]
        self.base_url = local_url(host, port)
        self.public_base_url = env.get("PUBLIC_BASE_URL") or public_base_url(host, port)
        self.log_dir = log_dir
        self.admin = admin
        self.processes = {}
        self.metrics_ports = {}

    def ensure_admin(self):
        """Create the first authority admin in the register, unless it exists."""
        from einspection.errors import Conflict
        from services.checklist.cli import create_admin
        url = self.env.get("CHECKLIST_DATABASE_URL") or "sqlite:///" + os.path.join(
            ROOT, "var", "checklist.db")
        try:
            create_admin(url, *self.admin)
        except Conflict:
            pass

    def login(self, username=None, password=None):
        """A bearer token (the admin's unless told otherwise)."""
        if username is None:
            username, password = self.admin
        response = requests.post(self.base_url + "/api/v1/auth/token", timeout=30,
                                 json={"username": username, "password": password})
        response.raise_for_status()
        return response.json()["token"]

    def start_service(self, name, replica=0, extra_env=None):
        """Start one process of a service; several replicas of one may run.
        Each process gets a Prometheus metrics port of its own."""
        env = dict(self.env, **(extra_env or {}))
        key = "%s-%d" % (name, replica)
        if name != "gateway":               # the gateway serves /metrics on its HTTP port
            env.setdefault("METRICS_PORT", str(_free_port()))
            self.metrics_ports[key] = int(env["METRICS_PORT"])
        log = open(os.path.join(self.log_dir, key + ".log"), "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", CONFIG, SERVICES[name]],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        self.processes[key] = process
        return process

    def start(self, services=tuple(SERVICES), timeout=60, replicas=None, batches_alone=False):
        """Start `services`, `replicas[name]` processes of each (1 if not
        named). Replicas of a service share its queue (competing consumers)
        and its database; the gateway's share its port (SO_REUSEPORT, which
        eventlet's listener sets: the kernel spreads the connections).
        `batches_alone`: a service started once takes its events in batches
        (alone_settings), as `make run` and the benchmarks run it."""
        replicas = replicas or {}
        if self.admin and "checklist" in services:
            self.ensure_admin()
        for name in services:
            count = replicas.get(name, 1)
            for replica in range(count):
                extra = alone_settings(self.env) if batches_alone and count == 1 else None
                self.start_service(name, replica, extra)
        if "gateway" in services:
            self.wait_healthy(timeout)
            self.wait_listening(replicas.get("gateway", 1), timeout)
        return self

    def wait_listening(self, count, timeout=60):
        """Until `count` gateway processes listen on the port: /health answered
        by one says nothing of the others (Linux's /proc; elsewhere not waited)."""
        deadline = time.monotonic() + timeout
        while count > 1 and sys.platform.startswith("linux"):
            if listeners_on(self.port) >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("%d gateway processes not listening on port %d in %ss"
                                   % (count, self.port, timeout))
            time.sleep(0.2)

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for key, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError("%s exited with %s; see %s" % (
                        key, process.returncode, os.path.join(self.log_dir, key + ".log")))
            try:
                response = requests.get(self.base_url + "/health", timeout=5)
                if response.status_code == 200:
                    return response.json()
                last = response.text
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.3)
        raise TimeoutError("platform not healthy in %ss: %s" % (timeout, last))

    def print_logs(self, tail=4000):
        """The end of every process's log: for a failing test's output."""
        for name in sorted(os.listdir(self.log_dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.log_dir, name), errors="replace") as handle:
                    print("\n===== %s =====\n%s" % (name, handle.read()[-tail:]))

    def stop_service(self, key, sig=signal.SIGTERM, timeout=20):
        self._signal(self.processes[key], sig)
        self._reap(key, timeout)

    def stop(self, timeout=20):
        """SIGTERM to all at once (nameko stops gracefully), then wait for
        each; only one signal each: a second one makes nameko stop twice."""
        for process in self.processes.values():
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for key in list(self.processes):
            self._reap(key, max(0.1, deadline - time.monotonic()))

    @staticmethod
    def _signal(process, sig):
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass

    def _reap(self, key, timeout):
        process = self.processes.pop(key)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            process.wait()


def listeners_on(port):
    """How many sockets of this machine listen on TCP `port` (Linux's /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


MAX_REPLICAS = 16      # per service on one machine: more is a typo, not a plan


def parse_replicas(text):
    """REPLICAS="scoring=3 hazard=2" (spaces or commas between) as
    {"scoring": 3, "hazard": 2}; a service not named runs once. ValueError
    naming every unknown service and bad count."""
    replicas, problems = {}, []
    for item in re.split(r"[\s,]+", (text or "").strip()):
        if not item:
            continue
        name, equals, count = item.partition("=")
        if name not in SERVICES:
            problems.append("%r is not a service (the services: %s)"
                            % (name, ", ".join(SERVICES)))
        elif not equals or not re.fullmatch(r"[0-9]+", count) or not (
                1 <= int(count) <= MAX_REPLICAS):
            problems.append("%s: the count %r must be a whole number from 1 to %d"
                            % (name, count, MAX_REPLICAS))
        elif name in replicas:
            problems.append("%s is named twice" % name)
        else:
            replicas[name] = int(count)
    if problems:
        raise ValueError("REPLICAS=%r: %s" % (text, "; ".join(problems)))
    return replicas


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(amqp_uri, database_urls, port, exchange=None, queue_prefix=None, base=None,
                host="127.0.0.1"):
    """The services' environment: the gateway listens on `host`:`port`, and QR
    codes point at PUBLIC_BASE_URL — given, or where that gateway is reached."""
    env = dict(base if base is not None else os.environ)
    # every gateway process must sign tokens with the same key
    env.setdefault("AUTH_SECRET", secrets.token_urlsafe(32))
    if not env.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = public_base_url(host, port)
    env.update({"AMQP_URI": amqp_uri, "GATEWAY_ADDRESS": "%s:%d" % (host, port),
                "PYTHONPATH": ROOT, "PYTHONUNBUFFERED": "1",
                "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::UserWarning",
                # only silences eventlet's deprecation notice: nine lines of plain
                # stderr at import, before logging starts (docs/operations.md, Logs)
                "EVENTLET_TESTS": "1"})
    if exchange:
        env["EVENTS_EXCHANGE"] = exchange
    if queue_prefix:
        env["QUEUE_PREFIX"] = queue_prefix
    for service, url in database_urls.items():
        env[DATABASE_KEYS[service]] = url
    return env


def sqlite_urls(directory):
    os.makedirs(directory, exist_ok=True)
    return {name: "sqlite:///%s" % os.path.join(os.path.abspath(directory), name + ".db")
            for name in DATABASE_KEYS}
