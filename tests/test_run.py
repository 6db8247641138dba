"""`make run` as a newcomer meets it: `python -m tools.run` in a process of
its own (its own vhost, queues and var dir), on a free port. A port in use
is one clear line; QR codes point at the port and, with HOST=0.0.0.0, at the
machine's network address; whatever stops the launcher stops every service
process it started — Ctrl-C, SIGTERM, a closed terminal (SIGHUP), even SIGKILL."""
import errno
import fcntl
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
import uuid

import pytest
import requests
from sqlalchemy import select as sql_select

from einspection.db import make_engine
from services.checklist import documents, projections
from services.checklist.positions import scan_url
from tools import launch

from . import factories
from .support import free_port, wait_until

RUNNING = "E-inspection is running"


def children_of(pid):
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def descendants_of(pid):
    """Every process below `pid`: its children, theirs, and so on."""
    found, parents = [], [pid]
    while parents:
        children = [child for parent in parents for child in children_of(parent)]
        found += children
        parents = children
    return found


def alive(pid):
    """Running, not a zombie waiting for its new parent to reap it."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Launcher:
    """`python -m tools.run --no-demo` with its own broker vhost, queue prefix,
    exchange and var dir; its output on a pipe, or on a terminal (`tty`)."""

    def __init__(self, amqp_uri, var_dir, *args, tty=False, make=False):
        self.port = free_port()
        self.prefix = prefix = "run-" + uuid.uuid4().hex[:6]
        env = dict(os.environ, AMQP_URI=amqp_uri, VAR_DIR=str(var_dir), QUEUE_PREFIX=prefix,
                   EVENTS_EXCHANGE=prefix + ".events", PYTHONUNBUFFERED="1")
        for key in list(launch.DATABASE_KEYS.values()) + ["PUBLIC_BASE_URL", "EVIDENCE_DIR"]:
            env.pop(key, None)
        command = [sys.executable, "-m", "tools.run", "--port", str(self.port), "--no-demo",
                   *args]
        if make:
            # `make run` itself (make, the shell it runs the recipe in, the launcher),
            # the virtualenv taken as it is (-o venv: nothing installed)
            command = ["make", "-s", "--no-print-directory", "-o", "venv", "run",
                       "PY=" + sys.executable, "HOST=127.0.0.1", "PORT=%d" % self.port,
                       "REPLICAS=", "RUN_ARGS=" + " ".join(("--no-demo",) + args)]
        self.output = ""
        self.services = []          # its service processes, once a test looked them up
        if tty:
            # The terminal a newcomer types `make run` in: the launcher leads a
            # session whose controlling terminal is this pty.
            self.master, slave = pty.openpty()
            self.process = subprocess.Popen(
                command, cwd=launch.ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                start_new_session=True,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
            os.close(slave)
            self._fd = self.master
        else:
            self.master = None
            self.process = subprocess.Popen(command, cwd=launch.ROOT, env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self._fd = self.process.stdout.fileno()

    def read_until(self, text, timeout=90):
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError("no %r from the launcher in %ss:\n%s"
                                     % (text, timeout, self.output))
            ready, _, _ = select.select([self._fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self._fd, 65536)
                except OSError as exc:          # a pty whose other end is gone
                    if exc.errno != errno.EIO:
                        raise
                    chunk = b""
                if not chunk:
                    if self.process.poll() is not None:
                        raise AssertionError("the launcher exited with %s:\n%s"
                                             % (self.process.returncode, self.output))
                    time.sleep(0.1)
                self.output += chunk.decode(errors="replace")
        return self.output

    def rest(self, timeout=60):
        """Wait for the launcher to end; its remaining output (pipe only)."""
        self.process.wait(timeout)
        if self.master is None:
            self.output += self.process.stdout.read().decode(errors="replace")
        return self.output

    def stop(self):
        """Stop it as a user would (SIGTERM), before its vhost goes."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass


