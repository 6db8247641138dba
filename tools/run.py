"""`make run`: the whole platform on embedded defaults, with demo data."""
import argparse
import os
import secrets
import sys
import time

from kombu import Connection

from einspection.bus import DEFAULT_AMQP_URI
from tools import demo, launch


def _kept_secret():
    """The token-signing key of `make run`, kept in var/ so logins survive a restart."""
    path = os.path.join(launch.ROOT, "var", "auth-secret")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    with open(path) as handle:
        return handle.read().strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    args = parser.parse_args()
    amqp_uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        sys.exit("RabbitMQ is not reachable at %s (%s).\nStart it (rabbitmq-server -detached) "
                 "or set AMQP_URI." % (amqp_uri, exc))
    log_dir = os.path.join(launch.ROOT, "var", "log")
    os.makedirs(log_dir, exist_ok=True)
    env = launch.environment(amqp_uri, {}, args.port)
    env["AUTH_SECRET"] = os.environ.get("AUTH_SECRET") or _kept_secret()
    platform = launch.Platform(env, args.port, log_dir)
    print("starting hazard, checklist, scoring, notify and the gateway ...", flush=True)
    try:
        platform.start()
        accounts = []
        if not args.no_demo:
            ids, accounts = demo.load(platform.base_url, platform.login())
            print("demo data: %d enterprises" % len(ids))
        base = "http://localhost:%d" % args.port
        print("\nE-inspection is running.\n"
              "  web pages     %s/app/  (log in with an account below)\n"
              "  health        %s/health\n"
              "  enterprises   %s/api/v1/enterprises\n"
              "  a score       %s/api/v1/enterprises/<id>/score\n"
              "  notices       %s/api/v1/notices?recipient=authority\n"
              "  metrics       %s/metrics\n"
              "  logs          %s\n"
              "  data          %s (SQLite)\n"
              "Ctrl-C stops everything.\n" % (base, base, base, base, base, base, log_dir,
                                               os.path.join(launch.ROOT, "var")), flush=True)
        print("Log in (on the web pages, or POST %s/api/v1/auth/token {\"username\", "
              "\"password\"}) as:" % base)
        for username, password, role in [launch.ADMIN + ("authority_admin",)] + accounts:
            print("  %-22s %-22s %s" % (username, password, role))
        print(flush=True)
        while True:
            for key, process in platform.processes.items():
                if process.poll() is not None:
                    print("%s exited with %s; see %s/%s.log" % (key, process.returncode,
                                                                 log_dir, key))
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    finally:
        platform.stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
