// The inspection on a phone: opened from a position's QR code
// (/scan/<token> → /app/inspect.html#<token>), the checklists that apply
// there, pass / fail / n.a. per item with a note and photos, submit, then
// the hazards the failed items became.
import { ApiError, account, actorName, get, post, rememberName, upload } from "./api.js";
import { $, date, dateTime, errorMessage, fill, h, levelBadge, message,
         mountTopbar, reasonsText } from "./ui.js";
import { inspectionKind } from "./roles.js";

const RESULTS = [["pass", "Pass"], ["fail", "Fail"], ["na", "N/A"]];
const HAZARD_WAIT_MS = 30000;
const HAZARD_POLL_MS = 700;

const state = {
  scan: null,          // the scan answer: position, enterprise, checklists
  checklist: null,     // the chosen published version
  startedAt: null,
  results: new Map(),  // item_id → {result, note, photos: [ref]}
};

mountTopbar("inspect");
// another code scanned while this page is open: start over with it
window.addEventListener("hashchange", () => location.reload());
start();

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
    fill($("#status"), message("info", "Scan the QR code posted at a position with your " +
                                       "phone's camera to start an inspection there."));
    return;
  }
  try {
    state.scan = await get("/api/v1/scan/" + encodeURIComponent(token));   // by the account
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", "This QR code is unknown or has been replaced by a newer one. " +
                         "Scan the code posted at the position.")
      : errorMessage(err));
    return;
  }
  fill($("#status"));
  // an enforcement inspection (the authority's) uses the authority's universal checklists only
  if (inspectionKind(account()) === "enforcement") {
    state.scan.checklists = state.scan.checklists.filter((c) => c.scope === "universal");
  }
  const { position, enterprise, checklists } = state.scan;
  $("#position-name").textContent = position.name;
  $("#report-here").href = "/app/report.html?position=" + encodeURIComponent(position.id);
  $("#enterprise-name").textContent = enterprise.name + " · " + enterprise.industry;
  $("#scanned").textContent = "Scanned " + dateTime(state.scan.scanned_at);
  $("#position").hidden = false;
  if (!checklists.length) {
    fill($("#status"), message("info", "No published checklist applies to this position yet."));
    return;
  }
  // the position's own checklists first, in its order, then the universal ones
  const rank = (checklist) => {
    const index = position.checklist_ids.indexOf(checklist.checklist_id);
    return index < 0 ? position.checklist_ids.length : index;
  };
  checklists.sort((a, b) => rank(a) - rank(b));
  if (checklists.length === 1) {
    begin(checklists[0]);
  } else {
    showChoice();
  }
}

function showChoice() {
  fill($("#checklists"), state.scan.checklists.map((checklist) =>
    h("button", { type: "button", class: "choose-checklist",
                  dataset: { checklistId: checklist.checklist_id },
                  onclick: () => begin(checklist) },
      h("span", {}, checklist.title),
      h("small", {}, checklist.items.length + " items · v" + checklist.version))));
  $("#choose").hidden = false;
  $("#inspection").hidden = true;
  $("#result").hidden = true;
}

function begin(checklist) {
  state.checklist = checklist;
  state.startedAt = new Date();
  state.results = new Map(checklist.items.map((item) =>
    [item.item_id, { result: null, note: "", photos: [] }]));
  $("#checklist-title").textContent = checklist.title;
  fill($("#items"), checklist.items.map(renderItem));
  const who = account();
  $("#inspector").value = actorName();
  $("#inspector-card").hidden = Boolean(who && who.username);
  fill($("#submit-message"));
  $("#submit").disabled = false;
  $("#choose").hidden = true;
  $("#result").hidden = true;
  $("#inspection").hidden = false;
  updateProgress();
  window.scrollTo(0, 0);
}

function renderItem(item, index) {
  const id = item.item_id;
  const details = h("div", { class: "details", hidden: true },
    h("label", { for: `note-${id}` }, "Note"),
    h("textarea", { id: `note-${id}`, class: "note", maxlength: 4000,
                    placeholder: "What did you see? Where exactly?",
                    oninput: (event) => { state.results.get(id).note = event.target.value; } }),
    h("div", { class: "photo-row" },
      h("input", { id: `photo-${id}`, class: "photo visually-hidden", type: "file",
                   accept: "image/*", capture: "environment", multiple: true,
                   onchange: (event) => addPhotos(item, event.target) }),
      h("label", { for: `photo-${id}`, class: "button photo-button" },
        item.photo_required ? "Add photo (required if it fails)" : "Add photo"),
      h("span", { class: "thumbs" })));
  const node = h("div", { class: "item", id: `item-${id}`, dataset: { itemId: id } },
    h("div", { class: "prompt" }, `${index + 1}. ${item.prompt}`),
    h("div", { class: "meta" },
      h("span", { class: "badge" }, item.category),
      item.legal_basis ? h("span", {}, item.legal_basis) : null,
      item.major ? h("span", { class: "badge major" }, "major if failed") : null,
      item.photo_required ? h("span", { class: "badge photo" }, "photo required") : null),
    h("div", { class: "segmented", role: "radiogroup", "aria-label": item.prompt },
      RESULTS.map(([value, label]) => [
        h("input", { type: "radio", name: `result-${id}`, id: `result-${id}-${value}`,
                     value, class: value, onchange: () => choose(item, value) }),
        h("label", { for: `result-${id}-${value}` }, label)])),
    details,
    h("div", { class: "field-error", id: `error-${id}` }));
  return node;
}

