"""The register's command line:

- `python -m services.checklist.cli create-admin --username admin --password '…'`
  creates an authority admin (the first account; every other is created
  through the API). `make admin` wraps it.
- `python -m services.checklist.cli reset-password --username admin` sets a
  temporary password for any account (printed once; the account must change
  it at its next login): for an admin who lost theirs, or the demo admin's on
  a deployment that started from `make run`.
- `python -m services.checklist.cli replay` (part of `make replay`): drop the
  checklist service's read models, create them in the current shape and
  rebuild them from its events (the login throttle's table is left alone:
  it is operational state, not a record)."""
import argparse
import getpass
import os
import sys
import time

from einspection import auth, eventstore
from einspection.contract import load_command, utcnow
from einspection.db import make_engine
from einspection.errors import DomainError, NotFound

from . import accounts, passwords, projections, throttle
from .schemas import CreateAccount


def create_admin(database_url, username, password):
    engine = make_engine(database_url)
    eventstore.create_tables(engine, projections.metadata)
    command = load_command(CreateAccount, {"username": username, "password": password,
                                           "role": "authority_admin"})
    with engine.begin() as conn:
        account_id, event = accounts.create(conn, command, None, utcnow())
        eventstore.append(conn, accounts.stream_id(account_id), 0, [event])
        projections.project(conn, event)
    engine.dispose()
    return account_id


def reset_password(database_url, username):
    """A temporary password for `username`'s account (AccountPasswordReset)."""
    engine = make_engine(database_url)
    try:
        eventstore.create_tables(engine, projections.metadata, throttle.metadata)
        temporary = passwords.temporary()
        password_hash = auth.hash_password(temporary)
        with engine.begin() as conn:
            row = accounts.find_by_username(conn, username)
            if row is None:
                raise NotFound("account", username)
            event = accounts.reset_password(conn, row.account_id, password_hash, None, utcnow())
            stream = accounts.stream_id(row.account_id)
            eventstore.append(conn, stream, eventstore.stream_version(conn, stream), [event])
            projections.project(conn, event)
        return temporary
    finally:
        engine.dispose()


def replay(database_url):
    """Rebuild the read models in their current shape; how many events."""
    engine = make_engine(database_url)
    try:
        eventstore.create_tables(engine, projections.metadata, throttle.metadata)
        with engine.begin() as conn:      # one transaction: a failed rebuild changes nothing
            projections.metadata.drop_all(conn)
            projections.metadata.create_all(conn)
            return projections.rebuild(conn)
    finally:
        engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="checklist")
    parser.add_argument("command", choices=["create-admin", "reset-password", "replay"])
    parser.add_argument("--username", help="create-admin, reset-password: whose")
    parser.add_argument("--password", help="asked for when left out")
    parser.add_argument("--database-url", default=os.environ.get(
        "CHECKLIST_DATABASE_URL", "sqlite:///var/checklist.db"))
    args = parser.parse_args(argv)
    if args.command == "replay":
        started = time.perf_counter()
        replayed = replay(args.database_url)
        print("replayed %d events in %.2fs" % (replayed, time.perf_counter() - started))
        return 0
    if not args.username:
        parser.error("%s needs --username" % args.command)
    if args.command == "reset-password":
        try:
            temporary = reset_password(args.database_url, args.username)
        except DomainError as exc:
            print("not reset: %s" % exc, file=sys.stderr)
            return 1
        print("temporary password of %s (to be changed at the next login): %s"
              % (args.username, temporary))
        return 0
    password = args.password or getpass.getpass("password for %s: " % args.username)
    try:
        account_id = create_admin(args.database_url, args.username, password)
    except DomainError as exc:
        print("not created: %s" % (getattr(exc, "errors", None) or exc), file=sys.stderr)
        return 1
    print("authority admin %s created (%s)" % (args.username, account_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
