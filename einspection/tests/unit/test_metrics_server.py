"""Where a service process serves its Prometheus metrics: on loopback unless
METRICS_ADDRESS opens it (as compose.yaml does for a Prometheus in another
container). Read from the kernel's table of listening sockets."""
from types import SimpleNamespace

import pytest
import requests

from einspection.nameko_glue import MetricsServer
from tools.launch import _free_port

LISTEN = "0A"


def listening_on(port):
    """The local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.rpartition(":")
            if int(hex_port, 16) == port and state == LISTEN:
                found.add(address)
    return found


def serving(config):
    server = MetricsServer()
    server.container = SimpleNamespace(config=config)
    server.setup()
    return server


@pytest.mark.parametrize("config, address", [
    ({}, "0100007F"),                                   # 127.0.0.1
    ({"METRICS_ADDRESS": "0.0.0.0"}, "00000000"),
])
def test_metrics_listen_on_loopback_unless_the_deployment_opens_them(monkeypatch, config,
                                                                     address):
    monkeypatch.delenv("METRICS_ADDRESS", raising=False)
    port = _free_port()
    server = serving(dict(config, METRICS_PORT=str(port)))
    try:
        assert listening_on(port) == {address}
        response = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=10)
        assert response.status_code == 200 and "python_info" in response.text
    finally:
        server.stop()
    assert listening_on(port) == set()                 # stopped with its service

