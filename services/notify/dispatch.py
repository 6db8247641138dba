"""Sending what is scheduled: claim due deliveries under a lease, send each,
record each attempt as an event.

The lease is what makes a crash recoverable without a second sender: a
process that dies mid-send leaves its claim, which expires after
`lease_seconds`; then any process takes the delivery again, with the same
id. Attempts are versions of the delivery's stream, so two processes can
never both record the same attempt."""
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta, timezone

from prometheus_client import Counter
from sqlalchemy import and_, bindparam, or_, select, update

from einspection.contract import isoformat, new_event, utcnow
from einspection.errors import ConcurrencyConflict

from . import addresses, channels, model, policy
from .model import deliveries, disabled_accounts, notices, subscriptions

log = logging.getLogger(__name__)

ATTEMPTS = Counter("einspection_notify_delivery_attempts_total",
                   "E-mail and webhook tries, by outcome", ["channel", "outcome"])


@dataclass(frozen=True)
class DeliverySettings:
    smtp: channels.SmtpSettings = None      # None: e-mail is off
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    lease_seconds: float = 120.0
    webhook_timeout: float = 10.0
    webhook_addresses: addresses.Rule = addresses.Rule()
    batch: int = 50
    parallel: int = 8

    def __post_init__(self):
        # the lease covers one send, which may take the receiver's whole timeout
        if self.lease_seconds <= self.webhook_timeout:
            raise ValueError("NOTIFY_LEASE_SECONDS (%s) must be longer than the webhook "
                             "timeout, NOTIFY_WEBHOOK_TIMEOUT_SECONDS (%s): a send may take "
                             "that long" % (self.lease_seconds, self.webhook_timeout))

    def retry_delay(self, attempt):
        """30 s, 1 min, 2 min, ... doubling, capped."""
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)


_CLAIMABLE = and_(deliveries.c.status == "pending",
                  deliveries.c.next_attempt_at <= bindparam("now"),
                  or_(deliveries.c.lease_until.is_(None),
                      deliveries.c.lease_until < bindparam("now")))
DUE = (select(deliveries.c.delivery_id).where(_CLAIMABLE)
       .order_by(deliveries.c.next_attempt_at, deliveries.c.delivery_id)
       .limit(bindparam("limit")))
CLAIM = (update(deliveries).where(deliveries.c.delivery_id == bindparam("id"), _CLAIMABLE)
         .values(lease_until=bindparam("until")))
# Just before sending, the claim is renewed from the lease this process
# holds: a delivery that waited in a batch behind slow receivers until its
# lease ran out may have been taken by another process, and then is not sent
# here a second time. So the lease has to cover one send, not a whole batch.
RENEW = (update(deliveries).where(deliveries.c.delivery_id == bindparam("id"),
                                  deliveries.c.status == "pending",
                                  deliveries.c.lease_until == bindparam("held"))
         .values(lease_until=bindparam("until")))
CLAIMED = (select(deliveries, notices.c.title, notices.c.body.label("notice_body"),
                  subscriptions.c.url, subscriptions.c.secret, subscriptions.c.cancelled_at,
                  subscriptions.c.previous_secret, subscriptions.c.previous_secret_until,
                  subscriptions.c.disabled_at, subscriptions.c.disabled_reason,
                  subscriptions.c.owner, disabled_accounts.c.disabled_at.label("suspended_at"))
           .outerjoin(notices, notices.c.notice_id == deliveries.c.notice_id)
           .outerjoin(subscriptions, and_(deliveries.c.channel == "webhook",
                                          subscriptions.c.subscription_id == deliveries.c.target))
           .outerjoin(disabled_accounts, disabled_accounts.c.username == subscriptions.c.owner)
           .where(deliveries.c.delivery_id.in_(bindparam("ids", expanding=True))))


def claim_due(engine, settings, now):
    """Take up to a batch of due deliveries for this process."""
    with engine.begin() as conn:
        due = [row.delivery_id for row in conn.execute(DUE, {"now": now,
                                                             "limit": settings.batch})]
        until = now + timedelta(seconds=settings.lease_seconds)
        # a conditional update: of two processes racing for a row, one wins
        claimed = [delivery_id for delivery_id in due
                   if conn.execute(CLAIM, {"id": delivery_id, "now": now,
                                           "until": until}).rowcount == 1]
        if not claimed:
            return []
        return conn.execute(CLAIMED, {"ids": claimed}).all()


def renew_lease(engine, settings, delivery, now):
    """True if this process still holds the delivery, now for another
    lease_seconds; False if the lease it had was taken by another."""
    with engine.begin() as conn:
        return conn.execute(RENEW, {"id": delivery.delivery_id, "held": delivery.lease_until,
                                    "until": now + timedelta(seconds=settings.lease_seconds)}
                            ).rowcount == 1


