"""The dead-letter queues, for operators: what is parked there and why, and
re-driving it to its consumer once the cause is fixed.

    python -m einspection.deadletters list    [filters] [--json] [--limit N] [--body]
    python -m einspection.deadletters redrive [filters] [--dry-run]
    python -m einspection.deadletters redrive --all [--dry-run]

Filters (all given must match): --queue (a consumer's name, e.g. scoring, or
a dead-letter queue's full name; repeatable; default every consumer's),
--reason TEXT (part of the reason), --routing-key PATTERN (a topic pattern,
e.g. einspection.hazard.#), --message-id ID (repeatable). `redrive` needs a
filter or --all.

The broker is EVENTS_AMQP_URI (or AMQP_URI); queue names come from
QUEUE_PREFIX, as in the services. Listing takes nothing away: every message
is read unacknowledged and goes back when the tool's channel closes.
Re-driving publishes each chosen message, body and properties as they were,
straight to the queue it was taken from (no other consumer sees it again),
waits for the broker's confirm, then removes it from the dead-letter queue;
a crash in between leaves it in both, which the consumer's inbox makes
harmless. A message that fails again is parked again, its count one higher.
"""
import argparse
import json
import os
import sys
from datetime import datetime, timezone
from dataclasses import asdict, dataclass, field

from kombu import Queue

from . import bus
from .consumer import kept_properties
from .contract import isoformat, utcnow

# The services' consumers (services/*: CONSUMER); each has <prefix>.<name>.dead-letter.
CONSUMERS = ("hazard", "scoring", "notify", "enforcement")

# Headers that describe one stay in a dead-letter queue, dropped on re-drive;
# x-original-routing-key, x-original-queue and x-dead-letter-count stay.
STAY_HEADERS = ("x-dead-letter-reason", "x-dead-lettered-at")
# The broker's own: its record of dead-lettering it (a delivery limit) and its
# count of deliveries; a re-driven message starts afresh, its history kept in
# the x-original-* and x-dead-letter-count headers.
BROKER_HEADERS = ("x-death", "x-delivery-count", "x-first-death-exchange",
                  "x-first-death-queue", "x-first-death-reason")


def topic_matches(pattern, key):
    """Whether routing key `key` matches AMQP topic pattern `pattern`
    (* is one word, # is any number of words)."""
    words, keys = pattern.split("."), key.split(".")

    def match(i, j):
        if i == len(words):
            return j == len(keys)
        if words[i] == "#":
            return any(match(i + 1, rest) for rest in range(j, len(keys) + 1))
        return j < len(keys) and words[i] in ("*", keys[j]) and match(i + 1, j + 1)
    return match(0, 0)


@dataclass
class Filter:
    reason: str = ""
    routing_key: str = ""
    message_ids: tuple = ()

    @property
    def empty(self):
        return not (self.reason or self.routing_key or self.message_ids)

    def matches(self, letter):
        return ((not self.reason or self.reason.lower() in letter.reason.lower())
                and (not self.routing_key or topic_matches(self.routing_key, letter.routing_key))
                and (not self.message_ids or letter.message_id in self.message_ids))


@dataclass
class DeadLetter:
    queue: str                 # the dead-letter queue it is in
    original_queue: str        # the consumer's queue it came from
    routing_key: str           # the key it was published with
    reason: str
    message_id: str
    dead_lettered_at: str
    times: int                 # how often it was dead-lettered
    size: int
    content_type: str
    properties: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    body: str = ""             # the start of the body (all of it with --body)

    def line(self):
        return "%s  %s  %s  id=%s  %d B  x%d  %s" % (
            self.queue, self.dead_lettered_at or "-", self.routing_key or "-",
            self.message_id or "-", self.size, self.times, self.reason)


def dead_letter_queues(prefix, names=()):
    """The dead-letter queue names `names` stand for (consumers' names or
    full queue names); every consumer's if none."""
    queues = []
    for name in names or CONSUMERS:
        if name.endswith(".dead-letter"):
            queues.append(name)
        else:
            queues.append(bus.dead_letter_queue_name("%s.%s" % (prefix, name)))
    return queues


def _broker_death(headers):
    """What the broker recorded of the latest time it dead-lettered the
    message itself (a quorum queue's delivery limit), or {}."""
    deaths = headers.get("x-death") or []
    return dict(deaths[0]) if deaths and isinstance(deaths[0], dict) else {}


def _broker_reason(death):
    if death.get("reason") == "delivery_limit":
        return ("the broker's delivery limit: delivered QUEUE_DELIVERY_LIMIT times and never "
                "settled (did the consumer's process crash on it?)")
    return "dead-lettered by the broker: %s" % death.get("reason", "unknown")


