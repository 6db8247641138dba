"""The hazard routes of the gateway: the standing book, the hazard lifecycle
and evidence files. A mixin of GatewayService (its RpcProxy `hazard` and
`checklist`, its `_acting` and `_scope`)."""
import base64
import os
from datetime import datetime, timezone

from einspection import days, figures, files, pdf as printing
from einspection.contract import load_command
from einspection.errors import InvalidCommand, NotFound, ReferencesUnvouched
from services.hazard import blobs, ledger
from services.hazard.domain import ASSIGNERS
from services.hazard.schemas import AssignHazard, REGISTER_GROUPINGS, ReportHazard, UploadEvidence

from . import notice, statistics
from .http_json import (WRITERS, HttpError, call, endpoint, export_query, file_response,
                        read_bytes, read_json)
from .server import http

IMAGES = tuple(blobs.IMAGE_FORMATS)


ME = "me"            # `assignee=me`: the caller
UNREAD_SHOWN = 20    # the newest unread notices "my work" shows per inbox (`unread` counts all)


def own_inboxes(principal):
    """The inboxes an account answers for (einspection notify's recipients):
    its own, and its enterprise's, its grid's or the authority's."""
    inboxes = ["account:" + principal.username]
    if principal.role in ("enterprise_staff", "enterprise_manager"):
        inboxes.append("enterprise:" + principal.enterprise_id)
    elif principal.role == "grid_officer":
        inboxes.append("grid:" + principal.grid)
    elif principal.role in ("authority_inspector", "authority_admin"):
        inboxes.append("authority")
    return inboxes


# What a hazard report names that the register (the checklist service) owns.
REGISTER_REFERENCES = ("enterprise_id", "position_id", "source_inspection_id", "source_item_id")


