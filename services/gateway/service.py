import eventlet
from marshmallow import ValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from einspection import auth
from einspection.acting import Acting
from einspection.errors import ServiceUnavailable
from einspection.nameko_glue import LogContext, RpcProxy   # (importing it registers the domain errors)

from .http_json import (ANY_ID, AUTHORITY, BROKER_UNAVAILABLE, PASSWORD_CHANGE_TTL_SECONDS,
                        HttpError, auth_secret, call, call_within, command_of, correlation_id,
                        endpoint, read_json, request_address, token_ttl_seconds)
from .routes_checklist import ChecklistRoutes
from .routes_docs import DocsRoutes
from .routes_enforcement import EnforcementRoutes
from .routes_hazard import HazardRoutes
from .routes_notify import NotifyRoutes
from .routes_scoring import ScoringRoutes
from .routes_web import WebRoutes
from .server import http

SERVICES = ("hazard", "checklist", "scoring", "notify", "enforcement")
# /health asks every service at once and waits this long for each: a dead
# one is named within a second or two instead of holding the answer up.
HEALTH_DEADLINE_SECONDS = 1.5


def _token_answer(principal_dict):
    """A bearer token for a principal the register vouched for; one that
    must change its password gets a short one (it can do nothing else)."""
    principal = auth.Principal.from_dict(principal_dict)
    ttl = token_ttl_seconds()
    if principal.must_change_password:
        ttl = min(ttl, PASSWORD_CHANGE_TTL_SECONDS)
    token, expires = auth.issue_token(principal, auth_secret(), ttl)
    return {"token": token, "token_type": "Bearer",
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
            "account": principal.to_dict()}


