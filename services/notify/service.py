import logging
import os

import eventlet
from nameko.extensions import DependencyProvider

from einspection import bus, consumer
from einspection.acting import Acting
from einspection.contract import load_command
from einspection.errors import ServiceUnavailable
from einspection.nameko_glue import (EventStore, HealthCheck, MetricsServer, rpc, setting,
                                     subscribe, timer)

from . import addresses, bindings, dispatch, model, policy
from .channels import SmtpSettings
from .schemas import (DeliveriesQuery, InboxQuery, Publish, PublicationQuery, ReadNotice,
                      RecipientSettings, RotateSecret, Subscribe, WebhookQuery)

DISPATCH_SECONDS = float(os.environ.get("NOTIFY_DISPATCH_SECONDS") or 1)


def _env(key, default=None):
    return os.environ.get(key) or default


def _flag(key):
    return _env(key, "false").lower() in ("1", "true", "yes")


# Off unless the deployment says so: the project's own tests receive on 127.0.0.1.
WEBHOOK_ADDRESSES = addresses.Rule(allow_loopback=_flag("NOTIFY_WEBHOOK_ALLOW_LOOPBACK"))


def delivery_settings():
    host = _env("NOTIFY_SMTP_HOST")
    smtp = None if not host else SmtpSettings(
        host=host, port=int(_env("NOTIFY_SMTP_PORT", 25)),
        sender=_env("NOTIFY_SMTP_FROM", SmtpSettings.sender),
        username=_env("NOTIFY_SMTP_USER", ""), password=_env("NOTIFY_SMTP_PASSWORD", ""),
        starttls=_flag("NOTIFY_SMTP_STARTTLS"))
    return dispatch.DeliverySettings(
        smtp=smtp, max_attempts=int(_env("NOTIFY_MAX_ATTEMPTS", 8)),
        backoff_seconds=float(_env("NOTIFY_BACKOFF_SECONDS", 30)),
        lease_seconds=float(_env("NOTIFY_LEASE_SECONDS", 120)),
        webhook_timeout=float(_env("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 10)),
        webhook_addresses=WEBHOOK_ADDRESSES)


DELIVERY = delivery_settings()
POLICY = policy.Settings(default_language=_env("NOTIFY_DEFAULT_LANGUAGE", "zh"),
                         email_enabled=DELIVERY.smtp is not None,
                         secret_overlap_hours=float(
                             _env("NOTIFY_WEBHOOK_SECRET_OVERLAP_HOURS", 24)))


log = logging.getLogger(__name__)


class WebhookBindings(DependencyProvider):
    """The bindings of notify's queue beyond its handlers' types: the active
    webhook subscriptions' patterns (bindings.py). Reconciled once the
    service starts (tried again until the broker and the database answer);
    `bind_patterns` for a subscription about to be made."""

    RETRY_SECONDS = (0.5, 1, 2, 5)

    def setup(self):
        config = self.container.config
        self.amqp_uri = bus.events_amqp_uri(config)
        self.exchange_name = bus.exchange_name(config)
        self.queue_name = "%s.%s" % (setting(config, "QUEUE_PREFIX", bus.DEFAULT_QUEUE_PREFIX),
                                     model.CONSUMER)
        self.limit = bus.delivery_limit(config)
        self.reconciled = False

    def start(self):
        self.container.spawn_managed_thread(self._reconcile, identifier="webhook-bindings")

    def _engine(self):
        return next(dependency.engine for dependency in self.container.dependencies
                    if isinstance(dependency, EventStore))

    def _reconcile(self):
        for attempt in range(10 ** 6):
            try:
                bound, unbound = bindings.reconcile(self._engine(), self.amqp_uri,
                                                    self.exchange_name, self.queue_name,
                                                    self.limit)
            except Exception as exc:
                pause = self.RETRY_SECONDS[min(attempt, len(self.RETRY_SECONDS) - 1)]
                log.warning("binding %s to the webhooks' patterns failed (%s); trying again "
                            "in %s s", self.queue_name, exc, pause)
                eventlet.sleep(pause)
                continue
            self.reconciled = True
            log.info("%s bound to %d keys (%d of them webhook patterns)", self.queue_name,
                     len(bound), len(set(bound) - set(bindings.HANDLED_KEYS)))
            return

    def get_dependency(self, worker_ctx):
        return self

    def exclusive(self):
        return bindings.exclusive(self._engine())

    def bind_patterns(self, patterns):
        try:
            bindings.bind(self.amqp_uri, self.exchange_name, self.queue_name, patterns,
                          self.limit)
        except bus.CONNECTION_ERRORS as exc:
            raise ServiceUnavailable("the event broker is unavailable (%s); the subscription "
                                     "is not made: retry later" % exc) from exc


class NotifyService(HealthCheck):
    """Grade notices, grid notifications, publications and their channels:
    the in-app inbox, e-mail and webhooks."""
    name = "notify"

    metrics = MetricsServer()
    store = EventStore("NOTIFY_DATABASE_URL", "sqlite:///var/notify.db",
                       projections=[model.metadata])

    webhook_bindings = WebhookBindings()

    # and the active webhook subscriptions' patterns (WebhookBindings); up to
    # 200 delivered events in one transaction
    @subscribe(model.CONSUMER, bindings.HANDLED_KEYS, batch=200)
    def on_events(self, events):
        if policy.receive_many(self.store.engine, events, POLICY):
            self.store.committed()

    @timer(interval=DISPATCH_SECONDS)
    def send_due(self):
        dispatch.run_once(self.store.engine, DELIVERY)

    # --- commands --------------------------------------------------------------------
    # `acting` (einspection.acting, as a dict) is the account acting — the
    # actor of what it records — and its scope; each command runs in its
    # journal (einspection.journal): a repeat answers what the first answered.
    @rpc
    def publish(self, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(Publish, payload)
        return self.store.command(acting, "publish", [payload]).run(
            lambda conn: policy.publish(conn, command, POLICY, acting.actor))

    @rpc
    def read_notice(self, notice_id, payload, acting):
        """The account's read receipt (the first read only)."""
        acting = Acting.from_dict(acting)
        principal = acting.account.to_dict()
        load_command(ReadNotice, payload)

        def execute(conn):
            notice = policy.notice_view(conn, notice_id)
            policy.require(policy.answers_for(principal, notice["recipient"]), principal,
                           "notice", notice_id)
            return policy.read_notice(conn, notice_id, acting.actor)
        return self.store.command(acting, "read_notice", [notice_id, payload]).run(execute)

    @rpc
    def change_recipient_settings(self, recipient, payload, acting):
        acting = Acting.from_dict(acting)
        principal = acting.account.to_dict()
        command = load_command(RecipientSettings, payload)
        policy.check_recipient(recipient)
        policy.require(policy.manages(principal, recipient), principal, "recipient", recipient)
        return self.store.command(acting, "change_recipient_settings", [recipient, payload]).run(
            lambda conn: policy.change_recipient_settings(conn, recipient, command, acting.actor))

    @rpc
    def subscribe_webhook(self, payload, acting):
        """A repeat answers the first answer, its signing secret too: the
        secret is in this store anyway (deliveries are signed with it), and
        only the same account with the same Idempotency-Key gets it."""
        acting = Acting.from_dict(acting)
        command = load_command(Subscribe, payload)

        def prepare():
            checked = policy.check_subscription(command, WEBHOOK_ADDRESSES)
            # bound before the subscription commits: no event after the commit is missed
            self.webhook_bindings.bind_patterns(checked["event_types"])
            return checked
        with self.webhook_bindings.exclusive():
            return self.store.command(acting, "subscribe_webhook", [payload]).run(
                lambda conn, checked: policy.subscribe(conn, checked, acting.account.to_dict(),
                                                       acting.scope),
                prepare=prepare)

    @rpc
    def rotate_webhook_secret(self, subscription_id, payload, acting):
        """A new signing secret; a repeat answers the first answer, the new
        secret too (as subscribing does)."""
        acting = Acting.from_dict(acting)
        command = load_command(RotateSecret, payload)

        def execute(conn):
            self._subscription(conn, subscription_id, acting.account.to_dict())
            return policy.rotate_secret(conn, subscription_id, command, acting.actor, POLICY)
        return self.store.command(acting, "rotate_webhook_secret",
                                  [subscription_id, payload]).run(execute)

    @rpc
    def cancel_webhook(self, subscription_id, acting):
        acting = Acting.from_dict(acting)

        def execute(conn):
            self._subscription(conn, subscription_id, acting.account.to_dict())
            return policy.cancel_subscription(conn, subscription_id, acting.actor)
        return self.store.command(acting, "cancel_webhook", [subscription_id]).run(execute)

    # --- reads -----------------------------------------------------------------------
    # `principal` (a dict) is the account asking, `scope` the enterprise ids
    # it may see (None: all); what is outside them is NotFound.

    @rpc
    def inbox(self, query, principal, scope=None):
        query = load_command(InboxQuery, query)
        policy.require(policy.may_read(principal, scope, query["recipient"]), principal,
                       "inbox", query["recipient"])
        with self.store.connect() as conn:
            return policy.inbox(conn, query["recipient"], query)

    @rpc
    def get_notice(self, notice_id, principal, scope=None):
        with self.store.connect() as conn:
            view = policy.notice_view(conn, notice_id)
        policy.require(policy.may_read(principal, scope, view["recipient"]), principal,
                       "notice", notice_id)
        return view

    @rpc
    def get_publication(self, publication_id):
        with self.store.connect() as conn:
            return policy.publication_view(conn, publication_id)

    @rpc
    def list_publications(self, query=None):
        query = load_command(PublicationQuery, query or {})
        with self.store.connect() as conn:
            return policy.list_publications(conn, query)

    @rpc
    def recipient_settings(self, recipient, principal, scope=None):
        policy.check_recipient(recipient)
        policy.require(policy.manages(principal, recipient)
                       or policy.may_read(principal, scope, recipient), principal,
                       "recipient", recipient)
        with self.store.connect() as conn:
            return policy.recipient_view(conn, recipient, POLICY)

    @rpc
    def list_webhooks(self, query=None, principal=None):
        query = load_command(WebhookQuery, query or {})
        with self.store.connect() as conn:
            return policy.list_subscriptions(conn, query, policy.subscriptions_owner(principal))

    @rpc
    def get_webhook(self, subscription_id, principal):
        with self.store.connect() as conn:
            return self._subscription(conn, subscription_id, principal)

    @rpc
    def webhook_deliveries(self, subscription_id, query, principal):
        query = load_command(DeliveriesQuery, query)
        with self.store.connect() as conn:
            self._subscription(conn, subscription_id, principal)
            return policy.subscription_deliveries(conn, subscription_id, query)

    @rpc
    def awaiting(self, events):
        """HealthCheck's, for what notify's queue is bound to: its handlers'
        types and what the active subscriptions take."""
        with self.store.connect() as conn:
            keys = list(bindings.HANDLED_KEYS) + sorted(policy.active_patterns(conn))
            return consumer.awaiting(conn, model.CONSUMER, keys, events)

    @staticmethod
    def _subscription(conn, subscription_id, principal):
        view = policy.subscription_view(conn, subscription_id)
        policy.require(policy.owns_subscription(principal, view), principal,
                       "webhook subscription", subscription_id)
        return view
