"""A command whose RPC request could not be published answers 503 "the
message broker is unavailable": that it was not done only when no attempt
could have reached the broker (every connection refused); when a connection
went while the broker may have had the request (its confirm lost), the
answer says it may have been done and names the key to retry with."""
import json
import socket

import kombu.exceptions
import pytest
from kombu import Exchange
from nameko.amqp.publish import Publisher
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from einspection.auth import Principal
from einspection.nameko_glue import RPC_PUBLISH_RETRY, never_sent
from services.gateway.http_json import (BROKER_UNAVAILABLE, HttpError, call_within,
                                        command_of, error_response, with_idempotency_key)

LI = Principal(account_id="a-1", username="baide.li", role="enterprise_manager",
               enterprise_id="e-1")


def publishing(*attempts):
    """An RPC method whose publish meets `attempts` (errors), as kombu's
    retry does: each attempt but the last to the retry policy's errback,
    the last raised, wrapped as kombu wraps it."""
    def method():
        for exc in attempts[:-1]:
            RPC_PUBLISH_RETRY["errback"](exc, 0)
        try:
            raise attempts[-1]
        except OSError as exc:
            raise kombu.exceptions.OperationalError(str(exc)) from exc
    return method


def refused():
    return ConnectionRefusedError(111, "Connection refused")


def answer_of(method, key="k-1"):
    """The HTTP answer of a command whose RPC is `method` (what the endpoint does)."""
    request = Request(EnvironBuilder(method="POST", path="/api/v1/hazards",
                                     headers={"Idempotency-Key": key}).get_environ())
    request.principal = LI
    command_id, _deadline = command_of(request)
    request.acting = {"command_id": command_id}
    with pytest.raises(HttpError) as raised:
        call_within(2, method)
    exc = raised.value
    request.nothing_done = exc.nothing_done
    assert exc.status == 503 and exc.headers["Retry-After"]
    response = with_idempotency_key(request, error_response(exc.status, exc.message,
                                                            headers=exc.headers))
    return json.loads(response.get_data())["error"]["message"], response


def test_every_connection_refused_is_a_request_never_sent():
    message, response = answer_of(publishing(refused(), refused(), refused()))
    assert message == BROKER_UNAVAILABLE
    assert response.headers["Idempotency-Key"] == "k-1"


def test_a_connection_lost_after_the_request_went_out_says_it_may_have_been_done():
    # the first attempt's confirm lost with the connection, the retries refused
    lost = ConnectionResetError(104, "Connection reset by peer")
    message, response = answer_of(publishing(lost, refused(), refused()))
    assert message.startswith(BROKER_UNAVAILABLE)
    assert "may have been done" in message and "Idempotency-Key: k-1" in message
    # no answer while waiting for the confirm
    message, _ = answer_of(publishing(refused(), socket.timeout("timed out")))
    assert "may have been done" in message


def test_never_sent_reads_the_cause_kombu_wraps():
    wrapped = kombu.exceptions.OperationalError("refused")
    wrapped.__cause__ = refused()
    assert never_sent([refused(), wrapped, socket.gaierror(-2, "Name or service not known"),
                       BrokenPipeError(32, "Broken pipe")])
    assert not never_sent([refused(), socket.timeout("timed out")])
    assert not never_sent([kombu.exceptions.OperationalError("Socket closed")])
    assert not never_sent([])


def test_a_real_publish_to_a_closed_port_is_never_sent():
    """An RPC request as the gateway's RpcProxy publishes it (nameko's
    Publisher, confirmed and mandatory, kombu's retry with the RPC publish
    policy), to a port nobody listens on."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    publisher = Publisher("amqp://guest:guest@127.0.0.1:%d//" % port,
                          retry_policy=RPC_PUBLISH_RETRY)

    def method():
        publisher.publish({"args": [], "kwargs": {}},
                          exchange=Exchange("nameko-rpc", type="topic", durable=True),
                          routing_key="hazard.report_hazard", mandatory=True)
    assert answer_of(method)[0] == BROKER_UNAVAILABLE
