// The inspection on a phone: opened from a position's QR code
// (/scan/<token> → /app/inspect.html#<token>), the checklists that apply
// there, pass / fail / n.a. per item with a note and photos, submit, then
// the hazards the failed items became.
//
// It works without signal once the position was opened with it: the service
// worker (sw.js) keeps the page and the position's scan answer; the draft
// (marks, notes, the photo files) is kept on the device as it is made and
// restored on reopening; a submission without signal waits in the outbox
// (offline.js) and is sent, once, when the network is back.
import { ApiError, account, actorName, get, rememberName, token } from "./api.js";
import { language, t } from "./i18n.js";
import { $, date, dateTime, errorMessage, fill, h, levelBadge, message,
         mountTopbar, reasonsText } from "./ui.js";
import { inspectionKind } from "./roles.js";
import { deleteDraft, discard, draftKey, enqueue, flush, loadDraft, newKey, onOutboxChange,
         outbox, saveDraft } from "./offline.js";

const RESULTS = ["pass", "fail", "na"];
const HAZARD_WAIT_MS = 30000;
const HAZARD_POLL_MS = 700;
const RETRY_MS = 30000;

const state = {
  scan: null,          // the scan answer: position, enterprise, checklists
  checklist: null,     // the chosen published version
  startedAt: null,
  results: new Map(),  // item_id → {result, note, photos: [{key, blob, type, ref}]}
  draftKey: null,
  waitingFor: null,    // the outbox item this page submitted and waits for
  sent: [],            // outbox items sent while this page was open
  categories: new Map(),
};

mountTopbar("inspect");
registerWorker();
// another code scanned while this page is open: start over with it
window.addEventListener("hashchange", () => location.reload());
window.addEventListener("online", () => { showNetwork(); sendOutbox(); });
window.addEventListener("offline", showNetwork);
setInterval(() => { if (navigator.onLine) sendOutbox(); }, RETRY_MS);
onOutboxChange(showOutbox);
showNetwork();
start().finally(() => { showOutbox(); sendOutbox(); });

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).then(() =>
    navigator.serviceWorker.ready).then((registration) => {
    // only this account's API answers stay in the worker's cache
    const bearer = token();
    if (registration.active) {
      registration.active.postMessage({ type: "account", token: bearer ? "Bearer " + bearer : null });
    }
  }).catch((err) => console.warn("service worker not registered", err));
}

// The first time, the page was loaded before its service worker ran: the worker
// did not see the scan's answer go by, so the page hands it over to keep.
function keepForOffline(path, answer) {
  if (!("serviceWorker" in navigator) || navigator.serviceWorker.controller || !navigator.onLine) {
    return;
  }
  const bearer = token();
  if (!bearer) return;
  navigator.serviceWorker.ready.then((registration) => registration.active.postMessage({
    type: "keep", url: new URL(path, location.href).href, token: "Bearer " + bearer,
    body: JSON.stringify(answer) })).catch(() => {});
}

function showNetwork() {
  $("#network").hidden = navigator.onLine;
  // the saved copy's notice goes with the signal's return (the page is the same)
  if (navigator.onLine && $("#status .saved-copy")) fill($("#status"));
}

function qrToken() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch (_) {
    return "";           // not a token any code carries
  }
}

