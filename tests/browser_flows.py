"""What a person does in the web pages, driven in headless Chromium by
Playwright; tests/test_web.py runs one flow per call and checks the result.

Run in a process of its own, not inside pytest: the test process is
monkey-patched by eventlet (the root conftest, for nameko), and Playwright's
sync API drives its browser from an asyncio loop through a driver
subprocess and pipes, which must see the real sockets, threads and
selectors. A plain interpreter gives it those; the flow reads its spec as
JSON from argv and prints one JSON line with what the page showed.

    python tests/browser_flows.py '{"flow": "inspection", "base_url": ..., ...}'
"""
import io
import json
import os
import re
import shutil
import sys

from playwright.sync_api import sync_playwright
from pypdf import PdfReader
from web_support import assert_no_sideways_scroll

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1,
         "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1}
TIMEOUT_MS = 20000
PHONE_SCREEN = {"width": 375, "height": 740}


def fits_a_phone(page):
    """The page as it stands, on a 375 px screen: no sideways scroll; then back to the desk."""
    size = page.viewport_size
    page.set_viewport_size(PHONE_SCREEN)
    page.wait_for_timeout(300)
    assert_no_sideways_scroll(page)
    page.set_viewport_size(size)


def log_in(page, username, password):
    """The page sent us to the login form; log in and wait to be sent back."""
    page.wait_for_selector("#login-form")
    login_url = page.url
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    try:
        # a login is a password hash and a token: slow on a loaded machine, so a longer wait
        page.wait_for_url(lambda url: "/app/login.html" not in url, timeout=3 * TIMEOUT_MS)
    except Exception:
        # say what the page said (a refusal, a throttle), not only that it stayed
        raise AssertionError("still on the login page as %s after %d s; it says: %r" % (
            username, 3 * TIMEOUT_MS // 1000, page.inner_text("#login-message"))) from None
    return login_url


def texts(page, selector):
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def attributes(page, selector, name):
    return page.eval_on_selector_all(selector, "(nodes, name) => nodes.map("
                                               "(node) => node.getAttribute(name))", name)


def inspection(page, spec):
    """Open the QR link, log in, choose the checklist, mark one item failed
    with a note and a photo, one N/A and the rest pass, submit, see the
    hazards."""
    page.goto(spec["base_url"] + "/scan/" + spec["qr_token"])
    login_url = log_in(page, spec["username"], spec["password"])
    page.wait_for_selector(".choose-checklist")
    landed = page.url
    choices = attributes(page, ".choose-checklist", "data-checklist-id")
    page.click(".choose-checklist[data-checklist-id='%s']" % spec["checklist_id"])
    page.wait_for_selector(".item")
    item_ids = attributes(page, ".item", "data-item-id")
    failed, not_applicable = item_ids[spec["fail"]], item_ids[spec["not_applicable"]]
    page.click("#submit")                                  # nothing marked yet: refused here
    page.wait_for_selector("#submit-message .message.error")
    refused = page.inner_text("#error-%s" % failed)
    page.click("label[for=result-%s-fail]" % failed)
    page.fill("#note-%s" % failed, spec["note"])
    page.set_input_files("#photo-%s" % failed, spec["photo"])
    page.wait_for_selector("#item-%s img.uploaded" % failed)
    photo_ref = page.get_attribute("#item-%s img.uploaded" % failed, "data-ref")
    page.click("label[for=result-%s-na]" % not_applicable)
    page.click("#rest-pass")
    progress = page.inner_text("#progress-text")
    page.screenshot(path=spec["screenshots"]["form"], full_page=True)
    page.click("#submit")
    page.wait_for_selector("#hazards .hazard")
    page.screenshot(path=spec["screenshots"]["done"], full_page=True)
    return {
        "login_url": login_url, "landed_url": landed, "choices": choices,
        "item_ids": item_ids,
        "position": page.inner_text("#position-name"),
        "inspector_field_hidden": page.is_hidden("#inspector-card"),
        "refused_unmarked": refused, "photo_ref": photo_ref, "progress": progress,
        "inspection_id": page.get_attribute("#result", "data-inspection-id"),
        "summary": page.inner_text("#summary"),
        "hazard_ids": attributes(page, "#hazards .hazard", "data-hazard-id"),
        "hazards": texts(page, "#hazards .hazard"),
        "hazard_categories": attributes(page, "#hazards .hazard", "data-category"),
    }


def enterprise(page, spec):
    """The manager's dashboard: score, indicators, notice, counts, open
    hazards, ledger, notices; then a major hazard's plan and rectification,
    a notice marked read and the ledger exported."""
    page.goto(spec["base_url"] + "/app/")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_url("**/app/enterprise.html")
    for selector in ("#points", "#indicators .indicator", "#notice-body h3",
                     "#hazard-counts .tile", "#open-body tr[data-hazard-id]",
                     "#ledger-rows tr[data-hazard-id]", "#notices-body .notice"):
        page.wait_for_selector(selector)
    page.screenshot(path=spec["screenshots"]["dashboard"], full_page=True)
    fits_a_phone(page)
    seen = {
        "name": page.inner_text("#enterprise-name"),
        "points": page.inner_text("#points"),
        "grade": page.inner_text("#score-body .grade"),
        "indicators": attributes(page, "#indicators .indicator", "data-key"),
        "notice_title": page.inner_text("#notice-body h3"),
        "counts": dict(zip(attributes(page, "#hazard-counts .tile", "data-count"),
                           texts(page, "#hazard-counts .tile .value"))),
        "open_ids": attributes(page, "#open-body tr[data-hazard-id]", "data-hazard-id"),
        "ledger_ids": attributes(page, "#ledger-rows tr[data-hazard-id]", "data-hazard-id"),
        "ledger_page": page.inner_text("#ledger-page"),
        "notice_ids": attributes(page, "#notices-body .notice", "data-notice-id"),
        "unread": page.inner_text("#unread-count"),
    }

    major = "#open-body tr[data-hazard-id='%s']" % spec["major_hazard_id"]
    page.click(major + " button.rectify")
    page.wait_for_selector("#rectify-dialog[data-step=plan]")
    page.fill("#goal", "no blocked fire exit")
    page.fill("#measures", "move the pallet racks, mark the escape route")
    page.fill("#funds", "1200")
    page.fill("#deadline", spec["plan_deadline"])
    page.fill("#interim_measures", "a second exit opened and signposted")
    page.click("#rectify-submit")
    page.wait_for_selector("#rectify-dialog[data-step=rectification]")
    page.fill("#measures", "racks moved, route marked in green")
    page.fill("#cost", "860.50")
    page.set_input_files("#evidence", spec["photo"])
    page.click("#rectify-submit")
    page.wait_for_selector(major, state="detached")
    seen["open_ids_after"] = attributes(page, "#open-body tr[data-hazard-id]", "data-hazard-id")

    first_unread = page.locator("#notices-body .notice.unread").first
    read_id = first_unread.get_attribute("data-notice-id")
    first_unread.locator("button.mark-read").click()
    page.wait_for_selector("#notices-body .notice[data-notice-id='%s']:not(.unread)" % read_id)
    seen["read_notice_id"] = read_id
    seen["unread_after"] = page.inner_text("#unread-count")

    page.select_option("#f-level", "major")
    # a locator, not wait_for_function: a predicate string is eval'd, which the CSP refuses
    page.wait_for_selector("#ledger-page[data-total='%s']" % spec["major_count"])
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as exported:
        seen["csv"] = exported.read()
    seen["csv_filename"] = download.value.suggested_filename
    return seen


def authority(page, spec):
    """The authority dashboard renders every chart, the map, rankings and
    the overdue list from the data."""
    page.goto(spec["base_url"] + "/app/authority.html")
    log_in(page, spec["username"], spec["password"])
    for selector in ("#kpis .tile", "#by-town svg .segment", "#by-industry svg .segment",
                     "#by-level svg .segment", "#by-category svg .segment",
                     "#trend svg polyline.series", "#comparison svg .pair-current",
                     "#grades svg rect.column", "#grades-by-town svg .segment",
                     "#map svg g.enterprise", "#worst tr[data-enterprise-id]",
                     "#overdue tr[data-hazard-id]"):
        page.wait_for_selector(selector)
    page.wait_for_selector("#excellent table, #excellent .message")
    page.screenshot(path=spec["screenshots"]["dashboard"], full_page=True)
    fits_a_phone(page)
    return {
        "kpis": dict(zip(attributes(page, "#kpis .tile", "data-kpi"),
                         texts(page, "#kpis .tile .value"))),
        "towns": attributes(page, "#by-town svg .bar-row", "data-label"),
        "industries": attributes(page, "#by-industry svg .bar-row", "data-label"),
        "levels": attributes(page, "#by-level svg .bar-row", "data-key"),
        "level_labels": attributes(page, "#by-level svg .bar-row", "data-label"),
        "trend_series": attributes(page, "#trend svg polyline.series", "data-series"),
        "trend_points": page.locator("#trend svg circle").count(),
        "grade_columns": dict(zip(attributes(page, "#grades svg rect.column", "data-label"),
                                  attributes(page, "#grades svg rect.column", "data-value"))),
        "map_enterprises": attributes(page, "#map svg g.enterprise", "data-enterprise"),
        "map_rings": attributes(page, "#map svg g.enterprise:has(circle.ring)",
                                "data-enterprise"),
        "map_towns": attributes(page, "#map svg circle.town", "data-town"),
        "worst": attributes(page, "#worst tr[data-enterprise-id]", "data-enterprise-id"),
        "excellent": attributes(page, "#excellent tr[data-enterprise-id]",
                                "data-enterprise-id"),
        "overdue": attributes(page, "#overdue tr[data-hazard-id]", "data-hazard-id"),
    }


def login_next(page, spec):
    """The login page with a `next` the test chose: where the browser is sent
    after logging in."""
    page.goto(spec["base_url"] + "/app/login.html?next=" + spec["next"])
    log_in(page, spec["username"], spec["password"])
    page.wait_for_load_state()
    return {"landed_url": page.url}


def docs(page, spec):
    """/docs lists the operations of /openapi.json."""
    page.goto(spec["base_url"] + "/docs")
    page.wait_for_selector("details.op")
    return {"operations": page.locator("details.op").count(),
            "title": page.inner_text("#title")}


def temporary_password(page, spec):
    """Log in with a temporary password: the page asks for a new one, refuses
    a common one with the rule's reason, takes a good one and goes on."""
    page.goto(spec["base_url"] + "/app/login.html")
    page.wait_for_selector("#login-form")
    page.fill("#username", spec["username"])
    page.fill("#password", spec["temporary_password"])
    page.click("#login-submit")
    page.wait_for_selector("#password-form:not([hidden])")
    login_form_hidden = page.is_hidden("#login-form")
    page.fill("#new-password", spec["common_password"])
    page.fill("#repeat-password", spec["common_password"])
    page.click("#password-submit")
    page.wait_for_selector("#password-message .message.error")
    refused = page.inner_text("#password-message")
    page.screenshot(path=spec["screenshots"]["form"], full_page=True)
    page.fill("#new-password", spec["new_password"])
    page.fill("#repeat-password", spec["new_password"])
    page.click("#password-submit")
    page.wait_for_url(lambda url: "/app/login.html" not in url)
    page.wait_for_load_state("networkidle")
    return {"login_form_hidden": login_form_hidden, "refused": refused,
            "landed_url": page.url,
            "account": page.evaluate("() => JSON.parse(localStorage.getItem("
                                     "'einspection.account'))")}



# --- enforcement: campaigns, cases, listed hazards -------------------------------------------

def campaign(page, spec):
    """Open a campaign from the form (first with two mistakes the API names
    per field), then on its page: the candidates, commit, draw with a seed,
    assign the inspectors, download the draw record, verify."""
    page.goto(spec["base_url"] + "/app/campaigns.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#f-mandatory option[value='%s']" % spec["mandatory"],
                           state="attached")
    page.fill("#f-name", spec["campaign_name"])
    page.fill("#f-legal_basis", spec["legal_basis"])
    page.fill("#f-period_start", spec["period_start"])
    page.fill("#f-period_end", spec["bad_period_end"])
    page.fill("#f-targets", str(spec["targets"] + 1))          # the quotas add up to one less
    for town, quota in spec["quotas"].items():
        page.click("#add-quota")
        row = page.locator(".quota-row").last
        row.locator(".quota-town").fill(town)
        row.locator(".quota-count").fill(str(quota))
    page.select_option("#f-mandatory", [spec["mandatory"]])
    page.click("#add-conflict")                                 # its reason left out at first
    conflict = page.locator(".conflict-row").last
    conflict.locator(".conflict-inspector").fill(spec["conflict"]["inspector"])
    conflict.locator(".conflict-enterprise").select_option(spec["conflict"]["enterprise_id"])
    page.click("#campaign-submit")
    # the schema's reasons come first (the conflict's missing reason, beside its row) …
    conflict.locator(".field-error", has_text=re.compile(r"\S")).wait_for()
    refused = {"conflict": conflict.locator(".field-error").inner_text()}
    conflict.locator(".conflict-reason").fill(spec["conflict"]["reason"])
    page.click("#campaign-submit")
    # … then the campaign's rules (the period, the quotas), each beside its field
    page.locator("[data-error-for=period_end]", has_text=re.compile(r"\S")).wait_for()
    refused.update(period_end=page.inner_text("[data-error-for=period_end]"),
                   quotas=page.inner_text("[data-error-for=quotas]"),
                   targets=page.inner_text("[data-error-for=targets]"),
                   conflict_after=conflict.locator(".field-error").inner_text())
    page.screenshot(path=spec["screenshots"]["form"], full_page=True)
    page.fill("#f-period_end", spec["period_end"])
    page.fill("#f-targets", str(spec["targets"]))
    page.click("#campaign-submit")
    page.wait_for_url(re.compile(r"/app/campaign\.html\?id="))
    campaign_id = page.url.split("id=", 1)[1]
    page.wait_for_selector("#candidate-table tr.candidate")
    page.wait_for_selector("#steps li[data-step=opened].done")
    seen = {
        "campaign_id": campaign_id, "refused": refused,
        "preview": dict(zip(attributes(page, "tr.candidate", "data-enterprise-id"),
                            attributes(page, "tr.candidate", "data-weight"))),
        "weights_shown": texts(page, "tr.candidate td.weight"),
        "factors_shown": texts(page, "tr.candidate:first-child ul.factors li"),
        "exclusions": dict(zip(attributes(page, "tr.exclusion", "data-enterprise-id"),
                               texts(page, "tr.exclusion td.reason"))),
    }
    page.click("#commit")
    page.wait_for_selector("#snapshot-digest")
    seen["digest"] = page.inner_text("#snapshot-digest")
    page.fill("#f-seed", spec["seed"])
    page.fill("#f-seed_source", spec["seed_source"])
    page.click("#draw")
    page.wait_for_selector("tr.target")
    page.click("#assign")
    page.wait_for_selector("#steps li[data-step=assigned].done")
    seen["targets"] = attributes(page, "tr.target", "data-enterprise-id")
    seen["inspectors"] = texts(page, "tr.target td.inspectors")
    seen["towns"] = attributes(page, "#targets-body .town", "data-town")
    seen["steps"] = texts(page, "#steps li")
    seen["conflicts"] = page.inner_text("#conflicts")
    with page.expect_download() as download:
        page.click("#download-record")
    with open(download.value.path(), "rb") as record:
        seen["record"] = record.read().decode("utf-8")
    seen["record_filename"] = download.value.suggested_filename
    page.click("#verify")
    page.wait_for_selector("#verification")
    seen["verification"] = page.inner_text("#verification")
    seen["identical"] = page.get_attribute("#verification", "data-identical")
    page.screenshot(path=spec["screenshots"]["campaign"], full_page=True)
    seen["widths"] = {"campaign": width_at_375(page)}
    page.goto(spec["base_url"] + "/app/campaigns.html")
    page.wait_for_selector("#campaign-rows tr[data-campaign-id='%s']" % campaign_id)
    page.wait_for_selector("#f-mandatory option", state="attached")
    seen["listed_row"] = page.inner_text("#campaign-rows tr[data-campaign-id='%s']" % campaign_id)
    seen["listed_status"] = page.get_attribute(
        "#campaign-rows tr[data-campaign-id='%s'] .badge" % campaign_id, "class")
    page.screenshot(path=spec["screenshots"]["list"], full_page=True)
    page.click("#add-quota")                    # the form's rows are on the page too
    page.click("#add-conflict")
    seen["widths"]["campaigns"] = width_at_375(page)
    return seen


def citations(page):
    return {"ids": attributes(page, "tr.citation", "data-citation-id"),
            "rows": texts(page, "tr.citation")}


def case(page, spec):
    """The officer's work on a case: a citation refused for its fine, then
    three issued (one citing a hazard), one withdrawn, the penalty (first
    above the proposed fine, refused), the payment, closing; then the list
    filtered by status and campaign."""
    page.goto(spec["base_url"] + "/app/case.html?id=" + spec["case_id"])
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#cite-form")
    seen = {}
    for number, citation in enumerate(spec["citations"]):
        page.fill("#f-clause", citation["clause"])
        page.select_option("#f-violation_class", citation["violation_class"])
        page.fill("#f-description", citation["description"])
        page.fill("#f-abatement_date", citation["abatement_date"])
        for hazard_id in citation.get("hazard_ids", []):
            page.check("#cite-hazard-" + hazard_id)
        if number == 0:
            page.fill("#f-fine_proposed", spec["bad_fine"])
            page.click("#cite-submit")
            page.locator("[data-error-for=fine_proposed]", has_text=re.compile(r"\S")).wait_for()
            seen["refused_fine"] = page.inner_text("[data-error-for=fine_proposed]")
            page.screenshot(path=spec["screenshots"]["refused"], full_page=True)
        page.fill("#f-fine_proposed", citation["fine_proposed"])
        page.click("#cite-submit")
        page.locator("tr.citation").nth(number).wait_for()
        page.wait_for_selector("#cite-form")
    seen["issued"] = citations(page)
    withdrawn = seen["issued"]["ids"][spec["withdraw"]]
    page.select_option("#f-citation_id", withdrawn)
    page.fill("#f-reason", spec["withdraw_reason"])
    page.click("#withdraw-submit")
    page.wait_for_selector("tr.citation.withdrawn[data-citation-id='%s']" % withdrawn)
    seen["withdrawn"] = withdrawn
    inputs = page.locator("#penalty .fine-imposed")
    seen["penalty_prefilled"] = [inputs.nth(n).input_value() for n in range(inputs.count())]
    inputs.nth(0).fill(spec["too_high"])
    page.click("#penalty-submit")
    page.locator("[data-error-for='fines.0.fine_imposed']",
                 has_text=re.compile(r"\S")).wait_for()
    seen["refused_penalty"] = page.inner_text("[data-error-for='fines.0.fine_imposed']")
    for n, fine in enumerate(spec["imposed"]):
        inputs.nth(n).fill(fine)
    page.click("#penalty-submit")
    page.wait_for_selector("#case[data-status=penalty_decided]")
    page.wait_for_selector("#pay-form")
    seen["amount_prefilled"] = page.input_value("#f-amount")
    page.fill("#f-reference", spec["reference"])
    page.click("#pay-submit")
    page.wait_for_selector("#case[data-status=paid]")
    page.wait_for_selector("#close-form")
    seen["outcome_suggested"] = page.input_value("#f-outcome")
    page.click("#close-submit")
    page.wait_for_selector("#case[data-status=closed]")
    seen.update(
        final=citations(page),
        totals=dict(zip(attributes(page, "#totals .tile", "data-total"),
                        texts(page, "#totals .tile .value"))),
        history=attributes(page, "#history-body tr.step", "data-event"),
        actors=texts(page, "#history-body tr.step td.actor"),
        payments=texts(page, "tr.payment"),
        balance=page.inner_text("#balance"),
        forms_hidden=page.is_hidden("#officer-forms"))
    page.screenshot(path=spec["screenshots"]["case"], full_page=True)
    seen["widths"] = {"case": width_at_375(page)}

    page.goto(spec["base_url"] + "/app/cases.html")
    page.wait_for_selector("#filter-campaign option[value='%s']" % spec["campaign_id"],
                           state="attached")
    page.select_option("#filter-campaign", spec["campaign_id"])
    page.locator("#cases-page", has_text=re.compile(r"· 1 件")).wait_for()
    seen["by_campaign"] = attributes(page, "#case-rows tr.case", "data-case-id")
    page.select_option("#filter-status", "open")
    page.locator("#cases-page", has_text=re.compile(r"· 0 件")).wait_for()
    page.select_option("#filter-status", "closed")
    page.wait_for_selector("#case-rows tr.case[data-case-id='%s']" % spec["case_id"])
    seen["closed_row"] = page.inner_text("#case-rows tr.case[data-case-id='%s']"
                                         % spec["case_id"])
    seen["closed_status"] = page.get_attribute(
        "#case-rows tr.case[data-case-id='%s'] .badge" % spec["case_id"], "class")
    page.screenshot(path=spec["screenshots"]["list"], full_page=True)
    seen["widths"]["cases"] = width_at_375(page)
    return seen


def case_read_only(page, spec):
    """An enterprise's manager: its cases in the list, one opened, no forms."""
    page.goto(spec["base_url"] + "/app/cases.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#case-rows tr.case")
    seen = {"listed": attributes(page, "#case-rows tr.case", "data-case-id"),
            "campaign_filter_hidden": page.is_hidden("#campaign-filter"),
            "nav": texts(page, ".topbar nav a")}
    page.click("#case-rows tr.case[data-case-id='%s'] a" % spec["case_id"])
    page.wait_for_selector("#case:not([hidden]) #history-body tr.step")
    page.wait_for_selector("#citations-body > *")
    seen.update(citations=citations(page), forms_hidden=page.is_hidden("#officer-forms"),
                forms=page.locator("#case form").count(),
                title=page.inner_text("#case-title"),
                classes=texts(page, "tr.citation td.class"))
    page.screenshot(path=spec["screenshots"]["case"], full_page=True)
    seen["width"] = width_at_375(page)
    page.click(".topbar .language-switch")              # the same case in English
    page.wait_for_selector("html[lang=en]", state="attached")
    page.wait_for_selector("#case:not([hidden]) #history-body tr.step")
    page.wait_for_selector("#citations-body > *")
    seen["english"] = {"title": page.inner_text("#case-title"),
                       "classes": texts(page, "tr.citation td.class"),
                       "history": texts(page, "#history-body tr.step td:nth-child(2)")}
    return seen


def listed_rows(page):
    page.wait_for_selector("#listed table.listed tr[data-hazard-id]")
    rows = page.locator("#listed tr[data-hazard-id]")
    shown = []
    for n in range(rows.count()):
        cells = rows.nth(n).locator("td")
        shown.append({"id": rows.nth(n).get_attribute("data-hazard-id"),
                      "cells": [cells.nth(k).inner_text().strip() for k in range(cells.count())]})
    return shown


def listed(page, spec):
    """The listed hazards: deadline, days left, office; nearest first; then
    the same page in English, on the top bar's switch."""
    page.goto(spec["base_url"] + "/app/listed.html")
    log_in(page, spec["username"], spec["password"])
    seen = {"rows": listed_rows(page), "zone": page.inner_text("#zone"),
            "lang": page.get_attribute("html", "lang"), "title": page.inner_text("#listed-title")}
    page.screenshot(path=spec["screenshots"]["page"], full_page=True)
    seen["width"] = width_at_375(page)
    page.click(".topbar .language-switch")
    page.wait_for_selector("html[lang=en]", state="attached")
    seen["english"] = {"rows": listed_rows(page), "title": page.inner_text("#listed-title"),
                       "nav": texts(page, ".topbar nav a")}
    return seen


TOO_WIDE = []        # what stuck out at 375 px, in the flow's result


def width_at_375(page):
    """How wide the page is on a 375 px phone: more than 375 scrolls sideways."""
    page.set_viewport_size({"width": 375, "height": 740})
    page.wait_for_timeout(300)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > 375:                       # which elements stick out, for the report
        TOO_WIDE.extend(page.evaluate("() => [...document.querySelectorAll('body *')]"
                                         ".filter((n) => !n.closest('.table-wrap') && (n.getBoundingClientRect().right > 376"
                                         " || n.scrollWidth > n.clientWidth + 1))"
                                         ".slice(0, 8).map((n) => n.tagName + '.' + n.className"
                                         " + '#' + n.id + ' ' + Math.round("
                                         "n.getBoundingClientRect().right))"))
    page.set_viewport_size(DESK["viewport"])
    return width


def history_of(page):
    page.wait_for_selector("#history-body tr.step")
    return {"events": attributes(page, "#history-body tr.step", "data-event"),
            "actors": texts(page, "#history-body tr.step td.actor"),
            "times": texts(page, "#history-body tr.step td.when")}


def daily_assign(page, spec):
    """A manager opens a hazard's page and assigns it (account, due, note)."""
    page.goto(spec["base_url"] + "/app/hazard.html?id=" + spec["hazard_id"])
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#assign-form:not([hidden])")
    page.wait_for_selector("#hazard-photos img")
    seen = {"description": page.inner_text("#hazard-description"),
            "title": page.inner_text("#hazard-title"),
            "summary": page.inner_text("#hazard-summary"),
            "before": page.inner_text("#assignment-body"),
            "choices": attributes(page, "#assignee-choices option", "value")}
    page.fill("#f-assignee", spec["assignee"])
    page.fill("#f-due", spec["due_local"])
    page.fill("#f-note", spec["note"])
    page.click("#assign-submit")
    # locators, not wait_for_function: a predicate string is eval'd, which the CSP refuses
    page.locator("#assignment-body", has_text=spec["assignee"]).wait_for()
    page.wait_for_selector("#history-body tr.step[data-event='einspection.hazard.assigned.v1']")
    seen.update(assignment=page.inner_text("#assignment-body"),
                message=page.inner_text("#assign-message"), history=history_of(page),
                zone=page.inner_text("#zone"))
    # a photo full size, on click
    page.click("#hazard-photos button.thumb")
    page.wait_for_selector("dialog#photo-viewer[open] img#photo-full")
    seen["full_size"] = page.evaluate("() => document.querySelector('#photo-full').naturalWidth")
    page.screenshot(path=spec["screenshots"]["photo"])
    page.click("dialog#photo-viewer button[type=submit]")
    # the printable rectification notice, downloaded behind the token
    with page.expect_download() as download:
        page.click("#print-notice")
    with open(download.value.path(), "rb") as notice:
        seen["notice_text"] = "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(notice.read())).pages)
    seen["notice_filename"] = download.value.suggested_filename
    page.screenshot(path=spec["screenshots"]["hazard"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def daily_work(page, spec):
    """The assignee: the hazard in My work, its unread notice; the hazard's page."""
    page.goto(spec["base_url"] + "/app/work.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#assigned tr[data-hazard-id]")
    page.wait_for_selector("#unread .inbox-summary, #unread .message")
    seen = {"assigned": attributes(page, "#assigned tr[data-hazard-id]", "data-hazard-id"),
            "assigned_count": page.inner_text("#assigned-count"),
            "awaiting": page.inner_text("#awaiting .body"),
            "unread_inboxes": attributes(page, "#unread .inbox-summary", "data-recipient"),
            "unread_notices": attributes(page, "#unread li[data-notice-id]", "data-notice-id"),
            "nav": texts(page, ".topbar nav a")}
    page.screenshot(path=spec["screenshots"]["work"], full_page=True)
    seen["width"] = width_at_375(page)
    page.click("#assigned tr[data-hazard-id='%s'] a.hazard-link" % spec["hazard_id"])
    page.wait_for_url("**/app/hazard.html?id=*")
    page.wait_for_selector("#history-body tr.step")
    seen.update(hazard_url=page.url, assign_form_hidden=page.is_hidden("#assign-form"),
                assignment=page.inner_text("#assignment-body"))
    return seen


def queue_item(page, hazard_id):
    item = ".queue-item[data-hazard-id='%s']" % hazard_id
    page.wait_for_selector(item + " form.verify-form")
    return item


def daily_verify(page, spec):
    """A grid officer verifies from the queue, the photos before and after side by side."""
    page.goto(spec["base_url"] + "/app/queue.html")
    log_in(page, spec["username"], spec["password"])
    item = queue_item(page, spec["hazard_id"])
    page.wait_for_selector(item + " .before img")
    page.wait_for_selector(item + " .after img")
    for _ in range(100):                     # every photo decoded
        if page.eval_on_selector_all(item + " img", "(images) => images.every("
                                                    "(i) => i.complete && i.naturalWidth > 0)"):
            break
        page.wait_for_timeout(100)
    boxes = {side: page.locator(item + " ." + side).bounding_box() for side in ("before", "after")}
    seen = {"queued": attributes(page, ".queue-item", "data-hazard-id"),
            "before": len(page.locator(item + " .before img").all()),
            "after": len(page.locator(item + " .after img").all()),
            "side_by_side": boxes["before"]["y"] == boxes["after"]["y"]
                            and boxes["before"]["x"] < boxes["after"]["x"],
            "nav": texts(page, ".topbar nav a")}
    page.screenshot(path=spec["screenshots"]["queue"], full_page=True)
    seen["width"] = width_at_375(page)
    page.fill(item + " textarea[name=comment]", spec["comment"])
    page.click(item + " button.verify")
    page.wait_for_selector(item + ".decided")
    seen["outcome"] = page.get_attribute(item, "data-outcome")
    seen["message"] = page.inner_text(item + " .message")
    return seen


def daily_return(page, spec):
    """Another officer returns one: first without a reason (the API's reason shown
    beside the field), then with one."""
    page.goto(spec["base_url"] + "/app/queue.html")
    log_in(page, spec["username"], spec["password"])
    item = queue_item(page, spec["hazard_id"])
    page.click(item + " button.return")
    page.locator(item + " .field-error[data-error-for=reason]",
                 has_text=re.compile(r"\S")).wait_for()
    seen = {"refused": page.inner_text(item + " .field-error[data-error-for=reason]"),
            "still_queued": page.locator(item + " form.verify-form").count()}
    page.screenshot(path=spec["screenshots"]["refused"], full_page=True)
    page.fill(item + " textarea[name=reason]", spec["reason"])
    page.click(item + " button.return")
    page.wait_for_selector(item + ".decided")
    seen["outcome"] = page.get_attribute(item, "data-outcome")
    return seen


def daily_inbox(page, spec):
    """The account's inboxes, unread first; one notice marked read."""
    page.goto(spec["base_url"] + "/app/inbox.html")
    log_in(page, spec["username"], spec["password"])
    section = ".inbox[data-recipient='%s']" % spec["recipient"]
    notice = section + " article.notice[data-notice-id='%s']" % spec["notice_id"]
    page.wait_for_selector(notice + ".unread")
    seen = {"inboxes": attributes(page, ".inbox", "data-recipient"),
            "order": page.eval_on_selector_all(section + " article.notice",
                                               "(nodes) => nodes.map((n) => "
                                               "n.classList.contains('unread'))"),
            "unread_before": page.inner_text(section + " .unread-count")}
    page.screenshot(path=spec["screenshots"]["inbox"], full_page=True)
    seen["width"] = width_at_375(page)
    page.click(notice + " button.mark-read")
    page.wait_for_selector(notice + ":not(.unread) .read-receipt")
    seen.update(receipt=page.inner_text(notice + " .read-receipt"),
                unread_after=page.inner_text(section + " .unread-count"))
    return seen


def fresh_rectification(page, spec):
    """The manager's dashboard: the ledger row of a hazard with a description
    of two lines, then its rectification with the form's own "done at", seconds
    after the hazard was found."""
    page.goto(spec["base_url"] + "/app/enterprise.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_url("**/app/enterprise.html")
    row = "#ledger-rows tr[data-hazard-id='%s']" % spec["hazard_id"]
    page.wait_for_selector(row)
    seen = {"ledger_cell": page.inner_text(row + " td:nth-child(4)")}
    opened = "#open-body tr[data-hazard-id='%s']" % spec["hazard_id"]
    page.click(opened + " button.rectify")
    page.wait_for_selector("#rectify-dialog[data-step=rectification]")
    seen["done_at_default"] = page.input_value("#done_at")
    page.fill("#measures", "cabinet locked, warning sign put up")
    page.click("#rectify-submit")
    page.wait_for_selector(opened, state="detached")
    return seen


FLOWS = {"inspection": (inspection, PHONE), "enterprise": (enterprise, DESK),
         "authority": (authority, DESK), "login_next": (login_next, DESK),
         "docs": (docs, DESK), "temporary_password": (temporary_password, DESK),
         "campaign": (campaign, DESK), "case": (case, DESK),
         "case_read_only": (case_read_only, DESK), "listed": (listed, DESK),
         "daily_assign": (daily_assign, DESK), "daily_work": (daily_work, DESK),
         "daily_verify": (daily_verify, DESK), "daily_return": (daily_return, DESK),
         "daily_inbox": (daily_inbox, DESK),
         "fresh_rectification": (fresh_rectification, DESK)}

def report(page, spec):
    """A hazard reported on the phone at the scanned position (the scan's page
    links to the report page with the position): first without a
    description (the API's reason beside the field), then in full with a
    photo, the submit tapped twice; then the page without a position offers
    the enterprise's list."""
    page.goto(spec["base_url"] + "/app/inspect.html#" + spec["token"])     # the QR scan
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#position:not([hidden])")
    page.click("#report-here")
    page.wait_for_url("**/app/report.html?position=*")
    page.wait_for_selector("#report:not([hidden])")
    report_url = page.url
    seen = {"nav": texts(page, ".topbar nav a"), "report_url": report_url,
            "categories": attributes(page, "#f-category option", "value"),
            "category_labels": texts(page, "#f-category option"),
            "positions": attributes(page, "#f-position_id option", "value")}
    page.select_option("#f-category", spec["category"])
    page.click("#report-submit")
    page.locator(".field-error[data-error-for=description]",
                 has_text=re.compile(r"\S")).wait_for()
    seen["refused"] = page.inner_text(".field-error[data-error-for=description]")
    page.fill("#f-description", spec["description"])
    page.set_input_files("#f-evidence", spec["photo"])
    page.dblclick("#report-submit")
    page.wait_for_selector("#reported-link")
    page.click("#report-submit")            # a third tap after the answer: the same report
    page.wait_for_timeout(500)
    page.wait_for_selector("#reported-link")
    seen["hazard_href"] = page.get_attribute("#reported-link", "href")
    seen["field_errors"] = texts(page, ".field-error")
    page.screenshot(path=spec["screenshots"]["report"], full_page=True)
    seen["width"] = width_at_375(page)
    page.goto(spec["base_url"] + "/app/report.html")
    page.wait_for_selector("#report:not([hidden])")
    seen["listed_positions"] = texts(page, "#f-position_id option")
    return seen


FLOWS["report"] = (report, PHONE)

# Every page reports what its Content-Security-Policy refused, across navigations.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({directive: event.violatedDirective, blocked: event.blockedURI,
                             source: event.sourceFile, line: event.lineNumber,
                             sample: event.sample, page: location.href});
});
"""
# Console errors the flows cause on purpose: the first call of a page that is
# not logged in yet is a 401, which sends the browser to the login form.
EXPECTED_CONSOLE_ERRORS = ("the server responded with a status of 401",)


def main(spec):
    flow, device = FLOWS[spec["flow"]]
    chromium = spec.get("chromium") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox"])
        context = browser.new_context(accept_downloads=True, **device)
        csp_violations, console_errors, page_errors = [], [], []
        context.expose_binding("reportCspViolation",
                               lambda source, violation: csp_violations.append(violation))
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.on("console", lambda message: console_errors.append(message.text) if (
            message.type == "error" and not any(expected in message.text
                                                for expected in EXPECTED_CONSOLE_ERRORS))
            else None)
        try:
            result = flow(page, spec)
        except Exception:
            # what the page looked like when it went wrong, for the test's report
            failure = os.path.join(os.path.dirname(spec["screenshots"][next(iter(
                spec["screenshots"]))]), "%s-failure.png" % spec["flow"])
            page.screenshot(path=failure, full_page=True)
            print("page errors: %s; CSP violations: %s; console errors: %s; url %s; "
                  "screenshot %s" % (page_errors, csp_violations, console_errors, page.url,
                                     failure), file=sys.stderr)
            raise
        finally:
            browser.close()
    result.update(too_wide=TOO_WIDE, page_errors=page_errors, csp_violations=csp_violations,
                  console_errors=console_errors)
    print(json.dumps(result))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
