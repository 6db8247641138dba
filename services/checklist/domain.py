"""The register of enterprises and the inspections logged against them.

Why here: the checklist service already owns the enterprise-side master data
(positions and their QR codes, checklists), and the register is what those
hang from. Other services learn of enterprises from EnterpriseRegistered."""
import uuid
from datetime import timedelta

from einspection.contract import new_event
from einspection.errors import InvalidCommand

CLOCK_SKEW = timedelta(minutes=5)


def enterprise_stream(enterprise_id):
    return "enterprise-" + enterprise_id


def inspection_stream(inspection_id):
    return "inspection-" + inspection_id


def register_enterprise(command, *, actor, now, correlation_id=""):
    enterprise_id = str(uuid.uuid4())
    data = dict(command, enterprise_id=enterprise_id, credit_code=command["credit_code"].upper(),
                registered_at=now)
    return new_event("EnterpriseRegistered", data, actor=actor, correlation_id=correlation_id,
                     time=now)


def log_inspection(command, *, actor, now, correlation_id=""):
    if command["completed_at"] > now + CLOCK_SKEW:
        raise InvalidCommand({"completed_at": ["is in the future"]})
    if command["items_passed"] + command["items_failed"] + command["items_not_applicable"] == 0:
        raise InvalidCommand({"items_passed": ["an inspection must cover at least one item"]})
    data = dict(command, inspection_id=str(uuid.uuid4()))
    return new_event("InspectionLogged", data, actor=actor, correlation_id=correlation_id,
                     time=now)