class GatewayService(HazardRoutes, ChecklistRoutes, NotifyRoutes, ScoringRoutes,
                     EnforcementRoutes, WebRoutes, DocsRoutes):
    """The HTTP API people and integrators call. Thin: it parses HTTP and
    forwards to the service that owns the data; validation lives there."""
    name = "gateway"

    hazard = RpcProxy("hazard")
    checklist = RpcProxy("checklist")
    scoring = RpcProxy("scoring")
    notify = RpcProxy("notify")
    enforcement = RpcProxy("enforcement")
    log_context = LogContext()

    @http("GET", "/health")
    @endpoint("health", public=True)
    def health(self, request):
        services, broker_down, down = self._dependencies()
        answer = {"status": "degraded" if down else "ok", "services": services,
                  "broker": {"status": "unavailable" if broker_down else "ok"}}
        if down:
            answer["down"] = down
        return (503 if down else 200), answer

    @http("GET", "/health/live")
    @endpoint("health.live", public=True)
    def health_live(self, request):
        """Liveness: this process is up and its event loop answers. Nothing
        else is asked, so an outage elsewhere never gets it restarted."""
        return 200, {"status": "live"}

    @http("GET", "/health/ready")
    @endpoint("health.ready", public=True)
    def health_ready(self, request):
        """Readiness: what this gateway needs to serve any request answers —
        the broker every call goes over. A backend service that is down is
        named under `degraded` but leaves the gateway ready: its routes answer
        503 on their own, and taking every gateway out of the load balancer
        for it would turn a partial outage into a total one (that service's
        own readiness is its pods' probe)."""
        services, broker_down, down = self._dependencies()
        if broker_down:
            return 503, {"status": "unready", "down": down}
        answer = {"status": "ready"}
        if down:
            answer["degraded"] = down
        return 200, answer

    def _dependencies(self):
        """(each service's health answer, whether the broker is down, what
        is down in words), every service asked at once."""
        asked = {name: eventlet.spawn(self._health_of, name) for name in SERVICES}
        services = {name: answer.wait() for name, answer in asked.items()}
        broker_down = any(s.get("reason") == BROKER_UNAVAILABLE for s in services.values())
        down = (["the message broker"] if broker_down else []) + [
            part for s in services.values() if s["status"] != "ok" and not broker_down
            for part in s["reason"].split("; ") if not part.startswith("retry later")]
        return services, broker_down, down

    def _health_of(self, name):
        try:
            return call_within(HEALTH_DEADLINE_SECONDS, getattr(self, name).health)
        except (HttpError, ServiceUnavailable) as exc:
            return {"status": "unavailable", "service": name, "reason": str(exc)}

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    # --- who is asking -------------------------------------------------------------
    @http("POST", "/api/v1/auth/token")
    @endpoint("auth.token", public=True)
    def issue_token(self, request):
        return 200, _token_answer(call(self.checklist.authenticate, read_json(request),
                                       request_address(request)))

    @http("POST", "/api/v1/auth/password")
    @endpoint("auth.password")
    def change_password(self, request):
        """The account's own password, old and new; answers a new token (the
        one of a temporary password can do nothing else)."""
        return 200, _token_answer(call(self.checklist.change_password, read_json(request),
                                       client_address=request_address(request),
                                       **self._acting(request)))

    @http("GET", "/api/v1/auth/me")
    @endpoint("auth.me")
    def me(self, request):
        return 200, request.principal.to_dict()

    @http("POST", "/api/v1/accounts")
    @endpoint("accounts.create", roles=auth.ACCOUNT_MANAGERS)
    def create_account(self, request):
        return 201, call(self.checklist.create_account, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/accounts")
    @endpoint("accounts.list", roles=auth.ACCOUNT_MANAGERS)
    def list_accounts(self, request):
        return 200, call(self.checklist.list_accounts, request.principal.to_dict(),
                         request.args.to_dict())

    @http("POST", "/api/v1/accounts/<string:account_id>/password-reset")
    @endpoint("accounts.reset_password", roles=auth.ACCOUNT_MANAGERS)
    def reset_password(self, request, account_id):
        return 200, call(self.checklist.reset_password, account_id, **self._acting(request))

    @http("POST", "/api/v1/accounts/<string:account_id>/disable")
    @endpoint("accounts.disable", roles=auth.ACCOUNT_MANAGERS)
    def disable_account(self, request, account_id):
        return 200, call(self.checklist.disable_account, account_id, read_json(request),
                         **self._acting(request))

    # --- register -----------------------------------------------------------------
    @http("POST", "/api/v1/enterprises")
    @endpoint("enterprises.create", roles=AUTHORITY)
    def register_enterprise(self, request):
        return 201, call(self.checklist.register_enterprise, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/enterprises")
    @endpoint("enterprises.list")
    def list_enterprises(self, request):
        return 200, call(self.checklist.list_enterprises, request.args.to_dict(),
                         self._scope(request))

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>")
    @endpoint("enterprises.get")
    def get_enterprise(self, request, enterprise_id):
        return 200, call(self.checklist.get_enterprise, enterprise_id, self._scope(request))

    def _scope(self, request):
        """The enterprise ids the caller may see (None: all), once per request."""
        if not hasattr(request, "scope"):
            try:
                request.scope = auth.scope_without_register(request.principal)
            except LookupError:           # a grid's or a town's: the register knows
                request.scope = call(self.checklist.scope_of, request.principal.to_dict())
        return request.scope

    def _acting(self, request):
        """Who acts and within what (einspection.acting), built once here from
        the token's account: the keyword argument `acting` of every command of
        every service, and the only source of the actor of what it records;
        with the command's id (from Idempotency-Key) and deadline."""
        if not hasattr(request, "acting"):
            command_id, deadline = command_of(request)
            request.acting = Acting.by_account(request.principal, correlation_id(request),
                                               self._scope(request), command_id=command_id,
                                               deadline=deadline).to_dict()
        return {"acting": request.acting}

    def _reading(self, request):
        return {"scope": self._scope(request), "actor": request.principal.username}

    def _require_enterprise(self, request, enterprise_id):
        """The enterprise a path names exists and is the caller's to see.
        Another tenant's is as absent as a missing one (404)."""
        try:
            ANY_ID.deserialize(enterprise_id)   # before it reaches a query: no NUL, not too long
        except ValidationError:
            raise HttpError(404, "enterprise not found") from None
        call(self.checklist.get_enterprise, enterprise_id, self._scope(request),
             request.principal.username)
