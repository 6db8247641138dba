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
