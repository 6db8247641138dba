"""Log lines that say which service wrote them and for whom.

Every process logs through one formatter (config.yaml's LOGGING), chosen by
LOG_FORMAT:

    json   one JSON object per line (deployments: compose.yaml, Kubernetes):
           time (UTC, ISO 8601 with offset), level, service, logger, message,
           and when known correlation_id, actor, rpc / event_type / event_id /
           timer, the access line's method, route, path, status, duration_ms,
           and exception (the traceback) for an error
    text   the same as a plain line, the context appended in [brackets]
           (the default: `make run` and the tests, read in a terminal)

The context is a contextvar, set where work enters a process: the gateway's
endpoint decorator (the request id and the authenticated account) and
nameko_glue.LogContext for every worker of a service (the RPC's `acting`, or
the ids the gateway sent in the RPC's headers; the event's correlation id
and actor). Under eventlet each greenthread is a greenlet with a context of
its own (greenlet ≥ 1.0), so concurrent workers never see each other's
(einspection/tests/test_logs.py)."""
import contextvars
import datetime
import json
import logging
import os
import re
import sys

CONTEXT = contextvars.ContextVar("einspection_log_context", default={})

# record attributes (logging's `extra=`) that go into a line as fields
FIELDS = ("correlation_id", "actor", "rpc", "event_type", "event_id", "timer",
          "method", "route", "path", "status", "duration_ms", "request_id")

_service = None


def service_name():
    """SERVICE_NAME, or the service this process runs (from `nameko run
    ... services.<name>.service:...`), or the program's name."""
    global _service
    if _service is None:
        _service = os.environ.get("SERVICE_NAME") or _from_argv(sys.argv) or os.path.basename(
            sys.argv[0] or "python")
    return _service


def set_service_name(name):
    global _service
    _service = name


def _from_argv(argv):
    for arg in argv:
        found = re.match(r"services\.(\w+)\.service:", arg)
        if found:
            return found.group(1)
    return None


def bind(**fields):
    """Add `fields` (None values dropped) to the context of what runs now;
    returns the token to `unbind` with."""
    merged = dict(CONTEXT.get())
    merged.update({key: value for key, value in fields.items() if value not in (None, "")})
    return CONTEXT.set(merged)


def unbind(token):
    CONTEXT.reset(token)


def current():
    return dict(CONTEXT.get())


def fields_of(record):
    found = current()
    for key in FIELDS:
        value = getattr(record, key, None)
        if value is not None:
            found[key] = value
    return found


def utc_time(created):
    return datetime.datetime.fromtimestamp(created, datetime.timezone.utc).isoformat(
        timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"time": utc_time(record.created), "level": record.levelname,
                "service": service_name(), "logger": record.name,
                "message": record.getMessage()}
        line.update(fields_of(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record):
        text = super().formatMessage(record)
        context = fields_of(record)
        if context:
            text += " [%s]" % " ".join("%s=%s" % item for item in context.items())
        return text


FORMATS = {"json": JsonFormatter, "text": TextFormatter}


def formatter(format=None):
    """The formatter LOG_FORMAT names (config.yaml: `()` of its formatter)."""
    chosen = (format or os.environ.get("LOG_FORMAT") or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError("LOG_FORMAT must be json or text, not %r" % chosen)
    logging.captureWarnings(True)       # a warning is a line like any other (py.warnings)
    return FORMATS[chosen]()