function choose(item, value) {
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
}

async function addPhotos(item, input) {
  const entry = state.results.get(item.item_id);
  const thumbs = $(`#item-${item.item_id} .thumbs`);
  const error = $(`#error-${item.item_id}`);
  error.textContent = "";
  for (const file of input.files) {
    const thumb = h("img", { src: URL.createObjectURL(file), alt: "photo of " + item.prompt,
                             class: "uploading", style: "opacity:.4" });
    thumbs.appendChild(thumb);
    try {
      const stored = await upload("/api/v1/evidence?enterprise_id=" +
                                  encodeURIComponent(state.scan.enterprise.id), file);
      entry.photos.push(stored.ref);
      thumb.style.opacity = "1";
      thumb.classList.replace("uploading", "uploaded");
      thumb.dataset.ref = stored.ref;
    } catch (err) {
      thumb.remove();
      error.textContent = "Photo not uploaded: " + err.message;
    }
  }
  input.value = "";
}

function updateProgress() {
  const total = state.results.size;
  const marked = [...state.results.values()].filter((entry) => entry.result).length;
  $("#progress-bar").style.width = (total ? 100 * marked / total : 0) + "%";
  $("#progress-text").textContent = `${marked} of ${total} items marked`;
}

$("#rest-pass").addEventListener("click", () => {
  for (const item of state.checklist.items) {
    if (!state.results.get(item.item_id).result) {
      $(`#result-${item.item_id}-pass`).checked = true;
      choose(item, "pass");
    }
  }
});

// What can be seen before sending: every item marked, photos where required.
function problems() {
  const found = new Map();
  for (const item of state.checklist.items) {
    const entry = state.results.get(item.item_id);
    if (!entry.result) found.set(item.item_id, "Choose pass, fail or N/A.");
    else if (entry.result === "fail" && item.photo_required && !entry.photos.length) {
      found.set(item.item_id, "A photo is required when this item fails.");
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
    fill(box, message("error", `${found.size} thing(s) to fix before submitting.`));
    if (!inspector) $("#inspector").focus();
    showItemErrors(new Map([...found].filter(([key]) => key !== "inspector")));
    return;
  }
  rememberName(inspector);
  const { position, enterprise } = state.scan;
  const body = {
    enterprise_id: enterprise.id, position_id: position.id,
    checklist_id: state.checklist.checklist_id, checklist_version: state.checklist.version,
    kind: inspectionKind(account()), inspector,
    started_at: state.startedAt.toISOString(), completed_at: new Date().toISOString(),
    results: state.checklist.items.map((item) => {
      const entry = state.results.get(item.item_id);
      const result = { item_id: item.item_id, result: entry.result };
      if (entry.note.trim()) result.note = entry.note.trim();
      if (entry.photos.length) result.photos = entry.photos;
      return result;
    }),
  };
  $("#submit").disabled = true;
  try {
    const inspection = await post("/api/v1/inspections", body);
    showResult(inspection);
  } catch (err) {
    $("#submit").disabled = false;
    fill(box, errorMessage(err));
    const perItem = (err.fields && err.fields.results) || {};
    if (perItem && typeof perItem === "object" && !Array.isArray(perItem)) {
      showItemErrors(new Map(Object.entries(perItem).map(([id, reasons]) =>
        [id, reasonsText(reasons)])));
    }
  }
});

async function showResult(inspection) {
  $("#inspection").hidden = true;
  $("#result").hidden = false;
  $("#result").dataset.inspectionId = inspection.id;
  $("#summary").textContent = `${inspection.items_passed} passed, ${inspection.items_failed} ` +
    `failed, ${inspection.items_not_applicable} not applicable — ` +
    `${state.checklist.title}, ${dateTime(inspection.completed_at)}.`;
  fill($("#after"),
    state.scan.checklists.length > 1
      ? h("button", { type: "button", onclick: showChoice }, "Another checklist here") : null,
    h("a", { class: "button", href: "/app/enterprise.html?enterprise=" +
                                    encodeURIComponent(inspection.enterprise_id) },
      "Enterprise dashboard"));
  window.scrollTo(0, 0);
  if (!inspection.items_failed) {
    fill($("#hazards"), message("ok", "All clear: no item failed, no hazard was created."));
    return;
  }
  fill($("#hazards"), h("p", { class: "muted" }, "Recording the hazards …"));
  let hazards;
  try {
    hazards = await hazardsOf(inspection);
  } catch (err) {
    fill($("#hazards"), errorMessage(err));
    return;
  }
  fill($("#hazards"),
    hazards.map((hazard) => h("div", { class: "hazard " + hazard.level,
                                       dataset: { hazardId: hazard.id } },
      h("div", {}, levelBadge(hazard.level), " ", h("strong", {}, hazard.category)),
      h("div", { class: "notice-body" }, hazard.description),
      h("small", {}, "Rectify by " + date(hazard.rectification_deadline) +
                     (hazard.level === "major" ? " · needs a remediation plan" : "")))),
    hazards.length < inspection.items_failed
      ? message("info", "More hazards are still being recorded; they will be in the " +
                        "enterprise's ledger in a moment.") : null);
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
