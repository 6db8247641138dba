"""The rounds' flows: the staff member's My work with the rounds due today and
those missed, and the manager's dashboard with the score's self-inspection
indicator. Driven like tests/browser_flows.py's (its main, its helpers):
`python tests/browser_flows_rounds.py '{"flow": ...}'`."""
import json
import sys

import browser_flows as flows
from browser_flows import attributes, log_in, texts, width_at_375


def rows(page, table):
    return page.eval_on_selector_all(
        f"#{table} tbody tr", "(nodes) => nodes.map((n) => ({schedule: n.dataset.scheduleId, "
        "round: n.dataset.round, status: n.dataset.status, "
        "cells: [...n.cells].map((c) => c.innerText.trim())}))")


def work_rounds(page, spec):
    """Staff log in from the start page and land on My work: today's rounds that are
    theirs, the enterprise's rounds missed in the last seven days."""
    page.goto(spec["base_url"] + "/app/")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_url("**/app/work.html")
    page.wait_for_selector("#rounds:not([hidden]) .body :is(table, .message)")
    page.wait_for_selector("#missed:not([hidden]) .body :is(table, .message)")
    seen = {"due": rows(page, "rounds"), "missed": rows(page, "missed"),
            "missed_count": page.inner_text("#missed-count"),
            "links": attributes(page, ".topbar nav a", "href"),
            "width_at_375": width_at_375(page)}
    page.screenshot(path=spec["screenshots"]["work"], full_page=True)
    return seen


def score_indicator(page, spec):
    """The manager's dashboard: the points of the self-inspection indicator and the total."""
    page.goto(spec["base_url"] + "/app/")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_url("**/app/enterprise.html")
    shown = "#indicators .indicator[data-key='self_inspection']"
    page.wait_for_selector(shown)
    seen = {"points": page.inner_text(f"{shown} .num strong"),
            "total": page.inner_text("#points").split("/")[0].strip(),
            "indicator": texts(page, shown)}
    page.screenshot(path=spec["screenshots"]["score"], full_page=True)
    return seen


flows.FLOWS.update({"work_rounds": (work_rounds, flows.PHONE),
                    "score_indicator": (score_indicator, flows.DESK)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
