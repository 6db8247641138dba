import contextlib

from nameko.dependency_providers import Config
from einspection import auth, days, eventstore, figures, files, imports, paging
from einspection import scope as tenancy
from einspection.acting import Acting
from einspection.contract import UNSTORABLE_TEXT, isoformat, load_command, unstorable, utcnow
from einspection.db import serialize
from einspection.errors import Conflict, Forbidden, InvalidCommand, NotFound
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, setting, timer

from . import (accounts, checklists, documents, domain, passwords, positions, projections,
               schedules, standard_csv, throttle)
from .checklists import Checklist, applies_to
from .positions import Position
from .schemas import (AccountQuery, QrSheetQuery, ChangePassword, ChecklistQuery, CreateAccount,
                      CreateChecklist, DisableAccount, EditChecklist, EnterpriseQuery,
                      HazardReferences, ImportChecklist, InspectionExportQuery, InspectionQuery,
                      CreateSchedule, EndSchedule, InspectionStatisticsQuery, LogInspection,
                      Login, PeriodQuery, PositionQuery, RecordSafetyAction, RegisterEnterprise,
                      RegisterPosition, RetirePosition, RoundQuery, SafetyActionQuery, Scan,
                      UpdatePosition, VisibleTo)

EXPORT_LIMIT = 10000
ROUND_CHECK_SECONDS = 60
ROUND_DAYS_LIMIT = 92
DEFAULT_PUBLIC_BASE_URL = "http://localhost:8000"


def _authority_only(scope, what):
    if scope is not None:
        raise Forbidden("only the authority may change %s" % what)


def _require_position_manager(acting):
    """Who may change a position: as who may register one (the gateway's
    MANAGERS) — the enterprise's manager, or the authority."""
    role = acting.account.role if acting.account else None
    if role not in ("enterprise_manager",) + auth.AUTHORITY_ROLES:
        raise Forbidden("only the enterprise's manager (or the authority) may change its "
                        "positions; %s may not" % auth.a_role(role))


def _without(payload, *secrets):
    """A request as its journal fingerprints it: without its secrets."""
    return {key: value for key, value in payload.items() if key not in secrets}


