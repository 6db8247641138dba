// The authority's enforcement campaigns: the list (status, targets, period)
// and the form that opens one — name, legal basis, period, targets, quotas
// per town as rows, the mandatory list, inspectors per target — with the
// API's reason for each field shown beside it.
import { all, get, post } from "./api.js";
import { t } from "./i18n.js";
import { campaignStatus } from "./enforcement.js";
import { $, dayIn, errorMessage, field, fill, h, message, mountTopbar,
         showFieldErrors, timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";

const PAGE_SIZE = 20;
let page = 1;
let towns = [];
let register = [];

mountTopbar("campaigns");
$("#filter-status").addEventListener("change", () => { page = 1; loadList(); });
$("#campaigns-prev").addEventListener("click", () => { page -= 1; loadList(); });
$("#campaigns-next").addEventListener("click", () => { page += 1; loadList(); });
$("#add-quota").addEventListener("click", () => addQuotaRow());
$("#add-conflict").addEventListener("click", () => addConflictRow());
$("#campaign-form").addEventListener("submit", submit);
loadList();
buildForm();

async function loadList() {
  const rows = $("#campaign-rows");
  try {
    const answer = await get("/api/v1/campaigns", { status: $("#filter-status").value, page,
                                                    size: PAGE_SIZE });
    const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
    $("#campaigns-page").textContent = t("campaigns.page", { page, pages, total: answer.total });
    $("#campaigns-prev").disabled = page <= 1;
    $("#campaigns-next").disabled = page >= pages;
    if (!answer.items.length) {
      fill(rows, h("tr", {}, h("td", { colspan: 6 }, message("info", t("campaigns.none")))));
      return;
    }
    const zone = await timeZone();
    fill(rows, answer.items.map((c) => h("tr", { dataset: { campaignId: c.campaign_id } },
      h("td", {}, h("a", { href: "/app/campaign.html?id=" + encodeURIComponent(c.campaign_id) },
                    c.name)),
      h("td", {}, c.legal_basis),
      h("td", {}, `${c.period_start} – ${c.period_end}`),
      h("td", { class: "num" }, String(c.targets)),
      h("td", {}, campaignStatus(c.status)),
      h("td", {}, timeIn(c.opened_at, zone), h("br"), h("small", {}, c.opened_by)))));
  } catch (err) {
    fill(rows, h("tr", {}, h("td", { colspan: 6 }, errorMessage(err))));
  }
}

async function buildForm() {
  const today = dayIn(Date.now(), await timeZone());
  fill($("#campaign-fields"),
    field(t("campaigns.name"), "name", h("input", { type: "text", required: true,
                                                    placeholder: t("campaigns.name_example") })),
    field(t("campaigns.legal_basis"), "legal_basis", h("input", {
      type: "text", required: true, placeholder: t("campaigns.legal_basis_example") })),
    field(t("campaigns.period_start"), "period_start", h("input", { type: "date", value: today,
                                                                  required: true })),
    field(t("campaigns.period_end"), "period_end", h("input", { type: "date", required: true })),
    field(t("campaigns.targets"), "targets", h("input", { type: "number", min: 1, step: 1,
                                                        required: true })),
    field(t("campaigns.per_target"), "per_target",
          h("input", { type: "number", min: 2, step: 1, value: 2 })));
  try {
    const enterprises = await all("/api/v1/enterprises", {}, 100000);
    towns = [...new Set(enterprises.map((e) => e.town).filter(Boolean))].sort();
    const byTown = [...enterprises].sort((a, b) => (a.town || "").localeCompare(b.town || "")
                                                   || a.name.localeCompare(b.name));
    register = byTown;
    fill($("#mandatory-field"), field(t("campaigns.mandatory"), "mandatory",
      h("select", { multiple: true, size: Math.min(8, Math.max(3, byTown.length)) },
        byTown.map((e) => h("option", { value: e.id }, `${e.name} · ${e.town}`))),
      { hint: t("campaigns.mandatory_hint") }));
  } catch (err) {
    fill($("#mandatory-field"), errorMessage(err));
  }
}

function addQuotaRow(town = "", quota = "") {
  const index = $("#quota-rows").children.length;
  const row = h("div", { class: "quota-row", dataset: { row: String(index) } },
    h("div", {}, h("label", { for: `quota-town-${index}` }, t("campaigns.town")),
      h("input", { type: "text", id: `quota-town-${index}`, class: "quota-town", value: town,
                   list: "town-names" })),
    h("div", {}, h("label", { for: `quota-count-${index}` }, t("campaigns.quota")),
      h("input", { type: "number", id: `quota-count-${index}`, class: "quota-count", min: 0,
                   step: 1, value: quota })),
    h("button", { type: "button", class: "small", onclick: () => row.remove() }, t("campaigns.remove")));
  if (!$("#town-names")) {
    document.body.append(h("datalist", { id: "town-names" },
                           towns.map((name) => h("option", { value: name }))));
  }
  $("#quota-rows").append(row);
  return row;
}

// A conflict: the inspector (a username), the enterprise, why. Its error box
// is numbered as the API numbers the list it was sent in (renumbered on submit).
function addConflictRow() {
  const index = $("#conflict-rows").children.length;
  const row = h("div", { class: "conflict-row" },
    h("div", {}, h("label", { for: `conflict-inspector-${index}` }, t("campaigns.inspector")),
      h("input", { type: "text", id: `conflict-inspector-${index}`, class: "conflict-inspector" })),
    h("div", {}, h("label", { for: `conflict-enterprise-${index}` }, t("campaigns.enterprise")),
      h("select", { id: `conflict-enterprise-${index}`, class: "conflict-enterprise" },
        register.map((e) => h("option", { value: e.id }, `${e.name} · ${e.town}`)))),
    h("div", {}, h("label", { for: `conflict-reason-${index}` }, t("campaigns.reason")),
      h("input", { type: "text", id: `conflict-reason-${index}`, class: "conflict-reason",
                   placeholder: t("campaigns.reason_example") })),
    h("button", { type: "button", class: "small", onclick: () => row.remove() }, t("campaigns.remove")),
    h("div", { class: "field-error conflict-error" }));
  $("#conflict-rows").append(row);
  return row;
}

function integer(text) {
  // a whole number as typed; anything else goes to the API as it is, to be refused by name
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim();
}

function body(form) {
  const quotas = {};
  for (const row of $("#quota-rows").children) {
    const town = row.querySelector(".quota-town").value.trim();
    const count = row.querySelector(".quota-count").value;
    if (town || count) quotas[town] = integer(count);
  }
  const answer = {
    name: form.name.value.trim(), legal_basis: form.legal_basis.value.trim(),
    period_start: form.period_start.value, period_end: form.period_end.value,
    targets: integer(form.targets.value), per_target: integer(form.per_target.value || "2"),
    mandatory: form.mandatory ? [...form.mandatory.selectedOptions].map((o) => o.value) : [],
  };
  if (Object.keys(quotas).length) answer.quotas = quotas;
  answer.conflicts = [...$("#conflict-rows").children].map((row, n) => {
    row.querySelector(".conflict-error").dataset.errorFor = `conflicts.${n}`;
    return { inspector: row.querySelector(".conflict-inspector").value.trim(),
             enterprise_id: row.querySelector(".conflict-enterprise").value,
             reason: row.querySelector(".conflict-reason").value.trim() };
  });
  return answer;
}

async function submit(event) {
  event.preventDefault();
  const form = $("#campaign-form");
  const button = $("#campaign-submit");
  button.disabled = true;
  fill($("#campaign-message"));
  showFieldErrors(form, {});
  try {
    const opened = await post("/api/v1/campaigns", body(form.elements));
    location.assign("/app/campaign.html?id=" + encodeURIComponent(opened.campaign_id));
  } catch (err) {
    button.disabled = false;
    fill($("#campaign-message"), errorMessage(err));
    showFieldErrors(form, err.fields);
  }
}