def signing_secrets(delivery, now):
    """The subscription's secret, and the one it replaced while the overlap lasts."""
    until = delivery.previous_secret_until
    if until is not None and until.tzinfo is None:          # SQLite keeps no offset
        until = until.replace(tzinfo=timezone.utc)
    if delivery.previous_secret and until is not None and now < until:
        return [delivery.secret, delivery.previous_secret]
    return [delivery.secret]


def send(settings, delivery, now=None):
    """Raises channels.SendFailed; returns when the receiver accepted."""
    now = now or utcnow()
    attempt = delivery.attempts + 1
    if delivery.channel == "email":
        if settings.smtp is None:
            raise channels.SendFailed("e-mail is not configured (NOTIFY_SMTP_HOST)")
        channels.send_email(settings.smtp, delivery.delivery_id, delivery.target,
                            delivery.title, delivery.notice_body)
    else:
        if delivery.url is None or delivery.cancelled_at is not None:
            raise channels.SendFailed("the subscription was cancelled", permanent=True)
        if delivery.suspended_at is not None:
            raise channels.SendFailed("the subscription is suspended: the account %s that made "
                                      "it was disabled" % delivery.owner, permanent=True)
        if delivery.disabled_at is not None:
            raise channels.SendFailed("the subscription is disabled: %s"
                                      % delivery.disabled_reason, permanent=True)
        channels.post_webhook(delivery.url, signing_secrets(delivery, now), delivery.payload,
                              delivery.delivery_id, attempt, settings.webhook_timeout,
                              settings.webhook_addresses, now=now)


def record_attempt(engine, settings, delivery, failure, now):
    attempt = delivery.attempts + 1
    if failure is None:
        outcome, next_at = "delivered", None
    elif failure.permanent or attempt >= settings.max_attempts:
        outcome, next_at = "failed", None
    else:
        outcome, next_at = "retrying", now + timedelta(seconds=settings.retry_delay(attempt))
    attempted = new_event("DeliveryAttempted", {
        "delivery_id": delivery.delivery_id, "channel": delivery.channel,
        "target": delivery.target, "attempt": attempt, "outcome": outcome,
        "error": "" if failure is None else str(failure)[:2000], "next_attempt_at": next_at,
    }, actor="notify", time=now)
    try:
        with engine.begin() as conn:
            # version 1 is DeliveryScheduled; attempt n is version n + 1
            model.record(conn, "delivery-" + delivery.delivery_id, attempt, [attempted])
    except ConcurrencyConflict:
        log.warning("attempt %d of delivery %s was already recorded", attempt,
                    delivery.delivery_id)
    if failure is not None and getattr(failure, "gone", False):
        disable(engine, delivery, "the receiver answered 410 Gone to delivery %s at %s"
                % (delivery.delivery_id, isoformat(now)), now)
    ATTEMPTS.labels(delivery.channel, outcome).inc()
    return outcome


def disable(engine, delivery, reason, now):
    """A 410 Gone: the subscription is disabled, once (of two deliveries
    answered so at once, the second finds it done or loses the race)."""
    for _ in range(3):
        try:
            with engine.begin() as conn:
                if policy.disable_subscription(conn, delivery.target, reason,
                                               delivery.delivery_id, now):
                    log.warning("webhook subscription %s disabled: %s", delivery.target, reason)
            return
        except ConcurrencyConflict:
            continue


def run_once(engine, settings, clock=utcnow):
    """One round: claim what is due, send it (side by side), record each
    outcome. Returns {outcome: count}."""
    claimed = claim_due(engine, settings, clock())
    if not claimed:
        return {}

    def attempt(delivery):
        if not renew_lease(engine, settings, delivery, clock()):
            log.info("delivery %s was taken over by another process (its lease ran out "
                     "before its turn); not sent here", delivery.delivery_id)
            return "taken_over"
        failure = None
        try:
            send(settings, delivery, clock())
        except channels.SendFailed as exc:
            failure = exc
        except Exception as exc:          # a bug must not hold the delivery until the lease ends
            log.exception("sending delivery %s", delivery.delivery_id)
            failure = channels.SendFailed("unexpected: %r" % exc)
        return record_attempt(engine, settings, delivery, failure, clock())

    with ThreadPoolExecutor(max_workers=min(settings.parallel, len(claimed))) as pool:
        outcomes = list(pool.map(attempt, claimed))
    return {outcome: outcomes.count(outcome) for outcome in set(outcomes)}
