// The enterprise dashboard: score and grade with each indicator, the latest
// management notice, hazard counts, open hazards with the plan and
// rectification forms, the ledger with its exports, the notices inbox.
// The enterprise is the account's, or ?enterprise=<id> (authority users, or
// before logging in is required).
import { ApiError, account, actorName, all, download, get, me, post, rememberName,
         upload } from "./api.js";
import { timeZone } from "./deployment.js";
import { $, date, dateTime, errorMessage, fill, gradeBadge, h, hazardLink, levelBadge, listedTable,
         message, mountTopbar, statusBadge } from "./ui.js";

const LEDGER_SIZE = 20;
const NOTICES_SIZE = 10;
const MANAGEMENT_KINDS = ["grade", "monthly"];

const state = { enterprise: null, ledgerPage: 1, noticesPage: 1, hazards: new Map() };

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
      fill($("#status"), message("error", "No such enterprise."));
      await showPicker();
      return;
    }
    throw err;
  }
  const e = state.enterprise;
  document.title = e.name + " · E-inspection";
  $("#enterprise-name").textContent = e.name;
  $("#report-link").href = "/app/report.html?enterprise=" + encodeURIComponent(e.id);
  $("#enterprise-facts").textContent = [e.industry, e.town, "grid " + e.grid, e.credit_code,
                                        e.employees ? e.employees + " employees" : null]
    .filter(Boolean).join(" · ");
  fill($("#status"));
  $("#dashboard").hidden = false;
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
    fill(box, err.status === 404 ? message("info", "No score yet: nothing recorded.")
                                 : errorMessage(err));
    return;
  }
  fill(box,
    h("div", { class: "score-head" },
      gradeBadge(score.grade, true),
      h("div", {},
        h("div", { class: "points", id: "points" }, score.points, h("small", {}, " / 10")),
        h("small", {}, `grade ${score.grade} · ${score.window_start} to ${score.window_end}` +
                       ` · rules ${score.rule_version}`))),
    h("div", { id: "indicators" }, score.indicators.map(indicator)));
}

function indicator(item) {
  const share = Number(item.max_points) ? 100 * Number(item.points) / Number(item.max_points)
                                        : 0;
  const zh = (item.i18n && item.i18n.zh) || {};
  return h("div", { class: "indicator", dataset: { key: item.key } },
    h("div", {}, item.title, zh.title ? h("span", { class: "zh" }, " " + zh.title) : null),
    h("div", { class: "num" }, h("strong", {}, item.points), " / " + item.max_points),
    h("div", { class: "bar", title: `${Math.round(share)}%` },
      h("span", { style: `width:${share}%` })),
    Number(item.missing_points) > 0 && item.to_gain
      ? h("div", { class: "advice" }, item.to_gain,
          zh.to_gain ? h("div", { class: "zh" }, zh.to_gain) : null)
      : null,
    // points taken off for findings elsewhere (rule set 2026.3: citations overdue for abatement)
    ...(item.deductions || []).filter((d) => d.count > 0).map((d) =>
      h("div", { class: "advice deduction", dataset: { key: d.key } },
        (d.i18n && d.i18n.zh && d.i18n.zh.why) || d.why,
        d.i18n && d.i18n.zh ? h("div", { class: "zh" }, d.why) : null)));
}

