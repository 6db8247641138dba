from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

import einspection.nameko_glue  # noqa: F401  (registers the domain errors for RPC)
from einspection.errors import InvalidCommand, NotFound

from .http_json import HttpError, call, correlation_id, endpoint, read_json
from .routes_checklist import ChecklistRoutes
from .routes_hazard import HazardRoutes
from .routes_notify import NotifyRoutes
from .routes_scoring import ScoringRoutes

SERVICES = ("hazard", "checklist", "scoring", "notify")


class GatewayService(HazardRoutes, ChecklistRoutes, NotifyRoutes, ScoringRoutes):
    """The HTTP API people and integrators call. Thin: it parses HTTP and
    forwards to the service that owns the data; validation lives there."""
    name = "gateway"

    hazard = RpcProxy("hazard")
    checklist = RpcProxy("checklist")
    scoring = RpcProxy("scoring")
    notify = RpcProxy("notify")

    @http("GET", "/health")
    @endpoint("health")
    def health(self, request):
        services = {}
        for name in SERVICES:
            try:
                services[name] = call(getattr(self, name).health)
            except HttpError:
                services[name] = {"status": "unavailable"}
        healthy = all(s.get("status") == "ok" for s in services.values())
        return (200 if healthy else 503), {"status": "ok" if healthy else "degraded",
                                           "services": services}

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    # --- register -----------------------------------------------------------------
    @http("POST", "/api/v1/enterprises")
    @endpoint("enterprises.create")
    def register_enterprise(self, request):
        return 201, call(self.checklist.register_enterprise, read_json(request),
                         correlation_id=correlation_id(request))

    @http("GET", "/api/v1/enterprises")
    @endpoint("enterprises.list")
    def list_enterprises(self, request):
        return 200, {"items": call(self.checklist.list_enterprises)}

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>")
    @endpoint("enterprises.get")
    def get_enterprise(self, request, enterprise_id):
        return 200, call(self.checklist.get_enterprise, enterprise_id)

    def _require_enterprise(self, enterprise_id, as_field=True):
        if not isinstance(enterprise_id, str) or not enterprise_id:
            if as_field:
                raise InvalidCommand({"enterprise_id": ["required"]})
            raise HttpError(404, "enterprise not found")
        try:
            call(self.checklist.get_enterprise, enterprise_id)
        except NotFound:
            if as_field:
                raise InvalidCommand({"enterprise_id": ["no such enterprise"]}) from None
            raise
