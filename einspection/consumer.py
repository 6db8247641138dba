"""Consuming events: decode and validate each message, hand it to a handler,
ack only after the handler's transaction committed, and send what can never
succeed to the consumer's dead-letter queue with the reason.
"""
import logging
import traceback

from . import bus, eventstore
from .contract import MAX_EVENT_BYTES, ContractError, Event, isoformat, utcnow
from .db import unavailability
from .errors import ConcurrencyConflict, DomainError, ServiceUnavailable

log = logging.getLogger(__name__)


def topic_matches(pattern, event_type):
    """AMQP topic semantics: '*' is one word, '#' zero or more."""
    def match(pattern_words, words):
        if not pattern_words:
            return not words
        head, rest = pattern_words[0], pattern_words[1:]
        if head == "#":
            return any(match(rest, words[i:]) for i in range(len(words) + 1))
        return bool(words) and head in ("*", words[0]) and match(rest, words[1:])
    return match(pattern.split("."), event_type.split("."))


def awaiting(conn, consumer, binding_keys, events):
    """The ids of `events` ({"id", "type"}) that a consumer bound with
    `binding_keys` will get but has not processed yet: what a caller that
    published them (an import) waits for."""
    bound = [event["id"] for event in events
             if any(topic_matches(key, event["type"]) for key in binding_keys)]
    received = eventstore.received_ids(conn, consumer, bound)
    return [event_id for event_id in bound if event_id not in received]


def decode(message):
    """The Event in an AMQP message, or ContractError saying why not."""
    body = message.body
    size = len(body.encode("utf-8") if isinstance(body, str) else body)
    if size > MAX_EVENT_BYTES:
        raise ContractError({"_body": ["%d bytes: larger than an event may be (%d bytes)"
                                       % (size, MAX_EVENT_BYTES)]})
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ContractError({"_body": ["not UTF-8: %s" % exc]}) from None
    return Event.from_json(body), body


def reason_for(exc):
    if isinstance(exc, ContractError):
        return "contract: %s" % (exc.errors,)
    if isinstance(exc, DomainError):
        return "rejected: %s" % (exc,)
    return "handler failed: %s" % "".join(
        traceback.format_exception_only(type(exc), exc)).strip()


def is_transient(exc):
    """Worth another try later: the same message may well succeed then."""
    return (isinstance(exc, (ConcurrencyConflict, ServiceUnavailable))
            or unavailability(exc) is not None)


# AMQP properties a dead-lettered copy keeps, and a re-driven one gets back:
# all but `expiration` (the copy would expire in the dead-letter queue) and
# `user_id` (the broker checks it against the user of the publishing connection).
KEPT_PROPERTIES = ("message_id", "correlation_id", "timestamp", "type", "app_id", "reply_to",
                   "cluster_id")


def kept_properties(message):
    """The keyword arguments that publish `message`'s properties again."""
    properties = message.properties or {}
    kept = {name: properties[name] for name in KEPT_PROPERTIES
            if properties.get(name) not in (None, "")}
    kept["priority"] = properties.get("priority") or 0
    kept["content_type"] = message.content_type or "application/octet-stream"
    kept["content_encoding"] = message.content_encoding or "binary"
    return kept


def original_routing_key(message):
    """The key the message was published with. A re-driven message arrives by
    its queue's name through the default exchange; its header keeps the key."""
    headers = message.headers or {}
    if message.delivery_info.get("exchange") == "" and headers.get("x-original-routing-key"):
        return headers["x-original-routing-key"]
    return message.delivery_info.get("routing_key", "")


def dead_letter(producer, queue_name, message, reason):
    """Park the message, untouched (body, properties, headers), in the
    consumer's DLQ with why, from where and when, and how often it was parked."""
    headers = dict(message.headers or {})
    headers.update({"x-dead-letter-reason": reason[:2000], "x-original-queue": queue_name,
                    "x-original-routing-key": original_routing_key(message),
                    "x-dead-lettered-at": isoformat(utcnow()),
                    "x-dead-letter-count": int(headers.get("x-dead-letter-count") or 0) + 1})
    body = message.body if isinstance(message.body, (bytes, str)) else str(message.body)
    producer.publish(body, exchange="", routing_key=bus.dead_letter_queue_name(queue_name),
                     delivery_mode=2, headers=headers, serializer=None, retry=False,
                     **kept_properties(message))
    log.warning("dead-lettered a message from %s: %s", queue_name, reason)
