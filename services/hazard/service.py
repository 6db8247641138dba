import base64
import binascii
import os

from nameko.timer import timer

from einspection import files, imports
from einspection.contract import load_command, utcnow
from einspection.errors import InvalidCommand
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, subscribe

from . import blobs, commands, export, ledger
from .domain import CLOCK_SKEW
from .schemas import (LedgerQuery, RecordPlan, ReportHazard, StatisticsQuery,
                      SubmitRectification, Verify)

OVERDUE_CHECK_SECONDS = float(os.environ.get("HAZARD_OVERDUE_CHECK_SECONDS") or 60)
EXPORT_MAX_ROWS = 50000


class HazardService(HealthCheck):
    """The ledger's write side: hazards, their plans, rectification, verification
    and deadlines; the standing book; the evidence files."""
    name = "hazard"

    metrics = MetricsServer()
    store = EventStore("HAZARD_DATABASE_URL", "sqlite:///var/hazard.db",
                       projections=[ledger.metadata])

    @property
    def blob_store(self):
        return blobs.from_environment()

    def _write(self, action, *args, **kwargs):
        """Run `action(conn, ...)` in one transaction; wake the relay after it."""
        with self.store.begin() as conn:
            hazard = action(conn, *args, **kwargs)
        self.store.committed()
        return hazard.view()

    # --- commands ------------------------------------------------------------------
    # `actor` is the account acting (it goes into each event's metadata);
    # `scope` the enterprise ids it may touch (None: all). Each runs at `now`:
    # the moment it is recorded — the present, or an imported record's time.
    @rpc
    def report_hazard(self, payload, correlation_id="", actor="", scope=None):
        return self._report_hazard(payload, now=utcnow(), actor=actor,
                                   correlation_id=correlation_id, scope=scope)

    def _report_hazard(self, payload, *, now, actor, correlation_id="", scope=None):
        command = dict(load_command(ReportHazard, payload), actor=actor)
        return self._write(commands.report, self.blob_store, command, now=now,
                           correlation_id=correlation_id, days=commands.deadline_days(),
                           scope=scope)

    @rpc
    def record_plan(self, hazard_id, payload, correlation_id="", actor="", scope=None):
        return self._record_plan(hazard_id, payload, now=utcnow(), actor=actor,
                                 correlation_id=correlation_id, scope=scope)

    def _record_plan(self, hazard_id, payload, *, now, actor, correlation_id="", scope=None):
        command = dict(load_command(RecordPlan, payload), actor=actor)
        return self._write(commands.change, hazard_id, lambda hazard: hazard.record_plan(
            command, now=now, correlation_id=correlation_id), scope, actor)

    @rpc
    def submit_rectification(self, hazard_id, payload, correlation_id="", actor="", scope=None):
        return self._submit_rectification(hazard_id, payload, now=utcnow(), actor=actor,
                                          correlation_id=correlation_id, scope=scope)

    def _submit_rectification(self, hazard_id, payload, *, now, actor, correlation_id="",
                              scope=None):
        return self._write(commands.submit_rectification, self.blob_store, hazard_id,
                           dict(load_command(SubmitRectification, payload), actor=actor),
                           now=now, correlation_id=correlation_id, scope=scope)

    @rpc
    def verify(self, hazard_id, payload, correlation_id="", actor="", scope=None):
        return self._verify(hazard_id, payload, now=utcnow(), actor=actor,
                            correlation_id=correlation_id, scope=scope)

    def _verify(self, hazard_id, payload, *, now, actor, correlation_id="", scope=None):
        command = dict(load_command(Verify, payload), actor=actor)
        return self._write(commands.change, hazard_id, lambda hazard: hazard.verify(
            command, now=now, correlation_id=correlation_id), scope, actor)

    # --- records from before (einspection/imports.py) ---------------------------------
    @rpc
    def import_records(self, payload):
        """Hazards from a previous system, or the demo's history: the commands
        above at each record's time, plus `check_overdue` {hazard_id}: the
        overdue check of one hazard as it ran then."""
        def with_hazard(command):
            return lambda body, **when: command(
                imports.required(body, "hazard_id"), imports.without(body, "hazard_id"), **when)
        outcome = imports.run(self.store, payload, {
            "report_hazard": self._report_hazard,
            "record_plan": with_hazard(self._record_plan),
            "submit_rectification": with_hazard(self._submit_rectification),
            "verify": with_hazard(self._verify),
            "check_overdue": self._check_overdue_of,
        }, now=utcnow(), skew=CLOCK_SKEW)
        self.store.committed()
        return outcome

    def _check_overdue_of(self, body, *, now, actor, correlation_id):
        with self.store.begin() as conn:
            return commands.check_overdue(conn, imports.required(body, "hazard_id"), now,
                                          correlation_id=correlation_id)

    @subscribe(commands.CONSUMER, ["einspection.inspection.logged.v1"])
    def on_inspection_logged(self, event):
        with self.store.begin() as conn:
            raised = commands.raise_from_inspection(conn, event, days=commands.deadline_days())
        if raised:
            self.store.committed()

    @timer(interval=OVERDUE_CHECK_SECONDS)
    def check_overdue(self):
        if commands.mark_overdue(self.store, utcnow()):
            self.store.committed()

    # --- reads -----------------------------------------------------------------------
    @rpc
    def get_hazard(self, hazard_id, scope=None, actor=""):
        with self.store.connect() as conn:
            return commands.load(conn, hazard_id, scope, actor).view()

    @rpc
    def history(self, hazard_id, scope=None, actor=""):
        with self.store.connect() as conn:
            return commands.history(conn, hazard_id, scope, actor)

    @rpc
    def list_hazards(self, query, scope=None):
        query = load_command(LedgerQuery, query)
        with self.store.connect() as conn:
            return ledger.search(conn, query, scope)

    @rpc
    def hazard_statistics(self, query, scope=None):
        query = load_command(StatisticsQuery, query)
        with self.store.connect() as conn:
            return ledger.statistics(conn, query, scope)

    @rpc
    def export_hazards(self, file_format, query, scope=None):
        """The filtered ledger as a file (einspection.files)."""
        render, content_type = export.FORMATS[file_format]
        query = load_command(LedgerQuery(exclude=("page", "size")), query)
        with self.store.connect() as conn:
            rows = ledger.rows_for_export(conn, query, EXPORT_MAX_ROWS, scope)
        if rows is None:
            raise InvalidCommand({"_query": ["more than %d hazards match; narrow the filters"
                                             % EXPORT_MAX_ROWS]})
        return files.pack(render(rows), content_type, "hazards." + file_format)

    # --- evidence ----------------------------------------------------------------------
    @rpc
    def put_evidence(self, data_base64, content_type):
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidCommand({"_body": ["not valid base64"]}) from None
        ref = self.blob_store.put(data, content_type)
        return {"ref": ref, "content_type": blobs.sniff(data), "size": len(data)}

    @rpc
    def get_evidence(self, ref):
        data, content_type = self.blob_store.get(ref)
        return files.pack(data, content_type, ref.replace(":", "-"), ref=ref)
