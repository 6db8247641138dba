"""Container healthchecks for compose.yaml and Kubernetes probes. Exit status 0 = healthy.

    python deploy/healthcheck.py rpc <service>   # a nameko service
    python deploy/healthcheck.py http <url>      # the gateway: <url> must answer 200
    python deploy/healthcheck.py live <service>  # liveness: this process's event loop answers
    python deploy/healthcheck.py ready <service> # readiness: what it needs answers

`live` asks nobody else, so a broker or database outage never gets a process
restarted: it fetches this process's own metrics endpoint
(127.0.0.1:METRICS_PORT), served by a green thread of the process's event
loop — a hub stuck in a blocking call does not answer it. For the gateway it
is GET /health/live on its port (GATEWAY_ADDRESS).

`ready` is `rpc` for a nameko service; for the gateway, GET /health/ready
(503 without the broker).

`rpc` checks two things: this container's process holds an established
connection to the broker (AMQP_URI), and the service answers its `health`
RPC, which reads its database. The RPC may be answered by another replica of
the service; the connection check is the part about this container. A
service `degraded` only by its event subscriptions or its outbox relay (the
event broker away: they reconnect by themselves, a restart would not help)
still passes; its database away does not. /health names both.

Only kombu and the standard library are used; the reply queue is exclusive
and goes away with the connection, so checks leave nothing on the broker.
"""
import os
import sys
import time
import urllib.request
import uuid
from urllib.parse import urlsplit

TIMEOUT = float(os.environ.get("HEALTHCHECK_TIMEOUT", "8"))
RPC_EXCHANGE = "nameko-rpc"   # nameko's default; config.yaml does not change it


def broker_port(uri):
    return urlsplit(uri).port or (5671 if uri.startswith("amqps") else 5672)


def has_broker_connection(port):
    """An ESTABLISHED TCP connection to `port` in this container's network
    namespace (the healthcheck has not opened its own yet)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def call_health(service, uri, timeout):
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    exchange = Exchange(RPC_EXCHANGE, type="topic", durable=True)
    reply_to = "healthcheck-%s-%s" % (service, uuid.uuid4().hex)
    correlation_id = uuid.uuid4().hex
    replies = []

    def on_reply(body, message):
        if message.properties.get("correlation_id") == correlation_id:
            replies.append(body)
        message.ack()

    with Connection(uri, connect_timeout=timeout) as connection:
        channel = connection.channel()
        queue = Queue(reply_to, exchange=exchange, routing_key=reply_to, exclusive=True,
                      auto_delete=True, durable=False)
        with Consumer(channel, queues=[queue], callbacks=[on_reply], accept=["json"]):
            Producer(channel).publish(
                {"args": [], "kwargs": {}}, exchange=exchange,
                routing_key=service + ".health", reply_to=reply_to,
                correlation_id=correlation_id, serializer="json",
                expiration=timeout, delivery_mode=1)
            deadline = time.monotonic() + timeout
            while not replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no reply from %s in %ss" % (service, timeout))
                try:
                    connection.drain_events(timeout=remaining)
                except TimeoutError:
                    continue
                except OSError as exc:       # socket.timeout on older kombu/amqp
                    if "timed out" not in str(exc):
                        raise
    reply = replies[0]
    if reply.get("error"):
        raise RuntimeError("%s.health failed: %s" % (service, reply["error"]))
    result = reply.get("result") or {}
    database = (result.get("dependencies") or {}).get("database") or {}
    if result.get("status") != "ok" and not (
            result.get("status") == "degraded" and database.get("status") == "ok"):
        raise RuntimeError("%s.health says %r" % (service, result))
    return result


def check_rpc(service):
    uri = os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    port = broker_port(uri)
    if not has_broker_connection(port):
        raise RuntimeError("no connection to the broker (port %d) in this container" % port)
    call_health(service, uri, TIMEOUT)


def check_http(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:   # non-2xx raises
        if response.status != 200:
            raise RuntimeError("%s answered %s" % (url, response.status))


def gateway_url(path):
    port = os.environ.get("GATEWAY_ADDRESS", "127.0.0.1:8000").rpartition(":")[2]
    return "http://127.0.0.1:%s%s" % (port, path)


def check_live(service):
    if service == "gateway":
        return check_http(gateway_url("/health/live"))
    port = int(os.environ.get("METRICS_PORT") or 0)
    if not port:
        raise RuntimeError("METRICS_PORT is not set: `live` asks the process's own "
                           "metrics endpoint")
    check_http("http://127.0.0.1:%d/metrics" % port)


def check_ready(service):
    if service == "gateway":
        return check_http(gateway_url("/health/ready"))
    check_rpc(service)


CHECKS = {"rpc": check_rpc, "http": check_http, "live": check_live, "ready": check_ready}


def main(argv):
    if len(argv) != 3 or argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        CHECKS[argv[1]](argv[2])
    except Exception as exc:
        print("unhealthy: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
