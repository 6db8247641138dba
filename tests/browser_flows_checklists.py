"""The checklist and schedule pages' flows (checklists.html, checklist.html,
schedules.html), driven like tests/browser_flows.py's (its main, its helpers):
`python tests/browser_flows_checklists.py '{"flow": ...}'`."""
import json
import re
import sys

import browser_flows as flows
from browser_flows import attributes, texts, width_at_375

ANY_TEXT = re.compile(r"\S")


def log_in(page, username, password):
    """browser_flows.log_in once the login page's script runs: its modules wait
    for the message catalogue, and a form submitted before that is the
    browser's own (a GET to the login page)."""
    page.wait_for_url("**/app/login.html*")
    page.wait_for_load_state("networkidle")
    return flows.log_in(page, username, password)


def version_cards(page):
    return page.eval_on_selector_all(
        "#published-versions .version-card",
        "(nodes) => nodes.map((n) => ({version: n.dataset.version, "
        "top: Math.round(n.getBoundingClientRect().top), "
        "left: Math.round(n.getBoundingClientRect().left), "
        "items: [...n.querySelectorAll('li')].map((li) => ({id: li.dataset.itemId, "
        "prompt: li.querySelector('.prompt').innerText.trim(), "
        "meta: li.querySelector('.meta').innerText.trim()}))}))")


def save_and_publish(page, version):
    page.click("#save-draft")
    page.locator("#draft-message .message.ok").wait_for()
    page.click("#publish")
    page.wait_for_selector(f"#published-versions .version-card[data-version='{version}']")


def checklists_import(page, spec):
    """The authority imports a standard's CSV (a bad row first: the API's
    reason beside the form), edits the draft, publishes version 1, edits
    again (a bad weight first: its reason beside the item) and publishes
    version 2, shown beside version 1."""
    page.goto(spec["base_url"] + "/app/checklists.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#import:not([hidden]) #f-import-file")
    seen = {"create_shown": page.is_visible("#create")}
    page.set_input_files("#f-import-file", spec["bad_csv"])
    page.fill("#f-import-title", spec["title"])
    page.click("#import-submit")
    box = ".field-error[data-error-for=csv]"
    page.locator(box, has_text=ANY_TEXT).wait_for()
    seen["bad_row_error"] = page.inner_text(box)
    seen["bad_message"] = page.inner_text("#import-message")
    page.set_input_files("#f-import-file", spec["good_csv"])
    page.fill("#f-import-title", spec["title"])
    page.click("#import-submit")
    page.wait_for_selector("#imported-link")
    seen["imported_message"] = page.inner_text("#import-message")
    seen["import_errors_after"] = page.inner_text(box)
    page.locator("#checklists-list td.name", has_text=spec["title"]).wait_for()
    page.screenshot(path=spec["screenshots"]["list"], full_page=True)
    seen["list_width"] = width_at_375(page)
    page.click("#imported-link")
    page.wait_for_selector("#editor:not([hidden]) .item-edit")
    seen["checklist_url"] = page.url
    seen["status_before"] = page.get_attribute("#latest-status", "data-status")
    seen["items_before"] = attributes(page, "#items .item-edit", "data-item-id")
    # edit: reword the first item, make its failure major; the second needs a photo;
    # a new item, moved up to the second place
    page.fill("#item-0-prompt", spec["first_prompt"])
    page.check("#item-0-major")
    page.check("#item-1-photo_required")
    page.click("#add-item")
    last = len(seen["items_before"])
    page.fill(f"#item-{last}-prompt", spec["new_prompt"])
    page.fill(f"#item-{last}-category", spec["new_category"])
    page.fill(f"#item-{last}-weight", "4")
    for index in range(last, 1, -1):
        page.click(f"#items .item-edit[data-index='{index}'] button.up")
    seen["order_sent"] = [page.input_value(f"#item-{i}-prompt") for i in range(last + 1)]
    save_and_publish(page, 1)
    seen["after_first"] = version_cards(page)
    # edit again: a weight that is not a number first, refused beside that item
    page.wait_for_selector("#editor:not([hidden]) .item-edit")
    seen["hint_after_publish"] = page.inner_text("#editor-hint")
    page.fill("#item-1-weight", "lots")
    page.click("#save-draft")
    weight_box = ".field-error[data-error-for='items.1.weight']"
    page.locator(weight_box, has_text=ANY_TEXT).wait_for()
    seen["weight_error"] = page.inner_text(weight_box)
    page.fill("#item-1-weight", "6")
    page.fill("#item-2-prompt", spec["second_prompt"])
    page.click("#items .item-edit[data-index='3'] button.remove")
    save_and_publish(page, 2)
    seen["versions"] = version_cards(page)
    seen["version_rows"] = attributes(page, "#versions-list tr[data-version]", "data-status")
    page.screenshot(path=spec["screenshots"]["versions"], full_page=True)
    seen["checklist_width"] = width_at_375(page)
    # a universal checklist's required frequency, where the service has one
    seen["has_required_frequency"] = page.locator("#f-required_frequency").count() == 1
    if seen["has_required_frequency"]:
        page.select_option("#f-required_frequency", "weekly")
        save_and_publish(page, 3)
        seen["required_frequency_fact"] = page.inner_text("dd[data-fact=required_frequency]")
    return seen


