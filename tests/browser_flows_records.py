"""The record pages' flows (safety actions and daily records, publications),
driven like tests/browser_flows.py's (its main, its helpers) and run the same
way: `python tests/browser_flows_records.py '{"flow": ...}'`."""
import json
import sys

import browser_flows as flows
from browser_flows import attributes, log_in, texts, width_at_375

ROWS = "#actions-list tr[data-action-id]"


def indicators(page):
    return {key: {"points": points, "recorded": recorded} for key, points, recorded in zip(
        attributes(page, "#indicators .indicator", "data-key"),
        attributes(page, "#indicators .indicator", "data-points"),
        attributes(page, "#indicators .indicator", "data-recorded"))}


def record(page, kind, day, topic, people=""):
    page.select_option("#f-kind", kind)
    page.fill("#f-held_on", day)
    page.fill("#f-topic", topic)
    if people != "":
        page.fill("#f-people", str(people))
    page.click("#action-submit")


def records_manager(page, spec):
    """A manager records a training (a day in the future first: refused, the API's
    reason beside the day) and a daily record, sees both listed, filters them by
    kind and by period, and sees the score's indicators count them."""
    page.goto(spec["base_url"] + "/app/safety.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#record:not([hidden]) #f-kind")
    page.wait_for_selector("#score-body :is(.message, #indicators)")
    seen = {"enterprise": page.inner_text("#safety-enterprise"),
            "today": page.input_value("#f-held_on"),
            "recorded_by": page.input_value("#f-recorded_by"),
            "kinds": attributes(page, "#f-kind option", "value"),
            "kind_labels": texts(page, "#f-kind option")}
    record(page, "training", spec["future_day"], spec["training"], 24)
    box = ".field-error[data-error-for=held_on]"
    page.locator(box, has_text="future").wait_for()
    seen["refused"] = page.inner_text(box)
    seen["refused_message"] = page.inner_text("#action-message")
    page.screenshot(path=spec["screenshots"]["refused"], full_page=True)
    page.fill("#f-held_on", spec["training_day"])
    page.click("#action-submit")
    page.locator(ROWS + " td.topic", has_text=spec["training"]).wait_for()
    seen["recorded_message"] = page.inner_text("#action-message")
    record(page, "daily_record", spec["daily_day"], spec["daily"])
    page.locator(ROWS + " td.topic", has_text=spec["daily"]).wait_for()
    seen["listed"] = attributes(page, ROWS, "data-kind")
    seen["listed_kinds"] = texts(page, ROWS + " td.kind")
    # the score, computed again from the records a moment later: both indicators count one
    page.wait_for_selector("#indicators .indicator[data-key=safety_actions][data-recorded='1']")
    page.wait_for_selector("#indicators .indicator[data-key=daily_management][data-recorded='1']")
    seen["indicators"] = indicators(page)
    seen["indicator_titles"] = texts(page, "#indicators .indicator-title")
    seen["share"] = page.inner_text("#score-share")
    page.screenshot(path=spec["screenshots"]["records"], full_page=True)
    # filtered by kind: the training only
    page.select_option("#filter-kind", "training")
    page.locator(ROWS + " td.topic", has_text=spec["daily"]).wait_for(state="detached")
    seen["by_kind"] = attributes(page, ROWS, "data-action-id")
    # by period: the daily record's day only, any kind
    page.select_option("#filter-kind", "")
    page.fill("#filter-from", spec["daily_day"])
    page.fill("#filter-to", spec["daily_day"])
    page.dispatch_event("#filter-to", "change")
    page.locator(ROWS + " td.topic", has_text=spec["training"]).wait_for(state="detached")
    page.locator(ROWS + " td.topic", has_text=spec["daily"]).wait_for()
    seen["by_period"] = attributes(page, ROWS, "data-action-id")
    seen["total"] = page.inner_text("#actions-total")
    seen["width"] = width_at_375(page)
    return seen


