import os

from nameko.timer import timer

from einspection.contract import load_command
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, subscribe

from . import dispatch, model, policy
from .channels import SmtpSettings
from .schemas import DeliveriesQuery, InboxQuery, Publish, ReadNotice, RecipientSettings, Subscribe

DISPATCH_SECONDS = float(os.environ.get("NOTIFY_DISPATCH_SECONDS") or 1)


def _env(key, default=None):
    return os.environ.get(key) or default


def delivery_settings():
    host = _env("NOTIFY_SMTP_HOST")
    smtp = None if not host else SmtpSettings(
        host=host, port=int(_env("NOTIFY_SMTP_PORT", 25)),
        sender=_env("NOTIFY_SMTP_FROM", SmtpSettings.sender),
        username=_env("NOTIFY_SMTP_USER", ""), password=_env("NOTIFY_SMTP_PASSWORD", ""),
        starttls=_env("NOTIFY_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"))
    return dispatch.DeliverySettings(
        smtp=smtp, max_attempts=int(_env("NOTIFY_MAX_ATTEMPTS", 8)),
        backoff_seconds=float(_env("NOTIFY_BACKOFF_SECONDS", 30)),
        lease_seconds=float(_env("NOTIFY_LEASE_SECONDS", 120)),
        webhook_timeout=float(_env("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 10)))


DELIVERY = delivery_settings()
POLICY = policy.Settings(default_language=_env("NOTIFY_DEFAULT_LANGUAGE", "zh"),
                         email_enabled=DELIVERY.smtp is not None)


class NotifyService(HealthCheck):
    """Grade notices, grid notifications, publications and their channels:
    the in-app inbox, e-mail and webhooks."""
    name = "notify"

    metrics = MetricsServer()
    store = EventStore("NOTIFY_DATABASE_URL", "sqlite:///var/notify.db",
                       projections=[model.metadata])

    @subscribe(model.CONSUMER, ["einspection.#"])      # webhooks may ask for any event
    def on_event(self, event):
        with self.store.begin() as conn:
            published = policy.handle(conn, event, POLICY)
        if published:
            self.store.committed()

    @timer(interval=DISPATCH_SECONDS)
    def send_due(self):
        dispatch.run_once(self.store.engine, DELIVERY)

    # --- commands --------------------------------------------------------------------
    @rpc
    def publish(self, payload, actor="authority"):
        command = load_command(Publish, payload)
        with self.store.begin() as conn:
            view = policy.publish(conn, command, POLICY, actor)
        self.store.committed()
        return view

    @rpc
    def read_notice(self, notice_id, payload):
        command = load_command(ReadNotice, payload)
        with self.store.begin() as conn:
            view = policy.read_notice(conn, notice_id, command["reader"])
        self.store.committed()
        return view

    @rpc
    def change_recipient_settings(self, recipient, payload, actor="system"):
        command = load_command(RecipientSettings, payload)
        with self.store.begin() as conn:
            return policy.change_recipient_settings(conn, recipient, command, actor)

    @rpc
    def subscribe_webhook(self, payload, actor="integrator"):
        command = load_command(Subscribe, payload)
        with self.store.begin() as conn:
            return policy.subscribe(conn, command, actor)

    @rpc
    def cancel_webhook(self, subscription_id, actor="integrator"):
        with self.store.begin() as conn:
            return policy.cancel_subscription(conn, subscription_id, actor)

    # --- reads -----------------------------------------------------------------------
    @rpc
    def inbox(self, query):
        query = load_command(InboxQuery, query)
        with self.store.connect() as conn:
            return policy.inbox(conn, query["recipient"], query["unread"], query["page"],
                                query["size"])

    @rpc
    def get_notice(self, notice_id):
        with self.store.connect() as conn:
            return policy.notice_view(conn, notice_id)

    @rpc
    def get_publication(self, publication_id):
        with self.store.connect() as conn:
            return policy.publication_view(conn, publication_id)

    @rpc
    def list_publications(self):
        with self.store.connect() as conn:
            return policy.list_publications(conn)

    @rpc
    def recipient_settings(self, recipient):
        policy.check_recipient(recipient)
        with self.store.connect() as conn:
            return policy.recipient_view(conn, recipient, POLICY)

    @rpc
    def list_webhooks(self):
        with self.store.connect() as conn:
            return policy.list_subscriptions(conn)

    @rpc
    def get_webhook(self, subscription_id):
        with self.store.connect() as conn:
            return policy.subscription_view(conn, subscription_id)

    @rpc
    def webhook_deliveries(self, subscription_id, query):
        query = load_command(DeliveriesQuery, query)
        with self.store.connect() as conn:
            return policy.subscription_deliveries(conn, subscription_id, query["status"],
                                                  query["limit"])
