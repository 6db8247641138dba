"""Helpers for tests that talk to the running platform and the broker."""
import email
import email.policy
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

import pika
import requests
from kombu import Connection, Exchange, Queue


from tools.launch import _free_port as free_port  # noqa: E402


def wait_until(check, timeout=30.0, interval=0.1, message="condition"):
    """Poll `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, message, last))


_broker_clock_ahead = []


def broker_now():
    """Now by the broker's clock, which stamps the stream's chunks: reading
    "from an instant" means the broker's instant. A node started before the
    machine's clock was set (a VM resumed from a snapshot) stays that far
    behind, since Erlang's default time-warp mode fixes the offset at start
    (docs/operations.md, The broker's clock); so the tests ask the node."""
    from datetime import datetime, timedelta, timezone
    if not _broker_clock_ahead:
        answer = subprocess.run(
            ["rabbitmqctl", "-q", "eval", "erlang:system_time(millisecond)."],
            capture_output=True, text=True, timeout=60)
        # rabbitmqctl is an Erlang VM of its own, seconds to start on a loaded
        # machine: compared with the time it ended, the broker's answer errs
        # early, and an instant a little early only reads a few events more
        told = time.time()
        try:
            broker_ms = int(answer.stdout.strip())
        except ValueError:
            raise AssertionError("rabbitmqctl eval gave no clock: %s" % answer.stderr)
        _broker_clock_ahead.append(broker_ms / 1000.0 - told)
    return datetime.now(timezone.utc) + timedelta(seconds=_broker_clock_ahead[0])


class Api:
    """The HTTP API as one account (`token`), or as nobody."""

    def __init__(self, base_url, token=None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = "Bearer " + token

    def put(self, path, body=None, **kwargs):
        return self.session.put(self.base_url + path, json=body, timeout=30, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.session.patch(self.base_url + path, json=body, timeout=30, **kwargs)

    def delete(self, path, **kwargs):
        return self.session.delete(self.base_url + path, timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path, body=None, raw=None, headers=None, **kwargs):
        data = raw if raw is not None else json.dumps(body)
        return self.session.post(self.base_url + path, data=data, timeout=30,
                                 headers=dict({"Content-Type": "application/json"},
                                              **(headers or {})), **kwargs)


class EventTap:
    """An integrator's own queue on the events exchange: a plain kombu
    consumer that belongs to no service."""

    def __init__(self, amqp_uri, exchange_name, binding_key="#"):
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()
        exchange = Exchange(exchange_name, type="topic", durable=True)
        exchange.bind(self.channel).declare()
        self.queue = Queue("integrator-" + uuid.uuid4().hex[:8], exchange=exchange,
                           routing_key=binding_key, exclusive=True, auto_delete=True)
        self.messages = []
        self.consumer = self.connection.Consumer(queues=[self.queue], channel=self.channel,
                                                 on_message=self._on_message, no_ack=False)
        self.consumer.consume()

    def _on_message(self, message):
        self.messages.append(message)
        message.ack()

    def drain(self, seconds=0.2):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.connection.drain_events(timeout=0.05)
            except (socket.timeout, TimeoutError):
                pass

    def wait_for(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if predicate(json.loads(m.body))]
            if found:
                return found
            self.drain(0.1)
        raise AssertionError("no matching event in %ss; got %d messages"
                             % (timeout, len(self.messages)))

    def bodies(self):
        return [json.loads(m.body) for m in self.messages]

    def close(self):
        try:
            self.consumer.cancel()
        finally:
            self.connection.release()


def read_stream(amqp_uri, stream, offset, until_offset=None, until=None, timeout=30.0):
    """[(offset, routing key, envelope)] from `offset` ("first", a number or a
    datetime), up to and including `until_offset`, or until `until(events)`."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=200)        # a stream consumer must set one
        events = []

        def on_message(ch, method, properties, body):
            events.append((properties.headers["x-stream-offset"], method.routing_key,
                           json.loads(body)))
            ch.basic_ack(method.delivery_tag)

        channel.basic_consume(stream, on_message, arguments={"x-stream-offset": offset})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until_offset is not None and events and events[-1][0] >= until_offset:
                break
            if until is not None and until(events):
                break
            connection.process_data_events(time_limit=0.2)
        else:
            raise AssertionError("the stream %s did not give what was awaited in %ss (%d read)"
                                 % (stream, timeout, len(events)))
        if until_offset is not None:
            events = [event for event in events if event[0] <= until_offset]
        return events
    finally:
        connection.close()


class TcpProxy:
    """A switchable TCP hop between a service and the broker: `stop()` makes
    the broker unreachable (connections drop, new ones are refused), `start()`
    brings it back on the same port."""

    def __init__(self, target_port, target_host="127.0.0.1"):
        import eventlet
        self._eventlet = eventlet
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server = None
        self.sockets = []
        self.threads = []

    def start(self):
        self.server = self._eventlet.listen(("127.0.0.1", self.port))
        self.threads.append(self._eventlet.spawn(self._accept, self.server))
        return self

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = self._eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            self.threads.append(self._eventlet.spawn(self._pipe, client, upstream))
            self.threads.append(self._eventlet.spawn(self._pipe, upstream, client))

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def stop(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
        self.sockets = []
        for thread in self.threads:
            thread.kill()
        self.threads = []

    def uri(self, vhost_uri):
        """`vhost_uri` with host and port replaced by the proxy's."""
        scheme, rest = vhost_uri.split("://", 1)
        credentials, location = rest.split("@", 1)
        vhost = location.split("/", 1)[1] if "/" in location else ""
        return "%s://%s@127.0.0.1:%d/%s" % (scheme, credentials, self.port, vhost)


def publish_raw(amqp_uri, exchange, routing_key, body):
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(body, exchange=Exchange(exchange, type="topic", durable=True),
                         routing_key=routing_key, serializer=None, delivery_mode=2,
                         content_type="application/cloudevents+json", declare=[
                             Exchange(exchange, type="topic", durable=True)])


class SmtpSink:
    """A real SMTP server in a child process (tests/smtp_sink.py); `messages`
    reads what it accepted, as email.message objects."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        os.makedirs(directory, exist_ok=True)

    def start(self):
        script = os.path.join(os.path.dirname(__file__), "smtp_sink.py")
        self.process = subprocess.Popen([sys.executable, script, str(self.port),
                                         self.directory])
        wait_until(lambda: os.path.exists(os.path.join(self.directory, "ready")),
                   timeout=20, message="the SMTP sink to start")
        return self

    def stop(self):
        self.process.terminate()
        self.process.wait(10)

    def control(self, name, on):
        path = os.path.join(self.directory, name)
        if on:
            open(path, "w").close()
        elif os.path.exists(path):
            os.remove(path)

    def holding(self):
        """True while the server keeps a sender waiting (see `control('hold')`)."""
        return os.path.exists(os.path.join(self.directory, "holding"))

    def messages(self, to=None):
        found = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".eml"):
                with open(os.path.join(self.directory, name), "rb") as handle:
                    message = email.message_from_binary_file(handle, policy=email.policy.default)
                if to is None or message["To"] == to:
                    found.append(message)
        return found


class WebhookReceiver:
    """A local HTTP endpoint that records every POST (headers and body) and
    answers with `status` (settable, e.g. 500 for a failing receiver), extra
    `headers` and `body`; `first`: the statuses of the first POSTs, in order,
    before `status`. With `tls` (certificate file, key file) it speaks
    HTTPS and records the server name (SNI) each client asked for. `delay`:
    seconds it takes before answering (a slow receiver)."""

    def __init__(self, status=204, headers=None, body=b"", tls=None, first=(), delay=0.0):
        self.status = status
        self.delay = delay
        self.first = list(first)
        self.headers = dict(headers or {})
        self.body = body
        self.received = []
        self.server_names = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(receiver.first.pop(0) if receiver.first else receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d/hook" % (scheme, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
