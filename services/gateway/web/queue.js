// The close-out queue: the submitted rectifications this account may verify
// (GET /api/v1/me/work, by the verification rule and separation of duties),
// each with the report's photos and the rectification's side by side, and a
// form to verify or to return it with a reason (the API's reasons beside
// their fields).
import { ApiError, get, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, hazardLink, message, mountTopbar, showFieldErrors,
         timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { levelTag, photoRow } from "./daily.js";
import { categoryNamer } from "./taxonomy.js";

let zone = "Asia/Shanghai";
let categoryName = (value) => value;

mountTopbar("queue");
main();

async function main() {
  [zone, categoryName] = await Promise.all([timeZone(), categoryNamer()]);
  await load();
}

async function load() {
  const box = $("#queue-items");
  try {
    const work = await get("/api/v1/me/work");
    const waiting = work.awaiting_verification;
    $("#queue-count").textContent = t("queue.count", { total: waiting.total }) +
      (waiting.total > waiting.items.length ? t("queue.showing", { shown: waiting.items.length })
                                            : "");
    if (!waiting.items.length) {
      fill(box, message("ok", t("queue.nothing")));
      return;
    }
    fill(box, waiting.items.map((row) => h("article", { class: "queue-item card",
                                                       dataset: { hazardId: row.id } },
      h("p", { class: "muted" }, t("common.loading")))));
    await Promise.all(waiting.items.map((row) => showItem(row)));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

async function showItem(row) {
  const card = $(`.queue-item[data-hazard-id="${CSS.escape(row.id)}"]`);
  let hazard;
  try {
    hazard = await get("/api/v1/hazards/" + encodeURIComponent(row.id));
  } catch (err) {
    fill(card, errorMessage(err));
    return;
  }
  const done = hazard.rectification || {};
  const form = verifyForm(hazard, card);
  fill(card,
    h("h2", {}, levelTag(hazard.level), " ", categoryName(hazard.category), " · ",
      hazardLink(hazard)),
    h("p", { class: "pre-wrap description" }, hazard.description),
    h("small", {}, t("queue.found_rectified", {
      found: timeIn(hazard.found_at, zone), rectified: timeIn(done.done_at, zone),
      by: (done.submitted_by || "") + (done.rectified_by ? ` (${done.rectified_by})` : "") })),
    h("div", { class: "before-after" },
      h("figure", { class: "before" }, h("figcaption", {}, t("queue.before")),
        photoRow(hazard.evidence, { label: t("queue.before") })),
      h("figure", { class: "after" }, h("figcaption", {}, t("queue.after")),
        photoRow(done.evidence, { label: t("queue.after") }),
        h("p", { class: "pre-wrap" }, done.measures || ""))),
    form);
}

function verifyForm(hazard, card) {
  const key = hazard.id.slice(0, 8);
  const input = (name, element) => {
    element.name = name;
    return field(t("queue." + name), name, element, { id: `${name}-${key}` });
  };
  const form = h("form", { class: "verify-form", novalidate: true },
    h("div", { class: "form-grid" },
      input("comment", h("textarea", { rows: 2, maxlength: 2000 })),
      input("reason", h("textarea", { rows: 2, maxlength: 2000 }))),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "verify", value: "verified" }, t("queue.verify")),
      h("button", { type: "submit", class: "return secondary", value: "returned" },
        t("queue.return"))),
    h("div", { class: "verify-message" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide(hazard, card, form, (event.submitter && event.submitter.value) || "verified");
  });
  return form;
}

async function decide(hazard, card, form, outcome) {
  const box = form.querySelector(".verify-message");
  const buttons = form.querySelectorAll("button");
  showFieldErrors(form, {});
  fill(box);
  buttons.forEach((b) => { b.disabled = true; });
  const body = { outcome };
  const text = (name) => form.elements[name].value.trim();
  if (outcome === "verified" && text("comment")) body.comment = text("comment");
  if (outcome === "returned" && text("reason")) body.reason = text("reason");
  try {
    const after = await post(`/api/v1/hazards/${encodeURIComponent(hazard.id)}/verification`, body);
    fill(card, h("h2", {}, levelTag(after.level), " ", categoryName(after.category), " · ",
                 hazardLink(after)),
      message("ok", t(outcome === "verified" ? "queue.verified" : "queue.returned")));
    card.classList.add("decided");
    card.dataset.outcome = outcome;
  } catch (err) {
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", err.message) : errorMessage(err));
    buttons.forEach((b) => { b.disabled = false; });
  }
}
