
from einspection import eventstore
from einspection.contract import load_command, utcnow
from einspection.errors import NotFound
from einspection.nameko_glue import EventStore, HealthCheck, rpc

from .domain import Hazard, stream_id
from .schemas import ReportHazard, SubmitRectification


class HazardService(HealthCheck):
    """The ledger's write side: hazards and their rectification."""
    name = "hazard"

    store = EventStore("HAZARD_DATABASE_URL", "sqlite:///var/hazard.db")

    @rpc
    def report_hazard(self, payload, actor="anonymous", correlation_id=""):
        command = load_command(ReportHazard(), payload)
        hazard = Hazard.report(command, actor=actor, now=utcnow(), correlation_id=correlation_id)
        self._save(hazard)
        return hazard.view()

    @rpc
    def submit_rectification(self, hazard_id, payload, actor="anonymous", correlation_id=""):
        command = load_command(SubmitRectification(), payload)
        hazard = self._load(hazard_id)
        hazard.submit_rectification(command, actor=actor, now=utcnow(),
                                    correlation_id=correlation_id)
        self._save(hazard)
        return hazard.view()

    @rpc
    def get_hazard(self, hazard_id):
        return self._load(hazard_id).view()

    @rpc
    def history(self, hazard_id):
        with self.store.connect() as conn:
            events = eventstore.load_stream(conn, stream_id(hazard_id))
        if not events:
            raise NotFound("hazard", hazard_id)
        return [event.to_dict() for event in events]

    def _load(self, hazard_id):
        with self.store.connect() as conn:
            events = eventstore.load_stream(conn, stream_id(hazard_id))
        if not events:
            raise NotFound("hazard", hazard_id)
        return Hazard.from_history(hazard_id, events)

    def _save(self, hazard):
        # Optimistic concurrency: a concurrent change to the same hazard makes
        # this append fail with ConcurrencyConflict and the whole transaction roll back.
        with self.store.begin() as conn:
            eventstore.append(conn, stream_id(hazard.id), hazard.version, hazard.pending)
        hazard.version += len(hazard.pending)
        hazard.pending = []
        self.store.committed()
