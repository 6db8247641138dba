// An enterprise's safety actions and daily management records
// (GET /api/v1/enterprises/{id}/safety-actions): filtered by kind and period
// (days of the deployment's time zone), sorted by what the API sorts by,
// paged; its people record one (POST, with an Idempotency-Key: a double tap
// records it once), the API's reasons beside the fields. Above them, the score's
// indicators that count these records (GET .../score), with their points.
// `?enterprise_id=` picks the enterprise for who supervises it; an enterprise
// account sees its own. Officers and the authority read only.
import { ApiError, actorName, get, goToLogin, me, post } from "./api.js";
import { language, t } from "./i18n.js";
import { $, dayIn, errorMessage, field, fill, h, labelOf, message, mountTopbar,
         showFieldErrors, timeIn } from "./ui.js";
import { isEnterpriseRole } from "./roles.js";
import { timeZone } from "./deployment.js";

const KINDS = ["training", "drill", "meeting", "daily_record"];
const SORTS = ["-held_on", "held_on", "-recorded_at", "kind", "-people", "topic"];
// The rule set's indicators measured by safety actions (services/scoring/rules:
// measure actions_against_rhythm), and which of them counts each kind.
const SCORED = ["safety_actions", "daily_management"];
const COUNTED_BY = { training: "safety_actions", drill: "safety_actions",
                     meeting: "safety_actions", daily_record: "daily_management" };
const SIZE = 20;

let zone = "Asia/Shanghai";
let enterpriseId = null;
let page = 1;
let pendingKey = null;       // the record being sent, until it is recorded
let asked = 0;               // the latest list asked for: an older answer arriving late is dropped

mountTopbar("safety");
main();

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function path(suffix) {
  return `/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/${suffix}`;
}

