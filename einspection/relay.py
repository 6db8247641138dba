"""The outbox relay: publishes committed events, oldest first, a batch at
a time, and marks an entry published only after the broker has confirmed it
(the whole batch is published, then its confirms awaited once).

A crash between confirm and mark publishes that entry again on restart;
consumers are idempotent by event id, so the effect is still exactly once.
"""
import logging
import threading
import time

from . import bus, eventstore, metrics
from .contract import BY_TYPE
from .db import reading

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, engine, amqp_uri, exchange_name, batch_size=200,
                 idle_seconds=1.0, max_backoff=5.0, stream=None, gather_seconds=0.01):
        self.engine = engine
        # (name, arguments) of the replayable stream every event also lands
        # in (bus.declare_stream), declared before the first publish
        self.stream = stream
        self.amqp_uri = amqp_uri
        self.exchange = bus.events_exchange(exchange_name)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff
        # While busy, a batch at most every gather_seconds: the commits of that
        # moment go out together (a claim, a confirm wait and a mark each),
        # instead of a batch per commit. When idle, the first commit goes at once.
        self.gather_seconds = gather_seconds
        self._last_batch = 0.0
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self._connection = None
        self._batches = None
        self.published = 0
        self.running = False            # in its loop: for /health
        self.last_error = None          # of the last attempt, None when it published

    def _ensure_batches(self):
        if self._batches is None:
            self._connection = bus.connect(self.amqp_uri, confirm=False)
            self._connection.ensure_connection(max_retries=1)
            channel = self._connection.channel()
            self.exchange.bind(channel).declare()
            channel.close()
            if self.stream is not None:
                name, arguments = self.stream
                bus.declare_stream(self._connection, self.exchange.name, name, arguments)
            self._batches = bus.ConfirmedBatches(self._connection)
        return self._batches

    def close(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # already broken: nothing more to release
                pass
        self._connection = self._batches = None

    def publish_pending(self):
        """Publish one batch; returns how many entries were published."""
        if self.engine.dialect.name == "postgresql":
            # Row locks held across publish: replicas' relays queue up behind
            # each other instead of publishing the same batch twice.
            with self.engine.begin() as conn:
                rows = eventstore.claim_unpublished(conn, self.batch_size)
                self._publish(rows)
                eventstore.mark_published(conn, [row.position for row in rows])
        else:
            # SQLite has one writer: do not hold its lock while the broker
            # confirms, nor take it to read the batch.
            with reading(self.engine) as conn:
                rows = eventstore.claim_unpublished(conn, self.batch_size, lock=False)
            self._publish(rows)
            if rows:
                with self.engine.begin() as conn:
                    eventstore.mark_published(conn, [row.position for row in rows])
        self.published += len(rows)
        if rows:
            for row in rows:
                kind = BY_TYPE.get(row.routing_key)
                metrics.OUTBOX_PUBLISHED.labels(kind.name if kind else "other").inc()
            metrics.RELAY_LAST_PUBLISH.set_to_current_time()
        return len(rows)

    def _publish(self, rows):
        """Publish the batch, then wait once for the broker to confirm all of it."""
        if rows:
            batches = self._ensure_batches()
            for row in rows:
                bus.publish(batches.producer, self.exchange, row.routing_key, row.body,
                            message_id=row.event_id)
                batches.sent()
            batches.wait()

    def run(self):
        """Loop until stopped: drain the outbox, then wait for a wake-up or the
        idle interval. Broker or database trouble backs off and retries."""
        backoff = 0.2
        self.running = True
        try:
            self._loop(backoff)
        finally:
            self.running = False

    def _loop(self, backoff):
        while not self.stopping.is_set():
            try:
                # a batch short of full took all there was: next, wait to be woken
                while (self._gathered() >= self.batch_size
                       and not self.stopping.is_set()):
                    pass
                backoff = 0.2
                self.last_error = None
            except Exception as exc:
                self.last_error = str(exc).splitlines()[0][:200] if str(exc) else repr(exc)
                metrics.OUTBOX_FAILURES.inc()
                log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                self.close()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self.wakeup.wait(self.idle_seconds)
            self.wakeup.clear()
        self.close()

    def _gathered(self):
        """publish_pending, at most one batch per gather_seconds."""
        wait = self._last_batch + self.gather_seconds - time.monotonic()
        if wait > 0:
            self.stopping.wait(wait)
        published = self.publish_pending()
        self._last_batch = time.monotonic()
        return published

    def state(self):
        """"running", "failing" (running, its last attempt failed) or "stopped"."""
        if not self.running:
            return "stopped"
        return "failing" if self.last_error else "running"

    def wake(self):
        self.wakeup.set()

    def stop(self):
        self.stopping.set()
        self.wakeup.set()

