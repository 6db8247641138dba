// One checklist (GET /api/v1/checklists/{id}): its facts, its versions and the
// items of each published version, read-only, side by side. Who may change it
// (the authority a universal one, the enterprise's manager its own) edits the
// draft — title and the items in order: add, remove, move up or down, each
// item's prompt, category, clause, weight, whether a failure is a major hazard
// and whether a failure needs a photo — saved whole with PUT …/draft (a
// published latest version starts the next one), and publishes it (POST
// …/publish). The API's reasons go beside their fields (items.2.weight beside
// the third item's weight); a 403 or 409 is shown with its reason.
import { goToLogin, get, me, post, put } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, labelOf, message, mountTopbar, showFieldErrors,
         timeIn } from "./ui.js";
import { timeZone } from "./deployment.js";
import { formKey, latestStatus, mayChange, showRefusal } from "./checklists-shared.js";

const FREQUENCIES = ["daily", "weekly", "monthly", "shift"];

let zone = "Asia/Shanghai";
let who = null;
let checklistId = null;
let checklist = null;
let items = [];            // the draft being edited: [{item_id?, prompt, category, ...}]
let dirty = false;
let draftKey = null;

mountTopbar("checklists");
main();

async function main() {
  zone = await timeZone();
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
  checklistId = new URLSearchParams(location.search).get("id");
  if (!checklistId) {
    fill($("#status"), message("error", t("checklists.no_id")));
    return;
  }
  await load();
}

async function load() {
  try {
    checklist = await get("/api/v1/checklists/" + encodeURIComponent(checklistId));
  } catch (err) {
    $("#checklist-title").textContent = t("checklists.checklist");
    fill($("#facts-body"), errorMessage(err));
    return;
  }
  showFacts();
  if (mayChange(who, checklist)) showEditor();
  await showVersions();
}

// Whether the service knows a universal checklist's required frequency (the
// schedules it must have at least): shown and edited only when its answer has
// the field, so the page works with a service that does not have it yet.
function knowsRequiredFrequency() {
  return checklist.scope === "universal" && ("required_frequency" in checklist
    || (checklist.latest && "required_frequency" in checklist.latest));
}

// The one in force (the published version's), and the draft's.
function requiredFrequency() {
  if ("required_frequency" in checklist) return checklist.required_frequency;
  return checklist.latest ? checklist.latest.required_frequency : null;
}

function draftFrequency() {
  if (checklist.latest && "required_frequency" in checklist.latest) {
    return checklist.latest.required_frequency;
  }
  return requiredFrequency();
}

function showFacts() {
  const status = latestStatus(checklist);
  $("#checklist-title").textContent = checklist.title;
  const facts = [
    ["scope", labelOf("checklists.scope", checklist.scope)],
    ["industry", checklist.industry || t("checklists.all_industries")],
    ["latest_version", [String(checklist.latest_version), " ",
      h("span", { class: "badge " + (status === "published" ? "pass" : ""), id: "latest-status",
                  dataset: { status } }, labelOf("checklists.status", status))]],
    ["published_version", checklist.published_version ? String(checklist.published_version)
                                                      : t("checklists.none_published")],
    ["updated_at", timeIn(checklist.updated_at, zone)],
  ];
  if (knowsRequiredFrequency()) {
    facts.push(["required_frequency", requiredFrequency()
      ? labelOf("checklists.frequency", requiredFrequency()) : t("checklists.no_requirement")]);
  }
  fill($("#facts-body"), h("dl", { class: "facts" }, facts.map(([name, value]) => [
    h("dt", {}, t("checklists.fact." + name)), h("dd", { dataset: { fact: name } }, value)])));
}

// --- the draft ---------------------------------------------------------------------------

function fromVersion(version) {
  return (version ? version.items : []).map((item) => ({
    item_id: item.item_id, prompt: item.prompt, category: item.category,
    legal_basis: item.legal_basis || "", weight: String(item.weight),
    major: Boolean(item.major), photo_required: Boolean(item.photo_required) }));
}

