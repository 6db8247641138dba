"""The command journal: every command a service executes for a caller is
recorded by its id and name (einspection.acting: `command_id`) in the same
transaction as its events, with the answer it gave. A repeat of it — an RPC
request the broker delivered again after a crash, a client's retry with
the same Idempotency-Key — gets that first answer and changes nothing.

| a copy of command (id, name) | finds in the journal | does |
| --- | --- | --- |
| the first | nothing | runs: its journal row, its events and projections commit together |
| a later one, the same request | the row | answers the stored answer; writes nothing |
| a later one, another request | the row, another fingerprint | CommandIdReused (HTTP 422) |
| one running beside the first | the first's row, not committed yet | waits for it (PostgreSQL: the row's unique key; SQLite: BEGIN IMMEDIATE holds the database), then as a later one |
| any, after the first failed | nothing: the failure rolled everything back, its row too | runs |

The row is claimed first in the transaction (INSERT … ON CONFLICT DO
NOTHING), so a copy that waits has done nothing yet, and a repeat is told by
the claim itself: its transaction rolls back, nothing written, and the
stored answer is read. A command with work to do before its transaction
(`prepare`: checks in transactions of their own, hashing a password) asks
the journal first, so that its repeat skips that work.

A secret the journal must not keep in the clear (a temporary password) is
left out of the stored answer (`conceal`); a repeat of such a command is a
Conflict that says so. Rows are kept COMMAND_JOURNAL_HOURS (24 by default),
then pruned (`prune`). Plain: no nameko."""
import hashlib
import json
import os
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, tuple_, update

from .contract import utcnow
from .db import insert_ignoring_duplicates, reading
from .errors import CommandIdReused, ConcurrencyConflict, Conflict, DomainError
from .eventstore import commands

DEFAULT_KEEP_HOURS = 24
PRUNE_BATCH = 500
_MISSING = object()

# The hot statements, built once (einspection.eventstore says why).
_THIS_COMMAND = ((commands.c.command_id == bindparam("key_id"))
                 & (commands.c.command == bindparam("key_name")))
LOOK_UP = select(commands.c.fingerprint, commands.c.answer,
                 commands.c.concealed).where(_THIS_COMMAND)
KEEP_ANSWER = update(commands).where(_THIS_COMMAND).values(
    answer=bindparam("kept_answer"), concealed=bindparam("kept_concealed"))


def keep_hours(value=None):
    """COMMAND_JOURNAL_HOURS: how long a command id is remembered (a retry
    later than that runs again)."""
    hours = float(value if value not in (None, "") else
                  os.environ.get("COMMAND_JOURNAL_HOURS") or DEFAULT_KEEP_HOURS)
    if hours <= 0:
        raise ValueError("COMMAND_JOURNAL_HOURS must be positive, not %r" % hours)
    return hours


def fingerprint(request):
    """sha256 of a request's canonical JSON: what makes a repeat the same
    request. A fast hash: never pass a secret (a password) in `request`."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _Repeated(Exception):
    """A copy of the command committed first: this one's transaction rolls back."""


class Command:
    """One command of `acting` in its service's journal; `run` executes it
    or answers its repeat. `request` is what identifies the request (the
    RPC's arguments but `acting`, secrets left out)."""

    def __init__(self, engine, acting, name, request, on_commit=None):
        if not acting.command_id:
            raise ValueError("a journaled command needs its command id")
        self.engine, self.acting, self.name = engine, acting, name
        self.fingerprint = fingerprint(request)
        self._on_commit = on_commit
        self._key = {"key_id": acting.command_id, "key_name": name}

    def run(self, execute, prepare=None, conceal=(), attempts=1):
        """The command's answer: the stored one if it ran before, else what
        `execute(conn)` returns (a JSON value), run in one transaction with
        its journal row, and then stored.
        - `prepare()`, if given, runs once after the journal was asked and
          before the transaction (checks in transactions of their own, slow
          work such as hashing a password); `execute(conn, prepared)` gets
          its result;
        - `conceal`: keys of the answer (a dict) that the journal does not keep;
        - `attempts`: tries of the transaction on ConcurrencyConflict."""
        if prepare is not None:
            # asked first, so that a repeat skips the work; without it, the
            # claim in the transaction tells a repeat just as well
            stored = self._stored()
            if stored is not _MISSING:
                return stored
        try:
            prepared = (prepare(),) if prepare is not None else ()
            for attempt in range(attempts):
                try:
                    with self.engine.begin() as conn:
                        if not self._claim(conn):
                            raise _Repeated()
                        answer = execute(conn, *prepared)
                        self._keep(conn, answer, conceal)
                    break
                except ConcurrencyConflict:
                    if attempt == attempts - 1:
                        raise
        except _Repeated:
            stored = self._stored()
            if stored is _MISSING:       # pruned in between: not within hours of it
                raise RuntimeError("command %s: its journal row is gone" % self.name) from None
            return stored
        except DomainError:
            # a copy that committed meanwhile may be why this one's checks failed
            stored = self._stored()
            if stored is not _MISSING:
                return stored
            raise
        if self._on_commit is not None:
            self._on_commit()
        return answer

    def _claim(self, conn):
        inserted = conn.execute(insert_ignoring_duplicates(conn, commands), {
            "command_id": self.acting.command_id, "command": self.name,
            "fingerprint": self.fingerprint, "answer": None, "concealed": None,
            "actor": self.acting.actor, "recorded_at": utcnow()})
        return inserted.rowcount == 1

    def _keep(self, conn, answer, conceal):
        """Store the answer (a JSON value: what the RPC sends back as JSON too)."""
        kept = {key: value for key, value in answer.items() if key not in conceal} \
            if conceal else answer
        conn.execute(KEEP_ANSWER, dict(self._key, kept_answer=_json(kept),
                                       kept_concealed=_json(sorted(conceal)) if conceal else None))

    def _stored(self):
        """The answer of an earlier copy, or _MISSING."""
        with reading(self.engine) as conn:
            row = conn.execute(LOOK_UP, self._key).first()
        if row is None or row.answer is None:
            return _MISSING
        if row.fingerprint != self.fingerprint:
            raise CommandIdReused(
                "this Idempotency-Key was sent before with a different request (another "
                "body, path or query): a key names one request; send a new one with a new "
                "request")
        if row.concealed:
            raise Conflict("this request was made already (the same Idempotency-Key); its %s "
                           "was in that answer only and is kept nowhere: make a new request "
                           "with a new key" % " and ".join(json.loads(row.concealed)),
                           json.loads(row.answer))
        return json.loads(row.answer)


def _json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def prune(engine, hours=None, now=None):
    """Forget the commands recorded more than `hours` (keep_hours()) ago, in
    small transactions; returns how many. Replicas pruning at once do no
    harm: a row another one deleted first is simply gone."""
    older_than = (now or utcnow()) - timedelta(hours=keep_hours(hours))
    key = tuple_(commands.c.command_id, commands.c.command)
    total = 0
    while True:
        with engine.begin() as conn:
            keys = conn.execute(select(commands.c.command_id, commands.c.command)
                                .where(commands.c.recorded_at < older_than)
                                .limit(PRUNE_BATCH)).all()
            if keys:
                conn.execute(delete(commands).where(key.in_([tuple(k) for k in keys])))
        total += len(keys)
        if len(keys) < PRUNE_BATCH:
            return total