async function start() {
  const token = qrToken();
  if (!token) {
    fill($("#status"), message("info", t("inspect.scan_hint")));
    return;
  }
  try {
    state.scan = await get("/api/v1/scan/" + encodeURIComponent(token));   // by the account
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", t("inspect.unknown_code"))
      : err instanceof ApiError && err.status === 0
        ? message("error", t("inspect.never_opened")) : errorMessage(err));
    return;
  }
  keepForOffline("/api/v1/scan/" + encodeURIComponent(token), state.scan);
  if (navigator.onLine) {
    fill($("#status"));
  } else {
    fill($("#status"), h("div", { class: "saved-copy" }, message("info",
      t("inspect.saved_copy", { at: dateTime(state.scan.scanned_at) }))));
  }
  loadCategories();
  // an enforcement inspection (the authority's) uses the authority's universal checklists only
  if (inspectionKind(account()) === "enforcement") {
    state.scan.checklists = state.scan.checklists.filter((c) => c.scope === "universal");
  }
  const { position, enterprise, checklists } = state.scan;
  $("#position-name").textContent = position.name;
  $("#report-here").href = "/app/report.html?position=" + encodeURIComponent(position.id);
  $("#enterprise-name").textContent = enterprise.name + " · " + enterprise.industry;
  $("#scanned").textContent = t("inspect.scanned", { at: dateTime(state.scan.scanned_at) });
  $("#position").hidden = false;
  if (!checklists.length) {
    fill($("#status"), message("info", t("inspect.no_checklist")));
    return;
  }
  // the position's own checklists first, in its order, then the universal ones
  const rank = (checklist) => {
    const index = position.checklist_ids.indexOf(checklist.checklist_id);
    return index < 0 ? position.checklist_ids.length : index;
  };
  checklists.sort((a, b) => rank(a) - rank(b));
  // a draft kept on this device reopens its checklist (the latest, if several)
  const drafts = (await Promise.all(checklists.map((checklist) =>
    loadDraft(draftKey(position.id, checklist.checklist_id)).catch(() => null))))
    .map((draft, index) => [draft, checklists[index]])
    .filter(([draft, checklist]) => draft && draft.checklistVersion === checklist.version)
    .sort(([a], [b]) => b.updatedAt.localeCompare(a.updatedAt));
  if (drafts.length) {
    await begin(drafts[0][1]);
  } else if (checklists.length === 1) {
    await begin(checklists[0]);
  } else {
    showChoice();
  }
}

async function loadCategories() {
  try {
    const answer = await get("/api/v1/hazard-categories");
    keepForOffline("/api/v1/hazard-categories", answer);
    const { categories } = answer;
    state.categories = new Map(categories.map((entry) => [entry.key, entry]));
    for (const node of document.querySelectorAll("[data-category]")) {
      node.textContent = categoryLabel(node.dataset.category);
    }
  } catch (_) {
    // the raw text shows
  }
}

// A category by its label in the chosen language, the raw text outside the taxonomy.
function categoryLabel(category) {
  const entry = state.categories.get(category);
  return entry ? entry[language()] || entry.zh : category;
}

function showChoice() {
  fill($("#checklists"), state.scan.checklists.map((checklist) =>
    h("button", { type: "button", class: "choose-checklist",
                  dataset: { checklistId: checklist.checklist_id },
                  onclick: () => begin(checklist) },
      h("span", {}, checklist.title),
      h("small", {}, t("inspect.items_version", { n: checklist.items.length,
                                                   version: checklist.version })))));
  $("#choose").hidden = false;
  $("#inspection").hidden = true;
  $("#result").hidden = true;
  $("#queued").hidden = true;
}

async function begin(checklist) {
  state.checklist = checklist;
  state.draftKey = draftKey(state.scan.position.id, checklist.checklist_id);
  state.startedAt = new Date();
  state.results = new Map(checklist.items.map((item) =>
    [item.item_id, { result: null, note: "", photos: [] }]));
  $("#checklist-title").textContent = checklist.title;
  fill($("#items"), checklist.items.map(renderItem));
  const who = account();
  $("#inspector").value = actorName();
  $("#inspector-card").hidden = Boolean(who && who.username);
  fill($("#submit-message"));
  fill($("#draft-note"));
  $("#submit").disabled = false;
  $("#choose").hidden = true;
  $("#result").hidden = true;
  $("#queued").hidden = true;
  $("#inspection").hidden = false;
  let draft = null;
  try {
    draft = await loadDraft(state.draftKey);
  } catch (err) {
    console.warn("no draft storage", err);
  }
  if (draft && draft.checklistVersion === checklist.version) restore(draft);
  updateProgress();
  window.scrollTo(0, 0);
}

