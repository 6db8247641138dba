"""Notify's read models, and how each of its own events changes them.

Everything here is rebuilt by `rebuild`: the directory from the
EnterpriseRegistered events notify received, the disabled accounts from the
AccountDisabled ones, the rest from notify's own event log. Only the
delivery lease (which process is sending right now) is not an event: it is
a lock, and a rebuilt table starts with none."""
import json

from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, select, update)

from einspection import eventstore
from einspection.db import upsert
from einspection.projection import paged

CONSUMER = "notify"

metadata = MetaData()

# The enterprises, from EnterpriseRegistered: who a grid notice or a
# publication goes to.
directory = Table(
    "notify_directory", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("industry", String(100), nullable=False, index=True),
    Column("town", String(100), nullable=False, index=True),
    Column("grid", String(100), nullable=False, index=True),
)

# Received events that need their enterprise's grid, waiting for its
# registration to arrive (the bus does not order events of two services).
waiting = Table(
    "notify_waiting", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("body", Text, nullable=False),
)

# The accounts the register disabled, from AccountDisabled: their webhook
# subscriptions are suspended (a subscription records its owner's username).
disabled_accounts = Table(
    "notify_disabled_accounts", metadata,
    Column("username", String(100), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=False),
)

recipients = Table(
    "notify_recipients", metadata,
    Column("recipient", String(200), primary_key=True),
    Column("language", String(8), nullable=False),
    Column("emails", Text, nullable=False),         # JSON list
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

notices = Table(
    "notices", metadata,
    Column("notice_id", String(64), primary_key=True),
    Column("recipient", String(200), nullable=False, index=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("cause_event_id", String(64), nullable=False),
    Column("publication_id", String(64), index=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("read_by", String(200)),
    # one notice per cause and recipient, whatever is redelivered
    UniqueConstraint("cause_event_id", "recipient", name="uq_notice_cause_recipient"),
)

publications = Table(
    "publications", metadata,
    Column("publication_id", String(64), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("audience", String(16), nullable=False),
    Column("audience_value", String(100)),
    Column("published_by", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("recipient_count", Integer, nullable=False),
)

subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", Text, nullable=False),     # JSON list of patterns
    Column("secret", String(200), nullable=False),
    Column("description", String(500), nullable=False),
    Column("owner", String(100), nullable=False),
    Column("owner_role", String(32)),                # NULL: subscribed before it was recorded
    Column("enterprises", Text),                     # JSON list, or NULL: all
    Column("subscribed_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    # secret rotation: the secret replaced, which signs too until previous_secret_until
    Column("previous_secret", String(200)),
    Column("previous_secret_until", DateTime(timezone=True)),
    Column("secret_rotated_at", DateTime(timezone=True)),
    # the receiver answered 410 Gone: nothing more is scheduled or sent
    Column("disabled_at", DateTime(timezone=True)),
    Column("disabled_reason", Text),
)

deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("target", String(320), nullable=False),
    Column("notice_id", String(64), index=True),
    Column("event_id", String(64)),
    Column("event_type", String(128), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), index=True),
    Column("last_error", Text, nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),   # not an event: a lock
)

TABLES = [directory, waiting, disabled_accounts, recipients, notices, publications,
          subscriptions, deliveries]


def project(conn, event):
    """Apply one of notify's own events to the read models."""
    data = event.data
    if event.name == "NoticeIssued":
        conn.execute(notices.insert().values(
            notice_id=data["notice_id"], enterprise_id=data["enterprise_id"],
            recipient=data["recipient"] or "enterprise:" + data["enterprise_id"],
            kind=data["kind"], language=data["language"], title=data["title"],
            body=data["body"], cause_event_id=data["cause_event_id"],
            publication_id=data["publication_id"], issued_at=event.time))
    elif event.name == "NoticeRead":
        conn.execute(update(notices).where(notices.c.notice_id == data["notice_id"])
                     .values(read_at=data["read_at"], read_by=data["reader"]))
    elif event.name == "PublicationPublished":
        conn.execute(publications.insert().values(
            recipient_count=len(data["recipients"]),
            **{k: data[k] for k in ("publication_id", "title", "body", "audience",
                                    "audience_value", "published_by", "published_at")}))
    elif event.name == "RecipientSettingsChanged":
        upsert(conn, recipients, {"recipient": data["recipient"], "language": data["language"],
                                  "emails": json.dumps(data["emails"]), "changed_at": event.time},
               ["recipient"], ["language", "emails", "changed_at"])
    elif event.name == "WebhookSubscribed":
        conn.execute(subscriptions.insert().values(
            subscription_id=data["subscription_id"], url=data["url"],
            event_types=json.dumps(data["event_types"]), secret=data["secret"],
            description=data["description"], owner=data["owner"], owner_role=data["owner_role"],
            enterprises=None if data["enterprises"] is None else json.dumps(data["enterprises"]),
            subscribed_at=event.time))
    elif event.name == "WebhookCancelled":
        conn.execute(update(subscriptions)
                     .where(subscriptions.c.subscription_id == data["subscription_id"])
                     .values(cancelled_at=event.time))
    elif event.name == "WebhookSecretRotated":
        # SET reads the row as it was: the secret replaced becomes the previous one
        conn.execute(update(subscriptions)
                     .where(subscriptions.c.subscription_id == data["subscription_id"])
                     .values(previous_secret=subscriptions.c.secret, secret=data["secret"],
                             previous_secret_until=data["overlap_until"],
                             secret_rotated_at=event.time))
    elif event.name == "WebhookDisabled":
        conn.execute(update(subscriptions)
                     .where(subscriptions.c.subscription_id == data["subscription_id"])
                     .values(disabled_at=event.time, disabled_reason=data["reason"]))
    elif event.name == "DeliveryScheduled":
        conn.execute(deliveries.insert().values(
            delivery_id=data["delivery_id"], channel=data["channel"], target=data["target"],
            notice_id=data["notice_id"], event_id=data["event_id"],
            event_type=data["event_type"], payload=data["payload"], status="pending",
            attempts=0, next_attempt_at=event.time, last_error="", scheduled_at=event.time))
    elif event.name == "DeliveryAttempted":
        finished = data["outcome"] != "retrying"
        conn.execute(update(deliveries).where(deliveries.c.delivery_id == data["delivery_id"])
                     .values(attempts=data["attempt"], last_error=data["error"],
                             status="pending" if not finished else data["outcome"],
                             next_attempt_at=data["next_attempt_at"],
                             finished_at=event.time if finished else None, lease_until=None))


def record(conn, stream_id, expected_version, new_events):
    """Append notify's own events and apply them, in the caller's transaction."""
    eventstore.append(conn, stream_id, expected_version, new_events)
    for event in new_events:
        project(conn, event)


def register_enterprise(conn, data):
    upsert(conn, directory, {k: data[k] for k in
                             ("enterprise_id", "name", "industry", "town", "grid")},
           ["enterprise_id"], ["name", "industry", "town", "grid"])


def disable_account(conn, event):
    """Record a disabled account (an AccountDisabled received); its first
    disabling counts. Events without a username name no subscription owner."""
    username = event.data["username"]
    if username is None:
        return
    upsert(conn, disabled_accounts, {"username": username,
                                     "account_id": event.data["account_id"],
                                     "disabled_at": event.time}, ["username"], [])


def enterprise(conn, enterprise_id):
    return conn.execute(select(directory).where(directory.c.enterprise_id == enterprise_id)
                        ).first()


def rebuild(engine):
    """Drop the read models and rebuild them from the events: what notify
    received (the directory, and what still waits for it) and what it
    recorded itself. Returns how many events were replayed."""
    from . import policy     # the waiting rule is the policy's
    replayed = 0
    with engine.begin() as conn:      # one transaction: a failed rebuild changes nothing
        metadata.drop_all(conn)
        metadata.create_all(conn)
        received = []

        def read_received(after, limit):
            return eventstore.received_events(conn, CONSUMER, after, limit)

        for _, event in paged(read_received):
            replayed += 1
            if event.name == "EnterpriseRegistered":
                register_enterprise(conn, event.data)
            elif event.name == "AccountDisabled":
                disable_account(conn, event)
            elif policy.needs_grid(event):
                received.append(event)

        def read_own(after, limit):
            return eventstore.read_all(conn, after, limit)

        for _, event in paged(read_own):
            replayed += 1
            project(conn, event)
        for event in received:
            if enterprise(conn, event.subject) is None:
                policy.wait_for_enterprise(conn, event)
    return replayed


def snapshot(conn):
    """Every read model's rows, lease aside: what the rebuild test compares."""
    tables = {}
    for table in TABLES:
        columns = [c for c in table.columns if c.name != "lease_until"]
        rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables
