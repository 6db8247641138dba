// An enterprise's positions (GET /api/v1/enterprises/{id}/positions) with the
// checklists attached and each code's image; its manager creates one (name,
// published checklists) and downloads the printable QR sheet of the positions
// ticked, or of all (the PDF behind the token, so through api.download); edits a
// position (its name, its checklists: PATCH) or retires it (its code then answers
// that it is retired, its schedules end). Others in scope read only: the page
// offers what the API would refuse to nobody. `?enterprise_id=` picks the
// enterprise for the authority; an enterprise account sees its own.
import { ApiError, all, download, get, goToLogin, me, patch, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors } from "./ui.js";

mountTopbar("positions");
main();

let enterpriseId = null;
let titles = new Map();
let published = [];
let manages = false;
let showRetired = false;

// who may change a position besides its enterprise's manager: the authority (the gateway's rule)
const AUTHORITY_EDITORS = ["authority_inspector", "authority_admin"];

async function main() {
  let who;
  try {
    who = await me();
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  if (!who) {
    goToLogin();   // nobody logged in yet: back here after the login
    return;
  }
  enterpriseId = new URLSearchParams(location.search).get("enterprise_id") ||
    (who && who.enterprise_id);
  if (!enterpriseId) {
    fill($("#positions-list"), message("error", t("positions.no_enterprise")));
    return;
  }
  try {
    const enterprise = await get("/api/v1/enterprises/" + encodeURIComponent(enterpriseId));
    $("#positions-enterprise").textContent = enterprise.name;
  } catch (err) {
    fill($("#positions-list"), errorMessage(err));
    return;
  }
  const own = who && who.role === "enterprise_manager" && who.enterprise_id === enterpriseId;
  manages = own || Boolean(who && AUTHORITY_EDITORS.includes(who.role));
  await loadChecklists(own);
  await load();
  $("#qr-sheet").addEventListener("click", downloadSheet);
  $("#show-retired").addEventListener("change", (event) => {
    showRetired = event.target.checked;
    load();
  });
  if (own) showCreateForm();
}

async function loadChecklists(manages) {
  let checklists = [];
  try {
    checklists = await all("/api/v1/checklists", { enterprise_id: enterpriseId });
  } catch (err) {
    if (manages) fill($("#checklist-options"), errorMessage(err));
    return;
  }
  titles = new Map(checklists.map((c) => [c.id, c.title]));
  published = checklists.filter((c) => c.published_version);
  fill($("#checklist-options"), published.length ? published.map((c) =>
    h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "checklist_ids", value: c.id }), " ", c.title))
    : h("p", { class: "muted" }, t("positions.no_checklist")));
}

