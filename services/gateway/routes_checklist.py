"""HTTP routes of the checklist service: checklists (and the import of a
grading standard), positions and their QR codes, scans, inspections and
their ledger, safety actions. A mixin of GatewayService: it uses its RPC
proxy `checklist`."""

from einspection.errors import NotFound
from services.checklist.projections import INSPECTION_COUNTS, INSPECTION_RATES

from .http_json import (AUTHORITY, WRITERS, HttpError, call, endpoint, export_query,
                        file_response, read_json, read_text)
from . import statistics
from .server import http, log_scan_as_position

MANAGERS = ("enterprise_manager",) + AUTHORITY

TRAINING_COUNTS = ("sessions", "people_trained", "enterprises_covered", "enterprises_registered")


def _query(request):
    return request.args.to_dict()


class ChecklistRoutes:

    # --- checklists -------------------------------------------------------------------
    @http("POST", "/api/v1/checklists")
    @endpoint("checklists.create", roles=MANAGERS)
    def create_checklist(self, request):
        return 201, call(self.checklist.create_checklist, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/checklists/import")
    @endpoint("checklists.import", roles=AUTHORITY)
    def import_checklist(self, request):
        imported = call(self.checklist.import_checklist, read_text(request), _query(request),
                        **self._acting(request))
        return (201 if imported["created"] else 200), imported["checklist"]

    @http("GET", "/api/v1/checklists")
    @endpoint("checklists.list")
    def list_checklists(self, request):
        return 200, call(self.checklist.list_checklists, _query(request),
                         scope=self._scope(request))

    @http("GET", "/api/v1/checklists/<string:checklist_id>")
    @endpoint("checklists.get")
    def get_checklist(self, request, checklist_id):
        return 200, call(self.checklist.get_checklist, checklist_id,
                         request.args.get("enterprise_id"), scope=self._scope(request))

    @http("PUT", "/api/v1/checklists/<string:checklist_id>/draft")
    @endpoint("checklists.edit", roles=MANAGERS)
    def edit_checklist(self, request, checklist_id):
        return 200, call(self.checklist.edit_checklist, checklist_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/checklists/<string:checklist_id>/publish")
    @endpoint("checklists.publish", roles=MANAGERS)
    def publish_checklist(self, request, checklist_id):
        return 200, call(self.checklist.publish_checklist, checklist_id,
                         **self._acting(request))

    @http("GET", "/api/v1/checklists/<string:checklist_id>/versions/<int:version>")
    @endpoint("checklists.version")
    def get_checklist_version(self, request, checklist_id, version):
        return 200, call(self.checklist.get_checklist_version, checklist_id, version,
                         request.args.get("enterprise_id"), scope=self._scope(request))

    # --- positions ----------------------------------------------------------------------
    @http("POST", "/api/v1/enterprises/<string:enterprise_id>/positions")
    @endpoint("positions.register", roles=MANAGERS)
    def register_position(self, request, enterprise_id):
        return 201, call(self.checklist.register_position, enterprise_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/positions")
    @endpoint("positions.list")
    def list_positions(self, request, enterprise_id):
        return 200, call(self.checklist.list_positions, enterprise_id, _query(request),
                         **self._reading(request))

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/positions/qr-sheet.pdf")
    @endpoint("positions.qr_sheet")
    def qr_sheet(self, request, enterprise_id):
        return file_response(call(self.checklist.qr_sheet, enterprise_id, request.args.to_dict(),
                                  **self._reading(request)), download=True)

    @http("GET", "/api/v1/positions/<string:position_id>")
    @endpoint("positions.get")
    def get_position(self, request, position_id):
        return 200, call(self.checklist.get_position, position_id, **self._reading(request))

    @http("GET", "/api/v1/positions/<string:position_id>/qr.png")
    @endpoint("positions.qr_png")
    def position_qr_png(self, request, position_id):
        return file_response(call(self.checklist.position_qr, position_id, "png",
                                  **self._reading(request)))

    @http("GET", "/api/v1/positions/<string:position_id>/qr.svg")
    @endpoint("positions.qr_svg")
    def position_qr_svg(self, request, position_id):
        return file_response(call(self.checklist.position_qr, position_id, "svg",
                                  **self._reading(request)))

    @http("PATCH", "/api/v1/positions/<string:position_id>")
    @endpoint("positions.update", roles=MANAGERS)
    def update_position(self, request, position_id):
        return 200, call(self.checklist.update_position, position_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/positions/<string:position_id>/retirement")
    @endpoint("positions.retire", roles=MANAGERS)
    def retire_position(self, request, position_id):
        return 200, call(self.checklist.retire_position, position_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/positions/<string:position_id>/history")
    @endpoint("positions.history")
    def position_history(self, request, position_id):
        return 200, {"items": call(self.checklist.position_history, position_id,
                                   **self._reading(request))}

    @http("POST", "/api/v1/positions/<string:position_id>/rotate-code")
    @endpoint("positions.rotate_code", roles=MANAGERS)
    def rotate_code(self, request, position_id):
        return 200, call(self.checklist.rotate_code, position_id, **self._acting(request))

    @http("GET", "/api/v1/scan/<string:token>")     # and /scan/<token>, routes_web.py
    @endpoint("positions.scan", roles=WRITERS)
    def scan(self, request, token):
        try:
            scanned = call(self.checklist.scan, token, _query(request), **self._acting(request))
        except NotFound:
            raise HttpError(404, "this QR code is unknown or has been replaced by a newer "
                                 "one; scan the code posted at the position") from None
        log_scan_as_position(request, scanned["position"]["id"])
        return 200, scanned

    # --- inspections --------------------------------------------------------------------
    @http("POST", "/api/v1/inspections")
    @endpoint("inspections.log", roles=WRITERS)
    def log_inspection(self, request):
        body = read_json(request)
        self._require_photos(request, body)
        return 201, call(self.checklist.log_inspection, body, **self._acting(request))

    def _require_photos(self, request, body):
        """Every photo of the results is a file of the inspected enterprise
        in the evidence store, which is the hazard service's: asked here,
        before the checklist service logs the inspection (it never sees the
        store; a photo named in InspectionLogged becomes a hazard's evidence).
        Malformed results are left to the checklist service to name."""
        results = body.get("results")
        photos = {}              # by item, as the checklist service names an item's problems
        for index, result in enumerate(results if isinstance(results, list) else []):
            refs = result.get("photos") if isinstance(result, dict) else None
            if isinstance(refs, list) and refs and all(isinstance(ref, str) for ref in refs):
                item = result.get("item_id")
                photos[item if isinstance(item, str) else str(index)] = {"photos": refs}
        if photos and isinstance(body.get("enterprise_id"), str):
            call(self.hazard.require_evidence, body["enterprise_id"], {"results": photos},
                 **self._reading(request))

    @http("GET", "/api/v1/inspections")
    @endpoint("inspections.list")
    def list_inspections(self, request):
        return 200, call(self.checklist.list_inspections, _query(request),
                         scope=self._scope(request))

    @http("GET", "/api/v1/inspections/export.csv")
    @endpoint("inspections.export_csv")
    def export_inspections_csv(self, request):
        return file_response(call(self.checklist.export_inspections,
                                  export_query(request, _query(request)), "csv",
                                  scope=self._scope(request)), download=True)

    @http("GET", "/api/v1/inspections/export.xlsx")
    @endpoint("inspections.export_xlsx")
    def export_inspections_xlsx(self, request):
        return file_response(call(self.checklist.export_inspections,
                                  export_query(request, _query(request)), "xlsx",
                                  scope=self._scope(request)), download=True)

    @http("GET", "/api/v1/inspections/<string:inspection_id>")
    @endpoint("inspections.get")
    def get_inspection(self, request, inspection_id):
        return 200, call(self.checklist.get_inspection, inspection_id, **self._reading(request))

    # --- safety actions -----------------------------------------------------------------
    @http("POST", "/api/v1/enterprises/<string:enterprise_id>/safety-actions")
    @endpoint("safety_actions.record", roles=WRITERS)
    def record_safety_action(self, request, enterprise_id):
        return 201, call(self.checklist.record_safety_action, enterprise_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/safety-actions")
    @endpoint("safety_actions.list")
    def list_safety_actions(self, request, enterprise_id):
        return 200, call(self.checklist.list_safety_actions, enterprise_id, _query(request),
                         **self._reading(request))

    # --- schedules and their rounds ---------------------------------------------------------
    @http("POST", "/api/v1/enterprises/<string:enterprise_id>/schedules")
    @endpoint("schedules.create", roles=("enterprise_manager",))
    def create_schedule(self, request, enterprise_id):
        return 201, call(self.checklist.create_schedule, enterprise_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/schedules")
    @endpoint("schedules.list")
    def list_schedules(self, request, enterprise_id):
        return 200, call(self.checklist.list_schedules, enterprise_id, **self._reading(request))

    @http("POST", "/api/v1/schedules/<string:schedule_id>/end")
    @endpoint("schedules.end", roles=("enterprise_manager",))
    def end_schedule(self, request, schedule_id):
        return 200, call(self.checklist.end_schedule, schedule_id, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/rounds")
    @endpoint("rounds.list")
    def list_rounds(self, request):
        return 200, call(self.checklist.list_rounds, _query(request), **self._reading(request))

    @http("GET", "/api/v1/statistics/inspections")
    @endpoint("statistics.inspections")
    def inspection_statistics(self, request):
        """Inspections by kind (self, grid, enforcement), month, enterprise,
        checklist, town, grid or industry: the checklist service holds both
        the inspections and the register."""
        scope = self._scope(request)
        return statistics.answer(
            _query(request), lambda args: call(self.checklist.inspection_statistics, args,
                                               scope=scope),
            INSPECTION_COUNTS, tuple(INSPECTION_RATES), statistics.InspectionStatisticsQuery,
            "inspection-statistics")

    @http("GET", "/api/v1/statistics/training")
    @endpoint("statistics.training")
    def training_statistics(self, request):
        scope = self._scope(request)
        return statistics.answer(
            _query(request), lambda args: call(self.checklist.training_statistics, args,
                                               scope=scope),
            TRAINING_COUNTS, ("coverage",), statistics.TrainingStatisticsQuery, "training-statistics",
            grouped=False)
