"""The gateway's HTTP server: einspection.nameko_glue.WebServer with the
API's one error shape for every path and method no route takes, the
security headers every answer carries, and QR tokens kept out of the
access log. Routes are declared with this module's `http`.

| what | where |
| --- | --- |
| a path no route takes, a path with `//` | `routing_error`: 404 in the error shape |
| a known path, another method | `routing_error`: 405 with `Allow` |
| every answer | `finish`: CSP, `frame-ancestors 'none'`, nosniff, no referrer (unless the route set its own) |
| `/scan/<token>`, `/api/v1/scan/<token>` in the access log | `redact_path`: the token replaced; the scan route names the position instead (`ACCESS_LOG_PATH`) |
"""
import re

from werkzeug.exceptions import MethodNotAllowed

from einspection import nameko_glue

from .http_json import count_request, error_response

# The pages load their scripts, styles and images from this origin only and
# run no inline script (no inline style either: styles come from app.css and
# the scripts' CSSOM). blob: shows a photo picked on the phone before it is
# uploaded.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'",
    "img-src 'self' blob:", "connect-src 'self'", "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"))

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",          # frame-ancestors for browsers that predate it
}

# The QR token is a secret (whoever has it may scan the position): never logged.
SCAN_TOKEN = re.compile(r"^(/(?:api/v1/)?scan/)[^/?#]+")
REDACTED = "<token>"


class GatewayWebServer(nameko_glue.WebServer):

    def routing_error(self, request, exc):
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            allowed = ", ".join(sorted(exc.valid_methods))
            return error_response(405, "%s is not allowed here; allowed: %s"
                                  % (request.method, allowed), headers={"Allow": allowed})
        # also what a path parameter holding a '/' gets: it cannot match
        return error_response(404, "no such path: %s" % self.redact_path(request.path))

    def finish(self, request, response):
        if not getattr(request, "metered", False):      # not an API operation (endpoint)
            count_request(request.rule or "unmatched", response.status_code, request.started)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def redact_path(self, path):
        return SCAN_TOKEN.sub(r"\1" + REDACTED, path)


class HttpEntrypoint(nameko_glue.HttpEntrypoint):
    server = GatewayWebServer()


http = HttpEntrypoint.decorator


def log_scan_as_position(request, position_id):
    """The access-log line of a scan names the position, not its token."""
    request.environ[nameko_glue.ACCESS_LOG_PATH] = SCAN_TOKEN.sub(
        lambda match: match.group(1) + "position:" + position_id, request.full_path.rstrip("?"))
