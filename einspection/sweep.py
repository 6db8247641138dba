"""A timer's sweep over aggregates, exactly once across processes.

A timed check (the hazard service's overdue and listing checks, the
enforcement service's abatement check) reads a cheap superset of the
aggregates that may be due, then takes each in its own transaction: load
it, let it decide, append what it recorded with the version it was loaded
at. Several processes sweep at once; the one that appends second conflicts
(einspection.eventstore.append) and skips that aggregate, which the first
has done. So each effect is recorded once whatever the number of replicas,
and a sweep that dies midway is finished by the next tick of any of them."""
from .errors import ConcurrencyConflict


def record_once_each(store, candidates, step):
    """`step(conn, ident)` for each of `candidates`, each in its own
    transaction of `store`; it loads the aggregate, lets it decide, saves
    what it recorded and answers whether it recorded anything. A concurrent
    append skips that one. Returns the idents recorded by this call."""
    recorded = []
    for ident in candidates:
        try:
            with store.begin() as conn:
                changed = step(conn, ident)
        except ConcurrencyConflict:
            continue                  # another process recorded it first
        if changed:
            recorded.append(ident)
    return recorded
