"""`make run`: the whole platform on embedded defaults, with demo data.

| setting | default | what |
| --- | --- | --- |
| `--host` (`make run HOST=`) | `127.0.0.1` | where the gateway listens; `0.0.0.0`: every interface, so phones on the same network can open the QR codes |
| `--port` (`make run PORT=`, or `PORT`) | `8000` | the gateway's port |
| `PUBLIC_BASE_URL` | `http://<host or this machine's address>:<port>` | what QR codes point at |
| `VAR_DIR` | `./var` | SQLite databases, evidence files, logs, the token key |
| `--replicas` (`make run REPLICAS=`, or `REPLICAS`) | every service once | processes per service, e.g. `scoring=3 hazard=2 gateway=2`: a service's replicas share its queue and database; the gateway's share the port (SO_REUSEPORT) |

Whatever stops the launcher stops every service process: Ctrl-C (SIGINT),
SIGTERM, SIGHUP (a closed terminal) end it cleanly, and a launcher killed
outright takes its services with it (launch.py's parent-death signal kills them). A
signal the launcher was started ignoring (nohup, a background job of a
script) stays ignored."""
import warnings

# nameko's eventlet says it is deprecated on every import: not news for a newcomer
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import errno  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

from kombu import Connection  # noqa: E402

from einspection import eventstore  # noqa: E402
from einspection import queues as einspection_queues  # noqa: E402
from einspection.bus import DEFAULT_AMQP_URI  # noqa: E402
from einspection.db import make_engine  # noqa: E402
from tools import demo, launch  # noqa: E402

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """A stop signal arrived."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)


def _stop(signum, _frame):
    ignore_stop_signals()          # one is enough; a second must not cut the clean-up short
    raise Stop(signum)


def catch_stop_signals():
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _stop)


def ignore_stop_signals():
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def say(text="", stream=None):
    """Print, unless the terminal is gone (SIGHUP): then keep quiet."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")


def complain(text):
    say(text, sys.stderr)


