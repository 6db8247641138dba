"""The enforcement routes of the gateway: campaigns with their draws, and
cases with citations, fines and payments. A mixin of GatewayService (its
RpcProxy `enforcement`, `checklist` and `hazard`, its `_acting` and
`_scope`).

Campaigns are the authority's alone (403 for any other account). Cases are
read within the account's scope (an enterprise's accounts see their own,
read-only); the enforcement service acts on them only for the authority,
after it found the case in the account's scope (another tenant's is a 404)."""
from werkzeug.wrappers import Response

from einspection import figures
from einspection.contract import load_command
from einspection.errors import InvalidCommand, NotFound
from services.enforcement.schemas import IssueCitation, OpenCaseRequest
from services.enforcement.statistics import REGISTER_GROUPINGS

from . import statistics
from .http_json import AUTHORITY, WRITERS, call, endpoint, file_response, read_json
from .server import http


class EnforcementRoutes:

    # --- campaigns ----------------------------------------------------------------------
    @http("POST", "/api/v1/campaigns")
    @endpoint("campaigns.open", roles=AUTHORITY)
    def open_campaign(self, request):
        return 201, call(self.enforcement.open_campaign, read_json(request),
                         **self._acting(request))

    @http("GET", "/api/v1/campaigns")
    @endpoint("campaigns.list", roles=AUTHORITY)
    def list_campaigns(self, request):
        return 200, call(self.enforcement.list_campaigns, request.args.to_dict())

    @http("GET", "/api/v1/campaigns/<string:campaign_id>")
    @endpoint("campaigns.get", roles=AUTHORITY)
    def get_campaign(self, request, campaign_id):
        return 200, call(self.enforcement.get_campaign, campaign_id)

    @http("GET", "/api/v1/campaigns/<string:campaign_id>/candidates")
    @endpoint("campaigns.candidates", roles=AUTHORITY)
    def campaign_candidates(self, request, campaign_id):
        return 200, call(self.enforcement.campaign_candidates, campaign_id)

    @http("POST", "/api/v1/campaigns/<string:campaign_id>/commit")
    @endpoint("campaigns.commit", roles=AUTHORITY)
    def commit_candidates(self, request, campaign_id):
        """The inspector pool is the register's (its enabled authority
        inspector accounts), fixed with the candidates."""
        inspectors = call(self.checklist.authority_inspectors)
        return 200, call(self.enforcement.commit_candidates, campaign_id, inspectors,
                         **self._acting(request))

    @http("POST", "/api/v1/campaigns/<string:campaign_id>/draw")
    @endpoint("campaigns.draw", roles=AUTHORITY)
    def draw_targets(self, request, campaign_id):
        return 200, call(self.enforcement.draw_targets, campaign_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/campaigns/<string:campaign_id>/draw/verify")
    @endpoint("campaigns.verify_draw", roles=AUTHORITY)
    def verify_draw(self, request, campaign_id):
        return 200, call(self.enforcement.verify_draw, campaign_id)

    @http("GET", "/api/v1/campaigns/<string:campaign_id>/draw/record")
    @endpoint("campaigns.draw_record", roles=AUTHORITY)
    def draw_record(self, request, campaign_id):
        return file_response(call(self.enforcement.draw_record, campaign_id), download=True)

    @http("POST", "/api/v1/campaigns/<string:campaign_id>/assignments")
    @endpoint("campaigns.assign", roles=AUTHORITY)
    def assign_inspectors(self, request, campaign_id):
        return 200, call(self.enforcement.assign_inspectors, campaign_id, read_json(request),
                         **self._acting(request))

    # --- cases ----------------------------------------------------------------------------
    @http("POST", "/api/v1/cases")
    @endpoint("cases.open", roles=WRITERS)
    def open_case(self, request):
        """The case of an enforcement inspection: its enterprise and campaign
        are the inspection's, as the checklist service recorded it."""
        command = load_command(OpenCaseRequest, read_json(request))
        try:
            inspection = call(self.checklist.get_inspection, command["inspection_id"],
                              scope=self._scope(request), actor=request.principal.username)
        except NotFound:
            raise InvalidCommand({"inspection_id": ["no such inspection"]}) from None
        if inspection["kind"] != "enforcement":
            raise InvalidCommand({"inspection_id": [
                "is a %s inspection: a case is opened for an enforcement inspection"
                % inspection["kind"]]})
        return 201, call(self.enforcement.open_case, {
            "inspection_id": inspection["id"], "enterprise_id": inspection["enterprise_id"],
            "campaign_id": inspection.get("campaign_id")}, **self._acting(request))

    @http("GET", "/api/v1/violation-classes")
    @endpoint("violation_classes.list")
    def list_violation_classes(self, request):
        """The configured classes, for a citation form: any account may read
        them (they are the deployment's rule, not a tenant's data)."""
        return 200, call(self.enforcement.list_violation_classes)

    @http("GET", "/api/v1/cases")
    @endpoint("cases.list")
    def list_cases(self, request):
        return 200, call(self.enforcement.list_cases, request.args.to_dict(),
                         scope=self._scope(request))

    @http("GET", "/api/v1/cases/<string:case_id>")
    @endpoint("cases.get")
    def get_case(self, request, case_id):
        return 200, call(self.enforcement.get_case, case_id, **self._reading(request))

    @http("POST", "/api/v1/cases/<string:case_id>/citations")
    @endpoint("cases.cite", roles=WRITERS)
    def issue_citation(self, request, case_id):
        body = read_json(request)
        self._require_cited_hazards(request, case_id, load_command(IssueCitation, body))
        return 201, call(self.enforcement.issue_citation, case_id, body,
                         **self._acting(request))

    def _require_cited_hazards(self, request, case_id, command):
        """The hazards a citation cites are hazards of the case's enterprise,
        as their owner, the hazard service, has them (400 naming each one
        that is not; another tenant's reads as a missing one)."""
        if not command["hazard_ids"]:
            return
        case = call(self.enforcement.get_case, case_id, **self._reading(request))
        problems = {}
        for index, hazard_id in enumerate(command["hazard_ids"]):
            try:
                call(self.hazard.get_hazard, hazard_id, scope=[case["enterprise_id"]],
                     actor=request.principal.username)
            except NotFound:
                problems[index] = ["no such hazard of the case's enterprise"]
        if problems:
            raise InvalidCommand({"hazard_ids": problems})

    @http("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/withdrawal")
    @endpoint("cases.withdraw_citation", roles=WRITERS)
    def withdraw_citation(self, request, case_id, citation_id):
        return 200, call(self.enforcement.withdraw_citation, case_id,
                         dict(read_json(request), citation_id=citation_id),
                         **self._acting(request))

    @http("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/abatement")
    @endpoint("cases.abate_citation", roles=WRITERS)
    def abate_citation(self, request, case_id, citation_id):
        return 200, call(self.enforcement.abate_citation, case_id,
                         dict(read_json(request), citation_id=citation_id),
                         **self._acting(request))

    @http("POST", "/api/v1/cases/<string:case_id>/penalty")
    @endpoint("cases.decide_penalty", roles=WRITERS)
    def decide_penalty(self, request, case_id):
        return 200, call(self.enforcement.decide_penalty, case_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/cases/<string:case_id>/payments")
    @endpoint("cases.record_payment", roles=WRITERS)
    def record_payment(self, request, case_id):
        return 201, call(self.enforcement.record_payment, case_id, read_json(request),
                         **self._acting(request))

    @http("POST", "/api/v1/cases/<string:case_id>/close")
    @endpoint("cases.close", roles=WRITERS)
    def close_case(self, request, case_id):
        return 200, call(self.enforcement.close_case, case_id, read_json(request),
                         **self._acting(request))

    # --- the authority's figures --------------------------------------------------------------
    @http("GET", "/api/v1/statistics/enforcement")
    @endpoint("statistics.enforcement")
    def enforcement_statistics(self, request):
        """The enforcement service's figures (services/enforcement/statistics.py)
        within the caller's scope; per town, grid or industry its
        per-enterprise figures summed per the register's attribute (an
        imported establishment outside the register: its own town and
        industry). The compared period is summed in the same currency."""
        scope = self._scope(request)
        args = request.args.to_dict()
        order = load_command(statistics.EnforcementStatisticsQuery(only=("sort", "limit")), {
            key: args.pop(key) for key in ("sort", "limit") if key in args})
        same_currency = {}

        def fetch(args):
            found = call(self.enforcement.enforcement_statistics, dict(args, **same_currency),
                         scope=scope)
            same_currency.setdefault("currency", found["currency"])
            group_by = args.get("group_by")
            if group_by in REGISTER_GROUPINGS:
                register = call(self.checklist.enterprise_attributes, group_by, scope)
                attribute_of = dict(found.pop("attributes", {}),
                                    **{key: value for key, value in register.items() if value})
                found = figures.fold(found, attribute_of, group_by,
                                     statistics.ENFORCEMENT_FIGURES, {})
            return found
        answered = statistics.answer(
            args, fetch, statistics.ENFORCEMENT_COUNTS, (), statistics.EnforcementStatisticsQuery,
            "enforcement-statistics", amounts=statistics.ENFORCEMENT_AMOUNTS,
            arrange=lambda found: statistics.arranged(found, order["sort"], order["limit"]))
        if isinstance(answered, Response):          # the CSV's money: its currency in its name
            answered.headers["Content-Disposition"] = (
                'attachment; filename="enforcement-statistics-%s.csv"'
                % same_currency["currency"])
        return answered
