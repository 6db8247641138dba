// The authority's publications. The authority's accounts (who the API lets
// publish and read them: the publications routes' roles) list them
// (GET /api/v1/publications, by audience, sorted, paged), read one with who has
// read it (GET one; `?id=` opens it), and publish one (POST: title, body,
// audience and its value, the office that signs it) with an Idempotency-Key, the
// API's reasons beside the fields. An enterprise's people read those addressed to
// their enterprise: its inbox's publication notices, each with its read receipt.
import { ApiError, all, get, goToLogin, me, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, labelOf, message, mountTopbar, showFieldErrors,
         timeIn } from "./ui.js";
import { isEnterpriseRole } from "./roles.js";
import { timeZone } from "./deployment.js";
import { noticeEntry } from "./daily.js";

// the roles of the publications routes (services/gateway/routes_notify.py: AUTHORITY)
const PUBLISHERS = ["authority_inspector", "authority_admin"];
const AUDIENCES = ["all", "town", "industry", "grid"];
const SORTS = ["-published_at", "published_at", "title"];
const SIZE = 20;

let zone = "Asia/Shanghai";
let page = 1;
let pendingKey = null;
let register = [];           // the enterprises, for the audience's values

mountTopbar("publications");
main();

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
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
  if (PUBLISHERS.includes(who.role)) {
    setUpFilters();
    showForm();
    await load();
    const opened = new URLSearchParams(location.search).get("id");
    if (opened) await read(opened);
  } else if (isEnterpriseRole(who.role) && who.enterprise_id) {
    $("#list-title span").textContent = t("publications.list.title_addressed");
    fill($("#publications-links"), h("a", { class: "button secondary", href: "/app/safety.html",
                                            id: "to-safety" }, t("publications.to_safety")));
    await loadAddressed(who.enterprise_id);
  } else {
    fill($("#publications-list"), message("info", t("publications.not_for_role")));
  }
}

