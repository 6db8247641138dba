#!/usr/bin/env python3
"""A small E-inspection event subscriber: plain pika, no code of the platform.

    pip install pika
    python examples/subscriber.py --amqp amqp://guest:guest@localhost:5672/ \\
        --queue acme.hazards --bind 'einspection.hazard.#' --state acme-hazards.offset

1. Its own queue: a RabbitMQ *stream* named --queue, bound to the events
   exchange for the routing keys it chooses (--bind, repeatable; the routing
   key is the event type). Being bound, it keeps receiving while the
   subscriber is down; being a stream, it keeps what it received (for
   --max-age), so the subscriber reads it from wherever it stopped.
   Without --bind it reads an existing stream as it is, e.g. the platform's
   own `einspection.stream`, which has every event since the retention's
   start (docs/events.md, Reading the history).
2. Every message is checked to be a CloudEvents 1.0 event in structured
   mode (content type application/cloudevents+json, a JSON object with
   specversion 1.0, id, source, type, time and data); anything else is
   reported on stderr and skipped.
3. The offset of the last message it handled is kept in --state (written
   atomically after each one); a restart resumes at that offset + 1, so
   nothing is missed while it was down and nothing handled is handed over
   again. The first start begins at --start ("next": from now; "first": the
   stream's oldest; or an ISO instant, e.g. 2026-12-03T00:00:00+08:00).

Each event handled is printed on stdout as one JSON line: offset, id, type,
subject, time and data. A kill between printing and saving the offset hands that one
event over again on restart: deduplicate on `id` where that matters.
"""
import argparse
import json
import os
import signal
import sys
from datetime import datetime

import pika

REQUIRED = ("id", "source", "type", "time")
CONTENT_TYPE = "application/cloudevents+json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp", default=os.environ.get("AMQP_URI",
                                                         "amqp://guest:guest@localhost:5672/"))
    parser.add_argument("--exchange", default="einspection.events")
    parser.add_argument("--queue", required=True,
                        help="the stream to read: one's own (with --bind) or the platform's")
    parser.add_argument("--bind", action="append", default=[],
                        help="a routing key to bind --queue with, e.g. einspection.hazard.#")
    parser.add_argument("--max-age", default="7D",
                        help="how long one's own stream keeps events (RabbitMQ's form: 7D, 12h)")
    parser.add_argument("--state", required=True, help="the file keeping the last offset")
    parser.add_argument("--start", default="next",
                        help='where the first start begins: next, first, or an ISO instant')
    return parser.parse_args(argv)


def load_offset(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except FileNotFoundError:
        return None


def save_offset(path, offset):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % offset)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def start_offset(saved, start):
    """x-stream-offset: after the saved one, or where a first start begins."""
    if saved is not None:
        return saved + 1
    if start in ("first", "last", "next"):
        return start
    moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise SystemExit("--start %r: give the instant with its offset" % start)
    return moment                     # pika sends a datetime as an AMQP timestamp


def envelope_problems(properties, body):
    """Why this is not a CloudEvent as the platform publishes them; [] if it is."""
    if (properties.content_type or "").split(";")[0].strip() != CONTENT_TYPE:
        return ["content type %r, not %s (structured mode)" % (properties.content_type,
                                                               CONTENT_TYPE)]
    try:
        event = json.loads(body)
    except ValueError as exc:
        return ["not JSON: %s" % exc]
    if not isinstance(event, dict):
        return ["not a JSON object"]
    problems = []
    if event.get("specversion") != "1.0":
        problems.append("specversion %r, not 1.0" % event.get("specversion"))
    for attribute in REQUIRED:
        if not isinstance(event.get(attribute), str) or not event[attribute]:
            problems.append("%s missing" % attribute)
    if "data" not in event:
        problems.append("data missing")
    if isinstance(event.get("time"), str):
        try:
            datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        except ValueError:
            problems.append("time %r is not an instant" % event["time"])
    return problems


def handle(event, offset):
    """What the integrator does with an event: here, one line on stdout."""
    print(json.dumps({"offset": offset, "id": event["id"], "type": event["type"],
                      "subject": event.get("subject"), "time": event["time"],
                      "data": event["data"]},
                     ensure_ascii=False), flush=True)


def main(argv=None):
    args = parse_args(argv)
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp))
    channel = connection.channel()
    if args.bind:
        channel.exchange_declare(args.exchange, exchange_type="topic", durable=True)
        channel.queue_declare(args.queue, durable=True,
                              arguments={"x-queue-type": "stream", "x-max-age": args.max_age})
        for key in args.bind:
            channel.queue_bind(args.queue, args.exchange, routing_key=key)
    channel.basic_qos(prefetch_count=100)          # streams need a prefetch and manual acks
    saved = load_offset(args.state)
    offset = start_offset(saved, args.start)

    def on_message(ch, method, properties, body):
        position = (properties.headers or {})["x-stream-offset"]
        problems = envelope_problems(properties, body)
        if problems:
            print("offset %d (%s): skipped: %s" % (position, method.routing_key,
                                                   "; ".join(problems)),
                  file=sys.stderr, flush=True)
        else:
            handle(json.loads(body), position)
        save_offset(args.state, position)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(args.queue, on_message, arguments={"x-stream-offset": offset})
    print("reading %s from %s" % (args.queue, offset), file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        pass
    finally:
        if connection.is_open:
            connection.close()


if __name__ == "__main__":
    main()