async function loadManagementNotice() {
  const box = $("#notice-body");
  try {
    const inbox = await get(`/api/v1/enterprises/${state.enterprise.id}/notices`, { size: 50 });
    const latest = inbox.items.find((notice) => MANAGEMENT_KINDS.includes(notice.kind));
    fill(box, latest
      ? [h("h3", {}, latest.title),
         h("small", {}, "issued " + dateTime(latest.issued_at)),
         h("p", { class: "notice-body" }, latest.body)]
      : message("info", "No management notice yet: it comes with the first grade."));
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

// --- hazards ---------------------------------------------------------------------------
async function refreshHazards() {
  await Promise.all([loadCounts(), loadListed(), loadOpenHazards(), loadLedger()]);
}

// Listed supervision (挂牌督办): the enterprise's hazards the authority listed.
async function loadListed() {
  const box = $("#listed-body");
  try {
    const [listed, zone] = await Promise.all([get("/api/v1/hazards", {
      enterprise_id: state.enterprise.id, listed: "true", sort: "listing_deadline", size: 50 }),
      timeZone()]);
    fill(box, listedTable(listed, undefined, undefined, zone));
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
      tile("open", "open hazards", all.totals.open),
      tile("overdue", "overdue, still open", all.totals.overdue_open, true),
      tile("major-open", "major, open", majorOpen, true),
      tile("submitted", "awaiting verification", all.totals.rectification_submitted),
      tile("closed", "closed", all.totals.closed));
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
      fill(box, message("ok", "No open hazard."));
      return;
    }
    const now = Date.now();
    fill(box, h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Level", "Category", "Description", "Deadline", "Plan", ""]
        .map((title) => h("th", {}, title)))),
      h("tbody", {}, open.items.map((hazard) => {
        const late = hazard.overdue || Date.parse(hazard.rectification_deadline) < now;
        const needsPlan = hazard.level === "major" && !hazard.has_plan;
        return h("tr", { class: late ? "late" : "", dataset: { hazardId: hazard.id } },
          h("td", {}, levelBadge(hazard.level)),
          h("td", {}, hazard.category),
          h("td", {}, hazardLink(hazard, hazard.description),
            hazard.status === "returned" ? h("div", {}, h("span", { class: "badge fail" },
                                                          "returned")) : null),
          h("td", {}, date(hazard.rectification_deadline),
            late ? h("div", {}, h("span", { class: "badge overdue" }, "overdue")) : null),
          h("td", {}, hazard.level === "major" ? (hazard.has_plan ? "recorded" : "needed") : "–"),
          h("td", {}, mayWrite() ? h("button", { type: "button", class: "small rectify",
                                                 onclick: () => openRectify(hazard.id) },
                                     needsPlan ? "Record plan" : "Rectify") : null));
      })))),
      open.total > open.items.length
        ? h("small", {}, `${open.items.length} of ${open.total}; the ledger has them all.`)
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
    title: "Remediation plan",
    submit: "Record plan",
    fields: () => [
      field("Goal", "goal", h("textarea", { required: true })),
      field("Measures", "measures", h("textarea", { required: true })),
      field("Funds (yuan)", "funds", h("input", { type: "number", min: 0, step: "0.01",
                                                  required: true })),
      field("Responsible person", "responsible_person",
            h("input", { type: "text", value: actorName(), required: true })),
      field("Deadline", "deadline", h("input", { type: "date", required: true })),
      field("Interim measures until then", "interim_measures",
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
    title: "Rectification",
    submit: "Submit rectification",
    fields: (hazard) => [
      field("What was done", "measures", h("textarea", { required: true })),
      field("Done at", "done_at", h("input", { type: "datetime-local", step: 1,
                                               value: doneAtDefault(hazard), required: true })),
      field("Cost (yuan, optional)", "cost", h("input", { type: "number", min: 0,
                                                          step: "0.01" })),
      field("Photo of the result (optional)", "evidence",
            h("input", { type: "file", accept: "image/*,application/pdf",
                         capture: "environment" })),
      field("Rectified by", "rectified_by", h("input", { type: "text", value: actorName(),
                                                         required: true })),
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
  $("#rectify-title").textContent = form.title;
  fill($("#rectify-hazard"), levelBadge(hazard.level), ` ${hazard.category}: `,
       hazard.description.split("\n")[0], ` — rectify by ${date(hazard.rectification_deadline)}`);
  fill($("#rectify-fields"), form.fields(hazard));
  fill($("#rectify-message"), note ? message("ok", note) : null);
  $("#rectify-submit").textContent = form.submit;
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
    missing.forEach((input) => { $("#error-" + input.id).textContent = "required"; });
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
      showStep("Plan recorded. Now the rectification, once it is done.");
      loadOpenHazards();
      return;
    }
    $("#rectify-dialog").close();
    await refreshHazards();
    $("#open-body").prepend(message("ok", "Rectification submitted: it waits for verification."));
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
        h("td", {}, hazard.category),
        h("td", {}, hazardLink(hazard), moreLines(hazard)),
        h("td", {}, statusBadge(hazard),
          hazard.overdue ? h("span", { class: "badge overdue" }, "overdue") : null),
        h("td", {}, date(hazard.rectification_deadline)),
        h("td", {}, date(hazard.rectified_at))))
      : h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No hazard matches.")));
    const pages = Math.max(1, Math.ceil(page.total / LEDGER_SIZE));
    $("#ledger-page").textContent = `page ${page.page} of ${pages} · ${page.total} hazards`;
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
  fill(box, h("small", {}, "Preparing the file …"));
  try {
    await download("/api/v1/hazards/export." + format, ledgerFilters(),
                   `hazards-${date(new Date().toISOString())}.${format}`);
    fill(box, h("small", { class: "exported" }, "Downloaded hazards." + format));
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
      ? h("span", { class: "badge unread" }, inbox.unread + " unread") : null);
    const pages = Math.max(1, Math.ceil(inbox.total / NOTICES_SIZE));
    fill(box,
      inbox.items.length ? inbox.items.map(noticeEntry)
                         : message("info", "No notice yet."),
      pages > 1 ? h("div", { class: "pager" },
        h("button", { type: "button", class: "small", disabled: state.noticesPage <= 1,
                      onclick: () => { state.noticesPage -= 1; loadNotices(); } }, "Newer"),
        h("span", {}, `page ${state.noticesPage} of ${pages}`),
        h("button", { type: "button", class: "small", disabled: state.noticesPage >= pages,
                      onclick: () => { state.noticesPage += 1; loadNotices(); } }, "Older"))
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
      h("small", {}, h("span", { class: "badge" }, notice.kind.replace("_", " ")), " ",
        dateTime(notice.issued_at),
        unread ? null : ` · read by ${notice.read_by} ${dateTime(notice.read_at)}`),
      h("details", {}, h("summary", {}, "Read the notice"),
        h("p", { class: "notice-body" }, notice.body))),
    unread && ownInbox() ? h("button", { type: "button", class: "small mark-read",
                           onclick: (event) => markRead(notice, event.target) }, "Mark read")
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