// --- the authority: the list, one publication ---------------------------------------
function setUpFilters() {
  const form = $("#publication-filters");
  form.hidden = false;
  fill($("#filter-audience"), h("option", { value: "" }, t("publications.filter.any")),
       AUDIENCES.map((audience) => h("option", { value: audience },
                                     labelOf("publications.audience", audience))));
  fill($("#filter-sort"), SORTS.map((sort) => h("option", { value: sort },
                                                  labelOf("publications.sort", sort))));
  form.addEventListener("change", () => { page = 1; load(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; load(); });
}

function audienceText(publication) {
  const label = labelOf("publications.audience", publication.audience);
  return publication.audience_value ? label + " · " + publication.audience_value : label;
}

async function load() {
  const box = $("#publications-list");
  const filters = $("#publication-filters").elements;
  let answer;
  try {
    answer = await get("/api/v1/publications", { audience: filters.audience.value,
                                                 sort: filters.sort.value, page, size: SIZE });
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  $("#publications-total").textContent = String(answer.total);
  if (!answer.items.length) {
    fill(box, message("info", t("publications.list.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "publications" },
    h("thead", {}, h("tr", {}, ["title", "audience", "published_by", "published_at", "recipients"]
      .map((name) => h("th", { class: name === "recipients" ? "num" : null },
                       t("publications.field." + name))))),
    h("tbody", {}, answer.items.map((publication) => h("tr", {
      dataset: { publicationId: publication.publication_id } },
      h("td", { class: "title" }, h("button", { type: "button", class: "link open",
                                                onclick: () => read(publication.publication_id) },
                                    publication.title)),
      h("td", { class: "audience" }, audienceText(publication)),
      h("td", {}, publication.published_by),
      h("td", {}, timeIn(publication.published_at, zone)),
      h("td", { class: "num" }, String(publication.recipient_count))))))),
  answer.pages > 1 ? h("div", { class: "pager" },
    h("button", { type: "button", class: "small", disabled: page <= 1,
                  onclick: () => { page -= 1; load(); } }, t("publications.list.previous")),
    h("span", {}, t("publications.list.page", { page, pages: answer.pages })),
    h("button", { type: "button", class: "small", disabled: page >= answer.pages,
                  onclick: () => { page += 1; load(); } }, t("publications.list.next")))
    : null);
}

async function read(publicationId) {
  const card = $("#reading");
  card.hidden = false;
  let publication;
  try {
    publication = await get("/api/v1/publications/" + encodeURIComponent(publicationId));
  } catch (err) {
    $("#reading-title").textContent = "";
    fill($("#reading-body"), errorMessage(err));
    return;
  }
  card.dataset.publicationId = publication.publication_id;
  $("#reading-title").textContent = publication.title;
  fill($("#reading-body"),
    h("p", { class: "muted" }, t("publications.read.meta", {
      by: publication.published_by, when: timeIn(publication.published_at, zone),
      audience: audienceText(publication) })),
    h("p", { class: "pre-wrap", id: "reading-text" }, publication.body),
    h("p", { id: "reading-count" }, t("publications.read.count", {
      read: publication.read_count, total: publication.recipients.length })),
    h("div", { class: "table-wrap" }, h("table", { class: "recipients" },
      h("thead", {}, h("tr", {}, ["enterprise", "read_at", "read_by"].map(
        (name) => h("th", {}, t("publications.recipient." + name))))),
      h("tbody", {}, publication.recipients.map((recipient) => h("tr", {
        class: recipient.read_at ? "" : "unread", dataset: { enterpriseId: recipient.enterprise_id } },
        h("td", {}, recipient.name || recipient.enterprise_id),
        h("td", {}, recipient.read_at ? timeIn(recipient.read_at, zone)
                                      : t("publications.recipient.not_read")),
        h("td", {}, recipient.read_by || "")))))));
  card.scrollIntoView();
}

// --- the authority: publishing one ----------------------------------------------------
function showForm() {
  $("#publish").hidden = false;
  const values = h("datalist", { id: "audience-values" });
  fill($("#publication-fields"), h("div", { class: "form-grid" },
    field(t("publications.field.title"), "title", h("input", { type: "text", maxlength: 300,
                                                              required: true })),
    field(t("publications.field.audience"), "audience", h("select", {},
      AUDIENCES.map((audience) => h("option", { value: audience },
                                    labelOf("publications.audience", audience))))),
    field(t("publications.field.audience_value"), "audience_value",
          h("input", { type: "text", maxlength: 100, list: "audience-values" }),
          { hint: t("publications.hint.audience_value") }),
    field(t("publications.field.published_by"), "published_by",
          h("input", { type: "text", maxlength: 200, required: true }),
          { hint: t("publications.hint.published_by") })),
    field(t("publications.field.body"), "body", h("textarea", { rows: 6, maxlength: 20000,
                                                               required: true })),
    values);
  const form = $("#publication-form");
  const audience = form.elements.audience;
  const valueField = form.elements.audience_value;
  const fitValue = () => {
    valueField.disabled = audience.value === "all";
    if (audience.value === "all") valueField.value = "";
    const names = [...new Set(register.map((e) => e[audience.value]).filter(Boolean))].sort();
    fill(values, names.map((name) => h("option", { value: name })));
  };
  audience.addEventListener("change", fitValue);
  fitValue();
  all("/api/v1/enterprises").then((rows) => { register = rows; fitValue(); }).catch(() => {});
  form.addEventListener("input", () => { pendingKey = null; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#publication-message");
    showFieldErrors(form, {});
    fill(box);
    const elements = form.elements;
    const body = { title: elements.title.value.trim(), body: elements.body.value.trim(),
                   audience: audience.value, published_by: elements.published_by.value.trim() };
    if (audience.value !== "all") body.audience_value = valueField.value.trim() || null;
    if (!pendingKey) pendingKey = newKey();
    $("#publication-submit").disabled = true;
    try {
      const published = await post("/api/v1/publications", body, { idempotencyKey: pendingKey });
      pendingKey = null;
      form.reset();
      fitValue();
      fill(box, message("ok", t("publications.publish.done", {
        title: published.title, count: published.recipients.length })));
      await load();
      await read(published.publication_id);
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", t("publications.publish.refused")) : errorMessage(err));
    } finally {
      $("#publication-submit").disabled = false;
    }
  });
}

// --- an enterprise: the publications addressed to it ------------------------------------
async function loadAddressed(enterpriseId) {
  const box = $("#publications-list");
  let inbox;
  try {
    inbox = await get(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/notices`,
                      { kind: "publication", page, size: SIZE });
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  $("#publications-total").textContent = String(inbox.total);
  fill(box,
    inbox.items.length ? inbox.items.map((notice) => {
      const entry = noticeEntry(notice, zone, () => loadAddressed(enterpriseId));
      entry.id = "notice-" + notice.notice_id;
      return entry;
    }) : message("info", t("publications.list.none_addressed")),
    inbox.pages > 1 ? h("div", { class: "pager" },
      h("button", { type: "button", class: "small", disabled: page <= 1,
                    onclick: () => { page -= 1; loadAddressed(enterpriseId); } },
        t("publications.list.previous")),
      h("span", {}, t("publications.list.page", { page, pages: inbox.pages })),
      h("button", { type: "button", class: "small", disabled: page >= inbox.pages,
                    onclick: () => { page += 1; loadAddressed(enterpriseId); } },
        t("publications.list.next")))
      : null);
}
