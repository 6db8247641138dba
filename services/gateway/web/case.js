// One case: citations (clause, class, proposed and imposed fines, abatement
// day, abated or not, the hazards cited), the penalty decision, payments and
// balance, the history with actor and time. The authority's inspectors and
// admins get the forms an enforcement officer uses; everyone else (the
// enterprise's own accounts, officers) reads it only.
import { account, all, get, post } from "./api.js";
import { t } from "./i18n.js";
import { timeZone } from "./deployment.js";
import { OUTCOMES, caseEvent, caseStatus, outcomeChoice } from "./enforcement.js";
import { mayEnforce } from "./roles.js";
import { $, amount, dayIn, errorMessage, field, fill, h, labelOf, levelBadge, message,
         mountTopbar, showFieldErrors, timeIn } from "./ui.js";
import { categoryNamer, labelIn, violationClasses } from "./taxonomy.js";

const caseId = new URLSearchParams(location.search).get("id");
const path = "/api/v1/cases/" + encodeURIComponent(caseId || "");
const state = { zone: "Asia/Shanghai", enterprise: null, hazards: new Map(), case: null,
                classes: [], categoryName: (value) => value };

mountTopbar("cases");
main().catch((err) => fill($("#status"), errorMessage(err)));

async function main() {
  if (!caseId) {
    fill($("#status"), message("error", t("case.no_id")));
    return;
  }
  // the deployment's configured classes (ENFORCEMENT_VIOLATION_CLASSES), in their order
  [state.zone, state.classes, state.categoryName] = await Promise.all([
    timeZone(), violationClasses(), categoryNamer()]);
  const found = await get(path);
  const [enterprise, hazards] = await Promise.allSettled([
    get("/api/v1/enterprises/" + encodeURIComponent(found.enterprise_id)),
    all("/api/v1/hazards", { enterprise_id: found.enterprise_id, sort: "-found_at" }, 200)]);
  if (enterprise.status === "fulfilled") state.enterprise = enterprise.value;
  if (hazards.status === "fulfilled") {
    // the hazards the case's inspection raised first: those are what an officer cites
    const ordered = [...hazards.value].sort((a, b) =>
      (b.source_inspection_id === found.inspection_id) - (a.source_inspection_id ===
                                                           found.inspection_id));
    state.hazards = new Map(ordered.map((hazard) => [hazard.id, hazard]));
  }
  show(found);
}

function show(found) {
  state.case = found;
  fill($("#status"));
  $("#case").hidden = false;
  $("#case").dataset.status = found.status;
  drawHeader(found);
  drawTotals(found);
  drawCitations(found);
  drawDecision(found);
  drawPayments(found);
  drawHistory(found);
  drawForms(found);
}

async function reload(note) {
  show(await get(path));
  fill($("#action-message"), note ? message("ok", note) : null);
}

// A citation's class in the reader's language (the API's label where the class is not configured).
function classLabel(citation) {
  const kind = state.classes.find((entry) => entry.key === citation.violation_class);
  return kind ? labelIn(kind) : citation.violation_class_label;
}

function inForce(found) {
  return found.citations.filter((c) => !c.withdrawn);
}

function drawHeader(found) {
  const name = state.enterprise ? state.enterprise.name : found.enterprise_id;
  fill($("#case-title"), t("case.title"), " ", h("span", { id: "case-enterprise" }, name), " ",
       caseStatus(found));
  fill($("#case-facts"),
    h("div", {}, state.enterprise ? `${state.enterprise.town} · ${state.enterprise.industry} · `
                                  : "",
      h("a", { href: "/app/enterprise.html?enterprise=" + encodeURIComponent(found.enterprise_id) },
        t("case.dashboard"))),
    h("div", {}, t("case.opened_line", { at: timeIn(found.opened_at, state.zone),
                                         by: found.opened_by,
                                         currency: found.currency,
                                         inspection: found.inspection_id })),
    found.campaign_id && mayEnforce(account())
      ? h("div", {}, h("a", { href: "/app/campaign.html?id=" + encodeURIComponent(found.campaign_id) },
                       t("case.the_campaign"))) : null,
    found.source ? h("div", {}, t("case.imported", { system: found.source.system,
                                                     ref: found.source.ref })) : null,
    found.closed_at ? h("div", {}, t("case.closed_line", {
      at: timeIn(found.closed_at, state.zone), by: found.closed_by,
      outcome: labelOf("enforcement.outcome", found.outcome) }) +
      (found.close_note ? ` · ${found.close_note}` : "")) : null);
}

function drawTotals(found) {
  const tile = (key) => h("div", { class: "tile", dataset: { total: key } },
    h("div", { class: "value" }, found.totals[key]),
    h("div", { class: "label" }, t("case.total_label", { label: t("case.total." + key),
                                                          currency: found.currency })));
  fill($("#totals"), ["proposed", "imposed", "paid", "balance"].map(tile));
}

function hazardText(id) {
  const hazard = state.hazards.get(id);
  if (!hazard) return h("code", {}, id);
  return h("span", { dataset: { hazardId: id } }, levelBadge(hazard.level),
           ` ${state.categoryName(hazard.category)}: ${hazard.description.split("\n")[0]}`);
}

function drawCitations(found) {
  if (!found.citations.length) {
    fill($("#citations-body"), message("info", t("case.no_citation")));
    return;
  }
  const today = dayIn(Date.now(), state.zone);
  fill($("#citations-body"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["clause", "class", "description", "proposed", "imposed",
                                "abatement", "abated", "hazards"].map(
      (name) => h("th", {}, t("case.col." + name))))),
    h("tbody", {}, found.citations.map((c) => h("tr", {
      class: "citation" + (c.withdrawn ? " withdrawn" : ""),
      dataset: { citationId: c.citation_id } },
      h("td", { class: "clause" }, c.clause),
      h("td", { class: "class" }, classLabel(c)),
      h("td", {}, c.description,
        c.withdrawn ? h("div", {}, h("span", { class: "badge" }, t("case.withdrawn")),
                        " " + (c.withdrawn_reason || "")) : null),
      h("td", { class: "num money proposed" }, amount(c.fine_proposed, found.currency)),
      h("td", { class: "num money imposed" }, c.withdrawn || (c.fine_imposed === null && !found.decided_at)
        ? "–" : amount(c.fine_imposed, found.currency)),
      h("td", {}, c.abatement_date || "–"),
      h("td", { class: "abated" }, c.withdrawn ? "–" : c.abated
        ? h("span", { class: "badge pass" },
            t("case.abated", { at: timeIn(c.abated_at, state.zone) }))
        : (c.abatement_date && c.abatement_date < today && !c.withdrawn
          ? h("span", { class: "badge overdue" }, t("case.abatement_overdue"))
          : h("span", { class: "badge" }, t("case.not_abated")))),
      h("td", {}, c.hazard_ids.length ? h("ul", { class: "factors" },
        c.hazard_ids.map((id) => h("li", {}, hazardText(id)))) : "–")))))));
}

function drawDecision(found) {
  fill($("#decision-body"), found.decided_at
    ? [h("p", {}, `${timeIn(found.decided_at, state.zone)} · ${found.decided_by}`),
       h("p", {}, t("case.imposed_total"),
         h("strong", { id: "imposed-total" }, amount(found.totals.imposed, found.currency)))]
    : message("info", t("case.no_penalty")));
}

function drawPayments(found) {
  fill($("#payments-body"),
    found.payments.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["amount", "paid_on", "reference", "recorded_by"].map(
        (name) => h("th", {}, t("case.col." + name))))),
      h("tbody", {}, found.payments.map((p) => h("tr", { class: "payment" },
        h("td", { class: "num money" }, amount(p.amount, found.currency)), h("td", {}, p.paid_on),
        h("td", {}, p.reference), h("td", {}, p.recorded_by))))))
      : message("info", t("case.no_payment")),
    h("p", {}, t("case.balance"),
      h("strong", { id: "balance" }, amount(found.totals.balance, found.currency))));
}

function drawHistory(found) {
  fill($("#history-body"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["when", "what", "who"].map(
      (name) => h("th", {}, t("case.col." + name))))),
    h("tbody", {}, found.history.map((step) => h("tr", { class: "step",
                                                         dataset: { event: step.event } },
      h("td", {}, timeIn(step.at, state.zone)), h("td", {}, caseEvent(step.event)),
      h("td", { class: "actor" }, step.actor)))))));
}

