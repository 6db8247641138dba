"""The API describing itself: the OpenAPI document, the docs page that reads
it (services/gateway/docs.html: plain HTML and JavaScript, nothing fetched
from elsewhere, so it works offline), and the JSON 404 / 405 for every path
and method no route takes. A mixin of GatewayService."""
import functools
import os

from nameko.web.handlers import http
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from . import openapi
from .http_json import endpoint, error_response

DOCS_PAGE = os.path.join(os.path.dirname(__file__), "docs.html")
UNMATCHED_METHODS = "GET,POST,PUT,PATCH,DELETE"
UNMATCHED_PATH = "/<path:path>"


@functools.lru_cache(maxsize=None)
def _document(service_class):
    return openapi.build(service_class)


@functools.lru_cache(maxsize=None)
def _docs_page():
    with open(DOCS_PAGE, "rb") as handle:
        return handle.read()


@functools.lru_cache(maxsize=None)
def _routes(service_class):
    """The service's own routes, without the catch-all: to tell a 404 from a 405."""
    return Map([Rule(path, methods=method.split(","))
                for (method, path) in openapi.http_routes(service_class)
                if path != UNMATCHED_PATH])


class DocsRoutes:

    @http("GET", "/openapi.json")
    @endpoint("openapi", public=True)
    def openapi_document(self, request):
        return 200, _document(type(self))

    @http("GET", "/docs")
    @endpoint("docs", public=True)
    def docs_page(self, request):
        return Response(_docs_page(), mimetype="text/html")

    @http(UNMATCHED_METHODS, UNMATCHED_PATH)
    def unmatched(self, request, path):
        """werkzeug would answer HTML; the API answers its one error shape.
        (Also what a path parameter holding a '/' gets: it cannot match.)"""
        adapter = _routes(type(self)).bind("gateway")
        try:
            adapter.match("/" + path, method=request.method)
        except MethodNotAllowed as exc:
            return error_response(405, "%s is not allowed here; allowed: %s" % (
                request.method, ", ".join(exc.valid_methods)),
                headers={"Allow": ", ".join(exc.valid_methods)})
        except NotFound:
            pass
        return error_response(404, "no such path: /%s" % path)