// The draft kept on the device back into the form.
function restore(draft) {
  state.startedAt = new Date(draft.startedAt);
  if (draft.inspector) $("#inspector").value = draft.inspector;
  for (const item of state.checklist.items) {
    const kept = draft.results[item.item_id];
    if (!kept) continue;
    const entry = state.results.get(item.item_id);
    entry.note = kept.note || "";
    $(`#note-${item.item_id}`).value = entry.note;
    for (const photo of kept.photos || []) {
      entry.photos.push(photo);
      showThumb(item, photo);
    }
    if (kept.result) {
      $(`#result-${item.item_id}-${kept.result}`).checked = true;
      choose(item, kept.result, { save: false });
    } else if (entry.note || entry.photos.length) {
      $(`#item-${item.item_id} .details`).hidden = false;
    }
  }
  fill($("#draft-note"), message("info", t("inspect.draft_restored",
                                           { at: dateTime(draft.updatedAt) })));
}

// Every change is on the device at once: a reload, a closed browser, a flat
// battery lose nothing that was marked.
let saving = Promise.resolve();
function save() {
  if (!state.draftKey) return saving;
  const draft = {
    key: state.draftKey, positionId: state.scan.position.id,
    checklistId: state.checklist.checklist_id, checklistVersion: state.checklist.version,
    startedAt: state.startedAt.toISOString(), inspector: $("#inspector").value,
    results: Object.fromEntries([...state.results].map(([id, entry]) =>
      [id, { result: entry.result, note: entry.note,
             photos: entry.photos.map(({ key, blob, type, ref }) => ({ key, blob, type, ref })) }])),
  };
  saving = saving.then(() => saveDraft(draft)).catch((err) => console.warn("draft not kept", err));
  return saving;
}

function renderItem(item, index) {
  const id = item.item_id;
  const details = h("div", { class: "details", hidden: true },
    h("label", { for: `note-${id}` }, t("inspect.note")),
    h("textarea", { id: `note-${id}`, class: "note", maxlength: 4000,
                    placeholder: t("inspect.note_placeholder"),
                    oninput: (event) => { state.results.get(id).note = event.target.value; save(); } }),
    h("div", { class: "photo-row" },
      h("input", { id: `photo-${id}`, class: "photo visually-hidden", type: "file",
                   accept: "image/*", capture: "environment", multiple: true,
                   onchange: (event) => addPhotos(item, event.target) }),
      h("label", { for: `photo-${id}`, class: "button photo-button" },
        item.photo_required ? t("inspect.add_photo_required") : t("inspect.add_photo")),
      h("span", { class: "thumbs" })));
  const node = h("div", { class: "item", id: `item-${id}`, dataset: { itemId: id } },
    h("div", { class: "prompt" }, `${index + 1}. ${item.prompt}`),
    h("div", { class: "meta" },
      h("span", { class: "badge", dataset: { category: item.category } },
        categoryLabel(item.category)),
      item.legal_basis ? h("span", {}, item.legal_basis) : null,
      item.major ? h("span", { class: "badge major" }, t("inspect.major_if_failed")) : null,
      item.photo_required ? h("span", { class: "badge photo" }, t("inspect.photo_required")) : null),
    h("div", { class: "segmented", role: "radiogroup", "aria-label": item.prompt },
      RESULTS.map((value) => [
        h("input", { type: "radio", name: `result-${id}`, id: `result-${id}-${value}`,
                     value, class: value, onchange: () => choose(item, value) }),
        h("label", { for: `result-${id}-${value}` }, t("inspect.result." + value))])),
    details,
    h("div", { class: "field-error", id: `error-${id}` }));
  return node;
}

function choose(item, value, { save: keep = true } = {}) {
  state.results.get(item.item_id).result = value;
  const node = $(`#item-${item.item_id}`);
  node.classList.remove("result-pass", "result-fail", "result-na");
  node.classList.add("result-" + value);
  // a note and photos for what failed or does not apply; a pass needs neither
  const entry = state.results.get(item.item_id);
  $(".details", node).hidden = value === "pass" && !entry.note && !entry.photos.length;
  $(`#error-${item.item_id}`).textContent = "";
  fill($("#submit-message"));
  updateProgress();
  if (keep) save();
}

