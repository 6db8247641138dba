"""The management pages' flows (positions, accounts, one's own password),
driven like tests/browser_flows.py's (its main, its helpers) and run the same
way: `python tests/browser_flows_manage.py '{"flow": ...}'`."""
import json
import re
import sys

import browser_flows as flows
from browser_flows import attributes, log_in, texts, width_at_375


def manage_positions(page, spec):
    """A manager creates a position with a published checklist, then downloads the QR
    sheet of that position only."""
    page.goto(spec["base_url"] + "/app/positions.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#create:not([hidden]) #f-name")
    page.wait_for_selector(f"#checklist-options input[value='{spec['checklist_id']}']")
    page.fill("#f-name", spec["position_name"])
    page.check(f"#checklist-options input[value='{spec['checklist_id']}']")
    page.click("#position-submit")
    page.locator("#positions-list td.name", has_text=spec["position_name"]).wait_for()
    seen = {"names": texts(page, "#positions-list td.name"),
            "checklists": texts(page, "#positions-list td.checklists"),
            "message": page.inner_text("#position-message"),
            "links": attributes(page, ".topbar nav a", "href")}
    # the sheet of the new position only: ticked in its row
    page.locator("#positions-list tr", has_text=spec["position_name"]).locator("input.pick").check()
    with page.expect_download() as downloading:
        page.click("#qr-sheet")
    downloading.value.save_as(spec["pdf_path"])
    seen["pdf_name"] = downloading.value.suggested_filename
    page.screenshot(path=spec["screenshots"]["positions"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def manage_accounts(page, spec):
    """A manager creates a staff account (a weak password first) and resets another's
    password."""
    page.goto(spec["base_url"] + "/app/accounts.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#accounts-list table")
    seen = {"prefilled": page.input_value("#f-username"),
            "listed": texts(page, "#accounts-list td.username")}
    page.fill("#f-username", spec["new_username"])
    page.select_option("#f-role", "enterprise_staff")
    page.fill("#f-password", "short")
    page.click("#account-submit")
    page.locator(".field-error[data-error-for=password]", has_text="12").wait_for()
    seen["weak_password_error"] = page.inner_text(".field-error[data-error-for=password]")
    page.fill("#f-password", spec["new_password"])
    page.click("#account-submit")
    row = f"#accounts-list tr[data-username='{spec['new_username']}']"
    page.wait_for_selector(row)
    seen["created_message"] = page.inner_text("#account-message")
    # a reset: the temporary password shown once
    page.click(f"#accounts-list tr[data-username='{spec['reset_username']}'] button.reset")
    page.wait_for_selector("#temporary-password")
    seen["temporary_password"] = page.inner_text("#temporary-password")
    page.screenshot(path=spec["screenshots"]["accounts"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def manage_disable(page, spec):
    """A manager disables an account (after the page's confirmation)."""
    page.goto(spec["base_url"] + "/app/accounts.html")
    log_in(page, spec["username"], spec["password"])
    row = f"#accounts-list tr[data-username='{spec['disable_username']}']"
    page.wait_for_selector(row)
    seen = {}
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(row + " button.disable")
    page.wait_for_selector(row + " td.state[data-state=disabled]")
    seen["state"] = page.inner_text(row + " td.state")
    return seen


def own_password(page, spec):
    """An account changes its own password: a weak one first (the API's reason
    beside the field), then a good one."""
    page.goto(spec["base_url"] + "/app/password.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#f-new_password")
    seen = {"links": attributes(page, ".topbar nav a", "href")}
    page.fill("#f-old_password", spec["password"])
    page.fill("#f-new_password", spec["weak_password"])
    page.fill("#f-repeat_password", spec["weak_password"])
    page.click("#own-password-submit")
    box = ".field-error[data-error-for=new_password]"
    page.locator(box, has_text="must").wait_for()
    seen["weak_error"] = page.inner_text(box)
    page.screenshot(path=spec["screenshots"]["password"], full_page=True)
    seen["width"] = width_at_375(page)
    page.fill("#f-new_password", spec["new_password"])
    page.fill("#f-repeat_password", spec["new_password"])
    page.click("#own-password-submit")
    page.wait_for_selector("#own-password-message .message.ok")
    seen["message"] = page.inner_text("#own-password-message")
    return seen


def edit_positions(page, spec):
    """A manager renames a position and changes its checklists (an empty name refused
    first, the API's reason beside the field), then retires another; the retired one
    leaves the list and comes back marked with "show retired"."""
    page.goto(spec["base_url"] + "/app/positions.html")
    log_in(page, spec["username"], spec["password"])
    row = f"#positions-list tr[data-position-id='{spec['renamed']}']"
    page.wait_for_selector(row + " button.edit")
    page.click(row + " button.edit")
    form = "#positions-list form.position-edit"
    page.fill(form + " input[name=name]", "")
    page.click(form + " button[type=submit]")
    refused = form + " .field-error[data-error-for=name]"
    page.locator(refused).filter(has_text=re.compile(r"\S")).wait_for()   # not eval: the CSP
    seen = {"refused": page.inner_text(refused)}
    page.fill(form + " input[name=name]", spec["new_name"])
    page.uncheck(form + f" input[value='{spec['checklist_id']}']")
    page.click(form + " button[type=submit]")
    page.locator(row + " td.name", has_text=spec["new_name"]).wait_for()
    seen["renamed_row"] = page.inner_text(row + " td.checklists")
    retired = f"#positions-list tr[data-position-id='{spec['retired']}']"
    page.click(retired + " button.retire")
    page.fill("#positions-list form.position-retire input[name=reason]", "车间拆除")
    page.click("#positions-list form.position-retire button[type=submit]")
    page.wait_for_selector(retired, state="detached")
    seen["listed_after"] = attributes(page, "#positions-list tr[data-position-id]",
                                      "data-position-id")
    page.check("#show-retired")
    page.wait_for_selector(retired + ".retired .retired-mark")
    seen["retired_buttons"] = page.locator(retired + " button").count()
    page.screenshot(path=spec["screenshots"]["positions"], full_page=True)
    seen["width"] = width_at_375(page)
    return seen


def navigation(page, spec):
    """The top bar's links for an account, on its own home page."""
    page.goto(spec["base_url"] + "/app/password.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#f-new_password")
    return {"links": attributes(page, ".topbar nav a", "href")}


flows.FLOWS.update({"manage_positions": (manage_positions, flows.DESK),
                    "manage_accounts": (manage_accounts, flows.DESK),
                    "manage_disable": (manage_disable, flows.DESK),
                    "own_password": (own_password, flows.DESK),
                    "edit_positions": (edit_positions, flows.DESK),
                    "navigation": (navigation, flows.DESK)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
