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
import time

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
    found = dict(CONTEXT.get())
    attributes = record.__dict__
    for key in FIELDS:
        value = attributes.get(key)
        if value is not None:
            found[key] = value
    return found


class _PerSecond:
    """A function of the whole second, computed once a second: a line's
    time is that and its milliseconds."""

    def __init__(self, render):
        self.render = render
        self.cached = (None, "")         # one attribute: threads see a pair that belongs

    def __call__(self, created):
        second = int(created)
        cached_second, text = self.cached
        if second != cached_second:
            text = self.render(second)
            self.cached = (second, text)
        return text


_utc_second = _PerSecond(lambda second: datetime.datetime.fromtimestamp(
    second, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))


def utc_time(created, msecs=None):
    """ISO 8601 in UTC to the millisecond: 2026-12-04T21:20:27.123+00:00."""
    if msecs is None:
        msecs = (created - int(created)) * 1000
    return "%s.%03d+00:00" % (_utc_second(created), msecs)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"time": utc_time(record.created, record.msecs), "level": record.levelname,
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
        self._local_second = _PerSecond(lambda second: time.strftime(
            self.default_time_format, self.converter(second)))

    def formatTime(self, record, datefmt=None):
        """logging's own (local time, `2026-12-04 21:20:27,123`), its
        strftime once a second."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return self.default_msec_format % (self._local_second(record.created), record.msecs)

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
    _record_only_what_lines_show()
    return FORMATS[chosen]()


def _record_only_what_lines_show():
    """No line shows the caller's file and line, the thread or the process:
    logging need not find them for every record (the logging HOWTO's
    "Optimization"). The thread is the costly one under eventlet: the first
    record of each greenthread — each worker's — made eventlet look for it
    among all threads."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