function showThumb(item, photo) {
  const thumb = h("img", { src: URL.createObjectURL(photo.blob),
                           alt: t("inspect.photo_alt", { prompt: item.prompt }),
                           class: photo.ref ? "uploaded" : "pending",
                           title: photo.ref ? null : t("inspect.photo_waiting"),
                           dataset: { key: photo.key } });
  if (photo.ref) thumb.dataset.ref = photo.ref;
  $(`#item-${item.item_id} .thumbs`).appendChild(thumb);
  return thumb;
}

// A photo is kept on the device first, then uploaded if there is signal; one
// not uploaded goes up before the inspection when it is sent.
async function addPhotos(item, input) {
  const entry = state.results.get(item.item_id);
  const error = $(`#error-${item.item_id}`);
  error.textContent = "";
  const files = [...input.files];
  input.value = "";
  for (const file of files) {
    const photo = { key: newKey(), blob: file, type: file.type, ref: null };
    entry.photos.push(photo);
    const thumb = showThumb(item, photo);
    await save();
    if (!navigator.onLine) continue;
    thumb.classList.add("uploading");
    try {
      const stored = await uploadPhoto(photo);
      photo.ref = stored.ref;
      thumb.classList.remove("uploading", "pending");
      thumb.classList.add("uploaded");
      thumb.removeAttribute("title");
      thumb.dataset.ref = stored.ref;
      await save();
    } catch (err) {
      thumb.classList.remove("uploading");
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        // the file itself was refused (too big, not an image): it cannot go up later either
        entry.photos.splice(entry.photos.indexOf(photo), 1);
        thumb.remove();
        await save();
        error.textContent = t("inspect.photo_not_uploaded", { reason: err.message });
      }
      // no answer: it stays on the device, uploaded when the inspection is sent
    }
  }
}

async function uploadPhoto(photo) {
  const headers = { Accept: "application/json", "Content-Type": photo.type,
                    "Idempotency-Key": photo.key, Authorization: "Bearer " + token() };
  let response;
  try {
    response = await fetch("/api/v1/evidence?enterprise_id=" +
                           encodeURIComponent(state.scan.enterprise.id),
                           { method: "POST", headers, body: photo.blob });
  } catch (_) {
    throw new ApiError(0, "network");
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, (answer.error || {}).message || response.statusText);
  }
  return answer;
}

function updateProgress() {
  const total = state.results.size;
  const marked = [...state.results.values()].filter((entry) => entry.result).length;
  $("#progress-bar").style.width = (total ? 100 * marked / total : 0) + "%";
  $("#progress-text").textContent = t("inspect.progress", { marked, total });
}

$("#rest-pass").addEventListener("click", () => {
  for (const item of state.checklist.items) {
    if (!state.results.get(item.item_id).result) {
      $(`#result-${item.item_id}-pass`).checked = true;
      choose(item, "pass", { save: false });
    }
  }
  save();
});

$("#inspector").addEventListener("input", () => save());

// What can be seen before sending: every item marked, photos where required.
function problems() {
  const found = new Map();
  for (const item of state.checklist.items) {
    const entry = state.results.get(item.item_id);
    if (!entry.result) found.set(item.item_id, t("inspect.choose_result"));
    else if (entry.result === "fail" && item.photo_required && !entry.photos.length) {
      found.set(item.item_id, t("inspect.photo_needed"));
    }
  }
  return found;
}

function showItemErrors(errors) {
  for (const [itemId, text] of errors) {
    const box = $(`#error-${itemId}`);
    if (box) box.textContent = text;
  }
  const first = errors.keys().next().value;
  if (first) $(`#item-${first}`).scrollIntoView({ block: "center" });
}

