"""The fault tests' own RabbitMQ node and PostgreSQL cluster (one each per
session; every test's platform has its own vhost and databases on them)."""
import contextlib
import os
import shutil
import tempfile

import pytest

from .harness import FaultPlatform
from .nodes import PostgresCluster, RabbitNode


@pytest.fixture(scope="session")
def fault_dir():
    # not under pytest's tmp (mode 0700): the broker runs as rabbitmq, the
    # cluster as postgres, and both must reach their folders
    path = tempfile.mkdtemp(prefix="einspection-faults-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbit(fault_dir):
    node = RabbitNode(fault_dir).start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def postgres(fault_dir):
    cluster = PostgresCluster(fault_dir).start()
    yield cluster
    cluster.destroy()


@contextlib.contextmanager
def platforms(request, rabbit, postgres, tmp_path_factory):
    """A maker of platforms on the own broker and cluster (see fault_platform),
    and their clean-up."""
    made = []

    def make(name, enterprises=10, services=None, replicas=None, **settings):
        log_dir = tmp_path_factory.mktemp("logs-%s" % name)
        platform = FaultPlatform(rabbit, postgres, str(log_dir), name, **settings)
        made.append(platform)
        if services is None:
            platform.start(replicas=replicas)
        else:
            platform.start(services, replicas=replicas)
        if services is None or "gateway" in services:
            platform.prepare(enterprises)
        return platform

    failed_before = request.session.testsfailed
    try:
        yield make
    finally:
        _clean_up(request, made, failed_before, rabbit, postgres)


def _clean_up(request, made, failed_before, rabbit, postgres):
    if not postgres.running:
        postgres.start()
    try:
        rabbit.start_app()
    except Exception:
        pass
    for platform in made:
        platform.stop()
        if request.session.testsfailed > failed_before:
            platform.print_logs(tail=6000)
        platform.rabbit.delete_vhost(platform.vhost)


@pytest.fixture
def fault_platform(request, rabbit, postgres, tmp_path_factory):
    """`fault_platform(name, **settings)`: the platform on the own broker and
    cluster, started, logged in, with enterprises registered. Its logs are
    printed if the test failed; a broker or cluster left stopped is started."""
    with platforms(request, rabbit, postgres, tmp_path_factory) as make:
        yield make


@pytest.fixture(scope="module")
def module_platform(request, rabbit, postgres, tmp_path_factory):
    """fault_platform for a module whose tests share one run."""
    with platforms(request, rabbit, postgres, tmp_path_factory) as make:
        yield make


@pytest.fixture(scope="session")
def stream_platform(request, rabbit, postgres, tmp_path_factory):
    """One platform for the tests that stream hazards through it and count
    per stream (broker and database outages, SIGTERM, kill -9): it starts
    once. Each test gets it with every process running."""
    with platforms(request, rabbit, postgres, tmp_path_factory) as make:
        platform = make("stream")
        yield platform


@pytest.fixture
def streaming(stream_platform):
    stream_platform.revive()
    return stream_platform
