// One case: citations (clause, class, proposed and imposed fines, abatement
// day, abated or not, the hazards cited), the penalty decision, payments and
// balance, the history with actor and time. The authority's inspectors and
// admins get the forms an enforcement officer uses; everyone else (the
// enterprise's own accounts, officers) reads it only.
import { account, all, get, post } from "./api.js";
import { timeZone } from "./deployment.js";
import { CASE_EVENTS, OUTCOMES, caseStatus } from "./enforcement.js";
import { mayEnforce } from "./roles.js";
import { $, amount, dateTime, dayIn, errorMessage, field, fill, h, levelBadge, message,
         mountTopbar, showFieldErrors } from "./ui.js";

const caseId = new URLSearchParams(location.search).get("id");
const path = "/api/v1/cases/" + encodeURIComponent(caseId || "");
const state = { zone: "Asia/Shanghai", enterprise: null, hazards: new Map(), case: null,
                classes: [] };

mountTopbar("cases");
main().catch((err) => fill($("#status"), errorMessage(err)));

async function main() {
  if (!caseId) {
    fill($("#status"), message("error", "缺少案件编号 · No case given (?id=)."));
    return;
  }
  state.zone = await timeZone();
  // the deployment's configured classes (ENFORCEMENT_VIOLATION_CLASSES), in their order
  state.classes = (await get("/api/v1/violation-classes")).classes;
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

function inForce(found) {
  return found.citations.filter((c) => !c.withdrawn);
}

function drawHeader(found) {
  const name = state.enterprise ? state.enterprise.name : found.enterprise_id;
  fill($("#case-title"), "执法案件 ", h("span", { id: "case-enterprise" }, name), " ",
       caseStatus(found));
  fill($("#case-facts"),
    h("div", {}, state.enterprise ? `${state.enterprise.town} · ${state.enterprise.industry} · `
                                  : "",
      h("a", { href: "/app/enterprise.html?enterprise=" + encodeURIComponent(found.enterprise_id) },
        "企业概况 enterprise dashboard")),
    h("div", {}, `立案 opened ${dateTime(found.opened_at)} · ${found.opened_by} · 币种 currency ` +
                 `${found.currency} · 检查记录 inspection ${found.inspection_id}`),
    found.campaign_id && mayEnforce(account())
      ? h("div", {}, h("a", { href: "/app/campaign.html?id=" + encodeURIComponent(found.campaign_id) },
                       "执法检查计划 the campaign")) : null,
    found.source ? h("div", {}, `导入 imported from ${found.source.system} ${found.source.ref}`)
                 : null,
    found.closed_at ? h("div", {}, `结案 closed ${dateTime(found.closed_at)} · ${found.closed_by}` +
                                   ` · ${found.outcome_label}` +
                                   (found.close_note ? ` · ${found.close_note}` : "")) : null);
}

function drawTotals(found) {
  const tile = (key, label) => h("div", { class: "tile", dataset: { total: key } },
    h("div", { class: "value" }, found.totals[key]),
    h("div", { class: "label" }, `${label} (${found.currency})`));
  fill($("#totals"), tile("proposed", "拟罚款 proposed"), tile("imposed", "决定罚款 imposed"),
       tile("paid", "已缴 paid"), tile("balance", "未缴 balance"));
}

function hazardText(id) {
  const hazard = state.hazards.get(id);
  if (!hazard) return h("code", {}, id);
  return h("span", { dataset: { hazardId: id } }, levelBadge(hazard.level),
           ` ${hazard.category}: ${hazard.description.split("\n")[0]}`);
}

function drawCitations(found) {
  if (!found.citations.length) {
    fill($("#citations-body"), message("info", "尚未认定违法行为 · No citation yet."));
    return;
  }
  const today = dayIn(Date.now(), state.zone);
  fill($("#citations-body"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["条款 Clause", "类别 Class", "描述 Description",
                                "拟罚 Proposed", "决定 Imposed", "整改期限 Abatement",
                                "整改 Abated", "隐患 Hazards"].map((t) => h("th", {}, t)))),
    h("tbody", {}, found.citations.map((c) => h("tr", {
      class: "citation" + (c.withdrawn ? " withdrawn" : ""),
      dataset: { citationId: c.citation_id } },
      h("td", { class: "clause" }, c.clause),
      h("td", { class: "class" }, c.violation_class_label),
      h("td", {}, c.description,
        c.withdrawn ? h("div", {}, h("span", { class: "badge" }, "已撤销 withdrawn"),
                        " " + (c.withdrawn_reason || "")) : null),
      h("td", { class: "num money proposed" }, amount(c.fine_proposed, found.currency)),
      h("td", { class: "num money imposed" }, c.withdrawn || (c.fine_imposed === null && !found.decided_at)
        ? "–" : amount(c.fine_imposed, found.currency)),
      h("td", {}, c.abatement_date || "–"),
      h("td", { class: "abated" }, c.withdrawn ? "–" : c.abated
        ? h("span", { class: "badge pass" }, `已整改 abated ${dateTime(c.abated_at)}`)
        : (c.abatement_date && c.abatement_date < today && !c.withdrawn
          ? h("span", { class: "badge overdue" }, "逾期未整改 overdue")
          : h("span", { class: "badge" }, "未整改 not abated"))),
      h("td", {}, c.hazard_ids.length ? h("ul", { class: "factors" },
        c.hazard_ids.map((id) => h("li", {}, hazardText(id)))) : "–")))))));
}