class HazardRoutes:

    @http("POST", "/api/v1/hazards")
    @endpoint("hazards.report", roles=WRITERS)
    def report_hazard(self, request):
        body = read_json(request)
        acting = self._acting(request)
        try:
            return 201, call(self.hazard.report_hazard, body, check_references=True, **acting)
        except ReferencesUnvouched:
            # the hazard service has not heard of them from the register (yet): ask it
            self._require_references(request, load_command(ReportHazard, body))
            return 201, call(self.hazard.report_hazard, body, **acting)

    def _require_references(self, request, command):
        """What a hazard report names is real and its enterprise's own. The
        register's things (enterprise, position, source inspection and item)
        in one call to their owner, the checklist service, before anything
        is recorded — when the hazard service could not vouch for them from
        what the register announced; the evidence files by the hazard service, which owns
        them. Another tenant's answers as a missing one: 400 naming the field."""
        call(self.checklist.check_hazard_references,
             {key: command[key] for key in REGISTER_REFERENCES}, self._scope(request),
             request.principal.username)

    @http("GET", "/api/v1/hazard-categories")
    @endpoint("hazard_categories.list")
    def list_hazard_categories(self, request):
        """The deployment's categories, for a report or checklist form: any
        account may read them (the deployment's rule, not a tenant's data)."""
        return 200, call(self.hazard.list_hazard_categories)

    @http("GET", "/api/v1/hazards")
    @endpoint("hazards.list")
    def list_hazards(self, request):
        return 200, call(self.hazard.list_hazards, self._ledger_query(request),
                         scope=self._scope(request))

    @staticmethod
    def _ledger_query(request):
        """The query string, `assignee=me` read as the caller's own username."""
        query = request.args.to_dict()
        if query.get("assignee") == ME:
            query["assignee"] = request.principal.username
        return query

    @http("GET", "/api/v1/statistics/hazards")
    @endpoint("statistics.hazards")
    def hazard_statistics(self, request):
        """Grouped by what the hazard service knows (level, category, status,
        source, enterprise, month), or by what the register knows of each
        enterprise (town, grid, industry: the hazard service's per-enterprise
        counts summed per the checklist service's attribute)."""
        scope = self._scope(request)

        def fetch(args):
            group_by = args.get("group_by")
            if group_by not in REGISTER_GROUPINGS:
                return call(self.hazard.hazard_statistics, args, scope=scope)
            per_enterprise = call(self.hazard.hazard_statistics,
                                  dict(args, group_by="enterprise"), scope=scope)
            return figures.fold(per_enterprise,
                                call(self.checklist.enterprise_attributes, group_by, scope),
                                group_by, ledger.COUNTS, ledger.RATES)
        return statistics.answer(self._ledger_query(request), fetch, ledger.COUNTS,
                                 tuple(ledger.RATES), statistics.HazardStatisticsQuery,
                                 "hazard-statistics")

    @http("GET", "/api/v1/hazards/export.csv")
    @endpoint("hazards.export.csv")
    def export_hazards_csv(self, request):
        return self._export(request, "csv")

    @http("GET", "/api/v1/hazards/export.xlsx")
    @endpoint("hazards.export.xlsx")
    def export_hazards_xlsx(self, request):
        return self._export(request, "xlsx")

    def _export(self, request, file_format):
        return file_response(call(self.hazard.export_hazards, file_format,
                                  export_query(request, self._ledger_query(request)),
                                  scope=self._scope(request)),
                             download=True)

    @http("GET", "/api/v1/hazards/<string:hazard_id>")
    @endpoint("hazards.get")
    def get_hazard(self, request, hazard_id):
        return 200, call(self.hazard.get_hazard, hazard_id, scope=self._scope(request),
                         actor=request.principal.username)

    @http("GET", "/api/v1/hazards/<string:hazard_id>/rectification-notice.pdf")
    @endpoint("hazards.rectification_notice")
    def rectification_notice(self, request, hazard_id):
        """The hazard's 隐患整改通知书 to print: seen as the hazard is (another
        tenant's is a 404), with the register's names and, for a hazard from
        an inspection, the failed item's legal basis."""
        reading = {"scope": self._scope(request), "actor": request.principal.username}
        hazard = call(self.hazard.get_hazard, hazard_id, **reading)
        enterprise = call(self.checklist.get_enterprise, hazard["enterprise_id"], **reading)
        position = hazard["position_id"] and call(self.checklist.get_position,
                                                  hazard["position_id"], **reading)
        zone = days.deployment_zone()
        document = notice.rectification_notice_pdf(
            hazard, enterprise, position or None,
            call(self.hazard.list_hazard_categories)["categories"],
            self._legal_basis(hazard, reading), datetime.now(timezone.utc), zone,
            font_path=os.environ.get(printing.FONT_SETTING))
        return file_response(files.pack(document, printing.PDF,
                                        "rectification-notice-%s.pdf" % hazard_id))

    def _legal_basis(self, hazard, reading):
        """The legal basis of the checklist item whose failure the hazard is, or ""."""
        source = hazard["source"]
        if source["kind"] != "inspection":
            return ""
        inspection = call(self.checklist.get_inspection, source["inspection_id"], **reading)
        version = call(self.checklist.get_checklist_version, inspection["checklist_id"],
                       inspection["checklist_version"], hazard["enterprise_id"],
                       reading["scope"])
        return next((item.get("legal_basis") or "" for item in version["items"]
                     if item["item_id"] == source["item_id"]), "")

    @http("GET", "/api/v1/hazards/<string:hazard_id>/history")
    @endpoint("hazards.history")
    def hazard_history(self, request, hazard_id):
        return 200, {"items": call(self.hazard.history, hazard_id, scope=self._scope(request),
                                   actor=request.principal.username)}

    @http("POST", "/api/v1/hazards/<string:hazard_id>/plan")
    @endpoint("hazards.plan", roles=WRITERS)
    def record_plan(self, request, hazard_id):
        return 201, call(self.hazard.record_plan, hazard_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/hazards/<string:hazard_id>/rectification")
    @endpoint("hazards.rectify", roles=WRITERS)
    def submit_rectification(self, request, hazard_id):
        return 201, call(self.hazard.submit_rectification, hazard_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/hazards/<string:hazard_id>/verification")
    @endpoint("hazards.verify", roles=WRITERS)
    def verify(self, request, hazard_id):
        return 201, call(self.hazard.verify, hazard_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/hazards/<string:hazard_id>/assignment")
    @endpoint("hazards.assign", roles=ASSIGNERS)
    def assign_hazard(self, request, hazard_id):
        """The hazard first (another tenant's is a missing one: 404), then
        the assignee, from the register that holds accounts (an enabled
        account of the hazard's enterprise, else 400 on `assignee`), then
        the hazard service records it (who may assign, not a closed one)."""
        body = read_json(request)
        command = load_command(AssignHazard, body)
        hazard = call(self.hazard.get_hazard, hazard_id, scope=self._scope(request),
                      actor=request.principal.username)
        assignee = call(self.checklist.assignable_account, hazard["enterprise_id"],
                        command["assignee"], request.principal.username)
        return 201, call(self.hazard.assign_hazard, hazard_id, body, assignee,
                         **self._acting(request))

    @http("GET", "/api/v1/me/work")
    @endpoint("me.work")
    def my_work(self, request):
        """What waits for the caller, within its scope: the hazards assigned
        to it, the rectifications waiting for its verification (by the
        verification rule and separation of duties) and its unread notices
        (its own inbox and those it answers for)."""
        principal = request.principal
        work = call(self.hazard.work_of, principal.username, principal.role,
                    scope=self._scope(request))
        rounds = call(self.checklist.list_rounds, {}, scope=self._scope(request),
                      assignee=principal.username, role=principal.role)
        inboxes = []
        for recipient in own_inboxes(principal):
            found = call(self.notify.inbox, {"recipient": recipient, "unread": "true",
                                             "size": str(UNREAD_SHOWN)},
                         principal=principal.to_dict(), scope=self._scope(request))
            inboxes.append({"recipient": recipient, "unread": found["unread"],
                            "items": found["items"]})
        return 200, {"account": {"username": principal.username, "role": principal.role},
                     "rounds_due_today": [r for r in rounds["items"] if r["status"] == "due"],
                     "assigned": work["assigned"],
                     "awaiting_verification": work["awaiting_verification"],
                     "unread_notices": {"unread": sum(i["unread"] for i in inboxes),
                                        "inboxes": inboxes}}

    # Listed supervision (挂牌督办) is the authority's; the hazard service says
    # so (403 with the reason) after it found the hazard in the account's
    # scope, so that another tenant's hazard answers 404 as a missing one.
    @http("POST", "/api/v1/hazards/<string:hazard_id>/listing")
    @endpoint("hazards.list_for_supervision", roles=WRITERS)
    def list_hazard(self, request, hazard_id):
        return 201, call(self.hazard.list_hazard, hazard_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/hazards/<string:hazard_id>/delisting")
    @endpoint("hazards.delist", roles=WRITERS)
    def delist_hazard(self, request, hazard_id):
        return 200, call(self.hazard.delist_hazard, hazard_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/evidence")
    @endpoint("evidence.upload", roles=WRITERS)
    def upload_evidence(self, request):
        """The raw file as the body; `?enterprise_id=` names its owner (an
        enterprise account's own enterprise by default)."""
        query = load_command(UploadEvidence, request.args.to_dict())
        enterprise_id = query["enterprise_id"] or request.principal.enterprise_id
        if not enterprise_id:
            raise InvalidCommand({"enterprise_id": [
                "required: the enterprise whose evidence this is"]})
        limit = blobs.max_bytes()
        data = read_bytes(request, limit, "evidence files are limited to %d bytes" % limit)
        try:
            self._require_enterprise(request, enterprise_id)
        except (NotFound, HttpError) as exc:      # a query field: 400, like a body's reference
            if isinstance(exc, HttpError) and exc.status != 404:
                raise
            raise InvalidCommand({"enterprise_id": ["no such enterprise"]}) from None
        return 201, call(self.hazard.put_evidence, base64.b64encode(data).decode("ascii"),
                         request.headers.get("Content-Type", ""), enterprise_id,
                         **self._acting(request))

    @http("GET", "/api/v1/evidence/<string:ref>")
    @endpoint("evidence.get")
    def get_evidence(self, request, ref):
        """Images are shown (inline), anything else is a download; the file
        may run nothing in the browser whatever its bytes hold."""
        evidence = call(self.hazard.get_evidence, ref, **self._reading(request))
        return file_response(evidence, download=evidence["content_type"] not in IMAGES,
                             headers={"Cache-Control": "private, max-age=31536000, immutable",
                                      "ETag": '"%s"' % evidence["ref"],
                                      "Content-Security-Policy": "default-src 'none'; sandbox"})
