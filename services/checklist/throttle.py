"""Login throttling: failed logins per username and per client address, and
the growing delay they earn.

| failed logins of | tried freely | then, after each failure, a wait of | at most |
| --- | --- | --- | --- |
| a username (any address) | 5 | 1 s, doubling with each further failure | 60 s |
| a client address (any username) | 20 | 1 s, doubling | 15 min |

While a delay runs, an attempt is refused at once (TooManyAttempts: HTTP
429 with Retry-After), whatever the password, and is not counted. A success
forgets the username's failures; a key with no failure for an hour starts
again from nothing. The username's delay is short on purpose: an attacker
who fails on someone's name holds that account back a minute at most after
each failure, and every failure also counts against the attacker's own
address, which is held back up to a quarter of an hour. The numbers are
settings (LOGIN_THROTTLE_*).

The state is operational, not a record: a table of its own in the register's
database (not an event stream, not rebuilt by a replay), which every
checklist process sees, so the limits hold with any number of gateway and
checklist processes. Each attempt is counted *before* its password is
checked (and taken back if it succeeds), inside a short transaction that
holds the key (an advisory lock on PostgreSQL, SQLite's one writer), so a
burst of parallel attempts cannot all slip through before the first failure
is written."""
import math
from dataclasses import dataclass
from datetime import timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, or_, select

from einspection.db import serialize, upsert
from einspection.errors import TooManyAttempts

metadata = MetaData()

login_throttle = Table(
    "login_throttle", metadata,
    Column("key", String(250), primary_key=True),   # username:<name> or address:<ip>
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False, index=True),
    Column("locked_until", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class Limit:
    free_failures: int
    base_seconds: float
    max_seconds: float

    def delay(self, failures):
        """Seconds to wait after the `failures`-th failure (0: none): from the
        last free one on, base, doubling, capped."""
        beyond = failures - self.free_failures
        if beyond < 0:
            return 0.0
        return min(self.max_seconds, self.base_seconds * 2 ** min(beyond, 40))


@dataclass(frozen=True)
class Policy:
    username: Limit = Limit(5, 1.0, 60.0)
    address: Limit = Limit(20, 1.0, 900.0)
    forget_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, get):
        """The policy from settings: `get(name, default)` reads one."""
        base = float(get("LOGIN_THROTTLE_BASE_SECONDS", 1))
        return cls(
            username=Limit(int(get("LOGIN_THROTTLE_USERNAME_FAILURES", 5)), base,
                           float(get("LOGIN_THROTTLE_USERNAME_MAX_SECONDS", 60))),
            address=Limit(int(get("LOGIN_THROTTLE_ADDRESS_FAILURES", 20)), base,
                          float(get("LOGIN_THROTTLE_ADDRESS_MAX_SECONDS", 900))),
            forget_seconds=float(get("LOGIN_THROTTLE_FORGET_SECONDS", 3600)))

    def keys(self, username, address):
        """[(key, limit)] an attempt counts against: the username (case
        ignored) and, when the gateway knows it, the client's address."""
        keys = [("username:" + username.lower(), self.username)]
        if address:
            keys.append(("address:" + address, self.address))
        return keys


def _aware(moment):
    """SQLite hands back naive datetimes; every one stored here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _fresh(row, now, policy):
    """(failures, locked_until) as they count now: None once forgotten."""
    if row is None or _aware(row.last_failure_at) < now - timedelta(
            seconds=policy.forget_seconds):
        return None
    return row.failures, _aware(row.locked_until)


def admit(conn, policy, keys, now):
    """Count an attempt against every key before its password is checked;
    TooManyAttempts (and nothing counted) if a key's delay still runs.
    Returns the reservation `succeeded` takes back."""
    conn.execute(delete(login_throttle).where(
        login_throttle.c.last_failure_at < now - timedelta(seconds=policy.forget_seconds),
        or_(login_throttle.c.locked_until.is_(None), login_throttle.c.locked_until < now)))
    rows, wait = {}, 0.0
    for key, _limit in keys:          # always the username first: no two wait on each other
        serialize(conn, "login-throttle " + key)     # a key with no row yet is held too
        row = _fresh(conn.execute(select(login_throttle).where(login_throttle.c.key == key))
                     .first(), now, policy)
        rows[key] = row
        if row is not None and row[1] is not None and row[1] > now:
            wait = max(wait, (row[1] - now).total_seconds())
    if wait:
        raise TooManyAttempts(max(1, math.ceil(wait)))
    reservation = {}
    for key, limit in keys:
        failures = (rows[key][0] if rows[key] is not None else 0) + 1
        delay = limit.delay(failures)
        locked_until = now + timedelta(seconds=delay) if delay else None
        upsert(conn, login_throttle, {"key": key, "failures": failures, "last_failure_at": now,
                                      "locked_until": locked_until},
               ["key"], ["failures", "last_failure_at", "locked_until"])
        reservation[key] = locked_until
    return reservation


def succeeded(conn, reservation):
    """The attempt was right: the username's failures are forgotten, and the
    address's count and any delay this attempt set are taken back."""
    for key, locked_until in reservation.items():
        if key.startswith("username:"):
            conn.execute(delete(login_throttle).where(login_throttle.c.key == key))
            continue
        serialize(conn, "login-throttle " + key)
        row = conn.execute(select(login_throttle).where(login_throttle.c.key == key)).first()
        if row is None:
            continue
        values = {"failures": max(0, row.failures - 1)}
        if _aware(row.locked_until) == locked_until:   # not a delay a later failure set since
            values["locked_until"] = None
        conn.execute(login_throttle.update().where(login_throttle.c.key == key).values(**values))