async function load() {
  const box = $("#positions-list");
  let positions;
  try {
    positions = await all(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions`,
                          showRetired ? { include_retired: "true" } : {});
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  if (!positions.length) {
    fill(box, message("ok", t("positions.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "positions" },
    h("thead", {}, h("tr", {}, ["select", "name", "checklists", "qr"].map(
      (name) => h("th", {}, t("positions.col." + name))))),
    h("tbody", {}, positions.map(row)))));
}

function row(position) {
  const retired = Boolean(position.retired_at);
  return h("tr", { class: retired ? "retired" : "", dataset: { positionId: position.id } },
    h("td", {}, retired ? null : h("input", { type: "checkbox", class: "pick", value: position.id,
                                               "aria-label": t("positions.select",
                                                               { name: position.name }) })),
    h("td", { class: "name" }, position.name,
      retired ? h("span", { class: "badge retired-mark" }, " " + t("positions.retired")) : null),
    h("td", { class: "checklists" }, position.checklist_ids.map(
      (id) => titles.get(id) || id).join("; ") || "—"),
    h("td", {}, h("div", { class: "row-actions" },
      retired ? null : h("button", { type: "button", class: "small secondary",
                                     onclick: () => saveCode(position) }, t("positions.qr_png")),
      manages && !retired ? h("button", { type: "button", class: "small secondary edit",
                                          onclick: (event) => editForm(position, event.target) },
                              t("positions.edit")) : null,
      manages && !retired ? h("button", { type: "button", class: "small secondary retire",
                                          onclick: (event) => retireForm(position, event.target) },
                              t("positions.retire")) : null)));
}

// A form in a row of its own under the position's: what it sends, the API's
// reasons beside the fields, the list again once it is done.
function formRow(after, form) {
  const existing = after.closest("tbody").querySelector("tr.row-form");
  if (existing) existing.remove();
  const line = h("tr", { class: "row-form" }, h("td", { colspan: "4" }, form));
  after.closest("tr").after(line);
  return line;
}

function editForm(position, button) {
  const key = crypto.randomUUID();
  const form = h("form", { class: "position-edit", novalidate: true },
    field(t("positions.field.name"), "name", h("input", { type: "text", maxlength: 200,
                                                          value: position.name })),
    h("fieldset", {}, h("legend", {}, t("positions.checklists_legend")),
      published.map((c) => h("label", { class: "choice" },
        h("input", { type: "checkbox", name: "checklist_ids", value: c.id,
                     checked: position.checklist_ids.includes(c.id) }), " ", c.title)),
      h("div", { class: "field-error", dataset: { errorFor: "checklist_ids" } })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "small" }, t("positions.save")),
      h("button", { type: "button", class: "small secondary",
                    onclick: () => form.closest("tr").remove() }, t("positions.cancel"))),
    h("div", { class: "form-message" }));
  formRow(button, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: form.elements.name.value.trim(),
                   checklist_ids: [...form.querySelectorAll("input[name=checklist_ids]:checked")]
                     .map((box) => box.value) };
    await send(form, () => patch(`/api/v1/positions/${encodeURIComponent(position.id)}`, body,
                                 { idempotencyKey: key }),
               (answer) => t("positions.saved", { name: answer.name }));
  });
}

function retireForm(position, button) {
  const key = crypto.randomUUID();
  const form = h("form", { class: "position-retire", novalidate: true },
    h("p", {}, t("positions.retire_what", { name: position.name })),
    field(t("positions.field.reason"), "reason", h("input", { type: "text", maxlength: 500 })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "small danger" }, t("positions.retire_confirm")),
      h("button", { type: "button", class: "small secondary",
                    onclick: () => form.closest("tr").remove() }, t("positions.cancel"))),
    h("div", { class: "form-message" }));
  formRow(button, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = form.elements.reason.value.trim();
    await send(form, () => post(`/api/v1/positions/${encodeURIComponent(position.id)}/retirement`,
                                reason ? { reason } : {}, { idempotencyKey: key }),
               () => t("positions.retired_done", { name: position.name }));
  });
}

async function send(form, request, done) {
  const box = form.querySelector(".form-message");
  showFieldErrors(form, {});
  fill(box);
  form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    const answer = await request();
    await load();
    fill($("#qr-message"), message("ok", done(answer)));
  } catch (err) {
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", err.message) : errorMessage(err));
    form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  }
}

async function saveCode(position) {
  try {
    await download(`/api/v1/positions/${encodeURIComponent(position.id)}/qr.png`, {},
                   position.name + ".png");
  } catch (err) {
    fill($("#qr-message"), errorMessage(err));
  }
}

async function downloadSheet() {
  const box = $("#qr-message");
  fill(box);
  // the positions ticked, or all of them when none is
  const picked = [...document.querySelectorAll("#positions-list input.pick:checked")]
    .map((box) => box.value);
  try {
    await download(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions/qr-sheet.pdf`,
                   { position_ids: picked.join(",") }, "positions-qr-sheet.pdf");
    fill(box, message("ok", t("positions.downloaded")));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

function showCreateForm() {
  $("#create").hidden = false;
  fill($("#position-fields"), h("div", { class: "form-grid" },
    field(t("positions.field.name"), "name", h("input", { type: "text", maxlength: 200, required: true }))));
  const form = $("#position-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#position-message");
    showFieldErrors(form, {});
    fill(box);
    const body = { name: form.elements.name.value.trim(),
                   checklist_ids: [...form.querySelectorAll("input[name=checklist_ids]:checked")]
                     .map((box) => box.value) };
    $("#position-submit").disabled = true;
    try {
      const created = await post(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions`,
                                 body);
      form.reset();
      fill(box, message("ok", t("positions.created", { name: created.name })));
      await load();
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", err.message) : errorMessage(err));
    } finally {
      $("#position-submit").disabled = false;
    }
  });
}


