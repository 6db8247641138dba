"""The API describing itself: the OpenAPI document and the docs page that
reads it (services/gateway/docs.html with web/docs.js and web/docs.css:
plain HTML and JavaScript, nothing fetched from elsewhere, so it works
offline). The JSON 404 / 405 for every path and method no route takes is
the web server's (server.py). Likewise the event stream: its AsyncAPI
document (einspection/asyncapi.py) at /asyncapi.json and the page that reads
it, /docs/events (events.html with web/events.js). A mixin of GatewayService."""
import functools
import os

from werkzeug.wrappers import Response

from einspection import asyncapi

from . import openapi
from .http_json import endpoint
from .server import http

DOCS_PAGE = os.path.join(os.path.dirname(__file__), "docs.html")
EVENTS_PAGE = os.path.join(os.path.dirname(__file__), "events.html")


@functools.lru_cache(maxsize=None)
def _document(service_class):
    return openapi.build(service_class)


@functools.lru_cache(maxsize=None)
def _events_document():
    return asyncapi.build()


@functools.lru_cache(maxsize=None)
def _page(path):
    with open(path, "rb") as handle:
        return handle.read()


class DocsRoutes:

    @http("GET", "/openapi.json")
    @endpoint("openapi", public=True)
    def openapi_document(self, request):
        return 200, _document(type(self))

    @http("GET", "/docs")
    @endpoint("docs", public=True)
    def docs_page(self, request):
        return Response(_page(DOCS_PAGE), mimetype="text/html")

    @http("GET", "/asyncapi.json")
    @endpoint("asyncapi", public=True)
    def asyncapi_document(self, request):
        return 200, _events_document()

    @http("GET", "/docs/events")
    @endpoint("docs_events", public=True)
    def events_docs_page(self, request):
        return Response(_page(EVENTS_PAGE), mimetype="text/html")
