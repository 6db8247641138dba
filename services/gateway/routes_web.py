"""The web pages of the gateway: static HTML, JavaScript and CSS from web/
under /app/, talking to the JSON API with fetch; and the QR link
/scan/<token>, which opens the inspection page in a browser and answers
the scan as JSON to API clients. A mixin of GatewayService (its `scan`
route from ChecklistRoutes)."""
import json
import os
from urllib.parse import quote

from werkzeug.security import safe_join
from werkzeug.utils import redirect, send_file
from werkzeug.wrappers import Response

from einspection.days import deployment_zone

from . import messages
from .http_json import HttpError, endpoint
from .server import http

WEB_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}


def wants_html(request):
    """A browser (text/html preferred over JSON), not an API client: curl
    and most HTTP libraries send */* or nothing, and get JSON."""
    return request.accept_mimetypes.best_match(("application/json", "text/html")) == "text/html"


class WebRoutes:

    @http("GET", "/")
    def web_home(self, request):
        return redirect("/app/", 302)

    @http("GET", "/app")
    def web_app(self, request):
        return redirect("/app/", 301)

    @http("GET", "/app/")
    @endpoint("web.page", public=True)
    def web_index(self, request):
        return self._web_file(request, "index.html")

    @http("GET", "/app/deployment.json")
    @endpoint("web.page", public=True)
    def web_deployment(self, request):
        """What the pages need to know of the deployment: the time zone its
        days are cut in (EINSPECTION_TIME_ZONE), so that "days left" on a
        page is counted as the services count it."""
        response = Response(json.dumps({"time_zone": deployment_zone().key}),
                            mimetype="application/json")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @http("GET", "/app/messages/<string:language>.json")
    @endpoint("web.page", public=True)
    def web_messages(self, request, language):
        """The pages' words in `language` (zh, en), from web/messages/."""
        if language not in messages.LANGUAGES:
            raise HttpError(404, "no messages in %s; there are: %s"
                            % (language, ", ".join(messages.LANGUAGES)))
        response = Response(json.dumps(messages.catalogue(language), ensure_ascii=False,
                                       sort_keys=True), mimetype="application/json")
        response.add_etag()
        response.make_conditional(request)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @http("GET", "/app/<path:filename>")
    @endpoint("web.page", public=True)
    def web_file(self, request, filename):
        return self._web_file(request, filename)

    def _web_file(self, request, filename):
        # safe_join refuses '..' and absolute paths; dot files are never served
        path = safe_join(WEB_ROOT, filename)
        content_type = CONTENT_TYPES.get(os.path.splitext(filename)[1].lower())
        if (path is None or content_type is None or not os.path.isfile(path)
                or any(part.startswith(".") for part in filename.split("/"))):
            raise HttpError(404, "no such page or file: /app/%s" % filename)
        response = send_file(path, request.environ, mimetype=content_type, conditional=True,
                             etag=True, max_age=None)
        # revalidate every time (a cheap 304): a new release shows at once
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @http("GET", "/scan/<string:token>")
    def scan_link(self, request, token):
        """The address a position's QR code carries. The token goes on in
        the fragment, which browsers never send to a server."""
        if wants_html(request):
            response = redirect("/app/inspect.html#" + quote(token, safe=""), 303)
        else:
            response = self.scan(request, token)
        response.headers["Vary"] = "Accept"
        return response