def _kept_secret(var_dir):
    """The token-signing key of `make run`, kept in var/ so logins survive a restart."""
    path = os.path.join(var_dir, "auth-secret")
    if not os.path.exists(path):
        os.makedirs(var_dir, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    with open(path) as handle:
        return handle.read().strip()


def _database_urls(var_dir):
    """SQLite under var/ for every service whose URL is not set."""
    return {service: url for service, url in launch.sqlite_urls(var_dir).items()
            if not os.environ.get(launch.DATABASE_KEYS[service])}


def _read_models_up_to_date(database_urls):
    """A var/ from an earlier release may hold read models of an older shape,
    on which the services refuse to start (einspection.eventstore.missing_columns):
    rebuild those from their events first, as `make replay` would."""
    for service, url in database_urls.items():
        path = url[len("sqlite:///"):]
        if not url.startswith("sqlite:///") or not os.path.isfile(path):
            continue
        module, name = launch.SERVICES[service].split(":")
        store = getattr(importlib.import_module(module), name).store
        engine = make_engine(url)
        try:
            outdated = eventstore.missing_columns(engine, *store.projections)
        finally:
            engine.dispose()
        if outdated:
            say("%s: read models of an older shape (no %s); rebuilding them from their "
                "events ..." % (service, ", ".join(outdated)))
            subprocess.run([sys.executable, "-m", "services.%s.cli" % service, "replay",
                            "--database-url", url], cwd=launch.ROOT, check=True,
                           stdout=subprocess.DEVNULL)


def _queues_up_to_date(env):
    """A broker used by an earlier release may hold the consumers' queues as
    classic queues: re-create them as this version declares them, keeping
    their messages, as `python -m tools.queues migrate` would (no service is
    running yet, so none is reading them)."""
    from tools import queues
    outdated = [queue for queue, state in einspection_queues.status(
        env["AMQP_URI"], queues.plans(env)).items() if state in ("outdated", "migrating")]
    if outdated:
        say("the broker holds %d queue(s) declared by an earlier release; re-creating "
            "them as quorum queues ..." % len(outdated))
        queues.migrate(env, say=lambda line: None)


def main():
    parser = argparse.ArgumentParser(description="Run the platform with demo data.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="where the gateway listens (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    parser.add_argument("--replicas", default=os.environ.get("REPLICAS") or "",
                        help='processes per service, e.g. "scoring=3 hazard=2 gateway=2" '
                             "(a service not named runs once)")
    args = parser.parse_args()
    try:
        replicas = launch.parse_replicas(args.replicas)
    except ValueError as exc:
        complain("%s." % exc)
        return 2
    catch_stop_signals()
    error = launch.listen_error(args.host, args.port)
    if error is not None and error.errno == errno.EADDRINUSE:
        complain("port %d is in use: stop what listens there, or pick another port "
                 "(make run PORT=%d)." % (args.port, args.port + 1))
        return 2
    if error is not None:
        complain("cannot listen on %s port %d: %s." % (args.host, args.port,
                                                      error.strerror or error))
        return 2
    amqp_uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        complain("RabbitMQ is not reachable at %s (%s).\nStart it (rabbitmq-server -detached) "
                 "or set AMQP_URI." % (amqp_uri, exc))
        return 2
    var_dir = os.path.abspath(os.environ.get("VAR_DIR") or os.path.join(launch.ROOT, "var"))
    log_dir = os.path.join(var_dir, "log")
    os.makedirs(log_dir, exist_ok=True)
    _read_models_up_to_date(_database_urls(var_dir))
    env = launch.environment(amqp_uri, _database_urls(var_dir), args.port, host=args.host)
    _queues_up_to_date(env)
    on_sqlite = [name for name, count in replicas.items() if count > 1 and
                 env.get(launch.DATABASE_KEYS.get(name), "").startswith("sqlite")]
    if on_sqlite:
        say("note: %s on SQLite with several processes: fine for a look; for real use "
            "PostgreSQL (%s, docs/operations.md)." % (
                ", ".join(on_sqlite), ", ".join(launch.DATABASE_KEYS[n] for n in on_sqlite)))
    env["AUTH_SECRET"] = os.environ.get("AUTH_SECRET") or _kept_secret(var_dir)
    env.setdefault("EVIDENCE_DIR", os.path.join(var_dir, "blobs"))
    platform = launch.Platform(env, args.port, log_dir)
    try:
        say("starting %s ..." % _what_starts(replicas))
        platform.start(replicas=replicas, batches_alone=True)
        accounts = []
        if not args.no_demo:
            say("loading the demo data (the first start only: four months of history, "
                "day by day, then the seed's enforcement campaign) ...")
            ids, accounts = demo.load(platform.base_url, platform.login(), amqp_uri,
                                      progress=say)
            say("demo data: %d enterprises" % len(ids))
        _welcome(platform, args.host, log_dir, var_dir, accounts)
        while True:
            for key, process in platform.processes.items():
                if process.poll() is not None:
                    say("%s exited with %s; see %s/%s.log" % (key, process.returncode,
                                                             log_dir, key))
                    return 1
            time.sleep(1)
    except Stop as stop:
        say("\nstopping (%s) ..." % stop)
        return 0
    except (RuntimeError, TimeoutError) as exc:       # a service did not come up
        complain("%s\nThe logs are in %s." % (exc, log_dir))
        return 1
    finally:
        ignore_stop_signals()      # whatever happened, nothing may interrupt the clean-up
        platform.stop()
        say("stopped.")


def _what_starts(replicas):
    names = [name if replicas.get(name, 1) == 1 else "%s (%d processes)" % (name, replicas[name])
             for name in launch.SERVICES]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _welcome(platform, host, log_dir, var_dir, accounts):
    base = platform.public_base_url
    where = ("on every interface of this machine: phones on its network open the QR codes"
             if host in launch.ALL_INTERFACES else "on %s only (HOST=0.0.0.0 for phones on "
             "this network)" % host)
    say("\nE-inspection is running, %s.\n"
        "  web pages     %s/app/  (log in with an account below)\n"
        "  QR codes      point at %s/scan/...  (PUBLIC_BASE_URL)\n"
        "  health        %s/health\n"
        "  enterprises   %s/api/v1/enterprises\n"
        "  a score       %s/api/v1/enterprises/<id>/score\n"
        "  notices       %s/api/v1/notices?recipient=authority\n"
        "  metrics       %s/metrics\n"
        "  logs          %s\n"
        "  data          %s (SQLite)\n"
        "Ctrl-C stops everything.\n" % (where, base, base, base, base, base, base, base,
                                         log_dir, var_dir))
    say("Log in (on the web pages, or POST %s/api/v1/auth/token {\"username\", "
        "\"password\"}) as:" % base)
    featured = [a for a in accounts if a[0] in demo.FEATURED]
    for username, password, role in [launch.ADMIN + ("authority_admin",)] + featured:
        say("  %-22s %-22s %s" % (username, password, role))
    others = [a[0] for a in accounts if a[0] not in demo.FEATURED]
    if others:
        say(textwrap.fill("and, with the same password: " + ", ".join(others), width=88,
                          initial_indent="  ", subsequent_indent="    "))
    say()


if __name__ == "__main__":
    sys.exit(main())
