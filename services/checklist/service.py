from sqlalchemy import select

from einspection import eventstore
from einspection.contract import load_command, utcnow
from einspection.errors import Conflict, InvalidCommand, NotFound
from einspection.nameko_glue import EventStore, HealthCheck, rpc

from . import domain, projections
from .schemas import LogInspection, RegisterEnterprise


class ChecklistService(HealthCheck):
    """Checklists, positions and inspections — and the enterprise register."""
    name = "checklist"

    store = EventStore("CHECKLIST_DATABASE_URL", "sqlite:///var/checklist.db",
                       projections=[projections.metadata])

    @rpc
    def register_enterprise(self, payload, actor="anonymous", correlation_id=""):
        command = load_command(RegisterEnterprise(), payload)
        event = domain.register_enterprise(command, actor=actor, now=utcnow(),
                                           correlation_id=correlation_id)
        with self.store.begin() as conn:
            if projections.find_by_credit_code(conn, event.data["credit_code"]):
                raise Conflict("an enterprise with credit code %s is registered already"
                               % event.data["credit_code"])
            self._record(conn, domain.enterprise_stream(event.data["enterprise_id"]), 0, event)
        self.store.committed()
        return self.get_enterprise(event.data["enterprise_id"])

    @rpc
    def get_enterprise(self, enterprise_id):
        with self.store.connect() as conn:
            row = projections.find_enterprise(conn, enterprise_id)
        if row is None:
            raise NotFound("enterprise", enterprise_id)
        return projections.enterprise_view(row)

    @rpc
    def list_enterprises(self):
        with self.store.connect() as conn:
            rows = conn.execute(select(projections.enterprises)
                                .order_by(projections.enterprises.c.name)).all()
        return [projections.enterprise_view(row) for row in rows]

    @rpc
    def log_inspection(self, payload, actor="anonymous", correlation_id=""):
        command = load_command(LogInspection(), payload)
        event = domain.log_inspection(command, actor=actor, now=utcnow(),
                                      correlation_id=correlation_id)
        with self.store.begin() as conn:
            if projections.find_enterprise(conn, command["enterprise_id"]) is None:
                raise InvalidCommand({"enterprise_id": ["no such enterprise"]})
            self._record(conn, domain.inspection_stream(event.data["inspection_id"]), 0, event)
        self.store.committed()
        return {"id": event.data["inspection_id"], "enterprise_id": command["enterprise_id"]}

    @staticmethod
    def _record(conn, stream_id, expected_version, event):
        eventstore.append(conn, stream_id, expected_version, [event])
        projections.project(conn, event)