def checklists_create(page, spec):
    """An enterprise's manager creates a checklist of its own, adds an item, publishes it."""
    page.goto(spec["base_url"] + "/app/checklists.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#create:not([hidden]) #f-title")
    seen = {"import_shown": page.is_visible("#import")}
    page.fill("#f-title", spec["title"])
    page.click("#create-submit")
    page.wait_for_url("**/app/checklist.html?id=*")
    page.wait_for_selector("#editor:not([hidden])")
    page.click("#publish")                                   # no items yet: the API's 409
    page.locator("#publish-message .message.error").wait_for()
    seen["empty_publish"] = page.inner_text("#publish-message")
    page.click("#add-item")
    page.fill("#item-0-prompt", spec["prompt"])
    page.fill("#item-0-category", spec["category"])
    save_and_publish(page, 1)
    seen["checklist_id"] = page.url.split("id=")[1]
    seen["versions"] = version_cards(page)
    return seen


def rounds(page):
    return page.eval_on_selector_all(
        "#rounds-list tbody tr", "(nodes) => nodes.map((n) => ({schedule: n.dataset.scheduleId, "
        "round: n.dataset.round, status: n.dataset.status, missed_mark: n.classList.contains('late'), "
        "badge: n.querySelector('.badge').className, "
        "cells: [...n.cells].map((c) => c.innerText.trim())}))")


