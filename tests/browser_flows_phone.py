"""Every page on a 375 px phone: for one account, each of its pages opened in
turn and measured (document.documentElement.scrollWidth against the
viewport's width). Driven like tests/browser_flows.py's:
`python tests/browser_flows_phone.py '{"flow": "phone_pages", ...}'`."""
import json
import sys

import browser_flows as flows
from browser_flows import log_in

WIDTH = 375

# what sticks out of the viewport, outside the boxes that scroll on purpose
TOO_WIDE = """(width) => [...document.querySelectorAll('body *')]
  .filter((n) => !n.closest('.table-wrap, pre, .scroll-x')
                 && n.getBoundingClientRect().right > width + 1)
  .slice(0, 6).map((n) => n.tagName.toLowerCase() + (n.id ? '#' + n.id : '')
                         + (n.className && typeof n.className === 'string'
                            ? '.' + n.className.split(' ').join('.') : '')
                         + ' ' + Math.round(n.getBoundingClientRect().right))"""


def phone_pages(page, spec):
    """Log in on the first page, then open each page, let it load its data, and
    measure it; the width of each and what sticks out where it is too wide."""
    page.set_viewport_size({"width": WIDTH, "height": 740})
    if spec.get("username"):
        page.goto(spec["base_url"] + spec["pages"][0])
        log_in(page, spec["username"], spec["password"])
    measured = {}
    for path in spec["pages"]:
        page.goto(spec["base_url"] + path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)                  # the page's own calls and drawing
        width = page.evaluate("() => document.documentElement.scrollWidth")
        measured[path] = {"width": width, "url": page.url,
                          "too_wide": page.evaluate(TOO_WIDE, WIDTH) if width > WIDTH else []}
        name = path.strip("/").split("?")[0].split("#")[0].replace("/", "-").replace(".html", "")
        page.screenshot(path=spec["screenshots"]["pattern"] % (name or "home"), full_page=True)
    return measured


flows.FLOWS.update({"phone_pages": (phone_pages, flows.PHONE)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
