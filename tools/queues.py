"""The services' queues on the broker: whether each is declared as this
version declares it, and re-creating those that are not (einspection/queues.py).

    python -m tools.queues status      # each queue: current, outdated, missing, migrating
    python -m tools.queues migrate     # re-create the outdated ones, keeping their messages

The queues and their bindings are the services' own @subscribe declarations
(notify's queue is bound to every event while it is re-created: see
UNLISTED_BINDINGS);
the broker is EVENTS_AMQP_URI (or AMQP_URI), the names come from QUEUE_PREFIX,
the delivery limit from QUEUE_DELIVERY_LIMIT, as in the services. Stop the
consuming services first (`migrate` refuses a queue a consumer still reads);
the others may run on. `make run` migrates its local broker by itself.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from einspection import bus, queues  # noqa: E402
from einspection.nameko_glue import subscriptions_of  # noqa: E402
from services.notify import bindings as notify_bindings  # noqa: E402
from tools.launch import SERVICES  # noqa: E402


# Bindings a consumer makes beyond its @subscribe keys, which the code does
# not list (notify: its webhooks' patterns, services/notify/bindings.py): a
# queue re-created is bound to every event instead, so nothing published
# meanwhile is missed, and the service narrows it again when it starts.
UNLISTED_BINDINGS = {"notify": notify_bindings.LEGACY_KEYS}


def subscriptions():
    """{consumer name: binding keys} over every service."""
    found = {}
    for target in SERVICES.values():
        module, cls = target.split(":")
        for name, keys in subscriptions_of(getattr(importlib.import_module(module), cls)):
            found[name] = sorted(set(found.get(name, ())) | set(keys)
                                 | set(UNLISTED_BINDINGS.get(name, ())))
    return found


def plans(env=os.environ):
    return queues.plans(env.get("QUEUE_PREFIX") or bus.DEFAULT_QUEUE_PREFIX, subscriptions(),
                        bus.delivery_limit(dict(env)))


def migrate(env=os.environ, say=print):
    """Re-create every outdated queue; what `make run` calls before it starts."""
    uri = env.get("EVENTS_AMQP_URI") or env.get("AMQP_URI") or bus.DEFAULT_AMQP_URI
    queues.migrate_all(uri, env.get("EVENTS_EXCHANGE") or bus.DEFAULT_EXCHANGE, plans(env),
                       say=say)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.queues",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("status", "migrate"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uri = os.environ.get("EVENTS_AMQP_URI") or bus.amqp_uri()
    if args.command == "status":
        states = queues.status(uri, plans())
        for queue, state in states.items():
            print("%s: %s" % (queue, state))
        return 1 if set(states.values()) - {"current", "missing"} else 0
    try:
        migrate(dict(os.environ, AMQP_URI=uri))
    except queues.ConsumerAttached as exc:
        print("not migrated: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
