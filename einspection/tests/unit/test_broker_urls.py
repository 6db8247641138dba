"""AMQP_URI as a cluster's list of nodes, separated by ';' (compose.yaml's
profile `cluster`): kombu takes such a list as the first URL plus failover
alternates; our own code passes it through whole and never shows a password."""
import json
import logging

import pytest

from einspection import asyncapi, bus
from einspection.nameko_glue import _QueueConsumer

NODES = ["amqp://einspection:s3cr3t@rabbitmq:5672/",
         "amqp://einspection:s3cr3t@rabbitmq-2:5672/",
         "amqp://einspection:s3cr3t@rabbitmq-3:5672/"]
CLUSTER = ";".join(NODES)
DEAD = "amqp://guest:guest@127.0.0.1:1/"       # nothing listens on port 1


def test_the_urls_of_a_list():
    assert bus.broker_urls(CLUSTER) == NODES
    assert bus.broker_urls(NODES[0]) == NODES[:1]
    assert bus.broker_urls(" %s ; %s ;" % (NODES[0], NODES[1])) == NODES[:2]


def test_every_password_is_masked():
    assert bus.redacted(CLUSTER) == ";".join(
        url.replace("s3cr3t", "****") for url in NODES)
    assert bus.redacted("amqp://guest@host/") == "amqp://guest@host/"


@pytest.mark.parametrize("confirm", [True, False])
def test_a_connection_has_the_other_nodes_as_its_failover_alternates(confirm):
    connection = bus.connect(CLUSTER, confirm=confirm)
    assert (connection.hostname, connection.port) == ("rabbitmq", 5672)
    assert connection.alt == NODES
    # what kombu's pools hand out (nameko's publishers) keeps them too
    assert connection.clone().alt == NODES
    connection.maybe_switch_next()
    assert connection.hostname == "rabbitmq-2"
    assert (connection.userid, connection.password) == ("einspection", "s3cr3t")


def test_the_events_broker_is_the_whole_list():
    # the relay, the subscriptions and the dead-letter tool connect by it
    assert bus.events_amqp_uri({"AMQP_URI": CLUSTER}) == CLUSTER
    assert bus.events_amqp_uri({"AMQP_URI": NODES[0], "EVENTS_AMQP_URI": CLUSTER}) == CLUSTER
    assert bus.amqp_uri({"AMQP_URI": CLUSTER}) == CLUSTER


def test_the_asyncapi_document_names_the_first_node_without_credentials():
    document = asyncapi.build(CLUSTER, "demo.events")
    assert document["servers"]["broker"]["host"] == "rabbitmq:5672"
    assert document["servers"]["broker"]["pathname"] == "/"
    text = json.dumps(document)
    assert "s3cr3t" not in text and "rabbitmq-2" not in text


def test_the_reconnect_warning_masks_every_password(caplog):
    consumer = _QueueConsumer()
    consumer.container = type("Container", (), {"config": {"AMQP_URI": CLUSTER}})()
    with caplog.at_level(logging.WARNING):
        consumer.on_connection_error(OSError("refused"), 2)
    assert "rabbitmq-3" in caplog.text and "s3cr3t" not in caplog.text


def test_a_dead_first_node_fails_over_to_the_next(broker):
    # the shared broker as the second node of a list whose first is dead:
    # a subscription's lazy connect (its first channel) and the relay's
    # ensure_connection both end up on it
    uri = "%s;%s" % (DEAD, broker)
    with bus.connect(uri, confirm=False) as connection:
        channel = connection.channel()
        assert connection.port == 5672 and connection.connected
        channel.close()
    with bus.connect(uri) as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.port == 5672 and connection.connected