@pytest.fixture
def launched(own_broker, tmp_path):
    started = []

    def start(*args, tty=False, make=False):
        launcher = Launcher(own_broker, tmp_path / ("var-%d" % len(started)), *args, tty=tty,
                            make=make)
        started.append(launcher)
        return launcher
    yield start
    for launcher in started:
        if launcher.process.poll() is None:
            launcher.services = launcher.services or children_of(launcher.process.pid)
        launcher.stop()
    for launcher in started:        # what a failed test left running is ended here
        for pid in launcher.services:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_port_in_use_is_one_clear_line_and_nothing_starts(own_broker, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, AMQP_URI=own_broker, VAR_DIR=str(tmp_path / "var"))
        started = time.monotonic()
        finished = subprocess.run([sys.executable, "-m", "tools.run", "--port", str(port),
                                   "--no-demo"], cwd=launch.ROOT, env=env, capture_output=True,
                                  text=True, timeout=60)
    assert finished.returncode != 0
    assert finished.stderr.strip() == (
        "port %d is in use: stop what listens there, or pick another port (make run PORT=%d)."
        % (port, port + 1))
    assert "Traceback" not in finished.stdout + finished.stderr
    assert not (tmp_path / "var").exists()                 # checked before anything started
    assert time.monotonic() - started < 20


def test_bad_replicas_are_one_clear_line_naming_them_and_nothing_starts(tmp_path):
    env = dict(os.environ, VAR_DIR=str(tmp_path / "var"), AMQP_URI="amqp://nowhere:1/")
    finished = subprocess.run([sys.executable, "-m", "tools.run", "--port", str(free_port()),
                               "--no-demo", "--replicas", "scoring=3 scorer=2 hazard=0 notify=x"],
                              cwd=launch.ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode == 2
    line = finished.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, line
    assert "'scorer' is not a service (the services: hazard, checklist, scoring" in line
    assert "hazard: the count '0' must be a whole number from 1 to" in line
    assert "notify: the count 'x' must be a whole number" in line
    assert "scoring:" not in line                          # scoring=3 is fine
    assert not (tmp_path / "var").exists()                 # checked before anything started


def test_replicas_are_parsed():
    assert launch.parse_replicas("") == {}
    assert launch.parse_replicas(" scoring=3 hazard=2,notify=2  gateway=2 ") == {
        "scoring": 3, "hazard": 2, "notify": 2, "gateway": 2}
    for bad, says in [("scoring", "scoring: the count ''"), ("scoring=3 scoring=2", "twice"),
                      ("gateway=99", "from 1 to 16"), ("=2", "'' is not a service"),
                      ("scoring=-1", "'-1'")]:
        with pytest.raises(ValueError, match=re.escape(says)):
            launch.parse_replicas(bad)


def queue_consumers(amqp_uri, queue):
    from kombu import Connection
    with Connection(amqp_uri) as connection:
        try:
            return connection.channel().queue_declare(queue, passive=True).consumer_count
        except Exception:
            return None


def test_replicas_start_that_many_processes_sharing_the_queue_and_the_port(launched,
                                                                          own_broker):
    launcher = launched("--replicas", "scoring=2 gateway=2")
    output = launcher.read_until(RUNNING)
    assert "scoring (2 processes)" in output and "gateway (2 processes)" in output
    assert "note: scoring on SQLite with several processes" in output
    launcher.services = children_of(launcher.process.pid)
    assert len(launcher.services) == len(launch.SERVICES) + 2, launcher.services
    # the two scoring processes compete for the one scoring queue
    wait_until(lambda: queue_consumers(own_broker, launcher.prefix + ".scoring") == 2,
               timeout=30, message="two consumers on the scoring queue")
    assert queue_consumers(own_broker, launcher.prefix + ".hazard") == 1
    # the two gateways listen on the one port (SO_REUSEPORT), both before the
    # launcher says it is running, and it answers
    assert launch.listeners_on(launcher.port) == 2
    health = requests.get("http://127.0.0.1:%d/health" % launcher.port, timeout=30)
    assert health.status_code == 200, health.text
    # each new connection goes to one of them: 24 reach both (all on one: 2**-23)
    for _ in range(24):
        live = requests.get("http://127.0.0.1:%d/health/live" % launcher.port, timeout=30)
        assert live.status_code == 200, live.text
    log_dir = os.path.join(launcher_var(launcher), "log")
    for replica in (0, 1):
        with open(os.path.join(log_dir, "gateway-%d.log" % replica), errors="replace") as log:
            assert "/health/live" in log.read(), "gateway-%d served nothing" % replica


def _login(base_url):
    response = requests.post(base_url + "/api/v1/auth/token", timeout=30, json=dict(
        zip(("username", "password"), launch.ADMIN)))
    response.raise_for_status()
    return {"Authorization": "Bearer " + response.json()["token"]}


def _qr_of_a_new_position(base_url, var_dir):
    """(the position's QR code as served, its token from the checklist store)."""
    headers = _login(base_url)
    enterprise = requests.post(base_url + "/api/v1/enterprises", json=factories.enterprise(),
                               headers=headers, timeout=30)
    assert enterprise.status_code == 201, enterprise.text
    position = requests.post(base_url + "/api/v1/enterprises/%s/positions"
                             % enterprise.json()["id"], json={"name": "Gate"},
                             headers=headers, timeout=30)
    assert position.status_code == 201, position.text
    svg = requests.get(base_url + "/api/v1/positions/%s/qr.svg" % position.json()["id"],
                       headers=headers, timeout=30)
    engine = make_engine("sqlite:///%s" % os.path.join(var_dir, "checklist.db"))
    try:
        with engine.connect() as conn:
            token = conn.execute(sql_select(projections.positions.c.token).where(
                projections.positions.c.position_id == position.json()["id"])).scalar_one()
    finally:
        engine.dispose()
    return svg.content, token


def test_qr_codes_follow_the_port(launched):
    launcher = launched()
    output = launcher.read_until(RUNNING + ", on 127.0.0.1 only")
    base = "http://localhost:%d" % launcher.port
    assert "QR codes      point at %s/scan/" % base in output
    served, token = _qr_of_a_new_position(base, str(launcher_var(launcher)))
    assert served == documents.qr_svg(scan_url(base, token))


def launcher_var(launcher):
    return re.search(r"data +(\S+) \(SQLite\)", launcher.output).group(1)


def test_host_0_0_0_0_serves_the_network_and_qr_codes_carry_the_machines_address(launched):
    address = launch.machine_address()
    if address is None:
        pytest.skip("this machine has no network address")
    launcher = launched("--host", "0.0.0.0")
    output = launcher.read_until(RUNNING + ", on every interface")
    base = "http://%s:%d" % (address, launcher.port)
    assert "QR codes      point at %s/scan/" % base in output
    assert "web pages     %s/app/" % base in output
    # what a phone on the network does: the printed address answers
    assert requests.get(base + "/health", timeout=30).status_code == 200
    served, token = _qr_of_a_new_position(base, launcher_var(launcher))
    assert served == documents.qr_svg(scan_url(base, token))


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGHUP: the terminal closes",
                                 "SIGKILL"])