$("#inspection").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("#submit-message");
  fill(box);
  const found = problems();
  const inspector = $("#inspector").value.trim();
  if (!inspector) found.set("inspector", "");
  if (found.size) {
    fill(box, message("error", t("inspect.to_fix", { n: found.size })));
    if (!inspector) $("#inspector").focus();
    showItemErrors(new Map([...found].filter(([key]) => key !== "inspector")));
    return;
  }
  rememberName(inspector);
  $("#submit").disabled = true;
  const { position, enterprise } = state.scan;
  // the key is made now, once: every retry of this submission carries it
  const item = await enqueue({
    id: newKey(), positionId: position.id, positionName: position.name,
    checklistTitle: state.checklist.title, draftKey: state.draftKey,
    hasChoice: state.scan.checklists.length > 1,
    body: {
      enterprise_id: enterprise.id, position_id: position.id,
      checklist_id: state.checklist.checklist_id, checklist_version: state.checklist.version,
      kind: inspectionKind(account()), inspector,
      started_at: state.startedAt.toISOString(), completed_at: new Date().toISOString(),
      results: state.checklist.items.map((checklistItem) => {
        const entry = state.results.get(checklistItem.item_id);
        const result = { item_id: checklistItem.item_id, result: entry.result };
        if (entry.note.trim()) result.note = entry.note.trim();
        return result;
      }),
    },
    photos: state.checklist.items.flatMap((checklistItem) =>
      state.results.get(checklistItem.item_id).photos.map(({ key, blob, type, ref }) =>
        ({ itemId: checklistItem.item_id, key, blob, type, ref }))),
  });
  state.waitingFor = item.id;
  await saving;
  await deleteDraft(state.draftKey);          // the outbox holds it now
  if (navigator.onLine) {
    await sendOutbox();
  }
  if (state.waitingFor === item.id) showQueued();
});

function showQueued() {
  $("#inspection").hidden = true;
  $("#queued").hidden = false;
  $("#submit").disabled = false;
  window.scrollTo(0, 0);
}

async function sendOutbox() {
  try {
    for (const item of await flush()) {
      if (item.state === "sent") state.sent.push(item);
      if (item.id !== state.waitingFor) continue;
      if (item.state === "sent") {
        state.waitingFor = null;
        showResult(item.inspection, item);
      } else if (item.state === "refused" && !$("#inspection").hidden) {
        // refused while the form is still open: fix it there, as before
        state.waitingFor = null;
        await discard(item.id);
        await save();
        $("#submit").disabled = false;
        showRefusal(item);
      }
    }
  } catch (err) {
    console.warn("outbox not sent", err);
  }
  showOutbox();
}

function showRefusal(item) {
  fill($("#submit-message"), message("error", item.reason));
  const perItem = (item.fields && item.fields.results) || {};
  if (perItem && typeof perItem === "object" && !Array.isArray(perItem)) {
    showItemErrors(new Map(Object.entries(perItem).map(([id, reasons]) =>
      [id, reasonsText(reasons)])));
  }
}

// The outbox: what waits to be sent, each with its state; a refused one with
// the API's reason, to fix or discard.
let showing = Promise.resolve();
function showOutbox() {
  showing = showing.then(renderOutbox).catch((err) => console.warn("outbox not shown", err));
  return showing;
}

async function renderOutbox() {
  const items = await outbox();
  const waiting = items.filter((item) => item.state !== "refused").length;
  const shownSent = state.sent.filter((item) => !items.some((other) => other.id === item.id));
  $("#outbox").hidden = !items.length && !shownSent.length;
  $("#outbox").dataset.waiting = String(waiting);
  $("#outbox-title").textContent = waiting ? t("inspect.outbox.waiting_count", { n: waiting })
                                           : t("inspect.outbox.title");
  $("#outbox-send").hidden = !waiting;
  fill($("#outbox-items"),
    items.map((item) => h("li", { class: "outbox-item " + item.state,
                                  dataset: { id: item.id, state: item.state } },
      h("strong", {}, item.positionName + " · " + item.checklistTitle),
      h("small", {}, dateTime(item.body.completed_at)),
      h("span", { class: "outbox-state" }, stateText(item)),
      item.state === "refused"
        ? h("div", { class: "actions" },
            state.scan && item.positionId === state.scan.position.id
              ? h("button", { type: "button", class: "small outbox-fix",
                              onclick: () => fixRefused(item) }, t("inspect.outbox.fix")) : null,
            h("button", { type: "button", class: "small outbox-discard",
                          onclick: () => discardRefused(item) }, t("inspect.outbox.discard")))
        : null)),
    shownSent.map((item) => h("li", { class: "outbox-item sent",
                                      dataset: { id: item.id, state: "sent" } },
      h("strong", {}, item.positionName + " · " + item.checklistTitle),
      h("span", { class: "outbox-state" }, t("inspect.outbox.sent")))));
}

