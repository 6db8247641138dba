"""Tenant scoping in the services' own queries. A scope is the list of
enterprise ids the caller may see, or None for all of them (the authority).
Outside the scope a thing does not exist: NotFound, never Forbidden, so ids
cannot be probed — and the attempt is logged."""
import logging

from .errors import NotFound

log = logging.getLogger("einspection.scope")


def visible(scope, enterprise_id):
    return scope is None or enterprise_id in scope


def log_attempt(what, ident, enterprise_id, actor=""):
    log.warning("cross-tenant attempt: %s asked for %s %s of enterprise %s",
                actor or "an account", what, ident, enterprise_id)


def require(scope, enterprise_id, what, ident, actor=""):
    """Raise NotFound(what, ident) unless `enterprise_id` is in `scope`."""
    if not visible(scope, enterprise_id):
        log_attempt(what, ident, enterprise_id, actor)
        raise NotFound(what, ident)


def where(column, scope):
    """A WHERE clause limiting `column` (an enterprise id column) to `scope`,
    or None when the scope is everything."""
    if scope is None:
        return None
    return column.in_(list(scope))
