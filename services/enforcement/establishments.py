"""Establishments the enforcement office inspected that are not in the
platform's register: what an imported regulator's record names (a name, a
city, an industry code) without the unified social credit code the register
is keyed by. Recorded once; recorded again only when the record changes.
No I/O here."""
from einspection.contract import new_event

FIELDS = ("name", "town", "industry", "address", "employees", "source_system", "source_ref")


def record(command, acting, *, now, known=None):
    """EstablishmentRecorded for `command` (schemas.RecordEstablishment), or
    None when `known` — the data of the last one recorded — says the same."""
    if known is not None and all(known.get(key) == command.get(key) for key in FIELDS):
        return None
    data = {key: command.get(key) for key in FIELDS}
    data.update(enterprise_id=command["enterprise_id"], recorded_at=now,
                industry=data["industry"] or "", address=data["address"] or "")
    return new_event("EstablishmentRecorded", data, actor=acting.actor,
                     correlation_id=acting.correlation_id, causation_id=acting.causation_id,
                     time=now)