// --- the officer's forms ------------------------------------------------------------------
function drawForms(found) {
  const officer = mayEnforce(account()) && found.status !== "closed";
  $("#officer-forms").hidden = !officer;
  if (!officer) return;
  const open = found.status === "open";
  const citable = inForce(found);
  form("cite", open, citationForm, (elements) => post(path + "/citations", {
    clause: elements.clause.value.trim(), violation_class: elements.violation_class.value,
    description: elements.description.value.trim(),
    fine_proposed: elements.fine_proposed.value.trim(),
    abatement_date: elements.abatement_date.value || null,
    hazard_ids: [...document.querySelectorAll("#cite input.hazard:checked")].map((i) => i.value),
  }), t("case.cited"), t("case.cite_unavailable"));
  form("withdraw", open && citable.length > 0, () => [
    field(t("case.citation"), "citation_id", h("select", {}, citable.map((c) =>
      h("option", { value: c.citation_id }, `${c.clause} · ${c.description.slice(0, 40)}`)))),
    field(t("case.withdraw_reason"), "reason", h("textarea", { required: true })),
  ], (elements) => post(`${path}/citations/${encodeURIComponent(elements.citation_id.value)}` +
                        "/withdrawal", { reason: elements.reason.value.trim() }),
  t("case.withdrawn_done"), t("case.withdraw_unavailable"));
  form("penalty", open && citable.length > 0, () => [
    h("p", { class: "muted" }, t("case.penalty_rule")),
    citable.map((c, n) => field(t("case.fine_field", {
      clause: c.clause, kind: classLabel(c), proposed: amount(c.fine_proposed, found.currency) }),
                                `fines.${n}.fine_imposed`,
                                h("input", { type: "text", inputmode: "decimal",
                                             class: "fine-imposed", value: c.fine_proposed || "",
                                             dataset: { citationId: c.citation_id } }))),
    h("div", { class: "field-error", dataset: { errorFor: "fines" } }),
  ], () => post(path + "/penalty", { fines: [...document.querySelectorAll("#penalty .fine-imposed")]
    .map((input) => ({ citation_id: input.dataset.citationId,
                       fine_imposed: input.value.trim() })) }),
  t("case.decided"), t("case.penalty_unavailable"));
  form("pay", found.status === "penalty_decided", () => [
    field(t("case.amount", { currency: found.currency }), "amount", h("input", {
      type: "text", inputmode: "decimal", value: found.totals.balance })),
    field(t("case.paid_on"), "paid_on", h("input", { type: "date",
                                                    value: dayIn(Date.now(), state.zone) })),
    field(t("case.reference"), "reference", h("input", { type: "text", required: true })),
  ], (elements) => post(path + "/payments", {
    amount: elements.amount.value.trim(), paid_on: elements.paid_on.value,
    reference: elements.reference.value.trim() }),
  t("case.paid"), t("case.pay_unavailable"));
  form("close", true, () => [
    field(t("case.outcome"), "outcome", h("select", {}, OUTCOMES.map((key) =>
      h("option", { value: key, selected: key === suggestedOutcome(found) }, outcomeChoice(key))))),
    field(t("case.note"), "note", h("textarea", {}), { hint: t("case.note_hint") }),
  ], (elements) => post(path + "/close", { outcome: elements.outcome.value,
                                           note: elements.note.value.trim() }),
  t("case.closed"));
}

function suggestedOutcome(found) {
  if (found.status === "paid") return "paid";
  if (found.status === "penalty_decided") return "terminated";
  return found.decided_at ? "terminated" : "no_penalty";
}

function citationForm() {
  const hazards = [...state.hazards.values()].slice(0, 50);
  return [
    field(t("case.clause"), "clause", h("input", {
      type: "text", required: true, placeholder: t("case.clause_example") })),
    field(t("case.violation_class"), "violation_class", h("select", {}, state.classes.map(
      (kind) => h("option", { value: kind.key }, labelIn(kind))))),
    field(t("case.description"), "description", h("textarea", { required: true })),
    field(t("case.fine_proposed", { currency: state.case.currency }), "fine_proposed", h("input", {
      type: "text", inputmode: "decimal", placeholder: "30000.00" }),
          { hint: t("case.fine_hint") }),
    field(t("case.abatement_date"), "abatement_date", h("input", { type: "date" })),
    h("fieldset", { class: "hazard-choice" }, h("legend", {}, t("case.hazards_cited")),
      hazards.length ? hazards.map((hazard) => h("label", { class: "check" },
        h("input", { type: "checkbox", class: "hazard", value: hazard.id,
                     id: "cite-hazard-" + hazard.id }),
        " ", levelBadge(hazard.level),
        ` ${state.categoryName(hazard.category)}: ${hazard.description.split("\n")[0]}`,
        hazard.source_inspection_id === state.case.inspection_id
          ? h("small", {}, t("case.this_inspection")) : null))
        : h("small", {}, t("case.no_hazard")),
      h("div", { class: "field-error", dataset: { errorFor: "hazard_ids" } })),
  ];
}

// One officer's form in its section: fields, a submit, the API's reasons per
// field; `when` false shows why it is not available now instead.
function form(id, when, fields, send, done, unavailable) {
  const box = $(`#${id} .body`);
  if (!when) {
    fill(box, h("p", { class: "muted" }, unavailable || t("case.not_available")));
    return;
  }
  const result = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "primary", id: `${id}-submit` },
                   t("case." + id));
  const element = h("form", { id: `${id}-form`, novalidate: true }, fields(), result,
                    h("div", { class: "actions" }, submit));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    fill(result);
    showFieldErrors(element, {});
    try {
      await send(element.elements);
      await reload(done);
    } catch (err) {
      submit.disabled = false;
      fill(result, errorMessage(err));
      showFieldErrors(element, err.fields);
    }
  });
  fill(box, element);
}
