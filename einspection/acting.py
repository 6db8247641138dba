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
names no account."""
from dataclasses import dataclass

from .auth import Principal
from .errors import NotAuthenticated


@dataclass(frozen=True)
class Acting:
    actor: str
    correlation_id: str = ""
    causation_id: str = ""
    scope: tuple = None          # the enterprise ids the account may touch; None: all
    account: Principal = None    # None when the platform acts by itself

    def __post_init__(self):
        if not isinstance(self.actor, str) or not self.actor.strip():
            raise ValueError("an act needs its actor")
        if self.account is not None and self.account.username != self.actor:
            raise ValueError("an account acts under its own username, not %r" % self.actor)

    @classmethod
    def by_account(cls, principal, correlation_id="", scope=None):
        return cls(actor=principal.username, correlation_id=correlation_id,
                   scope=None if scope is None else tuple(scope), account=principal)

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
                "scope": None if self.scope is None else list(self.scope)}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("account"), dict):
            raise NotAuthenticated("a command needs the account that acts")
        return cls.by_account(Principal.from_dict(data["account"]),
                              data.get("correlation_id") or "", data.get("scope"))
