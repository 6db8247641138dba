"""Who acts, and within what: the one context every command of every
service takes, and the only source of the actor of the events it records.

    who acts        built by                        actor of its events
    an account      the gateway, once per request,  the account's username
                    from the bearer token
    the platform    a service's timer or consumer   the service's own name
                                                    ("hazard-service"), or the actor
                                                    of the event that caused it

Names in a request body (a reporter, an inspector, a verifier) are data
about people, never the actor. Commands cross RPC as `to_dict()`; a
service takes them back with `from_dict`, which refuses a command that
names no account, and one whose caller's deadline has passed.

An account's act also carries the command's identity and its deadline:

    command_id   the key of the command in its service's journal
                 (einspection.journal): a repeat of it is answered from
                 there and changes nothing. The gateway derives it from the
                 client's Idempotency-Key and the account, or makes a fresh
                 one per HTTP request, so an RPC the broker delivers again
                 is a repeat.
    deadline     epoch seconds (UTC) after which the caller no longer waits
                 for the answer: a request that arrives later is not
                 executed at all (hosts' clocks must agree within seconds)."""
import time
import uuid
from dataclasses import dataclass

from .auth import Principal
from .errors import DeadlinePassed, InvalidCommand, NotAuthenticated

COMMAND_ID_MAX = 64


def new_command_id():
    return str(uuid.uuid4())


def checked_command_id(value):
    """A command id a caller sent (None: none sent), or InvalidCommand."""
    if value is not None and not (isinstance(value, str) and 0 < len(value) <= COMMAND_ID_MAX):
        raise InvalidCommand({"command_id": ["must be text of 1 to %d characters"
                                             % COMMAND_ID_MAX]})
    return value


@dataclass(frozen=True)
class Acting:
    actor: str
    correlation_id: str = ""
    causation_id: str = ""
    scope: tuple = None          # the enterprise ids the account may touch; None: all
    account: Principal = None    # None when the platform acts by itself
    command_id: str = ""         # the journal's key of the command ("" when no command)
    deadline: float = None       # epoch seconds; None: the caller waits as long as it takes

    def __post_init__(self):
        if not isinstance(self.actor, str) or not self.actor.strip():
            raise ValueError("an act needs its actor")
        if self.account is not None and self.account.username != self.actor:
            raise ValueError("an account acts under its own username, not %r" % self.actor)

    @classmethod
    def by_account(cls, principal, correlation_id="", scope=None, command_id=None,
                   deadline=None):
        """An account's act; without a command id, a fresh one (a command
        that cannot be repeated, but is journaled like every other)."""
        return cls(actor=principal.username, correlation_id=correlation_id,
                   scope=None if scope is None else tuple(scope), account=principal,
                   command_id=command_id or new_command_id(), deadline=deadline)

    @classmethod
    def following(cls, event, actor=None):
        """The platform acting on `event`: in its correlation, caused by it,
        by `actor` (a service's name) or else by whoever recorded `event`."""
        return cls(actor=actor or event.actor, correlation_id=event.correlation_id,
                   causation_id=event.id)

    @property
    def role(self):
        return self.account.role if self.account is not None else None

    def to_dict(self):
        """For an RPC: an account's act (the platform's never leaves its process)."""
        return {"account": self.account.to_dict(), "correlation_id": self.correlation_id,
                "scope": None if self.scope is None else list(self.scope),
                "command_id": self.command_id, "deadline": self.deadline}

    @classmethod
    def from_dict(cls, data, now=time.time):
        """The act of an RPC command, where the command starts: refused
        without an account, and not executed past its deadline."""
        if not isinstance(data, dict) or not isinstance(data.get("account"), dict):
            raise NotAuthenticated("a command needs the account that acts")
        command_id, deadline = checked_command_id(data.get("command_id")), data.get("deadline")
        if deadline is not None:
            if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
                raise InvalidCommand({"deadline": ["must be epoch seconds"]})
            late = now() - deadline
            if late > 0:
                raise DeadlinePassed(
                    "the request arrived %.1f s after its caller's deadline and was not "
                    "executed: its caller no longer waits for the answer" % late)
        return cls.by_account(Principal.from_dict(data["account"]),
                              data.get("correlation_id") or "", data.get("scope"),
                              command_id=command_id, deadline=deadline)
