// The close-out queue: the submitted rectifications this account may verify
// (GET /api/v1/me/work, by the verification rule and separation of duties),
// each with the report's photos and the rectification's side by side, and a
// form to verify or to return it with a reason (the API's reasons beside
// their fields).
import { ApiError, get, post } from "./api.js";
import { $, errorMessage, field, fill, h, hazardLink, message, mountTopbar, showFieldErrors,
         timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { levelTag, photoRow } from "./daily.js";

let zone = "Asia/Shanghai";

mountTopbar("queue");
main();

async function main() {
  zone = await timeZone();
  await load();
}

async function load() {
  const box = $("#queue-items");
  try {
    const work = await get("/api/v1/me/work");
    const waiting = work.awaiting_verification;
    $("#queue-count").textContent = `${waiting.total} 项待验收 waiting` +
      (waiting.total > waiting.items.length ? ` (显示 showing ${waiting.items.length})` : "");
    if (!waiting.items.length) {
      fill(box, message("ok", "没有待您验收的整改 · Nothing waits for your verification."));
      return;
    }
    fill(box, waiting.items.map((row) => h("article", { class: "queue-item card",
                                                       dataset: { hazardId: row.id } },
      h("p", { class: "muted" }, "加载中 Loading …"))));
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
    h("h2", {}, levelTag(hazard.level), " ", hazard.category, " · ",
      hazardLink(hazard)),
    h("p", { class: "pre-wrap description" }, hazard.description),
    h("small", {}, `发现 found ${timeIn(hazard.found_at, zone)} · 整改提交 rectified ` +
                   `${timeIn(done.done_at, zone)} · ${done.submitted_by || ""}` +
                   (done.rectified_by ? ` (${done.rectified_by})` : "")),
    h("div", { class: "before-after" },
      h("figure", { class: "before" }, h("figcaption", {}, "整改前 Before"),
        photoRow(hazard.evidence, { label: "整改前 before" })),
      h("figure", { class: "after" }, h("figcaption", {}, "整改后 After"),
        photoRow(done.evidence, { label: "整改后 after" }),
        h("p", { class: "pre-wrap" }, done.measures || ""))),
    form);
}

function verifyForm(hazard, card) {
  const key = hazard.id.slice(0, 8);
  const input = (name, element) => {
    element.name = name;
    return field(...labelOf(name), element, { id: `${name}-${key}` });
  };
  const form = h("form", { class: "verify-form", novalidate: true },
    h("div", { class: "form-grid" },
      input("comment", h("textarea", { rows: 2, maxlength: 2000 })),
      input("reason", h("textarea", { rows: 2, maxlength: 2000 }))),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "verify", value: "verified" }, "验收通过 Verify"),
      h("button", { type: "submit", class: "return secondary", value: "returned" },
        "退回整改 Return")),
    h("div", { class: "verify-message" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide(hazard, card, form, (event.submitter && event.submitter.value) || "verified");
  });
  return form;
}

function labelOf(name) {
  return ({ comment: ["验收意见 Comment (验收时 when verifying)", name],
            reason: ["退回理由 Reason (退回时必填 required to return)", name] })[name];
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
    fill(card, h("h2", {}, levelTag(after.level), " ", after.category, " · ", hazardLink(after)),
      message("ok", outcome === "verified" ? "已验收，隐患关闭 · Verified: the hazard is closed."
                                           : "已退回整改 · Returned for rectification."));
    card.classList.add("decided");
    card.dataset.outcome = outcome;
  } catch (err) {
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", err.message) : errorMessage(err));
    buttons.forEach((b) => { b.disabled = false; });
  }
}
