from nameko.dependency_providers import Config
from einspection import auth, eventstore, files, imports, paging
from einspection import scope as tenancy
from einspection.contract import UNSTORABLE_TEXT, isoformat, load_command, unstorable, utcnow
from einspection.errors import Conflict, Forbidden, InvalidCommand, NotFound
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, setting

from . import accounts, checklists, documents, domain, positions, projections, standard_csv
from .checklists import Checklist, applies_to
from .positions import Position
from .schemas import (AccountQuery, ChecklistQuery, CreateAccount, CreateChecklist,
                      DisableAccount, EditChecklist, EnterpriseQuery, ImportChecklist,
                      InspectionExportQuery, InspectionQuery, LogInspection, Login, PeriodQuery,
                      PositionQuery, RecordSafetyAction, RegisterEnterprise, RegisterPosition,
                      SafetyActionQuery, Scan, VisibleTo)

EXPORT_LIMIT = 10000
DEFAULT_PUBLIC_BASE_URL = "http://localhost:8000"


def _authority_only(scope, what):
    if scope is not None:
        raise Forbidden("only the authority may change %s" % what)


class ChecklistService(HealthCheck):
    """Checklists, positions and inspections — and the enterprise register."""
    name = "checklist"

    metrics = MetricsServer()
    store = EventStore("CHECKLIST_DATABASE_URL", "sqlite:///var/checklist.db",
                       projections=[projections.metadata])
    config = Config()

    # --- register -----------------------------------------------------------------
    # Each command runs at `now`: the moment it is recorded — the present, or
    # an imported record's time (import_records, below).
    @rpc
    def register_enterprise(self, payload, actor="anonymous", correlation_id=""):
        return self._register_enterprise(payload, now=utcnow(), actor=actor,
                                         correlation_id=correlation_id)

    def _register_enterprise(self, payload, *, now, actor, correlation_id=""):
        command = load_command(RegisterEnterprise, payload)
        event = domain.register_enterprise(command, actor=actor, now=now,
                                           correlation_id=correlation_id)
        with self.store.begin() as conn:
            if projections.find_by_credit_code(conn, event.data["credit_code"]):
                raise Conflict("an enterprise with credit code %s is registered already"
                               % event.data["credit_code"])
            self._record(conn, domain.enterprise_stream(event.data["enterprise_id"]), 0, event)
        self.store.committed()
        return self.get_enterprise(event.data["enterprise_id"])

    @rpc
    def get_enterprise(self, enterprise_id, scope=None, actor=""):
        with self.store.connect() as conn:
            return self._enterprise(conn, enterprise_id, scope=scope, actor=actor)

    @rpc
    def list_enterprises(self, query=None, scope=None):
        query = load_command(EnterpriseQuery, query or {})
        with self.store.connect() as conn:
            return projections.enterprise_page(conn, query, scope)

    # --- accounts -------------------------------------------------------------------
    @rpc
    def create_account(self, payload, creator):
        command = load_command(CreateAccount, payload)
        creator = auth.Principal.from_dict(creator) if creator else None
        with self.store.begin() as conn:
            account_id, event = accounts.create(conn, command, creator, utcnow())
            self._record(conn, accounts.stream_id(account_id), 0, event)
            return accounts.view(accounts.find(conn, account_id))

    @rpc
    def disable_account(self, account_id, payload, principal):
        command = load_command(DisableAccount, payload)
        principal = auth.Principal.from_dict(principal)
        with self.store.begin() as conn:
            event = accounts.disable(conn, account_id, command["reason"], principal, utcnow())
            if event is not None:
                stream = accounts.stream_id(account_id)
                self._record(conn, stream, eventstore.stream_version(conn, stream), event)
            return accounts.view(accounts.find(conn, account_id))

    @rpc
    def authenticate(self, payload):
        """The principal of a username and password (NotAuthenticated if wrong)."""
        command = load_command(Login, payload)
        with self.store.connect() as conn:
            return accounts.authenticate(conn, command["username"], command["password"]).to_dict()

    @rpc
    def list_accounts(self, principal, query=None):
        principal = auth.Principal.from_dict(principal)
        if principal.role not in ("authority_admin", "enterprise_manager"):
            raise Forbidden("a %s may not list accounts" % principal.role)
        query = load_command(AccountQuery, query or {})
        with self.store.connect() as conn:
            return accounts.listing(conn, accounts.scope_of(conn, principal), query)

    @rpc
    def scope_of(self, principal):
        """The enterprise ids `principal` may see; None: all of them."""
        with self.store.connect() as conn:
            return accounts.scope_of(conn, auth.Principal.from_dict(principal))

    # --- checklists -----------------------------------------------------------------
    @rpc
    def create_checklist(self, payload, actor="anonymous", correlation_id="", scope=None):
        return self._create_checklist(payload, now=utcnow(), actor=actor,
                                      correlation_id=correlation_id, scope=scope)

    def _create_checklist(self, payload, *, now, actor, correlation_id="", scope=None):
        command = load_command(CreateChecklist, payload)
        if command["enterprise_id"]:
            with self.store.connect() as conn:
                self._enterprise(conn, command["enterprise_id"], as_field="enterprise_id",
                                 scope=scope, actor=actor)
        else:
            _authority_only(scope, "a universal checklist")
        checklist = Checklist.create(command, actor=actor, now=now,
                                     correlation_id=correlation_id)
        return self._save_checklist(checklist)

    @rpc
    def import_checklist(self, csv_text, query, actor="anonymous", correlation_id="",
                         scope=None):
        """A universal checklist from a grading standard's CSV, checked first."""
        _authority_only(scope, "a universal checklist")
        command = load_command(ImportChecklist, query)
        if not isinstance(csv_text, str) or not csv_text.strip():
            raise InvalidCommand({"_body": ["send the CSV file as the request body"]})
        if unstorable(csv_text):
            raise InvalidCommand({"_body": ["the CSV file " + UNSTORABLE_TEXT]})
        items = standard_csv.read_items(csv_text)
        now = utcnow()
        checklist = Checklist.create({"title": command["title"], "scope": "universal",
                                      "industry": command["industry"], "items": items},
                                     actor=actor, now=now, correlation_id=correlation_id)
        if command["publish"]:
            checklist.publish(actor=actor, now=now, correlation_id=correlation_id)
        return self._save_checklist(checklist)

    @rpc
    def edit_checklist(self, checklist_id, payload, actor="anonymous", correlation_id="",
                       scope=None):
        command = load_command(EditChecklist, payload)
        checklist = self._load_checklist(checklist_id, scope, actor)
        checklist.edit(command, actor=actor, now=utcnow(), correlation_id=correlation_id)
        return self._save_checklist(checklist)

    @rpc
    def publish_checklist(self, checklist_id, actor="anonymous", correlation_id="", scope=None):
        return self._publish_checklist(checklist_id, now=utcnow(), actor=actor,
                                       correlation_id=correlation_id, scope=scope)

    def _publish_checklist(self, checklist_id, *, now, actor, correlation_id="", scope=None):
        checklist = self._load_checklist(checklist_id, scope, actor)
        checklist.publish(actor=actor, now=now, correlation_id=correlation_id)
        return self._save_checklist(checklist)

    @rpc
    def list_checklists(self, query, scope=None):
        query = load_command(ChecklistQuery, query)
        with self.store.connect() as conn:
            enterprise = query["enterprise_id"] and self._enterprise(
                conn, query["enterprise_id"], as_field="enterprise_id", scope=scope)
            return projections.checklist_page(conn, query, enterprise, scope)

    @rpc
    def get_checklist(self, checklist_id, enterprise_id=None, scope=None):
        enterprise_id = load_command(VisibleTo, {"enterprise_id": enterprise_id}
                                     if enterprise_id is not None else {})["enterprise_id"]
        with self.store.connect() as conn:
            checklist = self._visible_checklist(conn, checklist_id, enterprise_id, scope)
            checklist["versions"] = projections.versions_of(conn, checklist_id)
            checklist["latest"] = projections.find_checklist_version(
                conn, checklist_id, checklist["latest_version"])
        return checklist

    @rpc
    def get_checklist_version(self, checklist_id, version, enterprise_id=None, scope=None):
        enterprise_id = load_command(VisibleTo, {"enterprise_id": enterprise_id}
                                     if enterprise_id is not None else {})["enterprise_id"]
        with self.store.connect() as conn:
            self._visible_checklist(conn, checklist_id, enterprise_id, scope)
            found = projections.find_checklist_version(conn, checklist_id, version)
        if found is None:
            raise NotFound("version %s of checklist" % version, checklist_id)
        return found

    # --- positions and their codes --------------------------------------------------
    @rpc
    def register_position(self, enterprise_id, payload, actor="anonymous", correlation_id="",
                          scope=None):
        return self._register_position(enterprise_id, payload, now=utcnow(), actor=actor,
                                       correlation_id=correlation_id, scope=scope)

    def _register_position(self, enterprise_id, payload, *, now, actor, correlation_id="",
                           scope=None):
        command = load_command(RegisterPosition, payload)
        with self.store.begin() as conn:
            enterprise = self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            assigned = {checklist_id: projections.find_checklist(conn, checklist_id)
                        for checklist_id in command["checklist_ids"]}
            position = Position.register(enterprise, command, assigned, actor=actor,
                                         now=now, correlation_id=correlation_id)
            self._record(conn, positions.stream_id(position.id), 0, *position.pending)
        self.store.committed()
        return self.get_position(position.id)

    @rpc
    def get_position(self, position_id, scope=None, actor=""):
        with self.store.connect() as conn:
            return projections.position_view(self._position_row(conn, position_id, scope,
                                                                actor))

    @rpc
    def list_positions(self, enterprise_id, query=None, scope=None, actor=""):
        query = load_command(PositionQuery, query or {})
        with self.store.connect() as conn:
            self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            return projections.position_page(conn, enterprise_id, query)

    @rpc
    def rotate_code(self, position_id, actor="anonymous", correlation_id="", scope=None):
        with self.store.begin() as conn:
            position = Position.from_snapshot(
                self._position_row(conn, position_id, scope, actor)._mapping)
            position.rotate_code(actor=actor, now=utcnow(), correlation_id=correlation_id)
            self._record(conn, positions.stream_id(position.id), position.version,
                         *position.pending)
        self.store.committed()
        return self.get_position(position_id)

    @rpc
    def position_qr(self, position_id, image_format, scope=None, actor=""):
        with self.store.connect() as conn:
            row = self._position_row(conn, position_id, scope, actor)
        url = positions.scan_url(self._public_base_url(), row.token)
        if image_format == "svg":
            return files.pack(documents.qr_svg(url), documents.SVG, "position-%s.svg" % position_id)
        return files.pack(documents.qr_png(url), documents.PNG, "position-%s.png" % position_id)

    @rpc
    def qr_sheet(self, enterprise_id, scope=None, actor=""):
        with self.store.connect() as conn:
            enterprise = self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            rows = projections.positions_of(conn, enterprise_id)
        base = self._public_base_url()
        pdf = documents.qr_sheet_pdf(enterprise["name"], [
            (row.name, positions.scan_url(base, row.token)) for row in rows])
        return files.pack(pdf, documents.PDF, "qr-codes-%s.pdf" % enterprise_id)

    @rpc
    def scan(self, token, query, correlation_id="", scope=None, actor=""):
        """Resolve a QR token: the position and the checklists that apply
        there; records who was there and when."""
        command = load_command(Scan, query)
        with self.store.begin() as conn:
            row = projections.find_position_by_token(conn, token) if token else None
            if row is None or not tenancy.visible(scope, row.enterprise_id):
                if row is not None:
                    tenancy.require(scope, row.enterprise_id, "QR code", "(token)", actor)
                raise NotFound("QR code", "(unknown, or replaced by a newer code)")
            position = Position.from_snapshot(row._mapping)
            position.scan(command["by"], now=utcnow(), correlation_id=correlation_id)
            self._record(conn, positions.stream_id(position.id), position.version,
                         *position.pending)
            view = projections.position_view(row)
            enterprise = self._enterprise(conn, view["enterprise_id"])
            found = [projections.find_checklist_version(conn, c["id"], c["published_version"])
                     for c in projections.list_checklists(conn)
                     if c["published_version"] and applies_to(c, enterprise)
                     and (c["id"] in view["checklist_ids"] or c["scope"] == "universal")]
        self.store.committed()
        scanned = position.pending[-1].data
        return {"position": view, "enterprise": {key: enterprise[key] for key in
                                                 ("id", "name", "industry")},
                "scanned_by": scanned["scanned_by"], "scanned_at": isoformat(scanned["scanned_at"]),
                "checklists": found}

    # --- inspections ------------------------------------------------------------------
    @rpc
    def log_inspection(self, payload, actor="anonymous", correlation_id="", scope=None):
        return self._log_inspection(payload, now=utcnow(), actor=actor,
                                    correlation_id=correlation_id, scope=scope)

    def _log_inspection(self, payload, *, now, actor, correlation_id="", scope=None):
        command = load_command(LogInspection, payload)
        with self.store.begin() as conn:
            enterprise = self._enterprise(conn, command["enterprise_id"], as_field="enterprise_id",
                                          scope=scope, actor=actor)
            row = projections.find_position(conn, command["position_id"])
            event = domain.log_inspection(
                command, enterprise=enterprise,
                position=row and projections.position_view(row),
                checklist=projections.find_checklist_version(conn, command["checklist_id"],
                                                             command["checklist_version"]),
                actor=actor, now=now, correlation_id=correlation_id)
            self._record(conn, domain.inspection_stream(event.data["inspection_id"]), 0, event)
        self.store.committed()
        return self.get_inspection(event.data["inspection_id"])

    @rpc
    def get_inspection(self, inspection_id, scope=None, actor=""):
        with self.store.connect() as conn:
            row = projections.find_inspection(conn, inspection_id)
        if row is None:
            raise NotFound("inspection", inspection_id)
        tenancy.require(scope, row.enterprise_id, "inspection", inspection_id, actor)
        return projections.inspection_view(row, with_items=True)

    @rpc
    def list_inspections(self, query, scope=None):
        query = load_command(InspectionQuery, query)
        with self.store.connect() as conn:
            total, rows = projections.inspection_page(conn, query, scope=scope)
        return paging.envelope([projections.inspection_view(row) for row in rows], query, total)

    @rpc
    def export_inspections(self, query, file_format, scope=None):
        query = load_command(InspectionExportQuery, query)
        with self.store.connect() as conn:
            total, rows = projections.inspection_page(conn, query, limit=EXPORT_LIMIT,
                                                      scope=scope)
        if total > EXPORT_LIMIT:
            raise InvalidCommand({"_query": ["%d inspections match; an export holds at most %d: "
                                             "narrow the filters" % (total, EXPORT_LIMIT)]})
        views = [projections.inspection_view(row) for row in rows]
        if file_format == "xlsx":
            return files.pack(documents.ledger_xlsx(views), documents.XLSX, "inspections.xlsx")
        return files.pack(documents.ledger_csv(views), documents.CSV, "inspections.csv")

    # --- safety actions -----------------------------------------------------------------
    @rpc
    def record_safety_action(self, enterprise_id, payload, actor="anonymous",
                             correlation_id="", scope=None):
        return self._record_safety_action(enterprise_id, payload, now=utcnow(), actor=actor,
                                          correlation_id=correlation_id, scope=scope)

    def _record_safety_action(self, enterprise_id, payload, *, now, actor, correlation_id="",
                              scope=None):
        command = load_command(RecordSafetyAction, payload)
        with self.store.begin() as conn:
            self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            event = domain.record_safety_action(enterprise_id, command, actor=actor,
                                                now=now, correlation_id=correlation_id)
            self._record(conn, domain.safety_action_stream(event.data["action_id"]), 0, event)
        self.store.committed()
        with self.store.connect() as conn:
            return projections.safety_action_view(
                projections.find_safety_action(conn, event.data["action_id"]))

    @rpc
    def list_safety_actions(self, enterprise_id, query, scope=None, actor=""):
        query = load_command(SafetyActionQuery, query)
        with self.store.connect() as conn:
            self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            return projections.list_safety_actions(conn, enterprise_id, query)

    @rpc
    def training_statistics(self, query, scope=None):
        query = load_command(PeriodQuery, query)
        with self.store.connect() as conn:
            return dict(projections.training_statistics(conn, query, scope=scope),
                        **{"from": query["from_"] and query["from_"].isoformat(),
                           "to": query["to"] and query["to"].isoformat()})

    # --- records from before (einspection/imports.py) ------------------------------------
    @rpc
    def import_records(self, payload):
        """The register, checklists, positions, inspections and safety actions
        of a previous system, or the demo's history, each at its record's time."""
        def about(key, command):
            return lambda body, **when: command(
                imports.required(body, key), imports.without(body, key), **when)
        outcome = imports.run(self.store, payload, {
            "register_enterprise": self._register_enterprise,
            "create_checklist": self._create_checklist,
            "publish_checklist": lambda body, **when: self._publish_checklist(
                imports.required(body, "checklist_id"), **when),
            "register_position": about("enterprise_id", self._register_position),
            "log_inspection": self._log_inspection,
            "record_safety_action": about("enterprise_id", self._record_safety_action),
        }, now=utcnow(), skew=domain.CLOCK_SKEW)
        self.store.committed()
        return outcome

    # --- helpers ------------------------------------------------------------------------
    def _public_base_url(self):
        return setting(self.config, "PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL)

    @staticmethod
    def _enterprise(conn, enterprise_id, as_field=None, scope=None, actor=""):
        """The enterprise, if it exists and is in the caller's scope: another
        tenant's is answered exactly like a missing one."""
        row = projections.find_enterprise(conn, enterprise_id)
        if row is not None and not tenancy.visible(scope, enterprise_id):
            tenancy.log_attempt("enterprise", enterprise_id, enterprise_id, actor)
            row = None
        if row is None:
            if as_field:
                raise InvalidCommand({as_field: ["no such enterprise"]})
            raise NotFound("enterprise", enterprise_id)
        return projections.enterprise_view(row)

    @staticmethod
    def _position_row(conn, position_id, scope=None, actor=""):
        row = projections.find_position(conn, position_id)
        if row is None:
            raise NotFound("position", position_id)
        tenancy.require(scope, row.enterprise_id, "position", position_id, actor)
        return row

    def _visible_checklist(self, conn, checklist_id, enterprise_id, scope=None):
        """The checklist, unless it is another enterprise's."""
        found = projections.find_checklist(conn, checklist_id)
        if found is not None and found["enterprise_id"] is not None:
            if not tenancy.visible(scope, found["enterprise_id"]):
                found = None
        if found is not None and enterprise_id is not None:
            if not applies_to(found, self._enterprise(conn, enterprise_id, scope=scope)):
                found = None
        if found is None:
            raise NotFound("checklist", checklist_id)
        return found

    def _load_checklist(self, checklist_id, scope=None, actor=""):
        """A checklist to change: an enterprise's own, or a universal one for the authority."""
        with self.store.connect() as conn:
            events = eventstore.load_stream(conn, checklists.stream_id(checklist_id))
        if not events:
            raise NotFound("checklist", checklist_id)
        checklist = Checklist.from_history(checklist_id, events)
        if checklist.enterprise_id is None:
            _authority_only(scope, "a universal checklist")
        else:
            tenancy.require(scope, checklist.enterprise_id, "checklist", checklist_id, actor)
        return checklist

    def _save_checklist(self, checklist):
        # Optimistic concurrency: a concurrent edit of the same checklist makes
        # the append fail with ConcurrencyConflict and the transaction roll back.
        with self.store.begin() as conn:
            self._record(conn, checklists.stream_id(checklist.id), checklist.version,
                         *checklist.pending)
        self.store.committed()
        return self.get_checklist(checklist.id)

    @staticmethod
    def _record(conn, stream_id, expected_version, *events):
        eventstore.append(conn, stream_id, expected_version, list(events))
        for event in events:
            projections.project(conn, event)
