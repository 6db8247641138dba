"""What the browser tests share (tests/test_web.py, tests/test_web_enforcement.py):
running one flow of tests/browser_flows.py in its own interpreter and the
folder the pages' screenshots go to."""
import json
import os
import shutil
import subprocess
import sys

import pytest

FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_flows.py")
WEB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "services",
                   "gateway", "web")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def run_flow(name, expected_console_errors=(), script=FLOWS, **spec):
    """One browser flow in its own interpreter (of `script`'s flows); what the page showed.
    `expected_console_errors`: what the flow makes the page log on purpose
    (e.g. an answer of 400 to a refused input), as parts of the message."""
    finished = subprocess.run([sys.executable, script, json.dumps(dict(spec, flow=name,
                                                                       chromium=CHROMIUM))],
                              capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, "browser flow %s failed:\n%s" % (name, finished.stderr)
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["page_errors"] == [], result["page_errors"]
    # the pages run under the gateway's Content-Security-Policy and break none of it
    assert result["csp_violations"] == [], result["csp_violations"]
    unexpected = [error for error in result["console_errors"]
                  if not any(part in error for part in expected_console_errors)]
    assert unexpected == [], result["console_errors"]
    return result


@pytest.fixture(scope="session")
def screenshots(artifacts_dir):
    """test-artifacts/screenshots/ (…/shard-<n>/ in a shard of tools/test_shards.py:
    shards side by side would empty each other's), emptied once a session:
    this run's pages only."""
    path = os.path.join(artifacts_dir, "screenshots")
    if os.environ.get("TEST_SHARD"):
        path = os.path.join(path, "shard-" + os.environ["TEST_SHARD"])
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


# What sticks out of a phone's width, for the assertion's message: elements
# whose right edge passes the viewport, outside the boxes that scroll on their own.
_STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter((n) => !n.closest('.table-wrap') && n.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map((n) => n.tagName + '.' + n.className + '#' + n.id + ' '
                          + Math.round(n.getBoundingClientRect().right))"""


def assert_no_sideways_scroll(page):
    """The page (a Playwright page, in a flow) is no wider than its viewport:
    nothing to scroll sideways at a phone's width."""
    width, inner = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    # a mobile browser widens its layout viewport to a page too wide: the screen's width counts
    inner = min(inner, (page.viewport_size or {}).get("width", inner))
    assert width <= inner, "%s is %d px wide at %d: %s" % (
        page.url, width, inner, page.evaluate(_STICKING_OUT))
