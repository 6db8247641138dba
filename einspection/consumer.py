"""Consuming events: decode and validate each message, hand it to a handler,
ack only after the handler's transaction committed, and send what can never
succeed to the consumer's dead-letter queue with the reason.
"""
import logging
import traceback

from sqlalchemy import exc as sa_exc

from . import bus, eventstore
from .contract import ContractError, Event
from .errors import ConcurrencyConflict, DomainError

log = logging.getLogger(__name__)

# Worth another try later: the same message may well succeed then.
TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
             sa_exc.DisconnectionError, ConcurrencyConflict)


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
    return isinstance(exc, TRANSIENT)


def dead_letter(producer, queue_name, message, reason):
    """Park the message, untouched, in the consumer's DLQ with why it is there."""
    headers = dict(message.headers or {})
    headers.update({"x-dead-letter-reason": reason[:2000], "x-original-queue": queue_name,
                    "x-original-routing-key": message.delivery_info.get("routing_key", "")})
    body = message.body if isinstance(message.body, (bytes, str)) else str(message.body)
    producer.publish(body, exchange="", routing_key=bus.dead_letter_queue_name(queue_name),
                     delivery_mode=2, headers=headers, serializer=None,
                     content_type=message.content_type or "application/octet-stream",
                     content_encoding=message.content_encoding or "binary", retry=False)
    log.warning("dead-lettered a message from %s: %s", queue_name, reason)