function drawDecision(found) {
  fill($("#decision-body"), found.decided_at
    ? [h("p", {}, `${dateTime(found.decided_at)} · ${found.decided_by}`),
       h("p", {}, "决定罚款合计 imposed in total: ",
         h("strong", { id: "imposed-total" }, amount(found.totals.imposed, found.currency)))]
    : message("info", "尚未作出处罚决定 · No penalty decided yet."));
}

function drawPayments(found) {
  fill($("#payments-body"),
    found.payments.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["金额 Amount", "缴款日 Paid on", "票据号 Reference",
                                  "登记 Recorded by"].map((t) => h("th", {}, t)))),
      h("tbody", {}, found.payments.map((p) => h("tr", { class: "payment" },
        h("td", { class: "num money" }, amount(p.amount, found.currency)), h("td", {}, p.paid_on),
        h("td", {}, p.reference), h("td", {}, p.recorded_by))))))
      : message("info", "尚无缴款 · No payment yet."),
    h("p", {}, "未缴余额 balance: ",
      h("strong", { id: "balance" }, amount(found.totals.balance, found.currency))));
}

function drawHistory(found) {
  fill($("#history-body"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["时间 When", "事项 What", "经办 Who"].map((t) => h("th", {}, t)))),
    h("tbody", {}, found.history.map((step) => h("tr", { class: "step",
                                                         dataset: { event: step.event } },
      h("td", {}, dateTime(step.at)), h("td", {}, CASE_EVENTS[step.event] || step.event),
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
  }), "违法行为已认定 · Citation issued.", "尚可在作出处罚决定前认定 · citations are issued " +
      "before the penalty is decided");
  form("withdraw", open && citable.length > 0, () => [
    field("违法行为 Citation", "citation_id", h("select", {}, citable.map((c) =>
      h("option", { value: c.citation_id }, `${c.clause} · ${c.description.slice(0, 40)}`)))),
    field("撤销理由 Reason", "reason", h("textarea", { required: true })),
  ], (elements) => post(`${path}/citations/${encodeURIComponent(elements.citation_id.value)}` +
                        "/withdrawal", { reason: elements.reason.value.trim() }),
  "违法行为已撤销 · Citation withdrawn.", "处罚决定前、有在案违法行为时可撤销 · before the " +
  "penalty, while a citation is in force");
  form("penalty", open && citable.length > 0, () => [
    h("p", { class: "muted" }, "每项违法行为的决定罚款不得高于拟罚款 · a fine imposed is never " +
                               "above the one proposed"),
    citable.map((c, n) => field(`${c.clause} · ${c.violation_class_label}（拟罚 ` +
                                `${amount(c.fine_proposed, found.currency)}）`,
                                `fines.${n}.fine_imposed`,
                                h("input", { type: "text", inputmode: "decimal",
                                             class: "fine-imposed", value: c.fine_proposed || "",
                                             dataset: { citationId: c.citation_id } }))),
    h("div", { class: "field-error", dataset: { errorFor: "fines" } }),
  ], () => post(path + "/penalty", { fines: [...document.querySelectorAll("#penalty .fine-imposed")]
    .map((input) => ({ citation_id: input.dataset.citationId,
                       fine_imposed: input.value.trim() })) }),
  "处罚决定已作出 · Penalty decided.", "立案且有在案违法行为时 · an open case with citations in force");
  form("pay", found.status === "penalty_decided", () => [
    field(`金额 Amount (${found.currency})`, "amount", h("input", {
      type: "text", inputmode: "decimal", value: found.totals.balance })),
    field("缴款日 Paid on", "paid_on", h("input", { type: "date",
                                                    value: dayIn(Date.now(), state.zone) })),
    field("票据号 Reference", "reference", h("input", { type: "text", required: true })),
  ], (elements) => post(path + "/payments", {
    amount: elements.amount.value.trim(), paid_on: elements.paid_on.value,
    reference: elements.reference.value.trim() }),
  "缴款已登记 · Payment recorded.", "作出处罚决定后 · after the penalty decision");
  form("close", true, () => [
    field("结案方式 Outcome", "outcome", h("select", {}, OUTCOMES.map(([key, label]) =>
      h("option", { value: key, selected: key === suggestedOutcome(found) }, label)))),
    field("说明 Note", "note", h("textarea", {}), { hint: "终结时必填 · required to terminate" }),
  ], (elements) => post(path + "/close", { outcome: elements.outcome.value,
                                           note: elements.note.value.trim() }),
  "已结案 · Case closed.");
}