def schedules_create(page, spec):
    """The manager creates a schedule: weekly without weekdays first (the API's
    reason beside the weekdays), then daily for a staff member; its rounds."""
    page.goto(spec["base_url"] + "/app/schedules.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#create:not([hidden]) #f-checklist_id")
    page.wait_for_selector("#rounds-list :is(table, .message)")
    page.select_option("#f-checklist_id", spec["checklist_id"])
    page.select_option("#f-position_id", spec["position_id"])
    page.select_option("#f-frequency", "weekly")
    page.select_option("#f-assignee", spec["assignee"])
    page.click("#schedule-submit")
    box = ".field-error[data-error-for=weekdays]"
    page.locator(box, has_text=ANY_TEXT).wait_for()
    seen = {"weekly_error": page.inner_text(box), "before": attributes(
        page, "#schedules-list tr[data-schedule-id]", "data-schedule-id")}
    page.select_option("#f-frequency", "daily")
    page.click("#schedule-submit")
    page.locator("#schedule-message .message.ok").wait_for()
    page.wait_for_selector("#schedules-list tr[data-schedule-id]")
    seen["schedules"] = attributes(page, "#schedules-list tr[data-schedule-id]", "data-schedule-id")
    seen["terms"] = texts(page, "#schedules-list td.terms")
    page.wait_for_selector("#rounds-list tbody tr")
    seen["rounds"] = rounds(page)
    seen["links"] = attributes(page, "main a", "href")
    page.screenshot(path=spec["screenshots"]["schedules"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def schedules_missed_and_end(page, spec):
    """The manager sees the round missed, filters the missed ones, ends the schedule."""
    page.goto(spec["base_url"] + "/app/schedules.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#rounds-list tbody tr[data-status=missed]")
    seen = {"all_rounds": rounds(page), "summary": page.inner_text("#rounds-summary")}
    page.select_option("#rounds-status", "missed")
    page.wait_for_selector("#rounds-list tbody tr[data-status=missed]")
    page.wait_for_selector("#rounds-list tbody tr:not([data-status=missed])", state="detached")
    seen["missed_rounds"] = rounds(page)
    page.screenshot(path=spec["screenshots"]["missed"], full_page=True)
    page.click(f"#schedules-list tr[data-schedule-id='{spec['schedule_id']}'] button.end")
    page.wait_for_selector("#end:not([hidden])")
    page.fill("#f-ends_on", spec["ends_on"])
    page.fill("#f-reason", spec["reason"])
    page.click("#end-submit")
    page.locator(f"#schedules-list tr[data-schedule-id='{spec['schedule_id']}'] td.ends-on",
                 has_text=spec["ends_on"]).wait_for()
    seen["ends_on"] = page.inner_text(
        f"#schedules-list tr[data-schedule-id='{spec['schedule_id']}'] td.ends-on")
    page.select_option("#rounds-status", "")
    page.wait_for_selector("#rounds-list tbody tr")
    seen["rounds_after"] = rounds(page)
    page.screenshot(path=spec["screenshots"]["ended"], full_page=True)
    return seen


def staff_read_only(page, spec):
    """Staff read the checklists, a checklist's versions and the schedules, without a form."""
    page.goto(spec["base_url"] + "/app/checklists.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#checklists-list table")
    seen = {"listed": attributes(page, "#checklists-list tr[data-checklist-id]", "data-checklist-id"),
            "list_forms": page.locator("main form:visible").count(),
            "list_width": width_at_375(page)}
    page.goto(spec["base_url"] + "/app/checklist.html?id=" + spec["checklist_id"])
    page.wait_for_selector("#published-versions .version-card")
    seen["checklist_forms"] = page.locator("main form:visible").count()
    seen["editor_hidden"] = page.is_hidden("#editor")
    seen["checklist_width"] = width_at_375(page)
    page.goto(spec["base_url"] + "/app/schedules.html")
    page.wait_for_selector("#schedules-list table")
    page.wait_for_selector("#rounds-list :is(table, .message)")
    seen["schedule_forms"] = page.locator("main form:visible:not(#rounds-filter)").count()
    seen["end_buttons"] = page.locator("button.end").count()
    seen["schedules"] = attributes(page, "#schedules-list tr[data-schedule-id]", "data-schedule-id")
    page.screenshot(path=spec["screenshots"]["staff"], full_page=True)
    seen["schedules_width"] = width_at_375(page)
    # the same page in English, on the top bar's switch
    page.click(".language-switch")
    page.wait_for_selector("html[lang=en] #schedules-list table")
    page.wait_for_selector("html[lang=en] #rounds-list td.status")     # the rounds load after
    seen["english_titles"] = [page.inner_text("#schedules-title"), page.inner_text("#rounds-title")]
    seen["english_statuses"] = texts(page, "#rounds-list td.status")
    return seen


flows.FLOWS.update({"checklists_import": (checklists_import, flows.DESK),
                    "checklists_create": (checklists_create, flows.DESK),
                    "schedules_create": (schedules_create, flows.DESK),
                    "schedules_missed_and_end": (schedules_missed_and_end, flows.DESK),
                    "staff_read_only": (staff_read_only, flows.PHONE)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
