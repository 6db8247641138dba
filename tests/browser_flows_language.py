"""The language and phone-width flows of the dashboards, login, accounts,
positions, password and docs pages, driven like tests/browser_flows.py's
(its main, its helpers): `python tests/browser_flows_language.py '{"flow": ...}'`."""
import json
import re
import sys

import browser_flows as flows
from browser_flows import log_in, texts
from web_support import assert_no_sideways_scroll

PHONE_375 = {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 1,
             "has_touch": True}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# what shows a page is drawn, by path
READY = {"/app/enterprise.html": "#ledger-rows tr[data-hazard-id]",
         "/app/authority.html": "#map svg g.enterprise",
         "/app/accounts.html": "#accounts-list table",
         "/app/positions.html": "#positions-list table",
         "/app/password.html": "#f-new_password",
         "/app/login.html": "#login-form",
         "/docs": "details.op",
         "/docs/events": "details.op"}


def log_out(page, base_url):
    page.goto(base_url + "/app/login.html")
    page.evaluate("() => { localStorage.removeItem('einspection.token');"
                  " localStorage.removeItem('einspection.account'); }")


def phone_pages(page, spec):
    """Each page at 375 x 740 as the account that uses it: no sideways scroll.
    spec["visits"]: [{username, password, paths}] (no username: not logged in)."""
    seen = {}
    for visit in spec["visits"]:
        log_out(page, spec["base_url"])
        for number, path in enumerate(visit["paths"]):
            page.goto(spec["base_url"] + path)
            if number == 0 and visit.get("username"):
                log_in(page, visit["username"], visit["password"])
            page.wait_for_selector(READY[path.split("?")[0]])
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(200)
            name = path.split("/")[-1].split("?")[0] or "docs"
            page.screenshot(path=spec["screenshots"]["prefix"] + name + "-375.png",
                            full_page=True)
            assert_no_sideways_scroll(page)
            seen[path] = page.evaluate("() => document.documentElement.scrollWidth")
    return seen


def own_words(page):
    """The page's own words: what the catalogue fills (data-i18n) and the headings."""
    return texts(page, "[data-i18n]:not(title)") + texts(page, "h1[data-i18n], h2 > span[data-i18n]")


def language_state(page, ready):
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    return {"lang": page.get_attribute("html", "lang"), "url": page.url,
            "words": own_words(page),
            "headings": texts(page, "#open-title > span, #ledger-title, #notices-title > span[data-i18n], "
                                    "#score-title"),
            "switch": page.inner_text(".language-switch"),
            "categories": texts(page, "#ledger-rows td:nth-child(3)"),
            "nav": texts(page, ".topbar nav a"),
            "cjk": [w for w in own_words(page) if CJK.search(w)]}


def language_switch(page, spec):
    """The enterprise dashboard in Chinese; the top bar's switch shows it in
    English, which stays after a reload and on another page; the switch back
    gives Chinese."""
    ready = "#ledger-rows tr[data-hazard-id]"
    page.goto(spec["base_url"] + "/app/enterprise.html")
    log_in(page, spec["username"], spec["password"])
    page.wait_for_url("**/app/enterprise.html")
    seen = {"chinese": language_state(page, ready)}
    page.click(".topbar .language-switch")
    page.wait_for_selector("html[lang=en]")
    seen["english"] = language_state(page, ready)
    page.screenshot(path=spec["screenshots"]["english"], full_page=True)
    flows.fits_a_phone(page)                     # the English words fit a phone too
    page.reload()
    seen["reloaded"] = language_state(page, ready)
    page.goto(spec["base_url"] + "/app/positions.html")
    seen["positions"] = language_state(page, "#positions-list table")
    page.click(".topbar .language-switch")
    page.wait_for_selector("html[lang=zh-CN]")
    page.goto(spec["base_url"] + "/app/enterprise.html")
    seen["back"] = language_state(page, ready)
    return seen


flows.FLOWS.update({"phone_pages": (phone_pages, PHONE_375),
                    "language_switch": (language_switch, flows.DESK)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