function showEditor() {
  $("#editor").hidden = false;
  const form = $("#draft-form");
  items = fromVersion(checklist.latest);
  dirty = false;
  const published = latestStatus(checklist) === "published";
  $("#editor-hint").textContent = published
    ? t("checklists.edit_starts_next", { n: checklist.latest_version + 1 })
    : t("checklists.edit_draft", { n: checklist.latest_version });
  fill($("#draft-fields"), field(t("checklists.field.title"), "title",
    h("input", { type: "text", maxlength: 300, value: checklist.latest ? checklist.latest.title
                                                                       : checklist.title })));
  fill($("#required-frequency"), knowsRequiredFrequency() ? field(
    t("checklists.field.required_frequency"), "required_frequency",
    h("select", {}, h("option", { value: "" }, t("checklists.no_requirement")),
      FREQUENCIES.map((value) => h("option", { value, selected: value === draftFrequency() },
                                   labelOf("checklists.frequency", value)))),
    { hint: t("checklists.required_frequency_hint") }) : null);
  renderItems();
  $("#publish").disabled = published;
  if (!draftKey) {
    draftKey = formKey(form);
    form.addEventListener("input", () => { dirty = true; });
    form.addEventListener("submit", saveDraft);
    $("#add-item").addEventListener("click", () => {
      items.push({ prompt: "", category: items.length ? items[items.length - 1].category : "",
                   legal_basis: "", weight: "1", major: false, photo_required: false });
      dirty = true;
      draftKey.reset();
      renderItems();
      const prompts = form.querySelectorAll("#items textarea.prompt");
      prompts[prompts.length - 1].focus();
    });
    $("#publish").addEventListener("click", publish);
  }
}

function itemField(index, name, label, input) {
  input.dataset.name = name;
  input.addEventListener("input", () => {
    items[index][name] = input.type === "checkbox" ? input.checked : input.value;
  });
  input.addEventListener("change", () => {
    items[index][name] = input.type === "checkbox" ? input.checked : input.value;
  });
  return field(label, `items.${index}.${name}`, input, { id: `item-${index}-${name}` });
}

function checkField(index, name, label) {
  const input = h("input", { type: "checkbox", id: `item-${index}-${name}`, checked: items[index][name] });
  input.dataset.name = name;
  input.addEventListener("change", () => { items[index][name] = input.checked; });
  return h("div", { class: "field" }, h("label", { class: "check", for: input.id }, input, label),
           h("div", { class: "field-error", dataset: { errorFor: `items.${index}.${name}` } }));
}

function move(index, by) {
  const other = index + by;
  if (other < 0 || other >= items.length) return;
  [items[index], items[other]] = [items[other], items[index]];
  dirty = true;
  draftKey.reset();
  renderItems();
}

function renderItems() {
  const list = $("#items");
  if (!items.length) {
    fill(list, h("li", { class: "muted empty" }, t("checklists.no_items")));
    return;
  }
  fill(list, items.map((item, index) => h("li", {
    class: "item-edit", dataset: { index: String(index), itemId: item.item_id || "" } },
    h("div", { class: "item-head" },
      h("strong", {}, t("checklists.item_n", { n: index + 1 })),
      item.item_id ? null : h("span", { class: "badge" }, t("checklists.new_item")),
      h("span", { class: "item-moves" },
        h("button", { type: "button", class: "small up", disabled: index === 0,
                      "aria-label": t("checklists.move_up"), title: t("checklists.move_up"),
                      onclick: () => move(index, -1) }, "\u2191"),
        h("button", { type: "button", class: "small down", disabled: index === items.length - 1,
                      "aria-label": t("checklists.move_down"), title: t("checklists.move_down"),
                      onclick: () => move(index, 1) }, "\u2193"),
        h("button", { type: "button", class: "small remove", onclick: () => {
          items.splice(index, 1);
          dirty = true;
          draftKey.reset();
          renderItems();
        } }, t("checklists.remove_item")))),
    itemField(index, "prompt", t("checklists.field.prompt"),
              h("textarea", { class: "prompt", maxlength: 2000, rows: 2 }, item.prompt)),
    h("div", { class: "form-grid" },
      itemField(index, "category", t("checklists.field.category"),
                h("input", { type: "text", maxlength: 100, value: item.category })),
      itemField(index, "legal_basis", t("checklists.field.legal_basis"),
                h("input", { type: "text", maxlength: 500, value: item.legal_basis })),
      itemField(index, "weight", t("checklists.field.weight"),
                h("input", { type: "text", inputmode: "decimal", value: item.weight }))),
    h("div", { class: "item-flags" },
      checkField(index, "major", t("checklists.field.major")),
      checkField(index, "photo_required", t("checklists.field.photo_required"))),
    h("div", { class: "field-error", dataset: { errorFor: `items.${index}.item_id` } }))));
}

