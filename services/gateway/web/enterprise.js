// The enterprise dashboard: score and grade with each indicator, the latest
// management notice, hazard counts, open hazards with the plan and
// rectification forms, the ledger with its exports, the notices inbox.
// The enterprise is the account's, or ?enterprise=<id> (authority users, or
// before logging in is required).
import { ApiError, account, actorName, all, download, get, me, post, rememberName,
         upload } from "./api.js";
import { categoryLabel, categoryLabels } from "./category-label.js";
import { timeZone } from "./deployment.js";
import { language, t } from "./i18n.js";
import { $, date, errorMessage, fill, gradeBadge, h, hazardLink, labelOf, levelBadge,
         listedTable, message, mountTopbar, statusBadge, timeIn } from "./ui.js";

const LEDGER_SIZE = 20;
const NOTICES_SIZE = 10;
const MANAGEMENT_KINDS = ["grade", "monthly"];

const state = { enterprise: null, ledgerPage: 1, noticesPage: 1, hazards: new Map(),
                categories: new Map(), zone: "Asia/Shanghai" };

function category(hazard) {
  return categoryLabel(state.categories, hazard.category);
}

mountTopbar("enterprise");
main().catch((err) => fill($("#status"), errorMessage(err)));

async function main() {
  let enterpriseId = new URLSearchParams(location.search).get("enterprise");
  if (!enterpriseId) {
    const who = await me();
    enterpriseId = who && who.enterprise_id;
  }
  if (!enterpriseId) {
    await showPicker();
    return;
  }
  try {
    state.enterprise = await get("/api/v1/enterprises/" + encodeURIComponent(enterpriseId));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      fill($("#status"), message("error", t("enterprise.no_such_enterprise")));
      await showPicker();
      return;
    }
    throw err;
  }
  const e = state.enterprise;
  document.title = t("enterprise.page_title_of", { name: e.name });
  $("#enterprise-name").textContent = e.name;
  $("#report-link").href = "/app/report.html?enterprise=" + encodeURIComponent(e.id);
  $("#enterprise-facts").textContent = [e.industry, e.town, t("enterprise.grid", { grid: e.grid }),
                                        e.credit_code,
                                        e.employees ? t("enterprise.employees", { n: e.employees })
                                                    : null]
    .filter(Boolean).join(" · ");
  fill($("#status"));
  $("#dashboard").hidden = false;
  [state.categories, state.zone] = await Promise.all([categoryLabels(), timeZone()]);
  await Promise.all([loadScore(), loadManagementNotice(), refreshHazards(), loadNotices()]);
}

async function showPicker() {
  const enterprises = (await all("/api/v1/enterprises", { sort: "name" }, 100000))
    .sort((a, b) => a.name.localeCompare(b.name));
  fill($("#picker-rows"), enterprises.map((e) => h("tr", {},
    h("td", {}, h("a", { href: "?enterprise=" + encodeURIComponent(e.id) }, e.name)),
    h("td", {}, e.industry), h("td", {}, e.town), h("td", {}, e.grid))));
  $("#picker").hidden = false;
  if (!$("#status .message")) fill($("#status"));
}

// --- score ---------------------------------------------------------------------------
async function loadScore() {
  const box = $("#score-body");
  let score;
  try {
    score = await get(`/api/v1/enterprises/${state.enterprise.id}/score`);
  } catch (err) {
    fill(box, err.status === 404 ? message("info", t("enterprise.no_score"))
                                 : errorMessage(err));
    return;
  }
  fill(box,
    h("div", { class: "score-head" },
      gradeBadge(score.grade, true),
      h("div", {},
        h("div", { class: "points", id: "points" }, score.points, h("small", {}, " / 10")),
        h("small", {}, t("enterprise.score_facts", { grade: score.grade, from: score.window_start,
                                                     to: score.window_end,
                                                     rules: score.rule_version })))),
    h("div", { id: "indicators" }, score.indicators.map(indicator)));
}

