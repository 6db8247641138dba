// An enterprise's positions (GET /api/v1/enterprises/{id}/positions) with the
// checklists attached and each code's image; its manager creates one (name,
// published checklists) and downloads the printable QR sheet of the positions
// ticked, or of all (the PDF behind the token, so through api.download). Others in scope read only: the page
// offers what the API would refuse to nobody. `?enterprise_id=` picks the
// enterprise for the authority; an enterprise account sees its own.
import { ApiError, all, download, get, goToLogin, me, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors } from "./ui.js";

mountTopbar("positions");
main();

let enterpriseId = null;
let titles = new Map();

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
  const manages = who && who.role === "enterprise_manager" && who.enterprise_id === enterpriseId;
  await loadChecklists(manages);
  await load();
  $("#qr-sheet").addEventListener("click", downloadSheet);
  if (manages) showCreateForm();
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
  const published = checklists.filter((c) => c.published_version);
  fill($("#checklist-options"), published.length ? published.map((c) =>
    h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "checklist_ids", value: c.id }), " ", c.title))
    : h("p", { class: "muted" }, t("positions.no_checklist")));
}

async function load() {
  const box = $("#positions-list");
  let positions;
  try {
    positions = await all(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions`);
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
    h("tbody", {}, positions.map((position) => h("tr", { dataset: { positionId: position.id } },
      h("td", {}, h("input", { type: "checkbox", class: "pick", value: position.id,
                               "aria-label": t("positions.select", { name: position.name }) })),
      h("td", { class: "name" }, position.name),
      h("td", { class: "checklists" }, position.checklist_ids.map(
        (id) => titles.get(id) || id).join("; ") || "—"),
      h("td", {}, h("button", { type: "button", class: "small secondary",
                                onclick: () => saveCode(position) },
                    t("positions.qr_png")))))))));
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