def _letter(queue, message, full_body=False):
    headers = dict(message.headers or {})
    body = message.body
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8", "surrogatepass")
    shown = raw if full_body else raw[:300]
    properties = kept_properties(message)
    if properties.get("timestamp"):          # AMQP's timestamp: seconds since 1970
        properties["timestamp"] = isoformat(
            datetime.fromtimestamp(properties["timestamp"], tz=timezone.utc))
    death = {} if headers.get("x-dead-letter-reason") else _broker_death(headers)
    when = death.get("time")
    if isinstance(when, datetime):
        when = isoformat(when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    keys = death.get("routing-keys") or [""]
    return DeadLetter(
        queue=queue,
        original_queue=str(headers.get("x-original-queue") or death.get("queue") or ""),
        routing_key=str(headers.get("x-original-routing-key") or keys[0] or ""),
        reason=str(headers.get("x-dead-letter-reason") or (death and _broker_reason(death))
                   or ""),
        message_id=str((message.properties or {}).get("message_id") or ""),
        dead_lettered_at=str(headers.get("x-dead-lettered-at") or when or ""),
        times=int(headers.get("x-dead-letter-count") or death.get("count") or 1), size=len(raw),
        content_type=message.content_type or "", properties=properties,
        headers={k: v for k, v in headers.items()
                 if not k.startswith("x-dead-letter") and k not in BROKER_HEADERS},
        body=shown.decode("utf-8", "replace"))


def _exists(connection, queue):
    channel = connection.channel()
    try:
        Queue(queue, durable=True).bind(channel).queue_declare(passive=True)
        return True
    except bus.CONNECTION_ERRORS:
        raise
    except Exception:          # NOT_FOUND closes the channel
        return False
    finally:
        try:
            channel.close()
        except Exception:
            pass


def scan(connection, queue, visit):
    """Read every message that is in `queue` now once, unacknowledged (what
    arrives meanwhile, e.g. a re-driven message parked again, is left for the
    next scan); `visit(message)` returns True to take it (ack), else it goes
    back when the channel closes."""
    channel = connection.channel()
    try:
        bound = Queue(queue, durable=True).bind(channel)
        for _ in range(bound.queue_declare(passive=True).message_count):
            message = bound.get(no_ack=False)
            if message is None:
                return
            if visit(message):
                message.ack()
    finally:
        channel.close()          # what was not taken is back in the queue


def list_letters(amqp_uri, queues, selected=Filter(), limit=None, full_body=False):
    """Matching dead letters of `queues`, oldest first per queue; and
    {queue: number of messages in it} (None: no such queue)."""
    found, totals = [], {}
    with bus.connect(amqp_uri, confirm=False) as connection:
        for queue in queues:
            if not _exists(connection, queue):
                totals[queue] = None
                continue
            seen = [0]

            def visit(message, queue=queue, seen=seen):
                seen[0] += 1
                letter = _letter(queue, message, full_body)
                if selected.matches(letter) and (limit is None or len(found) < limit):
                    found.append(letter)
                return False
            scan(connection, queue, visit)
            totals[queue] = seen[0]
    return found, totals


def redrive(amqp_uri, queues, selected, dry_run=False):
    """Publish every matching dead letter to its original queue and remove it
    from the dead-letter queue (see the module's docstring); returns them."""
    moved = []
    with bus.connect(amqp_uri, confirm=False) as connection, \
            bus.connect(amqp_uri, confirm=True) as publishing:
        producer = publishing.Producer()
        targets = {}
        for queue in queues:
            if not _exists(connection, queue):
                continue

            def visit(message, queue=queue):
                letter = _letter(queue, message)
                if not selected.matches(letter):
                    return False
                target = letter.original_queue
                if target not in targets:
                    targets[target] = bool(target) and _exists(connection, target)
                if not targets[target]:
                    print("skipped %s: its queue %r does not exist" % (
                        letter.message_id or "(no id)", target), file=sys.stderr)
                    return False
                moved.append(letter)
                if dry_run:
                    return False
                headers = {k: v for k, v in (message.headers or {}).items()
                           if k not in STAY_HEADERS and k not in BROKER_HEADERS}
                headers.update({"x-original-queue": letter.original_queue,
                                "x-original-routing-key": letter.routing_key,
                                "x-dead-letter-count": letter.times})
                headers["x-redriven-at"] = isoformat(utcnow())
                producer.publish(message.body, exchange="", routing_key=target,
                                 delivery_mode=2, headers=headers, serializer=None,
                                 retry=False, **kept_properties(message))
                return True
            scan(connection, queue, visit)
    return moved


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m einspection.deadletters",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "redrive"):
        command = commands.add_parser(name)
        command.add_argument("--queue", action="append", default=[],
                             help="a consumer (hazard, scoring, notify) or a queue's name")
        command.add_argument("--reason", default="", help="part of the reason")
        command.add_argument("--routing-key", default="", help="a topic pattern")
        command.add_argument("--message-id", action="append", default=[])
        if name == "list":
            command.add_argument("--limit", type=int, default=1000)
            command.add_argument("--json", action="store_true", help="one JSON object a line")
            command.add_argument("--body", action="store_true", help="whole bodies")
        else:
            command.add_argument("--all", action="store_true", help="every dead letter")
            command.add_argument("--dry-run", action="store_true",
                                 help="say what would be re-driven, move nothing")
    args = parser.parse_args(argv)
    uri = os.environ.get("EVENTS_AMQP_URI") or bus.amqp_uri()
    queues = dead_letter_queues(os.environ.get("QUEUE_PREFIX") or "einspection", args.queue)
    selected = Filter(args.reason, args.routing_key, tuple(args.message_id))

    if args.command == "list":
        letters, totals = list_letters(uri, queues, selected, args.limit, args.body)
        for letter in letters:
            print(json.dumps(asdict(letter), ensure_ascii=False, default=str) if args.json
                  else letter.line())
        if not args.json:
            for queue, total in totals.items():
                print("%s: %s" % (queue, "no such queue" if total is None
                                  else "%d message(s)" % total), file=sys.stderr)
        return 0
    if selected.empty and not args.all:
        parser.error("redrive needs a filter (--reason, --routing-key, --message-id) or --all")
    moved = redrive(uri, queues, selected, dry_run=args.dry_run)
    for letter in moved:
        print(("would re-drive " if args.dry_run else "re-driven ") + letter.line())
    print("%d message(s) %s" % (len(moved), "would be re-driven" if args.dry_run
                                 else "re-driven"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