function suggestedOutcome(found) {
  if (found.status === "paid") return "paid";
  if (found.status === "penalty_decided") return "terminated";
  return found.decided_at ? "terminated" : "no_penalty";
}

function citationForm() {
  const hazards = [...state.hazards.values()].slice(0, 50);
  return [
    field("违反条款 Legal clause", "clause", h("input", {
      type: "text", required: true, placeholder: "《安全生产法》第九十九条" })),
    field("违法类别 Violation class", "violation_class", h("select", {}, state.classes.map(
      (kind) => h("option", { value: kind.key }, `${kind.zh} ${kind.en}`)))),
    field("违法事实 Description", "description", h("textarea", { required: true })),
    field(`拟罚款 Fine proposed (${state.case.currency})`, "fine_proposed", h("input", {
      type: "text", inputmode: "decimal", placeholder: "30000.00" }),
          { hint: "元，最多两位小数 · a decimal, at most two decimals" }),
    field("整改期限 Abatement date", "abatement_date", h("input", { type: "date" })),
    h("fieldset", { class: "hazard-choice" }, h("legend", {}, "关联隐患 Hazards cited"),
      hazards.length ? hazards.map((hazard) => h("label", { class: "check" },
        h("input", { type: "checkbox", class: "hazard", value: hazard.id,
                     id: "cite-hazard-" + hazard.id }),
        " ", levelBadge(hazard.level), ` ${hazard.category}: ${hazard.description.split("\n")[0]}`,
        hazard.source_inspection_id === state.case.inspection_id
          ? h("small", {}, " · 本次检查 this inspection") : null))
        : h("small", {}, "该企业无隐患记录 · the enterprise has no hazard"),
      h("div", { class: "field-error", dataset: { errorFor: "hazard_ids" } })),
  ];
}

// One officer's form in its section: fields, a submit, the API's reasons per
// field; `when` false shows why it is not available now instead.
function form(id, when, fields, send, done, unavailable) {
  const box = $(`#${id} .body`);
  if (!when) {
    fill(box, h("p", { class: "muted" }, unavailable || "现在不可用 · not available now"));
    return;
  }
  const result = h("div", { class: "form-message" });
  const submit = h("button", { type: "submit", class: "primary", id: `${id}-submit` },
                   $(`#${id}-title`).firstChild.textContent.trim());
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
