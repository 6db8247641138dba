"""The scoring routes of the gateway: an enterprise's score, rankings,
excellent performers and the grade distribution. A mixin of GatewayService
(its RpcProxy `scoring`, its `_require_enterprise`)."""

from einspection.errors import NotFound

from .http_json import HttpError, call, endpoint
from .server import http


class ScoringRoutes:

    @http("GET", "/api/v1/enterprises/<string:enterprise_id>/score")
    @endpoint("enterprises.score")
    def score(self, request, enterprise_id):
        self._require_enterprise(request, enterprise_id)
        as_of = request.args.get("as_of")
        try:
            return 200, call(self.scoring.score, enterprise_id, as_of, scope=self._scope(request),
                             actor=request.principal.username)
        except NotFound:
            raise HttpError(404, "enterprise %s has no score yet: nothing recorded"
                            % enterprise_id) from None

    @http("GET", "/api/v1/rankings")
    @endpoint("rankings")
    def rankings(self, request):
        return 200, call(self.scoring.ranking, request.args.to_dict(), scope=self._scope(request))

    @http("GET", "/api/v1/rankings/excellent")
    @endpoint("rankings.excellent")
    def excellent_performers(self, request):
        return 200, call(self.scoring.excellent_performers, request.args.to_dict(),
                         scope=self._scope(request))

    @http("GET", "/api/v1/grades/distribution")
    @endpoint("grades.distribution")
    def grade_distribution(self, request):
        return 200, call(self.scoring.grade_distribution, request.args.to_dict(),
                         scope=self._scope(request))