async function main() {
  let who;
  try {
    who = await me();
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  if (!who) {
    goToLogin();
    return;
  }
  zone = await timeZone();
  enterpriseId = new URLSearchParams(location.search).get("enterprise_id") || who.enterprise_id;
  if (!enterpriseId) {
    fill($("#actions-list"), message("error", t("safety.no_enterprise")));
    fill($("#score-body"));
    return;
  }
  try {
    const enterprise = await get("/api/v1/enterprises/" + encodeURIComponent(enterpriseId));
    $("#safety-enterprise").textContent = enterprise.name;
  } catch (err) {
    fill($("#actions-list"), errorMessage(err));
    fill($("#score-body"));
    return;
  }
  fill($("#safety-links"), isEnterpriseRole(who.role)
    ? h("a", { class: "button secondary", href: "/app/publications.html", id: "to-publications" },
        t("safety.to_publications"))
    : null);
  setUpFilters();
  // the enterprise's own people record; who supervises it reads
  const records = isEnterpriseRole(who.role) && who.enterprise_id === enterpriseId;
  if (records) showForm();
  else fill($("#status"), message("info", t("safety.read_only")));
  await Promise.all([loadScore(), load()]);
}

// --- the score's indicators that count these records ------------------------------
async function loadScore() {
  const box = $("#score-body");
  let score;
  try {
    score = await get(path("score"));
  } catch (err) {
    fill(box, err.status === 404 ? message("info", t("safety.score.none")) : errorMessage(err));
    return null;
  }
  const shown = score.indicators.filter((item) => SCORED.includes(item.key));
  if (!shown.length) {
    fill(box, message("info", t("safety.score.not_counted", { version: score.rule_version })));
    return score;
  }
  const carried = shown.reduce((sum, item) => sum + Number(item.max_points), 0);
  const total = score.indicators.reduce((sum, item) => sum + Number(item.max_points), 0);
  fill(box,
    h("p", { id: "score-share" }, t("safety.score.share", {
      carried: carried.toFixed(1), total: total.toFixed(1), points: score.points,
      grade: score.grade })),
    h("p", { class: "muted" }, t("safety.score.window", {
      start: score.window_start, end: score.window_end, version: score.rule_version })),
    h("div", { id: "indicators" }, shown.map(indicator)));
  return score;
}

function indicator(item) {
  const text = (item.i18n && item.i18n[language()]) || {};
  const share = Number(item.max_points) ? 100 * Number(item.points) / Number(item.max_points) : 0;
  const detail = item.detail || {};
  const advice = text.to_gain || (language() === "en" ? item.to_gain : "") || "";
  return h("div", { class: "indicator", dataset: { key: item.key, points: item.points,
                                                   recorded: String(detail.recorded ?? "") } },
    h("div", { class: "indicator-title" }, text.title || item.title),
    h("div", { class: "num" }, h("strong", {}, item.points), " / " + item.max_points),
    h("div", { class: "bar", title: `${Math.round(share)}%` },
      h("span", { style: `width:${share}%` })),
    "recorded" in detail
      ? h("small", { class: "indicator-detail" }, t("safety.score.recorded", {
        recorded: detail.recorded, expected: detail.expected }))
      : null,
    Number(item.missing_points) > 0 && advice ? h("div", { class: "advice" }, advice) : null);
}

// After a record the score is computed again from the event, a moment later:
// asked again a few times until the indicator counting that kind has it.
async function refreshScore(kind, before) {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const score = await loadScore();
    const item = score && score.indicators.find((x) => x.key === COUNTED_BY[kind]);
    if (score && (!item || Number((item.detail || {}).recorded) > before)) return;
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

function recordedNow(kind) {
  const node = document.querySelector(`#indicators .indicator[data-key="${COUNTED_BY[kind]}"]`);
  return node ? Number(node.dataset.recorded || 0) : 0;
}

// --- the list --------------------------------------------------------------------
function setUpFilters() {
  fill($("#filter-kind"), h("option", { value: "" }, t("safety.filter.any")),
       KINDS.map((kind) => h("option", { value: kind }, labelOf("safety.kind", kind))));
  fill($("#filter-sort"), SORTS.map((sort) => h("option", { value: sort },
                                                  labelOf("safety.sort", sort))));
  const form = $("#action-filters");
  form.addEventListener("change", () => { page = 1; load(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; load(); });
}

async function load() {
  const box = $("#actions-list");
  const filters = $("#action-filters");
  showFieldErrors(filters, {});
  fill($("#filter-message"));
  const query = { kind: filters.elements.kind.value, from: filters.elements.from.value,
                  to: filters.elements.to.value, sort: filters.elements.sort.value,
                  page, size: SIZE };
  const mine = ++asked;
  let answer;
  try {
    answer = await get(path("safety-actions"), query);
  } catch (err) {
    if (mine !== asked) return;
    fill(box);
    fill($("#filter-message"), errorMessage(err));
    return;
  }
  if (mine !== asked) return;
  $("#actions-total").textContent = String(answer.total);
  if (!answer.items.length) {
    fill(box, message("info", t("safety.list.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "safety-actions" },
    h("thead", {}, h("tr", {}, ["held_on", "kind", "topic", "people", "recorded_by"].map(
      (name) => h("th", { class: name === "people" ? "num" : null }, t("safety.field." + name))))),
    h("tbody", {}, answer.items.map((action) => h("tr", {
      dataset: { actionId: action.id, kind: action.kind, heldOn: action.held_on } },
      h("td", { class: "held-on" }, action.held_on),
      h("td", { class: "kind" }, h("span", { class: "badge" }, labelOf("safety.kind", action.kind))),
      h("td", { class: "topic" }, action.topic,
        action.notes ? h("div", { class: "more-lines" }, action.notes) : null),
      h("td", { class: "num people" }, String(action.people)),
      h("td", { class: "recorded-by" }, action.recorded_by,
        h("div", { class: "muted" }, timeIn(action.recorded_at, zone)))))))),
  answer.pages > 1 ? h("div", { class: "pager" },
    h("button", { type: "button", class: "small", id: "page-prev", disabled: page <= 1,
                  onclick: () => { page -= 1; load(); } }, t("safety.list.previous")),
    h("span", { id: "page-of" }, t("safety.list.page", { page, pages: answer.pages })),
    h("button", { type: "button", class: "small", id: "page-next", disabled: page >= answer.pages,
                  onclick: () => { page += 1; load(); } }, t("safety.list.next")))
    : null);
}

// --- recording one ------------------------------------------------------------------
function showForm() {
  $("#record").hidden = false;
  const today = dayIn(Date.now(), zone);
  fill($("#action-fields"), h("div", { class: "form-grid" },
    field(t("safety.field.kind"), "kind", h("select", {},
      KINDS.map((kind) => h("option", { value: kind }, labelOf("safety.kind", kind))))),
    field(t("safety.field.held_on"), "held_on", h("input", { type: "date", value: today,
                                                            max: today, required: true }),
          { hint: t("safety.hint.held_on", { zone }) }),
    field(t("safety.field.topic"), "topic", h("input", { type: "text", maxlength: 300,
                                                        required: true })),
    field(t("safety.field.people"), "people", h("input", { type: "number", min: 0, step: 1,
                                                          inputmode: "numeric", value: "0" })),
    field(t("safety.field.recorded_by"), "recorded_by", h("input", { type: "text", maxlength: 200,
                                                                    value: actorName() }),
          { hint: t("safety.hint.recorded_by") }),
    field(t("safety.field.notes"), "notes", h("textarea", { rows: 3, maxlength: 4000 }))));
  const form = $("#action-form");
  form.addEventListener("input", () => { pendingKey = null; });   // another record: another key
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#action-message");
    showFieldErrors(form, {});
    fill(box);
    const elements = form.elements;
    const people = elements.people.value.trim();
    const body = { kind: elements.kind.value, held_on: elements.held_on.value,
                   topic: elements.topic.value.trim(),
                   people: people === "" ? 0 : Number(people),
                   notes: elements.notes.value.trim(),
                   recorded_by: elements.recorded_by.value.trim() };
    if (!pendingKey) pendingKey = newKey();
    $("#action-submit").disabled = true;
    try {
      const recorded = await post(path("safety-actions"), body, { idempotencyKey: pendingKey });
      pendingKey = null;
      const before = recordedNow(recorded.kind);
      elements.topic.value = "";
      elements.notes.value = "";
      elements.people.value = "0";
      fill(box, message("ok", t("safety.record.done", { kind: labelOf("safety.kind", recorded.kind),
                                                        day: recorded.held_on })));
      await load();
      refreshScore(recorded.kind, before);      // a moment later; the form is free meanwhile
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", t("safety.record.refused")) : errorMessage(err));
    } finally {
      $("#action-submit").disabled = false;
    }
  });
}
