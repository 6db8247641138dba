"""A RabbitMQ node and a PostgreSQL cluster of the fault tests' own: own
ports, own data directories, own node name. The tests stop and start these
(and only these); the machine's shared broker (5672) and PostgreSQL (5432)
are never touched.

    with RabbitNode(tmp) as rabbit, PostgresCluster(tmp) as postgres:
        rabbit.vhost("t1")          # an amqp URI
        postgres.database("hazard") # a postgresql URL
        rabbit.stop_app(); rabbit.start_app()
        postgres.stop(); postgres.start()

    with RabbitCluster(tmp, size=3) as cluster:   # one cluster of three such nodes
        cluster.nodes[0].kill()                   # kill -9 of its Erlang VM
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

def _pg_bin():
    """Debian's newest PostgreSQL server binaries (initdb, pg_ctl)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda path: int(path.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql (apt-get install "
                           "postgresql)")
    return os.path.dirname(found[-1])


RABBIT_BIN = "/usr/lib/rabbitmq/bin"     # the scripts Debian's /usr/sbin wrappers call
PG_BIN = _pg_bin() if os.path.isdir("/usr/lib/postgresql") else "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command, env=None, timeout=60, check=True):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            timeout=timeout, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("%s failed (%s): %s" % (" ".join(command), result.returncode,
                                                  result.stdout[-2000:]))
    return result


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RabbitNode:
    """`rabbitmq-server -detached` under a temp folder, with a config of its
    own: the machine's /etc/rabbitmq pins the shared node's listener and name."""

    def __init__(self, base_dir, name=None, cookie=None, peers=(), frugal=False):
        self.name = name or "faults-%s" % uuid.uuid4().hex[:6]
        self.node = "%s@localhost" % self.name
        self.dir = os.path.join(base_dir, "rabbit-" + self.name)
        self.port = free_port()
        self.dist_port = free_port()
        # an Erlang cookie of its own (a cluster's nodes share one): the node
        # and its rabbitmqctl then cannot even reach the shared node; without
        # one, both run through Debian's wrappers, which use the shared cookie
        self.cookie = cookie
        self.peers = list(peers)        # classic-config peer discovery, if any
        # Erlang's schedulers spin while idle: several nodes on two cores
        # then starve each other (and everything else) as they boot
        self.frugal = frugal
        self.env = None

    def _prepare(self):
        for sub in ("mnesia", "log", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as handle:
            handle.write("listeners.tcp.local = 127.0.0.1:%d\n"
                         "loopback_users = none\n"
                         # the shared machine's disk is often below the 50 MB default
                         "disk_free_limit.absolute = 1MB\n" % self.port)
            if self.peers:
                handle.write("cluster_formation.peer_discovery_backend = classic_config\n")
                for number, peer in enumerate(self.peers, 1):
                    handle.write("cluster_formation.classic_config.nodes.%d = %s\n"
                                 % (number, peer))
        open(os.path.join(self.dir, "enabled_plugins"), "w").close()
        # the server drops to the rabbitmq user: it must be able to write here
        for root, dirs, files in os.walk(self.dir):
            for each in dirs + files:
                os.chmod(os.path.join(root, each), 0o777)
        os.chmod(self.dir, 0o777)
        if self.cookie:
            self._write_cookie()
        self.env = dict(
            os.environ, HOME=os.path.join(self.dir, "home"), RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE="/dev/null",
            RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
            RABBITMQ_PID_FILE=os.path.join(self.dir, "rabbit.pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, "enabled_plugins"),
            ERL_EPMD_ADDRESS="127.0.0.1")
        if self.frugal:
            self.env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = (
                "+sbwt none +sbwtdcpu none +sbwtdio none")

    def _write_cookie(self):
        """HOME/.erlang.cookie, 0400 (Erlang refuses one others may read),
        owned by the user the server runs as; root (rabbitmqctl) reads it all
        the same."""
        path = os.path.join(self.dir, "home", ".erlang.cookie")
        with open(path, "w") as handle:
            handle.write(self.cookie)
        os.chmod(path, 0o400)
        if os.geteuid() == 0:
            shutil.chown(path, "rabbitmq", "rabbitmq")

    def _server_command(self):
        if not self.cookie:
            return ["rabbitmq-server", "-detached"]
        # Debian's wrapper (su rabbitmq) would reset HOME to /var/lib/rabbitmq,
        # and with it the cookie: keep the environment (su -m)
        server = os.path.join(RABBIT_BIN, "rabbitmq-server") + " -detached"
        if os.geteuid() == 0:
            return ["su", "-m", "rabbitmq", "-s", "/bin/sh", "-c", server]
        return ["/bin/sh", "-c", server]

    def ctl(self, *args, timeout=60, check=True):
        # with a cookie of its own, the CLI runs as is: as root it reads HOME's cookie
        command = os.path.join(RABBIT_BIN, "rabbitmqctl") if self.cookie else "rabbitmqctl"
        return _run([command, "-q", "-n", self.node, *args], env=self.env,
                    timeout=timeout, check=check)

    def launch(self):
        """Start the server, not waiting for it (see wait_started)."""
        self._prepare()
        _run(self._server_command(), env=self.env)

    def start(self, timeout=90):
        self.launch()
        return self.wait_started(timeout)

    def wait_listening(self, timeout=90):
        """Wait until the AMQP listener is open (the node has booted), cheaply:
        a rabbitmqctl costs a second of CPU."""
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            pid = self.beam_pid()
            if time.monotonic() > deadline or (pid is not None and not _alive(pid)):
                raise RuntimeError("RabbitMQ node %s did not start\n%s"
                                   % (self.node, self.log_tail()))
            time.sleep(0.1)

    def wait_started(self, timeout=90):
        deadline = time.monotonic() + timeout
        # await_startup fails until the node has registered with epmd: poll it
        while True:
            result = self.ctl("await_startup", "--timeout", "10", check=False, timeout=30)
            if result.returncode == 0 and _port_open(self.port):
                return self
            if time.monotonic() > deadline:
                raise RuntimeError("RabbitMQ node %s did not start: %s\n%s" % (
                    self.node, result.stdout[-1000:], self.log_tail()))
            time.sleep(0.5)

    def log_tail(self, size=3000):
        logs = os.path.join(self.dir, "log")
        text = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as handle:
                text.append("== %s\n%s" % (name, handle.read()[-size:]))
        return "\n".join(text)

    def stop_app(self):
        """The broker goes away (connections closed, port shut); the node stays."""
        self.ctl("stop_app", timeout=120)

    def start_app(self):
        self.ctl("start_app", timeout=120)
        deadline = time.monotonic() + 60
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("RabbitMQ node %s does not listen again" % self.node)
            time.sleep(0.1)

    def vhost(self, name):
        """amqp URI of a new vhost on this node."""
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return "amqp://guest:guest@127.0.0.1:%d/%s" % (self.port, name)

    def delete_vhost(self, name):
        self.ctl("delete_vhost", name, check=False)

    def beam_pid(self):
        """The node's Erlang VM (beam.smp), from the pid file it writes as it boots."""
        try:
            with open(os.path.join(self.dir, "rabbit.pid")) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def kill(self):
        """kill -9 the node's Erlang VM: it says goodbye to nobody."""
        pid = self.beam_pid()
        if pid is None:
            raise RuntimeError("RabbitMQ node %s wrote no pid file" % self.node)
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def stop(self, kill=False):
        """Stopped (rabbitmqctl stop; with `kill`, kill -9) and its folder gone."""
        if self.env is not None:
            pid = self.beam_pid()
            if pid is None:             # no pid file (yet): it can only be asked
                self.ctl("stop", timeout=120, check=False)
            elif _alive(pid):
                if not kill:
                    self.ctl("stop", timeout=120, check=False)
                if _alive(pid):         # stop did not reach it: it must not outlive the test
                    os.kill(pid, signal.SIGKILL)
                    _wait_gone(pid)
            # epmd forgets the name as soon as the VM is gone
            shutil.rmtree(self.dir, ignore_errors=True)
            self.env = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class RabbitCluster:
    """`size` RabbitNodes of one cluster: one Erlang cookie of their own, the
    same classic-config peer list in every node's rabbitmq.conf, all booted
    side by side (RabbitMQ ≥ 3.8.18 takes a lock, so one node forms the
    cluster and the others join it). A node found outside the cluster all
    the same is joined by hand (stop_app, reset, join_cluster, start_app).
    Stopped, every node is gone (kill -9: they are thrown away), also one
    that was killed before or never started."""

    def __init__(self, base_dir, size=3):
        cookie = uuid.uuid4().hex.upper()
        prefix = "cluster-%s" % uuid.uuid4().hex[:6]
        names = ["%s-%d" % (prefix, number) for number in range(1, size + 1)]
        peers = ["%s@localhost" % name for name in names]
        self.nodes = [RabbitNode(base_dir, name, cookie=cookie, peers=peers, frugal=True)
                      for name in names]
        self.timings = {}           # seconds since start: launched, booted, clustered

    def start(self, timeout=120):
        began = time.monotonic()
        try:
            for node in self.nodes:
                node.launch()
            self.timings["launched"] = time.monotonic() - began
            # peer discovery happens before the listener opens: once every
            # node listens, one rabbitmqctl (seconds each on a busy machine)
            # tells whether they formed one cluster
            _side_by_side([lambda node=node: node.wait_listening(timeout)
                           for node in self.nodes])
            self.timings["booted"] = time.monotonic() - began
            if self._join_strays():
                self.wait_clustered(timeout)
            self.timings["clustered"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def _join_strays(self):
        """Join the nodes the first does not see in its cluster; any joined?"""
        first = self.nodes[0]
        running = self.running_nodes()
        strays = [node for node in self.nodes[1:] if node.node not in running]
        for node in strays:
            self.timings.setdefault("joined by hand", []).append(node.name)
            node.ctl("stop_app", timeout=120)
            node.ctl("reset", timeout=120)
            node.ctl("join_cluster", first.node, timeout=120)
            node.start_app()
        return bool(strays)

    def running_nodes(self):
        """The nodes the first sees running in its cluster."""
        result = self.nodes[0].ctl("eval", "rabbit_nodes:all_running().")
        return sorted(re.findall(r"'([^']+)'", result.stdout))

    def wait_clustered(self, timeout=60):
        wanted = sorted(node.node for node in self.nodes)
        deadline = time.monotonic() + timeout
        while self.running_nodes() != wanted:
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster runs %s, not %s\n%s" % (
                    self.running_nodes(), wanted, self.nodes[-1].log_tail()))
            time.sleep(0.2)

    def node(self, name):
        """The node of this full name (name@localhost)."""
        return next(node for node in self.nodes if node.node == name)

    def stop(self):
        _side_by_side([lambda node=node: node.stop(kill=True) for node in self.nodes])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _side_by_side(calls):
    """Run the calls in threads; the first error, once every call ended."""
    errors = []

    def run(call):
        try:
            call()
        except BaseException as exc:
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class PostgresCluster:
    """initdb + pg_ctl under a temp folder, owned by the postgres user,
    listening on 127.0.0.1:<own port> and a socket in that folder."""

    def __init__(self, base_dir):
        self.dir = os.path.join(base_dir, "postgres-%s" % uuid.uuid4().hex[:6])
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.running = False

    def _as_postgres(self, *command, timeout=60, check=True):
        # PostgreSQL refuses to run as root: as root, run it as the postgres user
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return _run(prefix + list(command), timeout=timeout, check=check)

    def start(self):
        if not os.path.isdir(self.data):
            os.makedirs(self.dir)
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            self._as_postgres(os.path.join(PG_BIN, "initdb"), "-D", self.data,
                              "--auth=trust", "-U", "postgres", "-E", "UTF8",
                              "--locale=C.UTF-8")
        self._as_postgres(
            os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-l",
            os.path.join(self.dir, "log"), "-o",
            "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            % (self.port, self.dir), "start")
        self.running = True
        return self

    def stop(self, mode="fast"):
        """Stopped: every connection drops, new ones are refused."""
        if self.running:
            self._as_postgres(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w",
                              "-m", mode, "stop", check=False)
            self.running = False

    def url(self, database="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, database)

    def database(self, name):
        """URL of a new database of this cluster."""
        import psycopg2
        connection = psycopg2.connect(self.url())
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute('CREATE DATABASE "%s"' % name)
        connection.close()
        return self.url(name)

    def log_tail(self, size=3000):
        try:
            with open(os.path.join(self.dir, "log"), errors="replace") as handle:
                return handle.read()[-size:]
        except OSError:
            return ""

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()