function indicator(item) {
  const share = Number(item.max_points) ? 100 * Number(item.points) / Number(item.max_points)
                                        : 0;
  return h("div", { class: "indicator", dataset: { key: item.key } },
    h("div", {}, inLanguage(item, "title")),
    h("div", { class: "num" }, h("strong", {}, item.points), " / " + item.max_points),
    h("div", { class: "bar", title: `${Math.round(share)}%` },
      h("span", { style: `width:${share}%` })),
    Number(item.missing_points) > 0 && item.to_gain
      ? h("div", { class: "advice" }, inLanguage(item, "to_gain")) : null,
    // points taken off for findings elsewhere (rule set 2026.3: citations overdue for abatement)
    ...(item.deductions || []).filter((d) => d.count > 0).map((d) =>
      h("div", { class: "advice deduction", dataset: { key: d.key } }, inLanguage(d, "why"))));
}

// The scoring rules' text in the reader's language: the API gives the
// English one and the others under i18n (i18n.zh.title).
function inLanguage(item, name) {
  const own = item.i18n && item.i18n[language()];
  return (own && own[name]) || item[name];
}

async function loadManagementNotice() {
  const box = $("#notice-body");
  try {
    const inbox = await get(`/api/v1/enterprises/${state.enterprise.id}/notices`, { size: 50 });
    const latest = inbox.items.find((notice) => MANAGEMENT_KINDS.includes(notice.kind));
    fill(box, latest
      ? [h("h3", {}, latest.title),
         h("small", {}, t("enterprise.issued", { when: timeIn(latest.issued_at, state.zone) })),
         h("p", { class: "notice-body" }, latest.body)]
      : message("info", t("enterprise.no_management_notice")));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

// --- hazards ---------------------------------------------------------------------------
async function refreshHazards() {
  await Promise.all([loadCounts(), loadListed(), loadOpenHazards(), loadLedger()]);
}

// Listed supervision: the enterprise's hazards the authority listed.
async function loadListed() {
  const box = $("#listed-body");
  try {
    const listed = await get("/api/v1/hazards", {
      enterprise_id: state.enterprise.id, listed: "true", sort: "listing_deadline", size: 50 });
    fill(box, listedTable({ ...listed, items: listed.items.map((hazard) => (
      { ...hazard, category: category(hazard) })) }, undefined, undefined, state.zone));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

async function loadCounts() {
  const query = { enterprise_id: state.enterprise.id, group_by: "level" };
  try {
    const [all, open] = await Promise.all([
      get("/api/v1/statistics/hazards", query),
      get("/api/v1/statistics/hazards", { ...query, status: "open" })]);
    const majorOpen = (open.groups.find((group) => group.key === "major") || {}).total || 0;
    const tile = (key, label, value, alert) =>
      h("div", { class: "tile" + (alert && value ? " alert" : ""), dataset: { count: key } },
        h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
    fill($("#hazard-counts"),
      tile("open", t("enterprise.count.open"), all.totals.open),
      tile("overdue", t("enterprise.count.overdue"), all.totals.overdue_open, true),
      tile("major-open", t("enterprise.count.major_open"), majorOpen, true),
      tile("submitted", t("enterprise.count.submitted"), all.totals.rectification_submitted),
      tile("closed", t("enterprise.count.closed"), all.totals.closed));
  } catch (err) {
    fill($("#hazard-counts"), errorMessage(err));
  }
}

async function loadOpenHazards() {
  const box = $("#open-body");
  try {
    const open = await get("/api/v1/hazards", { enterprise_id: state.enterprise.id,
                                               status: "open", sort: "rectification_deadline",
                                               size: 50 });
    open.items.forEach((hazard) => state.hazards.set(hazard.id, hazard));
    if (!open.items.length) {
      fill(box, message("ok", t("enterprise.no_open_hazard")));
      return;
    }
    const now = Date.now();
    fill(box, h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["level", "category", "description", "deadline", "plan"]
        .map((name) => h("th", {}, t("enterprise.col." + name))), h("th", {}))),
      h("tbody", {}, open.items.map((hazard) => {
        const late = hazard.overdue || Date.parse(hazard.rectification_deadline) < now;
        const needsPlan = hazard.level === "major" && !hazard.has_plan;
        return h("tr", { class: late ? "late" : "", dataset: { hazardId: hazard.id } },
          h("td", {}, levelBadge(hazard.level)),
          h("td", {}, category(hazard)),
          h("td", {}, hazardLink(hazard, hazard.description),
            hazard.status === "returned"
              ? h("div", {}, h("span", { class: "badge fail" },
                               labelOf("common.status", "returned"))) : null),
          h("td", {}, date(hazard.rectification_deadline),
            late ? h("div", {}, h("span", { class: "badge overdue" }, t("common.overdue")))
                 : null),
          h("td", {}, hazard.level === "major"
            ? t(hazard.has_plan ? "enterprise.plan_recorded" : "enterprise.plan_needed") : "–"),
          h("td", {}, mayWrite() ? h("button", { type: "button", class: "small rectify",
                                                 onclick: () => openRectify(hazard.id) },
                                     t(needsPlan ? "enterprise.record_plan"
                                                 : "enterprise.rectify")) : null));
      })))),
      open.total > open.items.length
        ? h("small", {}, t("enterprise.open_more", { shown: open.items.length,
                                                     total: open.total }))
        : null);
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

// --- plan and rectification ------------------------------------------------------------
function mayWrite() {
  const who = account();
  return !who || who.role !== "integrator";       // integrators only read
}

function field(label, id, input) {
  input.id = id;
  input.name = id;
  return h("div", {}, h("label", { for: id }, label), input,
           h("div", { class: "field-error", id: "error-" + id }));
}

// The ledger shows a description in full: its first line links to the
// hazard's page, the others follow as written.
function moreLines(hazard) {
  const rest = hazard.description.split("\n").slice(1).join("\n").trim();
  return rest ? h("div", { class: "more-lines" }, rest) : null;
}

// "Done at" as the form offers it: now, to the second (a minute's precision
// would put it before a hazard found seconds ago, which the API refuses), a
// few seconds back, but never before the finding (its second rounded up: the
// API allows a few minutes of clock skew ahead, none before the finding).
function doneAtDefault(hazard) {
  const found = hazard ? Math.ceil(Date.parse(hazard.found_at) / 1000) * 1000 : 0;
  const at = new Date(Math.max(Date.now() - 5000, found || 0));
  return new Date(at.getTime() - at.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

function endOfDay(day) {
  return new Date(day + "T23:59:59").toISOString();
}

const FORMS = {
  plan: {
    title: "enterprise.plan.title",
    submit: "enterprise.record_plan",
    fields: () => [
      field(t("enterprise.plan.goal"), "goal", h("textarea", { required: true })),
      field(t("enterprise.plan.measures"), "measures", h("textarea", { required: true })),
      field(t("enterprise.plan.funds"), "funds", h("input", { type: "number", min: 0,
                                                              step: "0.01", required: true })),
      field(t("enterprise.plan.responsible_person"), "responsible_person",
            h("input", { type: "text", value: actorName(), required: true })),
      field(t("enterprise.plan.deadline"), "deadline", h("input", { type: "date",
                                                                    required: true })),
      field(t("enterprise.plan.interim_measures"), "interim_measures",
            h("textarea", { required: true })),
    ],
    body: (form) => ({
      goal: form.goal.value.trim(), measures: form.measures.value.trim(),
      funds: form.funds.value.trim(), responsible_person: form.responsible_person.value.trim(),
      deadline: form.deadline.value ? endOfDay(form.deadline.value) : "",
      interim_measures: form.interim_measures.value.trim(),
    }),
    path: (id) => `/api/v1/hazards/${id}/plan`,
  },
  rectification: {
    title: "enterprise.rectification.title",
    submit: "enterprise.rectification.submit",
    fields: (hazard) => [
      field(t("enterprise.rectification.measures"), "measures",
            h("textarea", { required: true })),
      field(t("enterprise.rectification.done_at"), "done_at",
            h("input", { type: "datetime-local", step: 1, value: doneAtDefault(hazard),
                         required: true })),
      field(t("enterprise.rectification.cost"), "cost", h("input", { type: "number", min: 0,
                                                                     step: "0.01" })),
      field(t("enterprise.rectification.evidence"), "evidence",
            h("input", { type: "file", accept: "image/*,application/pdf",
                         capture: "environment" })),
      field(t("enterprise.rectification.rectified_by"), "rectified_by",
            h("input", { type: "text", value: actorName(), required: true })),
    ],
    body: async (form) => {
      const body = { measures: form.measures.value.trim(),
                     done_at: form.done_at.value ? new Date(form.done_at.value).toISOString()
                                                 : "",
                     rectified_by: form.rectified_by.value.trim(), evidence: [] };
      if (form.cost.value.trim()) body.cost = form.cost.value.trim();
      if (form.evidence.files.length) {
        body.evidence.push((await upload("/api/v1/evidence?enterprise_id=" +
                                         encodeURIComponent(state.enterprise.id),
                                         form.evidence.files[0])).ref);
      }
      rememberName(body.rectified_by);
      return body;
    },
    path: (id) => `/api/v1/hazards/${id}/rectification`,
  },
};

let rectifying = null;     // {hazard, step}

function openRectify(hazardId) {
  const hazard = state.hazards.get(hazardId);
  const step = hazard.level === "major" && !hazard.has_plan ? "plan" : "rectification";
  rectifying = { hazard, step };
  showStep();
  $("#rectify-dialog").showModal();
}

function showStep(note) {
  const { hazard, step } = rectifying;
  const form = FORMS[step];
  $("#rectify-title").textContent = t(form.title);
  fill($("#rectify-hazard"), levelBadge(hazard.level), ` ${category(hazard)}: `,
       hazard.description.split("\n")[0],
       " — " + t("enterprise.rectify_by", { day: date(hazard.rectification_deadline) }));
  fill($("#rectify-fields"), form.fields(hazard));
  fill($("#rectify-message"), note ? message("ok", note) : null);
  $("#rectify-submit").textContent = t(form.submit);
  $("#rectify-submit").disabled = false;
  $("#rectify-dialog").dataset.step = step;
}

$("#rectify-cancel").addEventListener("click", () => $("#rectify-dialog").close());

$("#rectify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { hazard, step } = rectifying;
  const form = event.target.elements;
  const missing = [...$("#rectify-fields").querySelectorAll("[required]")]
    .filter((input) => !input.value.trim());
  document.querySelectorAll("#rectify-fields .field-error").forEach((box) => {
    box.textContent = "";
  });
  if (missing.length) {
    missing.forEach((input) => { $("#error-" + input.id).textContent = t("enterprise.required"); });
    missing[0].focus();
    return;
  }
  $("#rectify-submit").disabled = true;
  try {
    const updated = await post(FORMS[step].path(hazard.id), await FORMS[step].body(form));
    if (step === "plan") {
      rectifying = { hazard: { ...hazard, has_plan: true, plan: updated.plan },
                     step: "rectification" };
      state.hazards.set(hazard.id, rectifying.hazard);
      showStep(t("enterprise.plan_recorded_next"));
      loadOpenHazards();
      return;
    }
    $("#rectify-dialog").close();
    await refreshHazards();
    $("#open-body").prepend(message("ok", t("enterprise.rectification_submitted")));
  } catch (err) {
    $("#rectify-submit").disabled = false;
    fill($("#rectify-message"), errorMessage(err));
    for (const name of Object.keys(err.fields || {})) {
      const box = $("#error-" + name);
      if (box) box.textContent = [].concat(err.fields[name]).join(" ");
    }
  }
});

// --- ledger ----------------------------------------------------------------------------
function ledgerFilters() {
  const form = $("#ledger-filters").elements;
  return {
    enterprise_id: state.enterprise.id, status: form.status.value, level: form.level.value,
    overdue: form.overdue.value, category: form.category.value.trim(),
    from: form.from.value ? form.from.value + "T00:00:00Z" : "",
    to: form.to.value ? form.to.value + "T23:59:59.999999Z" : "",
    sort: form.sort.value,
  };
}

async function loadLedger() {
  const rows = $("#ledger-rows");
  try {
    const page = await get("/api/v1/hazards", { ...ledgerFilters(), page: state.ledgerPage,
                                               size: LEDGER_SIZE });
    page.items.forEach((hazard) => state.hazards.set(hazard.id, hazard));
    fill(rows, page.items.length ? page.items.map((hazard) =>
      h("tr", { class: hazard.overdue && hazard.status !== "closed" ? "late" : "",
                dataset: { hazardId: hazard.id } },
        h("td", {}, date(hazard.found_at)),
        h("td", {}, levelBadge(hazard.level)),
        h("td", {}, category(hazard)),
        h("td", {}, hazardLink(hazard), moreLines(hazard)),
        h("td", {}, statusBadge(hazard),
          hazard.overdue ? h("span", { class: "badge overdue" }, t("common.overdue")) : null),
        h("td", {}, date(hazard.rectification_deadline)),
        h("td", {}, date(hazard.rectified_at))))
      : h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("enterprise.no_match"))));
    const pages = Math.max(1, Math.ceil(page.total / LEDGER_SIZE));
    $("#ledger-page").textContent = t("enterprise.ledger_page", { page: page.page, pages,
                                                                  total: page.total });
    $("#ledger-page").dataset.total = String(page.total);
    $("#ledger-prev").disabled = page.page <= 1;
    $("#ledger-next").disabled = page.page >= pages;
  } catch (err) {
    fill(rows, h("tr", {}, h("td", { colspan: 7 }, errorMessage(err))));
  }
}

$("#ledger-filters").addEventListener("change", () => {
  state.ledgerPage = 1;
  loadLedger();
});
$("#ledger-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.ledgerPage = 1;
  loadLedger();
});
$("#ledger-prev").addEventListener("click", () => {
  state.ledgerPage -= 1;
  loadLedger();
});
$("#ledger-next").addEventListener("click", () => {
  state.ledgerPage += 1;
  loadLedger();
});

async function exportLedger(format) {
  const box = $("#export-message");
  fill(box, h("small", {}, t("enterprise.export_preparing")));
  try {
    await download("/api/v1/hazards/export." + format, ledgerFilters(),
                   `hazards-${date(new Date().toISOString())}.${format}`);
    fill(box, h("small", { class: "exported" }, t("enterprise.export_done",
                                                  { file: "hazards." + format })));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

$("#export-csv").addEventListener("click", () => exportLedger("csv"));
$("#export-xlsx").addEventListener("click", () => exportLedger("xlsx"));

// --- notices ---------------------------------------------------------------------------
async function loadNotices() {
  const box = $("#notices-body");
  try {
    const inbox = await get(`/api/v1/enterprises/${state.enterprise.id}/notices`,
                            { page: state.noticesPage, size: NOTICES_SIZE });
    fill($("#unread-count"), inbox.unread
      ? h("span", { class: "badge unread", dataset: { unread: inbox.unread } },
          t("enterprise.unread", { n: inbox.unread })) : null);
    const pages = Math.max(1, Math.ceil(inbox.total / NOTICES_SIZE));
    fill(box,
      inbox.items.length ? inbox.items.map(noticeEntry)
                         : message("info", t("enterprise.no_notice")),
      pages > 1 ? h("div", { class: "pager" },
        h("button", { type: "button", class: "small", disabled: state.noticesPage <= 1,
                      onclick: () => { state.noticesPage -= 1; loadNotices(); } },
          t("enterprise.newer")),
        h("span", {}, t("enterprise.notices_page", { page: state.noticesPage, pages })),
        h("button", { type: "button", class: "small", disabled: state.noticesPage >= pages,
                      onclick: () => { state.noticesPage += 1; loadNotices(); } },
          t("enterprise.older")))
        : null);
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

function noticeEntry(notice) {
  const unread = !notice.read_at;
  return h("article", { class: "notice" + (unread ? " unread" : ""),
                        dataset: { noticeId: notice.notice_id } },
    h("div", {},
      h("div", { class: "notice-title" }, notice.title),
      h("small", {}, h("span", { class: "badge" }, labelOf("enterprise.notice_kind", notice.kind)),
        " ", timeIn(notice.issued_at, state.zone),
        unread ? null : t("common.notice.read_by", { who: notice.read_by,
                                                     when: timeIn(notice.read_at, state.zone) })),
      h("details", {}, h("summary", {}, t("enterprise.read_notice")),
        h("p", { class: "notice-body" }, notice.body))),
    unread && ownInbox() ? h("button", { type: "button", class: "small mark-read",
                           onclick: (event) => markRead(notice, event.target) },
                           t("common.notice.mark_read"))
           : null);
}

// Only the enterprise's own people answer its inbox; the authority reads it.
function ownInbox() {
  const who = account();
  return !who || who.enterprise_id === state.enterprise.id;
}

async function markRead(notice, button) {
  button.disabled = true;
  try {
    await post(`/api/v1/notices/${notice.notice_id}/read`, {});   // the reader is the account
    await loadNotices();
  } catch (err) {
    button.disabled = false;
    button.after(errorMessage(err));
  }
}
