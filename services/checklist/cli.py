"""The register's command line: `python -m services.checklist.cli create-admin
--username admin --password '…'` creates an authority admin (the first
account; every other is created through the API). `make admin` wraps it."""
import argparse
import getpass
import os
import sys

from einspection import eventstore
from einspection.contract import load_command, utcnow
from einspection.db import make_engine
from einspection.errors import DomainError

from . import accounts, projections
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="checklist")
    parser.add_argument("command", choices=["create-admin"])
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", help="asked for when left out")
    parser.add_argument("--database-url", default=os.environ.get(
        "CHECKLIST_DATABASE_URL", "sqlite:///var/checklist.db"))
    args = parser.parse_args(argv)
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
