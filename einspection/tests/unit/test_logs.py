"""einspection.logs: the JSON and text lines, and a context per greenthread
under eventlet as nameko runs it (monkey-patched)."""
import json
import logging
import subprocess
import sys
import textwrap

import pytest

from einspection import logs


def record(message="hello %s", args=("世界",), exc_info=None, **extra):
    made = logging.LogRecord("einspection.x", logging.WARNING, __file__, 1, message, args,
                             exc_info)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_has_the_fields_and_the_context():
    token = logs.bind(correlation_id="req-1", actor="张三", empty="")
    try:
        line = json.loads(logs.formatter("json").format(record(status=201)))
    finally:
        logs.unbind(token)
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING", "einspection.x", "hello 世界")
    assert line["service"] == logs.service_name()
    assert (line["correlation_id"], line["actor"], line["status"]) == ("req-1", "张三", 201)
    assert "empty" not in line
    assert logs.current() == {}


def test_an_error_line_carries_the_exception_text():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        made = record("failed", (), sys.exc_info())
    line = json.loads(logs.formatter("json").format(made))
    assert "RuntimeError: boom" in line["exception"] and "\n" not in logs.formatter(
        "json").format(made)


def test_text_lines_append_the_context():
    token = logs.bind(actor="admin")
    try:
        text = logs.formatter("text").format(record())
    finally:
        logs.unbind(token)
    assert text.endswith("WARNING einspection.x: hello 世界 [actor=admin]")


def test_log_format_is_json_or_text():
    with pytest.raises(ValueError, match="LOG_FORMAT must be json or text"):
        logs.formatter("xml")


def test_the_service_is_named_from_the_nameko_command_line():
    assert logs._from_argv(["nameko", "run", "--config", "config.yaml",
                            "services.hazard.service:HazardService"]) == "hazard"


def test_each_greenthread_has_its_own_context_when_eventlet_is_monkey_patched():
    script = textwrap.dedent("""
        import eventlet
        eventlet.monkey_patch()
        from einspection import logs

        def work(n):
            logs.bind(correlation_id="c%d" % n)
            eventlet.sleep(0.01 * (5 - n))      # interleaved with the others
            seen = logs.current().get("correlation_id")
            eventlet.sleep(0)
            return seen

        logs.bind(actor="parent")
        pool = eventlet.GreenPool()
        seen = list(pool.imap(work, range(5)))
        assert seen == ["c0", "c1", "c2", "c3", "c4"], seen
        assert logs.current() == {"actor": "parent"}, logs.current()   # untouched by them
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_the_time_of_a_line_is_loggings_own_and_the_utc_iso_form_across_seconds():
    import datetime
    text = logs.formatter("text")
    for created in (1796425227.0, 1796425227.999, 1796425228.0005, 1796425289.25):
        made = record()
        made.created, made.msecs = created, int((created - int(created)) * 1000)
        assert text.formatTime(made) == logging.Formatter().formatTime(made)
        assert logs.utc_time(created, made.msecs) == datetime.datetime.fromtimestamp(
            int(created), datetime.timezone.utc).isoformat().replace(
            "+00:00", ".%03d+00:00" % made.msecs)


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []
        self.setFormatter(logs.JsonFormatter())

    def emit(self, made):
        self.lines.append(json.loads(self.format(made)))


def _handled(events, level=logging.INFO):
    """What LogContext writes for a subscription worker that got `events`
    (an Event, or a list of them: a batch)."""
    from types import SimpleNamespace

    from einspection.nameko_glue import EventSubscription, LogContext
    lines, logger = _Lines(), logging.getLogger("einspection.nameko_glue")
    saved = logger.level
    logger.addHandler(lines)
    logger.setLevel(level)
    try:
        worker = SimpleNamespace(entrypoint=EventSubscription("enforcement", ["#"]),
                                 args=(events,), kwargs={}, data={})
        context = LogContext()
        context.worker_setup(worker)
        context.worker_result(worker)
        context.worker_teardown(worker)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(saved)
    return lines.lines


def _event(n):
    from einspection.contract import Event
    return Event(name="PositionRetired", subject="e-1", data={}, actor="actor-%d" % n,
                 correlation_id="c-%d" % n)


def test_a_worker_writes_one_line_per_event_it_handled_one_or_a_batch():
    [line] = _handled(_event(1))
    assert line["message"].startswith("handled PositionRetired (enforcement) in ")
    assert (line["correlation_id"], line["actor"], line["event_type"]) == (
        "c-1", "actor-1", "PositionRetired")
    assert line["duration_ms"] >= 0

    batch = _handled([_event(2), _event(3)])
    assert [(line["correlation_id"], line["actor"]) for line in batch] == [
        ("c-2", "actor-2"), ("c-3", "actor-3")]
    assert all("one of 2" in line["message"] for line in batch)
    assert logs.current() == {}


def test_a_worker_at_a_level_the_log_leaves_out_writes_nothing():
    assert _handled(_event(1), level=logging.WARNING) == []
