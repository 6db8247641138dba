"""Errors that cross service boundaries. Plain exceptions: `nameko_glue`
registers them so an RPC caller gets the same class back, args intact."""
import json


class DomainError(Exception):
    status = 400


class InvalidCommand(DomainError):
    """Bad input; `errors` maps each field to its reasons."""
    status = 400

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


class NotFound(DomainError):
    status = 404

    def __init__(self, what, ident):
        super().__init__(what, ident)
        self.what, self.ident = what, ident

    def __str__(self):
        return "%s %s not found" % (self.what, self.ident)


class Conflict(DomainError):
    """The command does not fit the current state (e.g. an invalid transition)."""
    status = 409

    def __init__(self, message, state=None):
        if isinstance(state, str):      # back from RPC, where it travels as JSON text
            state = json.loads(state)
        # nameko turns every argument that is not text into its str(): None
        # would arrive as "None", numbers as text; JSON keeps them what they are.
        super().__init__(*([message] if state is None else [message, json.dumps(state)]))
        self.message, self.state = message, state

    def __str__(self):
        return self.message


class ConcurrencyConflict(Conflict):
    """Someone else appended to the stream first: reload and retry."""

    def __init__(self, stream_id, expected_version):
        # its own arguments as args, so it crosses RPC as itself
        DomainError.__init__(self, stream_id, expected_version)
        self.message = "stream %s changed since version %s" % (stream_id, expected_version)
        self.state = {"stream_id": stream_id, "expected_version": expected_version}


class Gone(DomainError):
    """It was there and is no more, for good (a retired position's code): HTTP 410."""
    status = 410

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class TooLarge(DomainError):
    """More than a limit allows (a file, a quota): HTTP 413."""
    status = 413

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class NotAuthenticated(DomainError):
    """No valid credentials: a wrong password, or a missing, forged or expired token."""
    status = 401

    def __init__(self, reason="wrong username or password"):
        super().__init__(reason)
        self.reason = reason

    def __str__(self):
        return self.reason


class Forbidden(DomainError):
    """The account's role may not do this. Another tenant's data is not
    Forbidden but NotFound, so ids cannot be probed."""
    status = 403

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class TooManyAttempts(DomainError):
    """Too many failed logins for a username or from an address: wait
    `retry_after` seconds (an HTTP 429 with Retry-After)."""
    status = 429

    def __init__(self, retry_after):
        super().__init__(int(retry_after))          # crosses RPC as text: int() again
        self.retry_after = int(retry_after)

    def __str__(self):
        return ("too many failed logins; try again in %d s" % self.retry_after)


class ServiceUnavailable(DomainError):
    """Something the service needs (its database, the broker) is away for now:
    nothing was done, and the same request may succeed later (HTTP 503 with
    Retry-After). `message` names what is unavailable."""
    status = 503

    def __init__(self, message, retry_after="5"):
        # text only: nameko turns other arguments into text on the way
        super().__init__(message, str(retry_after))
        self.message, self.retry_after = message, str(retry_after)

    def __str__(self):
        return self.message


class CommandIdReused(DomainError):
    """A command id (from a client's Idempotency-Key) that an earlier,
    different request of the same command carried: HTTP 422."""
    status = 422

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class DeadlinePassed(DomainError):
    """An RPC request that reached its service after its caller's deadline:
    not executed (the caller has answered 503 already, or will)."""
    status = 503

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class ReferencesUnvouched(DomainError):
    """A command names things (an enterprise, a position, an inspection) the
    service has not heard of from their owner yet, so it cannot vouch for
    them: nothing was done; the caller asks the owner, then sends the
    command again saying so. Never an HTTP answer of its own."""
    status = 409

    def __init__(self, fields):
        super().__init__(",".join(fields))          # crosses RPC as text
        self.fields = fields.split(",") if isinstance(fields, str) else list(fields)


ALL = (DomainError, InvalidCommand, NotFound, Conflict, ConcurrencyConflict, Gone, TooLarge,
       NotAuthenticated, Forbidden, TooManyAttempts, ServiceUnavailable, CommandIdReused,
       DeadlinePassed, ReferencesUnvouched)