function draftBody(form) {
  const body = { items: items.map((item) => {
    const sent = { prompt: item.prompt.trim(), category: item.category.trim(),
                   legal_basis: item.legal_basis.trim(), weight: item.weight.trim(),
                   major: item.major, photo_required: item.photo_required };
    if (item.item_id) sent.item_id = item.item_id;
    return sent;
  }) };
  const title = form.elements.title.value.trim();
  if (title) body.title = title;
  if (knowsRequiredFrequency()) body.required_frequency = form.elements.required_frequency.value || null;
  return body;
}

async function saveDraft(event) {
  event.preventDefault();
  const form = $("#draft-form");
  const box = $("#draft-message");
  showFieldErrors(form, {});
  fill(box);
  fill($("#publish-message"));
  $("#save-draft").disabled = true;
  try {
    checklist = await put(`/api/v1/checklists/${encodeURIComponent(checklistId)}/draft`,
                          draftBody(form), { idempotencyKey: draftKey.get() });
    draftKey.reset();
    showFacts();
    showEditor();
    fill(box, message("ok", t("checklists.saved", { n: checklist.latest_version })));
    await showVersions();
  } catch (err) {
    showRefusal(form, box, err);
  } finally {
    $("#save-draft").disabled = false;
  }
}

async function publish() {
  const box = $("#publish-message");
  fill(box);
  if (dirty) {
    fill(box, message("error", t("checklists.save_first")));
    return;
  }
  $("#publish").disabled = true;
  fill($("#draft-message"));
  try {
    checklist = await post(`/api/v1/checklists/${encodeURIComponent(checklistId)}/publish`, {});
    showFacts();
    showEditor();
    fill(box, message("ok", t("checklists.published", { n: checklist.published_version })));
    await showVersions();
  } catch (err) {
    fill(box, errorMessage(err));
    $("#publish").disabled = false;
  }
}

// --- versions ----------------------------------------------------------------------------

async function showVersions() {
  const versions = checklist.versions || [];
  fill($("#versions-list"), h("div", { class: "table-wrap" }, h("table", { class: "versions" },
    h("thead", {}, h("tr", {}, ["version", "status", "published_at"].map(
      (name) => h("th", {}, t("checklists.col." + name))))),
    h("tbody", {}, versions.map((version) => h("tr", { dataset: { version: String(version.version),
                                                                 status: version.status } },
      h("td", {}, String(version.version)),
      h("td", {}, labelOf("checklists.status", version.status)),
      h("td", {}, version.published_at ? timeIn(version.published_at, zone) : "\u2014")))))));
  const published = versions.filter((version) => version.status === "published");
  const box = $("#published-versions");
  if (!published.length) {
    fill(box, message("info", t("checklists.none_published_yet")));
    return;
  }
  let shown;
  try {
    shown = await Promise.all(published.map((version) => get(
      `/api/v1/checklists/${encodeURIComponent(checklistId)}/versions/${version.version}`)));
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  fill(box, shown.map(versionCard));
}

function versionCard(version) {
  return h("article", { class: "version-card", dataset: { version: String(version.version) } },
    h("h3", {}, t("checklists.version_n", { n: version.version }), " ",
      h("small", {}, version.title)),
    h("p", { class: "muted" }, t("checklists.published_at", { when: timeIn(version.published_at, zone) }),
      "required_frequency" in version && version.required_frequency
        ? " \u00b7 " + t("checklists.requires", {
          frequency: labelOf("checklists.frequency", version.required_frequency) }) : null),
    h("ol", { class: "version-items" }, version.items.map((item) => h("li", {
      dataset: { itemId: item.item_id } },
      h("span", { class: "prompt" }, item.prompt),
      h("span", { class: "meta" },
        h("span", {}, item.category),
        item.legal_basis ? h("span", {}, item.legal_basis) : null,
        h("span", {}, t("checklists.points", { weight: item.weight })),
        item.major ? h("span", { class: "badge major" }, t("checklists.fails_major"))
                   : h("span", { class: "badge general" }, t("checklists.fails_general")),
        item.photo_required ? h("span", { class: "badge photo" }, t("checklists.photo_needed"))
                            : null)))));
}