def test_whatever_stops_the_launcher_stops_every_service(launched, how):
    launcher = launched(tty=how.startswith("SIGHUP"))
    launcher.read_until(RUNNING)
    launcher.services = children_of(launcher.process.pid)
    assert len(launcher.services) == len(launch.SERVICES), launcher.services
    if how.startswith("SIGHUP"):
        os.close(launcher.master)               # the kernel hangs up the session's leader
        launcher.master = None
    else:
        os.kill(launcher.process.pid, getattr(signal, how))
    launcher.process.wait(60)
    if how != "SIGKILL":
        assert launcher.process.returncode == 0
    if how in ("SIGINT", "SIGTERM"):
        output = launcher.rest()
        assert "stopping (%s) ..." % how in output and output.rstrip().endswith("stopped.")
        assert "Traceback" not in output
    wait_until(lambda: not any(alive(pid) for pid in launcher.services), timeout=30,
               message="every service process to end after %s" % how)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP: the terminal closes"])
def test_whatever_stops_make_run_stops_every_service(launched, how):
    """`make run` as typed: make runs its recipe in a shell. A SIGTERM to make
    (`kill` of the pid a script or a process manager holds) is passed on to
    that child, which must be the launcher (the recipe execs it), not a shell
    that dies alone and leaves the platform running. A closed terminal hangs
    up the shell make was typed in, which hangs up its job — make's process
    group (here make leads the session: the kernel signals only it, and make
    waits for its child, so the test does what that shell does): no service
    outlives make."""
    launcher = launched(tty=how.startswith("SIGHUP"), make=True)
    launcher.read_until(RUNNING)
    below = descendants_of(launcher.process.pid)
    launcher.services = below                     # what the fixture ends if this test fails
    assert len(below) >= len(launch.SERVICES) + 1, below    # the launcher and its services
    if how.startswith("SIGHUP"):
        os.close(launcher.master)
        launcher.master = None
        os.killpg(os.getpgid(launcher.process.pid), signal.SIGHUP)
    else:
        os.kill(launcher.process.pid, signal.SIGTERM)
    launcher.process.wait(60)
    wait_until(lambda: not any(alive(pid) for pid in below), timeout=30,
               message="the launcher and every service to end after %s to make" % how)
