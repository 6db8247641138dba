"""Helpers for tests that talk to the running platform and the broker."""
import json
import socket
import time
import uuid

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


class Api:
    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path, **kwargs):
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path, body=None, raw=None, **kwargs):
        data = raw if raw is not None else json.dumps(body)
        return self.session.post(self.base_url + path, data=data, timeout=30,
                                 headers={"Content-Type": "application/json"}, **kwargs)


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
