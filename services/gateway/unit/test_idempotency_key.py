"""The Idempotency-Key at the edge: a command's id is the key namespaced by
the account; the client's key comes back on the answer; a 5xx of a
command names the key to retry with, the gateway's own if the client sent
none; a request that never sent its command says nothing of the kind."""
import json
import time

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from einspection.auth import Principal
from services.gateway.http_json import (RPC_TIMEOUT_SECONDS, command_of, error_response,
                                        json_response, with_idempotency_key)

LI = Principal(account_id="a-1", username="baide.li", role="enterprise_manager",
               enterprise_id="e-1")
WANG = Principal(account_id="a-2", username="baide.wang", role="enterprise_manager",
                 enterprise_id="e-1")


def request(principal=LI, key=None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    made = Request(EnvironBuilder(method="POST", path="/api/v1/hazards", headers=headers)
                   .get_environ())
    made.principal = principal
    return made


def sent_command(made):
    """What GatewayService._acting does with the request."""
    command_id, deadline = command_of(made)
    made.acting = {"command_id": command_id}
    return command_id, deadline


def test_a_command_id_is_the_key_of_one_account_and_its_deadline_the_rpc_timeout():
    one, deadline = sent_command(request(key="k-1"))
    assert one == sent_command(request(key="k-1"))[0]           # the same request again
    assert one != sent_command(request(WANG, key="k-1"))[0]     # another account's key
    assert one != sent_command(request(key="k-2"))[0]
    assert len(one) == 64 and abs(deadline - (time.time() + RPC_TIMEOUT_SECONDS)) < 2
    # no key: one made per request, never the same twice
    assert sent_command(request())[0] != sent_command(request())[0]


def test_the_clients_key_comes_back_and_a_made_one_only_on_a_5xx():
    made = request(key="k-1")
    sent_command(made)
    assert with_idempotency_key(made, json_response(201, {})).headers["Idempotency-Key"] == "k-1"
    keyless = request()
    sent_command(keyless)
    assert "Idempotency-Key" not in with_idempotency_key(keyless, json_response(201, {})).headers


def test_a_5xx_of_a_command_says_it_may_have_been_done_and_names_the_key_to_retry_with():
    for key in ("k-1", None):
        made = request(key=key)
        sent_command(made)
        answer = with_idempotency_key(made, error_response(503, "the hazard service did not "
                                                                "answer in 15s"))
        given = answer.headers["Idempotency-Key"]
        assert given == (key or made.idempotency_key)
        message = json.loads(answer.get_data())["error"]["message"]
        assert message.startswith("the hazard service did not answer in 15s")
        assert "may have been done" in message and "Idempotency-Key: " + given in message


def test_a_5xx_before_the_command_was_sent_only_echoes_the_key():
    made = request(key="k-1")               # e.g. the register did not answer the reference check
    answer = with_idempotency_key(made, error_response(503, "the checklist service did not "
                                                            "answer in 15s"))
    assert answer.headers["Idempotency-Key"] == "k-1"
    assert "may have been done" not in json.loads(answer.get_data())["error"]["message"]
    keyless = request()
    assert "Idempotency-Key" not in with_idempotency_key(keyless, error_response(503, "x")).headers


def test_a_5xx_of_a_command_never_sent_names_the_key_without_saying_it_may_be_done():
    made = request(key="k-1")
    sent_command(made)
    made.nothing_done = True               # e.g. the service was not running: not taken
    answer = with_idempotency_key(made, error_response(503, "the hazard service is not "
                                                            "running; retry later"))
    assert answer.headers["Idempotency-Key"] == "k-1"
    assert "may have been done" not in json.loads(answer.get_data())["error"]["message"]
