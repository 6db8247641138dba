"""An RPC request whose connection is cut after the broker took it, before
its confirm came back: the broker has the request (the service would run
it), so the gateway's answer, a 503 "the message broker is unavailable",
says that the command may have been done and names the Idempotency-Key to
send it again with — never "nothing was done". The cut is made by a TCP
proxy in front of the shared broker (which is used, never stopped)."""
import json
import socket

import eventlet
import eventlet.event
import pytest
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from einspection.auth import Principal
from einspection.nameko_glue import RPC_PUBLISH_RETRY
from services.gateway.http_json import (BROKER_UNAVAILABLE, HttpError, call_within,
                                        command_of, error_response, with_idempotency_key)

BASIC_PUBLISH = b"\x00\x3c\x00\x28"       # a method frame's class 60 (basic), method 40 (publish)


class ConfirmCutter:
    """A TCP proxy to the broker. Once a client has sent a basic.publish it
    forwards the rest of the message to the broker but nothing more back
    (so its confirm never arrives), then, a moment later, cuts the client's
    connection and takes no new one (the client's retries are refused)."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = False
        self.done = eventlet.event.Event()
        self.sockets = []
        self.threads = [eventlet.spawn(self._accept)]

    def _accept(self):
        while not self.cut:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = eventlet.connect(self.upstream)
            self.sockets += [client, upstream]
            self.threads += [eventlet.spawn(self._to_broker, client, upstream),
                             eventlet.spawn(self._to_client, upstream, client)]

    def _to_broker(self, client, upstream):
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    return
                if BASIC_PUBLISH in data and not self.cut:
                    self.cut = True             # from now on, nothing goes back
                    eventlet.spawn_after(0.5, self._cut)
                upstream.sendall(data)
        except OSError:
            return

    def _to_client(self, upstream, client):
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    return
                if not self.cut:
                    client.sendall(data)
        except OSError:
            return

    def _cut(self):
        # no greenthread left waiting on a socket closed here (its file
        # descriptor is soon another's)
        for thread in self.threads:
            thread.kill()
        self.listener.close()
        for each in self.sockets:
            try:
                each.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            each.close()
        self.done.send()

    def close(self):
        if not self.done.ready():
            self._cut()


@pytest.fixture
def rpc_queue(own_broker):
    """The vhost's RPC exchange and a service's request queue, bound as nameko's."""
    exchange = Exchange("nameko-rpc", type="topic", durable=True)
    queue = Queue("rpc-hazard", exchange=exchange, routing_key="hazard.*", durable=True)
    with Connection(own_broker) as connection:
        queue.bind(connection.channel()).declare()
    return own_broker, exchange, queue


def test_a_request_the_broker_took_whose_confirm_was_cut_may_have_been_done(rpc_queue):
    uri, exchange, queue = rpc_queue
    broker = Connection(uri)
    host, port = broker.hostname, broker.port or 5672
    broker.release()
    proxy = ConfirmCutter(host, port)
    try:
        through = "amqp://guest:guest@127.0.0.1:%d/%s" % (proxy.port, uri.rsplit("/", 1)[1])
        publisher = Publisher(through, retry_policy=RPC_PUBLISH_RETRY)

        def report_hazard():
            publisher.publish({"args": [], "kwargs": {}}, exchange=exchange,
                              routing_key="hazard.report_hazard", mandatory=True)

        request = Request(EnvironBuilder(method="POST", path="/api/v1/hazards",
                                         headers={"Idempotency-Key": "k-cut"}).get_environ())
        request.principal = Principal(account_id="a-1", username="baide.li",
                                      role="enterprise_manager", enterprise_id="e-1")
        command_id, _deadline = command_of(request)
        request.acting = {"command_id": command_id}
        with pytest.raises(HttpError) as raised:
            call_within(10, report_hazard)
    finally:
        proxy.close()
    exc = raised.value
    assert proxy.cut and (exc.status, exc.message) == (503, BROKER_UNAVAILABLE)
    assert exc.headers["Retry-After"]
    # the broker has the request: the service would run it
    with Connection(uri) as connection:
        assert queue.bind(connection.channel()).queue_declare(passive=True).message_count == 1
    request.nothing_done = exc.nothing_done
    answer = with_idempotency_key(request, error_response(exc.status, exc.message,
                                                          headers=exc.headers))
    message = json.loads(answer.get_data())["error"]["message"]
    assert message.startswith(BROKER_UNAVAILABLE)
    assert "may have been done" in message and "Idempotency-Key: k-cut" in message