class ChecklistService(HealthCheck):
    """Checklists, positions and inspections — and the enterprise register.
    Every command takes `acting` (einspection.acting, as a dict): the account
    acting, the actor of its events, and its scope; and every command runs
    in its journal (`self.store.command(...).run(execute)`,
    einspection.journal), its answer built in its transaction, so that a
    repeat answers what the first copy answered."""
    name = "checklist"

    metrics = MetricsServer()
    store = EventStore("CHECKLIST_DATABASE_URL", "sqlite:///var/checklist.db",
                       projections=[projections.metadata, throttle.metadata,
                                    schedules.metadata])
    config = Config()

    # --- register -----------------------------------------------------------------
    @rpc
    def register_enterprise(self, payload, acting):
        return self._register_enterprise(payload, Acting.from_dict(acting), now=utcnow())

    def _register_enterprise(self, payload, acting, *, now):
        _authority_only(acting.scope, "the register")
        command = load_command(RegisterEnterprise, payload)

        def execute(conn):
            event = domain.register_enterprise(command, actor=acting.actor, now=now,
                                               correlation_id=acting.correlation_id)
            if projections.find_by_credit_code(conn, event.data["credit_code"]):
                raise Conflict("an enterprise with credit code %s is registered already"
                               % event.data["credit_code"])
            prefix = event.data["account_prefix"]
            if projections.find_by_account_prefix(conn, prefix):
                raise Conflict("account prefix %s is another enterprise's" % prefix)
            if accounts.prefix_in_use(conn, prefix):
                raise Conflict("account prefix %s is taken: accounts named %s.… exist"
                               % (prefix, prefix))
            self._record(conn, domain.enterprise_stream(event.data["enterprise_id"]), 0, event)
            return self._enterprise(conn, event.data["enterprise_id"])
        return self.store.command(acting, "register_enterprise", [payload]).run(execute)

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
    def create_account(self, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(CreateAccount, payload)

        def execute(conn):
            account_id, event = accounts.create(conn, command, acting.account, utcnow())
            self._record(conn, accounts.stream_id(account_id), 0, event)
            return accounts.view(accounts.find(conn, account_id))
        return self.store.command(acting, "create_account",
                                  [_without(payload, "password")]).run(execute)

    @rpc
    def disable_account(self, account_id, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(DisableAccount, payload)

        def execute(conn):
            event = accounts.disable(conn, account_id, command["reason"], acting.account,
                                     utcnow())
            if event is not None:
                stream = accounts.stream_id(account_id)
                self._record(conn, stream, eventstore.stream_version(conn, stream), event)
            return accounts.view(accounts.find(conn, account_id))
        return self.store.command(acting, "disable_account", [account_id, payload]).run(execute)

    @rpc
    def authenticate(self, payload, client_address=None):
        """The principal of a username and password (NotAuthenticated if
        wrong; TooManyAttempts while the username or the client's address is
        held back after failures: services/checklist/throttle.py)."""
        command = load_command(Login, payload)
        with self._attempt(command["username"], client_address):
            with self.store.connect() as conn:
                return accounts.authenticate(conn, command["username"],
                                             command["password"]).to_dict()

    @rpc
    def change_password(self, payload, acting, client_address=None):
        """The account changes its own password (old and new); a temporary
        one set by a reset must be changed this way. Returns the principal
        as it now is. A wrong old password counts as a failed login. Its
        journal keeps no password, not even hashed: a repeat (the same
        Idempotency-Key) is the same request whatever passwords it names."""
        acting = Acting.from_dict(acting)
        command = load_command(ChangePassword, payload)
        principal = acting.account

        def check():
            with self._attempt(principal.username, client_address):
                with self.store.connect() as conn:
                    row = accounts.check_current_password(conn, principal,
                                                          command["old_password"])
            accounts.check_new_password(row, command["new_password"])
            return row, auth.hash_password(command["new_password"])     # outside the lock

        def execute(conn, checked):
            row, password_hash = checked
            stream = accounts.stream_id(row.account_id)
            self._record(conn, stream, eventstore.stream_version(conn, stream),
                         accounts.password_changed(row, password_hash, utcnow()))
            return accounts.principal_of(accounts.find(conn, row.account_id)).to_dict()
        return self.store.command(acting, "change_password", []).run(execute, prepare=check)

    @rpc
    def reset_password(self, account_id, acting):
        """A one-time temporary password for an account the caller manages;
        the account must change it at its next login. The temporary password
        is in this answer only (the register keeps its hash, the journal
        nothing of it): a repeat of the reset is a 409 saying so."""
        acting = Acting.from_dict(acting)

        def make_temporary():
            temporary = passwords.temporary()
            return temporary, auth.hash_password(temporary)

        def execute(conn, made):
            temporary, password_hash = made
            event = accounts.reset_password(conn, account_id, password_hash, acting.account,
                                            utcnow())
            stream = accounts.stream_id(account_id)
            self._record(conn, stream, eventstore.stream_version(conn, stream), event)
            return {"account": accounts.view(accounts.find(conn, account_id)),
                    "temporary_password": temporary}
        return self.store.command(acting, "reset_password", [account_id]).run(
            execute, prepare=make_temporary, conceal=("temporary_password",))

    @rpc
    def list_accounts(self, principal, query=None):
        principal = auth.Principal.from_dict(principal)
        if principal.role not in ("authority_admin", "enterprise_manager"):
            raise Forbidden("%s may not list accounts" % auth.a_role(principal.role))
        query = load_command(AccountQuery, query or {})
        with self.store.connect() as conn:
            return accounts.listing(conn, accounts.scope_of(conn, principal), query)

    @rpc
    def enterprise_attributes(self, attribute, scope=None):
        """{enterprise id: its town, grid or industry} for the enterprises of
        `scope` (None: all): what the authority's figures are grouped by."""
        with self.store.connect() as conn:
            return projections.enterprise_attributes(conn, attribute, scope)

    @rpc
    def authority_inspectors(self):
        """The enabled authority inspector accounts' usernames: the pool of
        an enforcement campaign's double random draw."""
        with self.store.connect() as conn:
            return accounts.authority_inspectors(conn)

    @rpc
    def assignable_account(self, enterprise_id, username, actor=""):
        """The enabled account of `enterprise_id` that `username` names, to
        whom a hazard of that enterprise may be assigned (a 400 on `assignee`
        otherwise; another tenant's account answers like a missing one)."""
        if not isinstance(username, str) or not username.strip():
            raise InvalidCommand({"assignee": ["required"]})
        with self.store.connect() as conn:
            return accounts.assignable(conn, enterprise_id, username.strip(), actor)

    @rpc
    def scope_of(self, principal):
        """The enterprise ids `principal` may see; None: all of them."""
        with self.store.connect() as conn:
            return accounts.scope_of(conn, auth.Principal.from_dict(principal))

    # --- checklists -----------------------------------------------------------------
    @rpc
    def create_checklist(self, payload, acting):
        return self._create_checklist(payload, Acting.from_dict(acting), now=utcnow())

    def _create_checklist(self, payload, acting, *, now):
        command = load_command(CreateChecklist, payload)
        if not command["enterprise_id"]:
            _authority_only(acting.scope, "a universal checklist")

        def execute(conn):
            if command["enterprise_id"]:
                self._enterprise(conn, command["enterprise_id"], as_field="enterprise_id",
                                 scope=acting.scope, actor=acting.actor)
            checklist = Checklist.create(command, actor=acting.actor, now=now,
                                         correlation_id=acting.correlation_id)
            return self._save_checklist(conn, checklist)
        return self.store.command(acting, "create_checklist", [payload]).run(execute)

    @rpc
    def import_checklist(self, csv_text, query, acting):
        """A universal checklist from a grading standard's CSV, checked first.
        {"created", "checklist"}: a standard whose title, industry and items
        are those of a universal checklist already there is that checklist
        (published now if asked and still a draft), not a second copy."""
        acting = Acting.from_dict(acting)
        _authority_only(acting.scope, "a universal checklist")
        command = load_command(ImportChecklist, query)
        if not isinstance(csv_text, str) or not csv_text.strip():
            raise InvalidCommand({"_body": ["send the CSV file as the request body"]})
        if unstorable(csv_text):
            raise InvalidCommand({"_body": ["the CSV file " + UNSTORABLE_TEXT]})
        items = standard_csv.read_items(csv_text)
        digest = checklists.content_hash(command["title"], command["industry"], items)

        def execute(conn):
            now = utcnow()
            # one import of this content at a time, so two at once make one checklist
            serialize(conn, "checklist-import-" + digest)
            existing = projections.find_universal_by_content(conn, digest)
            if existing is None:
                checklist = Checklist.create(
                    {"title": command["title"], "scope": "universal",
                     "industry": command["industry"], "items": items},
                    actor=acting.actor, now=now, correlation_id=acting.correlation_id)
                latest = True
            else:           # the same standard again: the checklist it became
                checklist_id, _version, latest = existing
                checklist = Checklist.from_history(checklist_id, eventstore.load_stream(
                    conn, checklists.stream_id(checklist_id)))
            if command["publish"] and latest and checklist.status != checklists.PUBLISHED:
                checklist.publish(actor=acting.actor, now=now, correlation_id=acting.correlation_id)
            self._record(conn, checklists.stream_id(checklist.id), checklist.version,
                         *checklist.pending)
            return {"created": existing is None,
                    "checklist": self._checklist_view(conn, checklist.id)}
        return self.store.command(acting, "import_checklist", [digest, query]).run(execute)

    @rpc
    def edit_checklist(self, checklist_id, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(EditChecklist, payload)

        def execute(conn):
            checklist = self._load_checklist(conn, checklist_id, acting.scope, acting.actor)
            checklist.edit(command, actor=acting.actor, now=utcnow(),
                           correlation_id=acting.correlation_id)
            return self._save_checklist(conn, checklist)
        return self.store.command(acting, "edit_checklist", [checklist_id, payload]).run(execute)

    @rpc
    def publish_checklist(self, checklist_id, acting):
        return self._publish_checklist(checklist_id, Acting.from_dict(acting), now=utcnow())

    def _publish_checklist(self, checklist_id, acting, *, now):
        def execute(conn):
            checklist = self._load_checklist(conn, checklist_id, acting.scope, acting.actor)
            checklist.publish(actor=acting.actor, now=now, correlation_id=acting.correlation_id)
            return self._save_checklist(conn, checklist)
        return self.store.command(acting, "publish_checklist", [checklist_id]).run(execute)

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
            return self._checklist_view(conn, checklist_id, enterprise_id, scope)

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
    def register_position(self, enterprise_id, payload, acting):
        return self._register_position(enterprise_id, payload, Acting.from_dict(acting),
                                       now=utcnow())

    def _register_position(self, enterprise_id, payload, acting, *, now):
        command = load_command(RegisterPosition, payload)

        def execute(conn):
            enterprise = self._enterprise(conn, enterprise_id, scope=acting.scope,
                                          actor=acting.actor)
            assigned = {checklist_id: projections.find_checklist(conn, checklist_id)
                        for checklist_id in command["checklist_ids"]}
            position = Position.register(enterprise, command, assigned, actor=acting.actor,
                                         now=now, correlation_id=acting.correlation_id)
            self._record(conn, positions.stream_id(position.id), 0, *position.pending)
            return projections.position_view(self._position_row(conn, position.id))
        return self.store.command(acting, "register_position", [enterprise_id, payload]).run(
            execute)

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
    def update_position(self, position_id, payload, acting):
        """A JSON merge of the position's name, location and checklists:
        PositionUpdated with what changed; a request that changes nothing
        records nothing and answers the position as it is."""
        acting = Acting.from_dict(acting)
        _require_position_manager(acting)
        command = load_command(UpdatePosition, payload)

        def execute(conn):
            row = self._position_row(conn, position_id, acting.scope, acting.actor)
            position = Position.from_snapshot(row._mapping)
            assigned = {checklist_id: projections.find_checklist(conn, checklist_id)
                        for checklist_id in command.get("checklist_ids", [])}
            position.update(self._enterprise(conn, row.enterprise_id), command, assigned,
                            actor=acting.actor, now=utcnow(),
                            correlation_id=acting.correlation_id)
            self._record(conn, positions.stream_id(position.id), position.version,
                         *position.pending)
            return projections.position_view(self._position_row(conn, position_id))
        # a scan at the position meanwhile moves its stream on: try again
        return self.store.command(acting, "update_position", [position_id, payload]).run(
            execute, attempts=3)

    @rpc
    def retire_position(self, position_id, payload, acting):
        """PositionRetired (nothing again if retired already), and every
        schedule at the position that runs past today ends today."""
        acting = Acting.from_dict(acting)
        _require_position_manager(acting)
        command = load_command(RetirePosition, payload)

        def execute(conn):
            now = utcnow()
            row = self._position_row(conn, position_id, acting.scope, acting.actor)
            position = Position.from_snapshot(row._mapping)
            if position.retire(command["reason"], actor=acting.actor, now=now,
                               correlation_id=acting.correlation_id) is not None:
                self._record(conn, positions.stream_id(position.id), position.version,
                             *position.pending)
                for stream, version, ended in schedules.ended_by_retirement(
                        conn, position_id, actor=acting.actor, now=now,
                        zone=days.deployment_zone(), correlation_id=acting.correlation_id):
                    self._record(conn, stream, version, ended)
            return projections.position_view(self._position_row(conn, position_id))
        return self.store.command(acting, "retire_position", [position_id, payload]).run(
            execute, attempts=3)

    @rpc
    def position_history(self, position_id, scope=None, actor=""):
        """The position's changes, oldest first: registered, codes issued
        (without the token), updated, retired. Not its scans: presence, a
        long list, not a change of the position."""
        with self.store.connect() as conn:
            self._position_row(conn, position_id, scope, actor)
            events = eventstore.load_stream(conn, positions.stream_id(position_id),
                                            leaving_out=("PositionScanned",))
        history = []
        for event in events:
            entry = event.to_dict()
            entry["data"] = {key: value for key, value in entry["data"].items()
                             if key != "token"}
            history.append(entry)
        return history

    @rpc
    def rotate_code(self, position_id, acting):
        acting = Acting.from_dict(acting)

        def execute(conn):
            position = Position.from_snapshot(
                self._position_row(conn, position_id, acting.scope, acting.actor)._mapping)
            position.rotate_code(actor=acting.actor, now=utcnow(),
                                 correlation_id=acting.correlation_id)
            self._record(conn, positions.stream_id(position.id), position.version,
                         *position.pending)
            return projections.position_view(self._position_row(conn, position_id))
        return self.store.command(acting, "rotate_code", [position_id]).run(execute)

    @rpc
    def position_qr(self, position_id, image_format, scope=None, actor=""):
        with self.store.connect() as conn:
            row = self._position_row(conn, position_id, scope, actor)
        url = positions.scan_url(self._public_base_url(), row.token)
        if image_format == "svg":
            return files.pack(documents.qr_svg(url), documents.SVG, "position-%s.svg" % position_id)
        return files.pack(documents.qr_png(url), documents.PNG, "position-%s.png" % position_id)

    @rpc
    def qr_sheet(self, enterprise_id, query=None, scope=None, actor=""):
        query = load_command(QrSheetQuery, query or {})
        with self.store.connect() as conn:
            enterprise = self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            rows = projections.positions_of(conn, enterprise_id,
                                            include_retired=bool(query["position_ids"]))
        if query["position_ids"]:
            chosen = [part.strip() for part in query["position_ids"].split(",") if part.strip()]
            by_id = {row.position_id: row for row in rows}
            unknown = [one for one in chosen if one not in by_id]
            retired = [one for one in chosen if one in by_id and by_id[one].retired_at]
            if unknown or retired or not chosen:
                # another enterprise's position reads like a missing one
                raise InvalidCommand({"position_ids": [
                    "no position %s of this enterprise" % one for one in unknown] + [
                    "position %s is retired: its code is no longer in use" % one
                    for one in retired] or ["empty"]})
            rows = [by_id[one] for one in dict.fromkeys(chosen)]
        base = self._public_base_url()
        pdf = documents.qr_sheet_pdf(enterprise["name"], [
            (row.name, positions.scan_url(base, row.token)) for row in rows],
            font_path=setting(self.config, "QR_SHEET_FONT"))
        return files.pack(pdf, documents.PDF, "qr-codes-%s.pdf" % enterprise_id)

    @rpc
    def scan(self, token, query, acting):
        """Resolve a QR token: the position and the checklists that apply
        there; records who was there (the account scanning) and when."""
        acting = Acting.from_dict(acting)
        load_command(Scan, query)

        def execute(conn):
            row = projections.find_position_by_token(conn, token) if token else None
            if row is None or not tenancy.visible(acting.scope, row.enterprise_id):
                if row is not None:
                    tenancy.require(acting.scope, row.enterprise_id, "QR code", "(token)",
                                    acting.actor)
                raise NotFound("QR code", "(unknown, or replaced by a newer code)")
            position = Position.from_snapshot(row._mapping)
            position.scan(acting.actor, now=utcnow(), correlation_id=acting.correlation_id)
            self._record(conn, positions.stream_id(position.id), position.version,
                         *position.pending)
            view = projections.position_view(row)
            enterprise = self._enterprise(conn, view["enterprise_id"])
            found = [projections.find_checklist_version(conn, c["id"], c["published_version"])
                     for c in projections.list_checklists(conn)
                     if c["published_version"] and applies_to(c, enterprise)
                     and (c["id"] in view["checklist_ids"] or c["scope"] == "universal")]
            scanned = position.pending[-1].data
            return {"position": view, "enterprise": {key: enterprise[key] for key in
                                                     ("id", "name", "industry")},
                    "scanned_by": scanned["scanned_by"],
                    "scanned_at": isoformat(scanned["scanned_at"]), "checklists": found}
        return self.store.command(acting, "scan", [token, query]).run(execute)

    # --- what a hazard report refers to -------------------------------------------------
    @rpc
    def check_hazard_references(self, references, scope=None, actor=""):
        """Whether what a hazard report names is real and its enterprise's own:
        the enterprise (in `scope`), the position, the source inspection and
        its item. InvalidCommand names each that is not; another tenant's is
        answered exactly like a missing one. One call, before the report."""
        references = load_command(HazardReferences, references)
        with self.store.connect() as conn:
            self._enterprise(conn, references["enterprise_id"], as_field="enterprise_id",
                             scope=scope, actor=actor)
            position = references["position_id"] and projections.find_position(
                conn, references["position_id"])
            inspection = references["source_inspection_id"] and projections.find_inspection(
                conn, references["source_inspection_id"])
        position = position and projections.position_view(position)
        inspection = inspection and projections.inspection_view(inspection, with_items=True)
        for what, found in (("position", position), ("inspection", inspection)):
            if found and found["enterprise_id"] != references["enterprise_id"]:
                tenancy.log_attempt(what, found["id"], found["enterprise_id"], actor)
        problems = domain.hazard_reference_problems(references, position, inspection)
        if problems:
            raise InvalidCommand(problems)
        return {"checked": sorted(key for key, value in references.items() if value)}

    # --- inspections ------------------------------------------------------------------
    @rpc
    def log_inspection(self, payload, acting):
        return self._log_inspection(payload, Acting.from_dict(acting), now=utcnow())

    def _log_inspection(self, payload, acting, *, now):
        command = load_command(LogInspection, payload)
        domain.require_may_log(command["kind"], acting.account.role if acting.account else None)

        def execute(conn):
            enterprise = self._enterprise(conn, command["enterprise_id"], as_field="enterprise_id",
                                          scope=acting.scope, actor=acting.actor)
            inspectors = self._inspectors(conn, command, acting.actor)
            row = projections.find_position(conn, command["position_id"])
            event = domain.log_inspection(
                command, enterprise=enterprise,
                position=row and projections.position_view(row),
                checklist=projections.find_checklist(conn, command["checklist_id"]),
                version=projections.find_checklist_version(conn, command["checklist_id"],
                                                           command["checklist_version"]),
                actor=acting.actor, now=now, correlation_id=acting.correlation_id,
                inspectors=inspectors)
            self._record(conn, domain.inspection_stream(event.data["inspection_id"]), 0, event)
            for stream, version, done in schedules.rounds_done_by(
                    conn, event.data, days.deployment_zone(),
                    correlation_id=acting.correlation_id):
                self._record(conn, stream, version, done)
            return projections.inspection_view(
                projections.find_inspection(conn, event.data["inspection_id"]), with_items=True)
        # a concurrent check deciding the same schedule's round conflicts: try again
        return self.store.command(acting, "log_inspection", [payload]).run(execute, attempts=3)

    @staticmethod
    def _inspectors(conn, command, actor):
        """The inspecting accounts, each one of the register that may inspect
        in this kind of inspection (InvalidCommand naming each that is not),
        spelt as the register has them; the acting account first."""
        found, problems = [], {}
        for index, username in enumerate(command["inspectors"]):
            if username.lower() == actor.lower():
                continue
            row = accounts.find_by_username(conn, username)
            problem = domain.inspector_problem(command["kind"], command["enterprise_id"], row)
            if problem:
                problems[index] = [problem]
            else:
                found.append(row.username)
        if problems:
            raise InvalidCommand({"inspectors": problems})
        return domain.inspectors_of(actor, found)

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
            total, rows = projections.inspection_page(conn, query, scope=scope,
                                                      zone=days.deployment_zone())
        return paging.envelope([projections.inspection_view(row) for row in rows], query, total)

    @rpc
    def export_inspections(self, query, file_format, scope=None):
        """The filtered ledger as a file (einspection.files), names beside the
        ids; `lang` (zh, en) of the query: the CSV's booleans."""
        query = load_command(InspectionExportQuery, query)
        with self.store.connect() as conn:
            total, rows = projections.inspection_page(conn, query, limit=EXPORT_LIMIT,
                                                      scope=scope, zone=days.deployment_zone())
            if total > EXPORT_LIMIT:
                raise InvalidCommand({"_query": [
                    "%d inspections match; an export holds at most %d: narrow the filters"
                    % (total, EXPORT_LIMIT)]})
            views = projections.with_names(conn, [projections.inspection_view(row)
                                                  for row in rows])
        zone = days.deployment_zone()
        if file_format == "xlsx":
            return files.pack(documents.ledger_xlsx(views, zone), documents.XLSX,
                              "inspections.xlsx")
        return files.pack(documents.ledger_csv(views, zone, query["lang"]), documents.CSV,
                          "inspections.csv")

    # --- schedules and their rounds -------------------------------------------------------
    @rpc
    def create_schedule(self, enterprise_id, payload, acting):
        acting = Acting.from_dict(acting)
        schedules.require_manager(acting)
        command = load_command(CreateSchedule, payload)

        def execute(conn):
            now = utcnow()
            enterprise = self._enterprise(conn, enterprise_id, scope=acting.scope,
                                          actor=acting.actor)
            position = projections.find_position(conn, command["position_id"])
            assignee = command["assignee"] and accounts.find_by_username(conn,
                                                                         command["assignee"])
            event = schedules.schedule(
                command, enterprise=enterprise,
                position=position and projections.position_view(position),
                checklist=projections.find_checklist(conn, command["checklist_id"]),
                assignee=assignee or None, actor=acting.actor, now=now,
                zone=days.deployment_zone(), correlation_id=acting.correlation_id)
            self._record(conn, schedules.stream_id(event.data["schedule_id"]), 0, event)
            return schedules.view(schedules.find(conn, event.data["schedule_id"]))
        return self.store.command(acting, "create_schedule", [enterprise_id, payload]).run(
            execute)

    @rpc
    def end_schedule(self, schedule_id, payload, acting):
        acting = Acting.from_dict(acting)
        schedules.require_manager(acting)
        command = load_command(EndSchedule, payload)

        def execute(conn):
            row = self._schedule_row(conn, schedule_id, acting.scope, acting.actor)
            event = schedules.end(row, command, actor=acting.actor, now=utcnow(),
                                  zone=days.deployment_zone(),
                                  correlation_id=acting.correlation_id)
            if event is not None:
                self._record(conn, schedules.stream_id(schedule_id), row.version, event)
            return schedules.view(schedules.find(conn, schedule_id))
        return self.store.command(acting, "end_schedule", [schedule_id, payload]).run(
            execute, attempts=3)

    @rpc
    def list_schedules(self, enterprise_id, scope=None, actor=""):
        """The enterprise's schedules, and the `requirements`: each universal
        checklist with a required frequency that applies to it, satisfied
        or not by its schedules (schedules.requirements)."""
        with self.store.connect() as conn:
            enterprise = self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            items = schedules.of_enterprise(conn, enterprise_id)
            universal = projections.list_checklists(conn, scope="universal")
        today = days.local_day(utcnow(), days.deployment_zone())
        return {"items": items,
                "requirements": schedules.requirements(universal, enterprise, items, today)}

    @rpc
    def list_rounds(self, query, scope=None, actor="", assignee=None, role=None):
        """The rounds of the schedules in `scope` (of one enterprise if the
        query says) by local day; `assignee`/`role`: only the account's (by
        person, or by its role where the schedule names no person)."""
        query = load_command(RoundQuery, query or {})
        zone = days.deployment_zone()
        now = utcnow()
        today = days.local_day(now, zone)
        query["from_"] = query["from_"] or (query["to"] if query["to"] and query["to"] < today
                                            else today)
        query["to"] = query["to"] or max(query["from_"], today)
        if (query["to"] - query["from_"]).days >= ROUND_DAYS_LIMIT:
            raise InvalidCommand({"to": ["at most %d days from from" % ROUND_DAYS_LIMIT]})
        query.update(assignee=assignee, role=role)
        with self.store.connect() as conn:
            if query["enterprise_id"]:
                self._enterprise(conn, query["enterprise_id"], as_field="enterprise_id",
                                 scope=scope, actor=actor)
            items = schedules.rounds_listing(conn, query, zone, scope,
                                             projections.inspections)
        return {"items": items, "from": query["from_"].isoformat(),
                "to": query["to"].isoformat(), "time_zone": zone.key}

    # Missed rounds are this service's events (InspectionMissed), like the
    # hazard service's HazardOverdue: the schedule's stream version makes each
    # round decided once across replicas, and notify and scoring consume it.
    @timer(interval=ROUND_CHECK_SECONDS)
    def check_rounds(self):
        if self.decide_rounds(utcnow()):
            self.store.committed()

    def decide_rounds(self, now):
        return schedules.mark_missed(self.store, now, days.deployment_zone(), self._record,
                                     projections.inspections)

    # --- safety actions -----------------------------------------------------------------
    @rpc
    def record_safety_action(self, enterprise_id, payload, acting):
        return self._record_safety_action(enterprise_id, payload, Acting.from_dict(acting),
                                          now=utcnow())

    def _record_safety_action(self, enterprise_id, payload, acting, *, now):
        command = load_command(RecordSafetyAction, payload)

        def execute(conn):
            self._enterprise(conn, enterprise_id, scope=acting.scope, actor=acting.actor)
            event = domain.record_safety_action(enterprise_id, command, actor=acting.actor,
                                                now=now,
                                                correlation_id=acting.correlation_id)
            self._record(conn, domain.safety_action_stream(event.data["action_id"]), 0, event)
            return projections.safety_action_view(
                projections.find_safety_action(conn, event.data["action_id"]))
        return self.store.command(acting, "record_safety_action", [enterprise_id, payload]).run(
            execute)

    @rpc
    def list_safety_actions(self, enterprise_id, query, scope=None, actor=""):
        query = load_command(SafetyActionQuery, query)
        with self.store.connect() as conn:
            self._enterprise(conn, enterprise_id, scope=scope, actor=actor)
            return projections.list_safety_actions(conn, enterprise_id, query)

    @rpc
    def inspection_statistics(self, query, scope=None):
        query = load_command(InspectionStatisticsQuery, query)
        with self.store.connect() as conn:
            answer = projections.inspection_statistics(conn, query, days.deployment_zone(),
                                                       scope=scope)
        return dict(figures.with_rates(answer, projections.INSPECTION_RATES),
                    **{"from": query["from_"] and query["from_"].isoformat(),
                       "to": query["to"] and query["to"].isoformat()})

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
        of a previous system, or the demo's history, each at its record's time
        and by its record's account."""
        def about(key, command):
            return lambda body, acting, **when: command(
                imports.required(body, key), imports.without(body, key), acting, **when)
        outcome = imports.run(self.store, payload, {
            "register_enterprise": self._register_enterprise,
            "create_checklist": self._create_checklist,
            "publish_checklist": lambda body, acting, **when: self._publish_checklist(
                imports.required(body, "checklist_id"), acting, **when),
            "register_position": about("enterprise_id", self._register_position),
            "log_inspection": self._log_inspection,
            "record_safety_action": about("enterprise_id", self._record_safety_action),
        }, now=utcnow(), skew=domain.CLOCK_SKEW)
        self.store.committed()
        return outcome

    # --- helpers ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _attempt(self, username, client_address):
        """A password check, throttled: counted before it runs, taken back if
        it succeeds (the body returning without an exception)."""
        policy = throttle.Policy.from_settings(lambda key, default: setting(
            self.config, key, default))
        keys = policy.keys(username, client_address)
        with self.store.begin() as conn:
            reservation = throttle.admit(conn, policy, keys, utcnow())
        yield
        with self.store.begin() as conn:
            throttle.succeeded(conn, reservation)

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

    @staticmethod
    def _schedule_row(conn, schedule_id, scope=None, actor=""):
        row = schedules.find(conn, schedule_id)
        if row is None:
            raise NotFound("schedule", schedule_id)
        tenancy.require(scope, row.enterprise_id, "schedule", schedule_id, actor)
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

    def _checklist_view(self, conn, checklist_id, enterprise_id=None, scope=None):
        checklist = self._visible_checklist(conn, checklist_id, enterprise_id, scope)
        checklist["versions"] = projections.versions_of(conn, checklist_id)
        checklist["latest"] = projections.find_checklist_version(
            conn, checklist_id, checklist["latest_version"])
        return checklist

    @staticmethod
    def _load_checklist(conn, checklist_id, scope=None, actor=""):
        """A checklist to change: an enterprise's own, or a universal one for the authority."""
        events = eventstore.load_stream(conn, checklists.stream_id(checklist_id))
        if not events:
            raise NotFound("checklist", checklist_id)
        checklist = Checklist.from_history(checklist_id, events)
        if checklist.enterprise_id is None:
            _authority_only(scope, "a universal checklist")
        else:
            tenancy.require(scope, checklist.enterprise_id, "checklist", checklist_id, actor)
        return checklist

    def _save_checklist(self, conn, checklist):
        """Record the checklist's pending events; its view as it then is.
        Optimistic concurrency: a concurrent edit of the same checklist makes
        the append fail with ConcurrencyConflict and the transaction roll back."""
        self._record(conn, checklists.stream_id(checklist.id), checklist.version,
                     *checklist.pending)
        return self._checklist_view(conn, checklist.id)

    @staticmethod
    def _record(conn, stream_id, expected_version, *events):
        eventstore.append(conn, stream_id, expected_version, list(events))
        for event in events:
            projections.project(conn, event)