def records_staff(page, spec):
    """Staff record a safety meeting."""
    page.goto(spec["base_url"] + "/app/safety.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#record:not([hidden]) #f-kind")
    record(page, "meeting", spec["day"], spec["topic"], 8)
    page.locator(ROWS + " td.topic", has_text=spec["topic"]).wait_for()
    return {"message": page.inner_text("#action-message"),
            "row": page.inner_text(ROWS + "[data-kind=meeting]")}


def records_officer(page, spec):
    """An officer reads an enterprise's records and the score's indicators: no form."""
    page.goto(spec["base_url"] + "/app/safety.html?enterprise_id=" + spec["enterprise_id"])
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector(ROWS)
    page.wait_for_selector("#indicators .indicator")
    seen = {"form_hidden": page.is_hidden("#record"),
            "inputs": page.locator("#action-form input").count(),
            "status": page.inner_text("#status"),
            "rows": attributes(page, ROWS, "data-action-id"),
            "indicators": indicators(page)}
    page.screenshot(path=spec["screenshots"]["officer"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def publish(page, spec):
    """The authority publishes: to a grid (or town, industry) no enterprise is in
    first (refused, the API's reason beside the field), then to the enterprise's; reads it."""
    page.goto(spec["base_url"] + "/app/publications.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#publish:not([hidden]) #f-title")
    page.wait_for_selector("#publications-list :is(.message, table)")
    page.fill("#f-title", spec["title"])
    page.fill("#f-body", spec["body"])
    page.fill("#f-published_by", spec["published_by"])
    page.select_option("#f-audience", spec["audience"])
    page.fill("#f-audience_value", spec["empty_value"])
    page.click("#publication-submit")
    box = ".field-error[data-error-for=audience_value]"
    page.locator(box, has_text="no enterprise").wait_for()
    seen = {"refused": page.inner_text(box),
            "audiences": attributes(page, "#f-audience option", "value")}
    page.screenshot(path=spec["screenshots"]["refused"], full_page=True)
    page.fill("#f-audience_value", spec["value"])
    page.click("#publication-submit")
    page.wait_for_selector("#reading[data-publication-id] #reading-text")
    seen.update(publication_id=page.get_attribute("#reading", "data-publication-id"),
                message=page.inner_text("#publication-message"),
                reading_title=page.inner_text("#reading-title"),
                reading_text=page.inner_text("#reading-text"),
                reading_count=page.inner_text("#reading-count"),
                recipients=attributes(page, "#reading-body tr[data-enterprise-id]",
                                      "data-enterprise-id"),
                listed=attributes(page, "#publications-list tr[data-publication-id]",
                                  "data-publication-id"))
    page.screenshot(path=spec["screenshots"]["published"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def publications_enterprise(page, spec):
    """An enterprise's person reads the publications addressed to it, and marks one read."""
    page.goto(spec["base_url"] + "/app/publications.html")
    log_in(page, spec["username"], spec["password"])
    entry = "#publications-list .notice[data-notice-id='%s']" % spec["notice_id"]
    page.wait_for_selector(entry)
    seen = {"form_hidden": page.is_hidden("#publish"),
            "notices": attributes(page, "#publications-list .notice", "data-notice-id"),
            "title": page.inner_text(entry + " .notice-title")}
    page.click(entry + " summary")
    seen["body"] = page.inner_text(entry + " .notice-body")
    page.click(entry + " button.mark-read")
    page.wait_for_selector(entry + " .read-receipt")
    seen["receipt"] = page.inner_text(entry + " .read-receipt")
    page.screenshot(path=spec["screenshots"]["enterprise"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


flows.FLOWS.update({"records_manager": (records_manager, flows.DESK),
                    "records_staff": (records_staff, flows.PHONE),
                    "records_officer": (records_officer, flows.DESK),
                    "publish": (publish, flows.DESK),
                    "publications_enterprise": (publications_enterprise, flows.PHONE)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
