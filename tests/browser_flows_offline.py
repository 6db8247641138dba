"""The inspection page without signal (tests/test_web_offline.py), driven like
tests/browser_flows.py's flows and run the same way:
`python tests/browser_flows_offline.py '{"flow": ...}'`.

Going offline is `context.set_offline(True)`; requests the service worker
makes itself are aborted too (Playwright's offline emulation may not reach a
service worker's own fetches: microsoft/playwright#2311), so that "offline"
means no request leaves the browser."""
import json
import sys
import time

import browser_flows as flows
from browser_flows import attributes, log_in, texts, width_at_375


def poll(page, script, what, timeout=20.0):
    """page.evaluate(script) until it is true (the CSP refuses wait_for_function's strings)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        page.wait_for_timeout(200)
    raise AssertionError("timed out waiting for " + what)


WORKER_READY = "() => Boolean(navigator.serviceWorker.controller)"
SCAN_KEPT = """async () => {
  for (const name of await caches.keys()) {
    if (!name.startsWith('einspection-api-')) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      if (new URL(request.url).pathname.startsWith('/api/v1/scan/')) return true;
    }
  }
  return false;
}"""


def offline_route(route):
    if route.request.service_worker:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def go_offline(context):
    context.set_offline(True)
    context.route("**/*", offline_route)


def go_online(context):
    context.unroute("**/*", offline_route)
    context.set_offline(False)


def open_position(page, spec):
    """The QR link with signal, logged in; the checklist of the schedule opened;
    the page's service worker in control and the scan's answer kept."""
    page.goto(spec["base_url"] + "/scan/" + spec["qr_token"])
    log_in(page, spec["username"], spec["password"])
    page.wait_for_selector("#position:not([hidden])")
    if page.locator(".choose-checklist").count():
        page.click(".choose-checklist[data-checklist-id='%s']" % spec["checklist_id"])
    page.wait_for_selector(".item")
    poll(page, WORKER_READY, "the service worker to control the page")
    poll(page, SCAN_KEPT, "the scan's answer in the worker's cache")


def open_checklist(page, spec):
    page.wait_for_selector("#position:not([hidden])")
    if page.locator("#choose:not([hidden])").count():
        page.click(".choose-checklist[data-checklist-id='%s']" % spec["checklist_id"])
    page.wait_for_selector(".item")


def offline_inspection(page, spec):
    """With signal: the QR link. Without: reload (the page opens from the cache),
    one item failed with a note and a photo, the rest pass; reload (the draft is
    back); submit (queued, waiting). With signal again: sent by itself, once."""
    context = page.context
    open_position(page, spec)
    seen = {"install": page.evaluate("""async () => {
      const link = document.querySelector('link[rel=manifest]');
      const manifest = await (await fetch(link.href)).json();
      return {href: link.getAttribute('href'), name: manifest.name,
              short_name: manifest.short_name, start_url: manifest.start_url,
              scope: manifest.scope, display: manifest.display,
              icons: manifest.icons.map((icon) => icon.sizes)};
    }""")}
    go_offline(context)
    page.reload()
    open_checklist(page, spec)
    seen["offline_banner"] = page.is_visible("#network")
    seen["offline_status"] = page.inner_text("#status")
    seen["position"] = page.inner_text("#position-name")
    item_ids = attributes(page, ".item", "data-item-id")
    failed = item_ids[spec["fail"]]
    page.click("label[for=result-%s-fail]" % failed)
    page.fill("#note-%s" % failed, spec["note"])
    page.set_input_files("#photo-%s" % failed, spec["photo"])
    page.wait_for_selector("#item-%s img.pending" % failed)
    page.click("#rest-pass")
    page.wait_for_timeout(300)                     # the draft written
    page.reload()                                  # still offline
    open_checklist(page, spec)
    page.wait_for_selector("#item-%s img.pending" % failed)
    seen["restored"] = {
        "checked": page.eval_on_selector_all(".segmented input:checked",
                                             "(nodes) => nodes.map((n) => n.id)"),
        "note": page.input_value("#note-%s" % failed),
        "photos": page.locator("#item-%s .thumbs img" % failed).count(),
        "progress": page.inner_text("#progress-text"),
        "draft_note": page.inner_text("#draft-note"),
    }
    page.click("#submit")
    page.wait_for_selector("#queued:not([hidden])")
    page.wait_for_selector("#outbox .outbox-item[data-state=waiting]")
    seen["queued"] = {"title": page.inner_text("#outbox-title"),
                      "waiting": page.get_attribute("#outbox", "data-waiting"),
                      "states": texts(page, "#outbox .outbox-state")}
    seen["width_queued"] = width_at_375(page)
    page.set_viewport_size(flows.PHONE["viewport"])
    page.screenshot(path=spec["screenshots"]["queued"], full_page=True)
    go_online(context)                             # the online event sends it
    page.wait_for_selector("#result:not([hidden])")
    page.wait_for_selector("#hazards .hazard")
    seen["inspection_id"] = page.get_attribute("#result", "data-inspection-id")
    seen["hazard_ids"] = attributes(page, "#hazards .hazard", "data-hazard-id")
    seen["outbox_after"] = attributes(page, "#outbox .outbox-item", "data-state")
    seen["failed_item"] = failed
    page.screenshot(path=spec["screenshots"]["sent"], full_page=True)
    return seen


def lost_answer(page, spec):
    """The inspection's first answer is lost after the server got it (the
    connection reset on the way back): the submission waits; sent again, with
    the same key, it is the same inspection."""
    context = page.context
    open_position(page, spec)
    posts = []

    def lose_the_first_answer(route):
        request = route.request
        if request.method != "POST":
            return route.continue_()
        response = route.fetch()                   # the server did it
        posts.append({"key": request.headers.get("idempotency-key"),
                      "status": response.status})
        if len(posts) == 1:
            return route.abort("connectionreset")  # ... and the phone never heard
        return route.fulfill(response=response)
    context.route("**/api/v1/inspections", lose_the_first_answer)
    item_ids = attributes(page, ".item", "data-item-id")
    page.click("label[for=result-%s-fail]" % item_ids[spec["fail"]])
    page.fill("#note-%s" % item_ids[spec["fail"]], spec["note"])
    page.set_input_files("#photo-%s" % item_ids[spec["fail"]], spec["photo"])
    page.wait_for_selector("#item-%s img.uploaded" % item_ids[spec["fail"]])
    page.click("#rest-pass")
    page.click("#submit")
    page.wait_for_selector("#queued:not([hidden])")
    seen = {"waiting": page.get_attribute("#outbox", "data-waiting")}
    page.click("#outbox-send")
    page.wait_for_selector("#result:not([hidden])")
    page.wait_for_selector("#hazards .hazard")
    seen.update(posts=posts, inspection_id=page.get_attribute("#result", "data-inspection-id"),
                hazard_ids=attributes(page, "#hazards .hazard", "data-hazard-id"))
    return seen


def refused_in_outbox(page, spec):
    """Queued without signal; with signal the API refuses it (a 400 naming an
    item): shown with its reason, kept, not sent again by itself; fixed in the
    form and submitted anew, it is recorded."""
    context = page.context
    open_position(page, spec)
    go_offline(context)
    item_ids = attributes(page, ".item", "data-item-id")
    page.click("#rest-pass")
    page.click("#submit")
    page.wait_for_selector("#queued:not([hidden])")
    posts = []

    def refuse(route):
        if route.request.method != "POST":
            return route.continue_()
        posts.append(route.request.headers.get("idempotency-key"))
        if len(posts) == 1:
            return route.fulfill(status=400, content_type="application/json", body=json.dumps(
                {"error": {"message": spec["reason"],
                           "fields": {"results": {item_ids[0]: [spec["item_reason"]]}}}}))
        return route.continue_()
    context.route("**/api/v1/inspections", refuse)
    go_online(context)
    page.wait_for_selector("#outbox .outbox-item[data-state=refused]")
    page.wait_for_timeout(1500)                    # an online event, a timer: nothing resent
    seen = {"state": texts(page, "#outbox .outbox-state"), "posts_refused": len(posts),
            "send_hidden": page.is_hidden("#outbox-send")}
    page.click("#outbox .outbox-fix")
    page.wait_for_selector("#inspection:not([hidden])")
    seen["message"] = page.inner_text("#submit-message")
    seen["item_error"] = page.inner_text("#error-%s" % item_ids[0])
    seen["checked"] = page.locator(".segmented input:checked").count()
    seen["outbox_hidden"] = page.is_hidden("#outbox")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    seen.update(posts=posts, inspection_id=page.get_attribute("#result", "data-inspection-id"))
    return seen


flows.FLOWS.update({"refused_in_outbox": (refused_in_outbox, flows.PHONE),
                    "offline_inspection": (offline_inspection, flows.PHONE),
                    "lost_answer": (lost_answer, flows.PHONE)})

if __name__ == "__main__":
    flows.main(json.loads(sys.argv[1]))
