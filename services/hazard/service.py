import base64
import binascii
import os


from einspection import files, imports
from einspection import scope as tenancy
from einspection.acting import Acting
from einspection.contract import load_command, utcnow
from einspection.days import deployment_zone
from einspection.errors import InvalidCommand
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, subscribe, timer

from . import blobs, commands, evidence, export, ledger, names, verification
from .categories import CATEGORIES
from .domain import CLOCK_SKEW
from .schemas import (AssignHazard, DelistHazard, LedgerExportQuery, LedgerQuery, ListHazard,
                      RecordPlan,
                      ReportHazard, StatisticsQuery, SubmitRectification, Verify)

OVERDUE_CHECK_SECONDS = float(os.environ.get("HAZARD_OVERDUE_CHECK_SECONDS") or 60)
EXPORT_MAX_ROWS = 50000
# read at start: a bad rule file stops the service instead of its first verification
VERIFICATION_RULE = verification.load(os.environ.get("HAZARD_VERIFICATION_RULES") or None)
LISTING_REMINDER_DAYS = commands.listing_reminder_days()
REMINDER_DAYS = commands.reminder_days()
ESCALATION_DAYS = commands.escalation_days()
ZONE = deployment_zone()


class HazardService(HealthCheck):
    """The ledger's write side: hazards, their plans, rectification, verification
    and deadlines; the standing book; the evidence files."""
    name = "hazard"

    metrics = MetricsServer()
    store = EventStore("HAZARD_DATABASE_URL", "sqlite:///var/hazard.db",
                       projections=[ledger.metadata, evidence.metadata, names.metadata])

    @property
    def blob_store(self):
        return blobs.from_environment()

    def _write(self, acting, name, request, action, *args, **kwargs):
        """Command `name` (journaled under `acting`'s command id, with
        `request` as what it was asked): `action(conn, ...)` in one
        transaction, answering the hazard's view as it then is."""
        return self.store.command(acting, name, request).run(
            lambda conn: action(conn, *args, **kwargs).view())

    # --- commands ------------------------------------------------------------------
    # `acting` (einspection.acting, as a dict) is the account acting and its
    # scope: the actor of every event recorded, the enterprises it may touch;
    # its command id makes a repeat answer as the first time (einspection.journal).
    # Each runs at `now`: the moment it is recorded — the present, or an
    # imported record's time (import_records below).
    @rpc
    def report_hazard(self, payload, acting, check_references=False):
        """`check_references`: the caller has not asked the register about the
        report's references; what the register announced here vouches for
        them, or ReferencesUnvouched says to ask it (names.vouch) — one RPC
        per report instead of two, in the common case."""
        return self._report_hazard(payload, Acting.from_dict(acting), now=utcnow(),
                                   check_references=check_references)

    def _report_hazard(self, payload, acting, *, now, check_references=False):
        command = load_command(ReportHazard, payload)

        def report(conn):
            if check_references:
                commands.require_enterprise_in_scope(command, acting)
                names.vouch(conn, command, acting.actor)
            return commands.report(conn, command, acting, now=now,
                                   days=commands.deadline_days())
        return self._write(acting, "report_hazard", [payload], report)

    @rpc
    def record_plan(self, hazard_id, payload, acting):
        return self._record_plan(hazard_id, payload, Acting.from_dict(acting), now=utcnow())

    def _record_plan(self, hazard_id, payload, acting, *, now):
        return self._write(acting, "record_plan", [hazard_id, payload], commands.record_plan,
                           hazard_id, load_command(RecordPlan, payload), acting, now=now)

    @rpc
    def submit_rectification(self, hazard_id, payload, acting):
        return self._submit_rectification(hazard_id, payload, Acting.from_dict(acting),
                                          now=utcnow())

    def _submit_rectification(self, hazard_id, payload, acting, *, now):
        return self._write(acting, "submit_rectification", [hazard_id, payload],
                           commands.submit_rectification, hazard_id,
                           load_command(SubmitRectification, payload), acting, now=now)

    @rpc
    def verify(self, hazard_id, payload, acting):
        return self._verify(hazard_id, payload, Acting.from_dict(acting), now=utcnow())

    def _verify(self, hazard_id, payload, acting, *, now):
        return self._write(acting, "verify", [hazard_id, payload], commands.verify, hazard_id,
                           load_command(Verify, payload), acting, VERIFICATION_RULE, now=now)

    # listed supervision (挂牌督办): the authority's, checked by the aggregate too
    @rpc
    def list_hazard(self, hazard_id, payload, acting):
        acting = Acting.from_dict(acting)
        return self._write(acting, "list_hazard", [hazard_id, payload],
                           commands.list_for_supervision, hazard_id,
                           load_command(ListHazard, payload), acting, now=utcnow())

    @rpc
    def delist_hazard(self, hazard_id, payload, acting):
        acting = Acting.from_dict(acting)
        return self._write(acting, "delist_hazard", [hazard_id, payload], commands.delist,
                           hazard_id, load_command(DelistHazard, payload), acting, now=utcnow())

    # Assignment: the gateway asked the register (the checklist service) that
    # `assignee` is an enabled account and of which enterprise; the aggregate
    # checks it is the hazard's, and who may assign.
    @rpc
    def assign_hazard(self, hazard_id, payload, assignee, acting):
        acting = Acting.from_dict(acting)
        return self._write(acting, "assign_hazard", [hazard_id, payload, assignee],
                           commands.assign, hazard_id, load_command(AssignHazard, payload),
                           assignee, acting, now=utcnow())

    # --- records from before (einspection/imports.py) ---------------------------------
    @rpc
    def import_records(self, payload):
        """Hazards from a previous system, or the demo's history: the commands
        above at each record's time, by each record's account, plus
        `check_overdue` {hazard_id}: the overdue check of one hazard as it ran then."""
        def with_hazard(command):
            return lambda body, acting, **when: command(
                imports.required(body, "hazard_id"), imports.without(body, "hazard_id"),
                acting, **when)
        outcome = imports.run(self.store, payload, {
            "report_hazard": self._report_hazard,
            "record_plan": with_hazard(self._record_plan),
            "submit_rectification": with_hazard(self._submit_rectification),
            "verify": with_hazard(self._verify),
            "check_overdue": self._check_overdue_of,
        }, now=utcnow(), skew=CLOCK_SKEW)
        self.store.committed()
        return outcome

    def _check_overdue_of(self, body, acting, *, now):
        hazard_id = imports.required(body, "hazard_id")
        return self.store.command(acting, "check_overdue", [hazard_id]).run(
            lambda conn: commands.check_overdue(conn, hazard_id, now,
                                                correlation_id=acting.correlation_id))

    # One queue: the inspections that raise hazards, and the register's names
    # of enterprises and positions that the exports write beside their ids
    # (services/hazard/names.py).
    # Up to 50 delivered events in one transaction: it holds SQLite's one
    # write lock, which this service's commands (RPC) wait for meanwhile.
    @subscribe(commands.CONSUMER, ["einspection.inspection.logged.v1"] + names.SUBSCRIBED,
               batch=50)
    def on_events(self, events):
        raised, deadline_days = False, commands.deadline_days()
        with self.store.begin() as conn:
            for event in events:
                if event.name in names.NAMED:
                    names.receive(conn, event)
                else:
                    raised |= bool(commands.raise_from_inspection(conn, event,
                                                                  days=deadline_days))
        if raised:
            self.store.committed()

    @timer(interval=OVERDUE_CHECK_SECONDS)
    def check_overdue(self):
        if commands.mark_overdue(self.store, utcnow()):
            self.store.committed()

    # Listing reminders are this service's events (HazardListingDue), like
    # HazardOverdue, rather than notify's own timer: the listing, its deadline
    # and whether it still stands are this aggregate's state, its stream's
    # version makes each reminder once across replicas, integrators see the
    # reminder too, and notify stays a consumer that issues what an event tells.
    @timer(interval=OVERDUE_CHECK_SECONDS)
    def check_listings(self):
        if commands.remind_listings(self.store, utcnow(), LISTING_REMINDER_DAYS, ZONE):
            self.store.committed()

    # The assignee's reminders and the escalation of an assigned hazard left
    # overdue: this service's events for the same reasons as listing reminders.
    @timer(interval=OVERDUE_CHECK_SECONDS)
    def check_assignments(self):
        now = utcnow()
        reminded = commands.remind_assignees(self.store, now, REMINDER_DAYS, ZONE)
        escalated = commands.escalate_overdue(self.store, now, ESCALATION_DAYS, ZONE)
        if reminded or escalated:
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
    def work_of(self, username, role, scope=None):
        """The hazards assigned to the account, and those waiting for its
        verification under the verification rule (separation of duties too)."""
        with self.store.connect() as conn:
            return commands.work_of(conn, username, role, scope, VERIFICATION_RULE)

    @rpc
    def list_hazard_categories(self):
        """The deployment's hazard categories (services/hazard/categories.py):
        the shipped taxonomy with HAZARD_CATEGORIES' extension, in order."""
        return CATEGORIES.view()

    @rpc
    def list_hazards(self, query, scope=None):
        query = load_command(LedgerQuery, query)
        with self.store.connect() as conn:
            return ledger.search(conn, query, scope)

    @rpc
    def hazard_statistics(self, query, scope=None):
        query = load_command(StatisticsQuery, query)
        with self.store.connect() as conn:
            return ledger.statistics(conn, query, scope, ZONE)

    @rpc
    def export_hazards(self, file_format, query, scope=None):
        """The filtered ledger as a file (einspection.files), the names of
        enterprises and positions beside their ids; `lang` (zh, en) of the
        query: the CSV's booleans."""
        render, content_type = export.FORMATS[file_format]
        query = load_command(LedgerExportQuery, query)
        with self.store.connect() as conn:
            rows = ledger.rows_for_export(conn, query, EXPORT_MAX_ROWS, scope)
            if rows is not None:
                rows = names.named(conn, rows)
        if rows is None:
            raise InvalidCommand({"_query": ["more than %d hazards match; narrow the filters"
                                             % EXPORT_MAX_ROWS]})
        return files.pack(render(rows, ZONE, query["lang"]), content_type,
                          "hazards." + file_format)

    # --- evidence ----------------------------------------------------------------------
    @rpc
    def put_evidence(self, data_base64, content_type, enterprise_id, acting):
        """Store a file for `enterprise_id` (an enterprise of `scope`): the
        bytes are checked whole, then kept once; the enterprise owns them
        (EvidenceStored) within EVIDENCE_QUOTA_BYTES (413 past it)."""
        acting = Acting.from_dict(acting)
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidCommand({"_body": ["not valid base64"]}) from None
        if not isinstance(enterprise_id, str) or not enterprise_id:
            raise InvalidCommand({"enterprise_id": ["required"]})
        blob_store = self.blob_store
        ref = blobs.ref_of(data)

        def check():
            return blobs.check(data, content_type, blob_store.limit, blob_store.pixel_limit)

        def store(conn, checked_type):
            return evidence.store(conn, ref, enterprise_id, checked_type, len(data),
                                  lambda: blob_store.save(data), quota=evidence.quota_bytes(),
                                  acting=acting)
        # the file is named by its digest: the request's fingerprint need not hold its bytes
        return self.store.command(acting, "put_evidence", [ref, content_type, enterprise_id]).run(
            store, prepare=check, attempts=evidence.RETRIES)

    @rpc
    def get_evidence(self, ref, scope=None, actor=""):
        """The file, if an enterprise of `scope` owns it (404 otherwise)."""
        with self.store.connect() as conn:
            evidence.require_visible(conn, ref, scope, actor)
        data, content_type = self.blob_store.get(ref)
        return files.pack(data, content_type,
                          ref.replace(":", "-") + blobs.EXTENSIONS.get(content_type, ""), ref=ref)

    @rpc
    def require_evidence(self, enterprise_id, refs_by_field, scope=None, actor=""):
        """For a record another service keeps (an inspection's photos): every
        ref is a file `enterprise_id` owns, else InvalidCommand naming each."""
        if not tenancy.visible(scope, enterprise_id):
            raise InvalidCommand({"enterprise_id": ["no such enterprise"]})
        with self.store.connect() as conn:
            commands.require_evidence(conn, enterprise_id, refs_by_field)
