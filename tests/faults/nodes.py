"""A RabbitMQ node and a PostgreSQL cluster of the fault tests' own: own
ports, own data directories, own node name. The tests stop and start these
(and only these); the machine's shared broker (5672) and PostgreSQL (5432)
are never touched.

    with RabbitNode(tmp) as rabbit, PostgresCluster(tmp) as postgres:
        rabbit.vhost("t1")          # an amqp URI
        postgres.database("hazard") # a postgresql URL
        rabbit.stop_app(); rabbit.start_app()
        postgres.stop(); postgres.start()
"""
import glob
import os
import shutil
import socket
import subprocess
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


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RabbitNode:
    """`rabbitmq-server -detached` under a temp folder, with a config of its
    own: the machine's /etc/rabbitmq pins the shared node's listener and name."""

    def __init__(self, base_dir, name=None):
        self.name = name or "faults-%s" % uuid.uuid4().hex[:6]
        self.node = "%s@localhost" % self.name
        self.dir = os.path.join(base_dir, "rabbit-" + self.name)
        self.port = free_port()
        self.dist_port = free_port()
        self.env = None

    def _prepare(self):
        for sub in ("mnesia", "log", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as handle:
            handle.write("listeners.tcp.local = 127.0.0.1:%d\n"
                         "loopback_users = none\n"
                         # the shared machine's disk is often below the 50 MB default
                         "disk_free_limit.absolute = 1MB\n" % self.port)
        open(os.path.join(self.dir, "enabled_plugins"), "w").close()
        # the server drops to the rabbitmq user: it must be able to write here
        for root, dirs, files in os.walk(self.dir):
            for each in dirs + files:
                os.chmod(os.path.join(root, each), 0o777)
        os.chmod(self.dir, 0o777)
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

    def ctl(self, *args, timeout=60, check=True):
        return _run(["rabbitmqctl", "-q", "-n", self.node, *args], env=self.env,
                    timeout=timeout, check=check)

    def start(self, timeout=90):
        self._prepare()
        _run(["rabbitmq-server", "-detached"], env=self.env)
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

    def stop(self):
        if self.env is not None:
            self.ctl("stop", timeout=120, check=False)
            # epmd forgets the name a moment after the node is gone
            shutil.rmtree(self.dir, ignore_errors=True)
            self.env = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


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
