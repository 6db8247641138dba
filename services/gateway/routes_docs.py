"""The API describing itself: the OpenAPI document and the docs page that
reads it (services/gateway/docs.html with web/docs.js and web/docs.css:
plain HTML and JavaScript, nothing fetched from elsewhere, so it works
offline). The JSON 404 / 405 for every path and method no route takes is
the web server's (server.py). A mixin of GatewayService."""
import functools
import os

from werkzeug.wrappers import Response

from . import openapi
from .http_json import endpoint
from .server import http

DOCS_PAGE = os.path.join(os.path.dirname(__file__), "docs.html")


@functools.lru_cache(maxsize=None)
def _document(service_class):
    return openapi.build(service_class)


@functools.lru_cache(maxsize=None)
def _docs_page():
    with open(DOCS_PAGE, "rb") as handle:
        return handle.read()


class DocsRoutes:

    @http("GET", "/openapi.json")
    @endpoint("openapi", public=True)
    def openapi_document(self, request):
        return 200, _document(type(self))

    @http("GET", "/docs")
    @endpoint("docs", public=True)
    def docs_page(self, request):
        return Response(_docs_page(), mimetype="text/html")
