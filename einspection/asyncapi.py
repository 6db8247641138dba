"""The AsyncAPI 3.0 document of the event stream, generated from the event
contract (einspection/contract.py: the types, their data schemas, the
CloudEvents envelope) and the bus wiring (einspection/bus.py: the exchange,
routing key = type, how the relay publishes). The gateway serves it at
/asyncapi.json; tests/test_asyncapi.py parses it with the official parser and
validates real published messages against it.

What a message is on the wire (bus.publish): a structured-mode CloudEvent,
the whole envelope as the JSON body (content type
application/cloudevents+json); no application headers; the AMQP properties
message_id = the event's id, timestamp, delivery_mode 2."""
from urllib.parse import unquote, urlsplit

from . import bus, contract, schemadoc

ASYNCAPI_VERSION = "3.0.0"
TITLE = "E-inspection events"
# the document's own version: the contract's, which only grows (a breaking change is a new .vN type)
VERSION = "1"
CLOUDEVENTS_JSON = "application/cloudevents+json"
AMQP_BINDING_VERSION = "0.3.0"
ENVELOPE = "CloudEventEnvelope"
_ID = {"type": "string", "minLength": 1}


def public_events():
    """The published event types, in the contract's order (private ones never leave their store)."""
    return [event for event in contract.EVENT_TYPES.values() if event.public]


def envelope_schema():
    """The CloudEvents 1.0 attributes every event carries (contract.Event.to_dict)."""
    return {
        "type": "object",
        "description": "A CloudEvents 1.0 structured-mode event: the attributes, the "
                       "platform's extensions and `data`.",
        "properties": {
            "specversion": {"type": "string", "const": contract.SPECVERSION},
            "id": {**_ID, "description": "the event's id (UUID); deduplicate on it; also "
                                          "the AMQP message_id"},
            "source": {"type": "string", "pattern": "^/einspection/[a-z-]+$",
                       "description": "/einspection/<the service that owns the type>"},
            "type": {"type": "string", "description": "the versioned type; also the "
                                                      "routing key"},
            "time": {"type": "string", "format": "date-time",
                     "description": "when it happened, UTC with Z"},
            "subject": {**_ID, "description": "the enterprise id, or `%s`" % contract.UNIVERSAL},
            "datacontenttype": {"type": "string", "const": contract.CONTENT_TYPE},
            "actor": {**_ID, "description": "extension: the authenticated account's username, "
                                             "or the service that acted by itself"},
            "correlationid": {**_ID, "description": "extension: the request it belongs to"},
            "causationid": {**_ID, "description": "extension: the event that caused it "
                                                   "(its own id if none)"},
            "streamid": {"type": "string", "description": "extension: the aggregate stream"},
            "streamversion": {"type": "integer", "minimum": 0,
                              "description": "extension: the event's version in its stream "
                                             "(order within a stream)"},
            "data": {"type": "object", "description": "the payload, per the type's schema"},
        },
        "required": ["specversion", "id", "source", "type", "time", "subject",
                     "datacontenttype", "actor", "correlationid", "causationid", "streamid",
                     "streamversion", "data"],
    }


def _server(uri):
    """The broker, from the events' AMQP URI, without its credentials; of a
    cluster's list of URLs (bus.broker_urls), the first node."""
    parts = urlsplit(bus.broker_urls(uri)[0])
    host = parts.hostname or "localhost"
    vhost = unquote(parts.path[1:]) or "/"
    return {
        "host": "%s:%d" % (host, parts.port or 5672),
        "protocol": "amqps" if parts.scheme == "amqps" else "amqp",
        "protocolVersion": "0-9-1",
        "pathname": "/" if vhost == "/" else "/" + vhost,
        "title": "RabbitMQ",
        "description": "The platform's broker (EVENTS_AMQP_URI). Bind your own durable "
                       "queue to the exchange with the routing keys you want.",
        "security": [{"$ref": "#/components/securitySchemes/broker"}],
    }, vhost


def build(events_uri=None, exchange=None):
    """The AsyncAPI document (a dict)."""
    events_uri = events_uri or bus.events_amqp_uri()
    exchange = exchange or bus.exchange_name()
    server, vhost = _server(events_uri)
    events = public_events()
    schemas = schemadoc.json_schemas({event.name: event.schema for event in events})
    schemas[ENVELOPE] = envelope_schema()
    channel_binding = {"amqp": {
        "is": "routingKey",
        "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False,
                     "vhost": vhost},
        "bindingVersion": AMQP_BINDING_VERSION}}
    channels, operations, messages = {}, {}, {}
    for event in events:
        source = "/einspection/" + event.source
        summary = (event.schema.__doc__ or "").strip().split("\n\n")[0]
        summary = " ".join(summary.split())
        messages[event.name] = {
            "name": event.name,
            "title": event.name,
            "summary": summary or "%s (%s)" % (event.name, event.type),
            "contentType": CLOUDEVENTS_JSON,
            "correlationId": {"location": "$message.payload#/correlationid",
                              "description": "the request the event belongs to"},
            "payload": {"allOf": [
                {"$ref": "#/components/schemas/" + ENVELOPE},
                {"type": "object",
                 "properties": {"type": {"type": "string", "const": event.type},
                                "source": {"type": "string", "const": source},
                                "data": {"$ref": "#/components/schemas/" + event.name}}}]},
            "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": event.type,
                                  "bindingVersion": AMQP_BINDING_VERSION}},
            "x-cloudevents-type": event.type,
            "x-source": source,
        }
        channels[event.name] = {
            "address": event.type,
            "title": event.type,
            "description": "Routing key `%s` on the topic exchange `%s` (bind `%s` for it "
                           "alone, `einspection.%s.#` for its family, `#` for everything)."
                           % (event.type, exchange, event.type, event.type.split(".")[1]),
            "servers": [{"$ref": "#/servers/broker"}],
            "messages": {event.name: {"$ref": "#/components/messages/" + event.name}},
            "bindings": channel_binding,
        }
        operations["publish" + event.name] = {
            "action": "send",
            "title": "The platform publishes %s" % event.name,
            "summary": "Published by the %s service's outbox relay once the event is "
                       "committed (at least once; deduplicate on id)." % event.source,
            "channel": {"$ref": "#/channels/" + event.name},
            "messages": [{"$ref": "#/channels/%s/messages/%s" % (event.name, event.name)}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "timestamp": True,
                                  "bindingVersion": AMQP_BINDING_VERSION}},
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:einspection:events",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Every event of E-inspection that leaves its service: a CloudEvents 1.0 "
                "structured-mode JSON message (the envelope is the body; no application "
                "headers), published persistent with publisher confirms on the durable "
                "topic exchange `%s`. The routing key is the event type. AMQP properties: "
                "message_id = the event's id, timestamp = when published, content_type "
                "`%s`, delivery_mode 2. Delivery is at least once: deduplicate on `id`, "
                "order within an aggregate by `streamversion`. A `.v1` type only gains "
                "optional fields (ignore fields you do not know); a breaking change is a "
                "new `.v2` type. Generated from einspection/contract.py." % (
                    exchange, CLOUDEVENTS_JSON)),
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "servers": {"broker": server},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {"broker": {
                "type": "userPassword",
                "description": "An account on the broker with read access to the "
                               "exchange (ask the operator)."}},
        },
    }