function stateText(item) {
  if (item.state === "refused") return t("inspect.outbox.refused", { reason: item.reason });
  if (item.state === "sending") return t("inspect.outbox.sending");
  if (item.reason === "login") return t("inspect.outbox.login");
  return t("inspect.outbox.waiting");
}

$("#outbox-send").addEventListener("click", () => sendOutbox());

async function discardRefused(item) {
  if (!window.confirm(t("inspect.outbox.discard_confirm"))) return;
  await discard(item.id);
}

// A refused inspection back into the form, to be corrected and submitted anew.
async function fixRefused(item) {
  const checklist = state.scan.checklists.find((c) => c.checklist_id === item.body.checklist_id);
  if (!checklist) return;
  const results = {};
  for (const result of item.body.results) {
    results[result.item_id] = {
      result: result.result, note: result.note || "",
      photos: item.photos.filter((photo) => photo.itemId === result.item_id)
        .map(({ key, blob, type, ref }) => ({ key, blob, type, ref })) };
  }
  await saveDraft({ key: item.draftKey, positionId: item.positionId,
                    checklistId: checklist.checklist_id, checklistVersion: item.body.checklist_version,
                    startedAt: item.body.started_at, inspector: item.body.inspector, results });
  await discard(item.id);
  await begin(checklist);
  showRefusal(item);
}

async function showResult(inspection, item) {
  $("#inspection").hidden = true;
  $("#queued").hidden = true;
  $("#result").hidden = false;
  $("#result").dataset.inspectionId = inspection.id;
  $("#summary").textContent = t("inspect.summary", {
    passed: inspection.items_passed, failed: inspection.items_failed,
    na: inspection.items_not_applicable, title: item.checklistTitle,
    at: dateTime(inspection.completed_at) });
  fill($("#after"),
    item.hasChoice
      ? h("button", { type: "button", onclick: showChoice }, t("inspect.another")) : null,
    h("a", { class: "button", href: "/app/enterprise.html?enterprise=" +
                                    encodeURIComponent(inspection.enterprise_id) },
      t("inspect.enterprise_dashboard")));
  window.scrollTo(0, 0);
  if (!inspection.items_failed) {
    fill($("#hazards"), message("ok", t("inspect.all_clear")));
    return;
  }
  fill($("#hazards"), h("p", { class: "muted" }, t("inspect.recording_hazards")));
  let hazards;
  try {
    hazards = await hazardsOf(inspection);
  } catch (err) {
    fill($("#hazards"), errorMessage(err));
    return;
  }
  fill($("#hazards"),
    hazards.map((hazard) => h("div", { class: "hazard " + hazard.level,
                                       dataset: { hazardId: hazard.id, category: hazard.category } },
      h("div", {}, levelBadge(hazard.level), " ", h("strong", {}, categoryLabel(hazard.category))),
      h("div", { class: "notice-body" }, hazard.description),
      h("small", {}, t("inspect.rectify_by", { day: date(hazard.rectification_deadline) }) +
                     (hazard.level === "major" ? t("inspect.needs_plan") : "")))),
    hazards.length < inspection.items_failed
      ? message("info", t("inspect.more_hazards")) : null);
}

// Hazards are raised by the hazard service from the InspectionLogged event,
// a moment after the inspection was stored: poll the ledger for them.
async function hazardsOf(inspection) {
  const deadline = Date.now() + HAZARD_WAIT_MS;
  let hazards = [];
  while (Date.now() < deadline) {
    try {
      hazards = (await get("/api/v1/hazards", {
        enterprise_id: inspection.enterprise_id, source_inspection_id: inspection.id,
        sort: "category", size: 200 })).items;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status < 500) throw err;
    }
    if (hazards.length >= inspection.items_failed) break;
    await new Promise((resolve) => setTimeout(resolve, HAZARD_POLL_MS));
  }
  return hazards;
}

