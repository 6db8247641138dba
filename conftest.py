"""Shared test fixtures. Every run gets its own RabbitMQ vhost and its own
databases, and deletes them afterwards, so runs never see each other."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # its own notice

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402  (nameko needs it before anything else imports socket)

import os  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

# Every platform a test starts inherits these: `make test` runs three pytest
# processes side by side, each with PostgreSQL platforms of six processes, on
# one server of max_connections 100. Two connections kept per process (more
# only while busy) keep them all under it.
os.environ.setdefault("DATABASE_POOL_SIZE", "2")

BROKER_HOST = os.environ.get("TEST_BROKER_HOST", "127.0.0.1:5672")
POSTGRES_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b for b in os.environ.get("TEST_BACKENDS", "sqlite,postgres").split(",") if b]


@pytest.fixture(scope="session")
def run_id():
    return uuid.uuid4().hex[:8]


def _rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def _vhost(name):
    """amqp URI of a new vhost; delete it with _rabbitmqctl("delete_vhost", name)."""
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return "amqp://guest:guest@%s/%s" % (BROKER_HOST, name)


@pytest.fixture(scope="session")
def broker(run_id):
    """amqp URI of a vhost that exists for this test run only."""
    vhost = "einspection-test-" + run_id
    yield _vhost(vhost)
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def own_broker(run_id):
    """amqp URI of a vhost for one test: services it starts share no RPC
    queue with the session's platform (which may be running meanwhile)."""
    vhost = "einspection-test-%s-%s" % (run_id, uuid.uuid4().hex[:6])
    yield _vhost(vhost)
    _rabbitmqctl("delete_vhost", vhost)


class Databases:
    """Fresh databases by name: SQLite files in a temp folder, or PostgreSQL
    databases named after the run, dropped at the end."""

    def __init__(self, run_id, tmp_dir):
        self.run_id = run_id
        self.tmp_dir = tmp_dir
        self.created = []

    def url(self, backend, name):
        name = "%s_%s" % (name, uuid.uuid4().hex[:6])
        if backend == "sqlite":
            return "sqlite:///" + os.path.join(self.tmp_dir, name + ".db")
        import psycopg2
        database = "ein_%s_%s" % (self.run_id, name)
        connection = psycopg2.connect(POSTGRES_DSN)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute('CREATE DATABASE "%s"' % database)
        connection.close()
        self.created.append(database)
        return POSTGRES_DSN.rsplit("/", 1)[0] + "/" + database

    def drop_all(self):
        if not self.created:
            return
        import psycopg2
        connection = psycopg2.connect(POSTGRES_DSN)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for database in self.created:
                cursor.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % database)
        connection.close()


@pytest.fixture(scope="session")
def databases(run_id, tmp_path_factory):
    dbs = Databases(run_id, str(tmp_path_factory.mktemp("db")))
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def artifacts_dir():
    # not emptied: tools/test_shards.py writes its shards' logs here meanwhile
    path = os.path.join(os.path.dirname(__file__), "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path
