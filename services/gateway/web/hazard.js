// One hazard, everything about it: level, status, the full description,
// position, the report's photos, the assignment (and the assign form for
// whoever may assign), plan, rectification with its photos, verification,
// returns, listing, and the history with each actor and time — times in the
// deployment's time zone.
import { account, all, ApiError, download, get, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors,
         instantIn, labelOf, timeIn } from "./ui.js";
import { mayAssign } from "./roles.js";
import { timeZone } from "./deployment.js";
import { eventLabel, levelTag, photoRow, statusTag } from "./daily.js";
import { categoryNamer } from "./taxonomy.js";

const hazardId = new URLSearchParams(location.search).get("id");
let zone = "Asia/Shanghai";
let categoryName = (value) => value;

mountTopbar("hazard");
main();

// The notice is behind the token, which a plain link cannot send: fetched
// and saved as a file, to open and print.
$("#print-notice").addEventListener("click", async (event) => {
  event.preventDefault();
  const box = $("#print-message");
  fill(box, h("small", {}, t("hazard.preparing")));
  try {
    const file = `rectification-notice-${hazardId}.pdf`;
    await download(`/api/v1/hazards/${encodeURIComponent(hazardId)}/rectification-notice.pdf`,
                   {}, file);
    fill(box, h("small", { class: "exported" }, t("hazard.downloaded", { file })));
  } catch (err) {
    fill(box, errorMessage(err));
  }
});

async function main() {
  if (!hazardId) {
    fill($("#status"), message("error", t("hazard.no_id")));
    return;
  }
  [zone, categoryName] = await Promise.all([timeZone(), categoryNamer()]);
  $("#zone").textContent = zone;
  await load();
}

async function load() {
  let hazard;
  try {
    hazard = await get("/api/v1/hazards/" + encodeURIComponent(hazardId));
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", t("hazard.not_found")) : errorMessage(err));
    return;
  }
  fill($("#status"));
  showHazard(hazard);
  showAssignment(hazard);
  showPlan(hazard);
  showRectification(hazard);
  showVerification(hazard);
  showListing(hazard);
  await showHistory();
}

function facts(rows) {
  return h("dl", { class: "facts" }, rows.filter(([, value]) => value !== null && value !== undefined
                                                && value !== "")
    .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

async function showHazard(hazard) {
  $("#hazard").hidden = false;
  fill($("#hazard-title"), categoryName(hazard.category) + " ", levelTag(hazard.level), " ", statusTag(hazard),
       hazard.overdue ? h("span", { class: "badge overdue" }, t("common.overdue")) : null);
  $("#hazard-description").textContent = hazard.description;       // every line
  const summary = $("#hazard-summary");
  const show = (enterprise, position) => fill(summary, facts([
    [t("hazard.enterprise"), enterprise],
    [t("hazard.position"), position],
    [t("hazard.category"), categoryName(hazard.category)],
    [t("hazard.found"), timeIn(hazard.found_at, zone)],
    [t("hazard.reported"), `${timeIn(hazard.reported_at, zone)} · ${hazard.reporter}` +
                      ` (${hazard.reported_by})`],
    [t("hazard.rectify_by"), timeIn(hazard.rectification_deadline, zone)],
    [t("hazard.source"), hazard.source ? labelOf("hazard.source_kind", hazard.source.kind) + (hazard.source.origin
      && hazard.source.origin !== hazard.source.kind ? " · " + hazard.source.origin : "") : ""],
    [t("hazard.overdue_since"), hazard.overdue_at ? timeIn(hazard.overdue_at, zone) : ""],
  ]));
  show(hazard.enterprise_id, hazard.position_id || t("hazard.no_position"));
  fill($("#hazard-photos"), photoRow(hazard.evidence, { label: t("hazard.photos") }));
  const [enterprise, position] = await Promise.allSettled([
    get("/api/v1/enterprises/" + encodeURIComponent(hazard.enterprise_id)),
    hazard.position_id ? get("/api/v1/positions/" + encodeURIComponent(hazard.position_id))
                       : Promise.reject(new Error("none"))]);
  show(enterprise.status === "fulfilled" ? enterprise.value.name : hazard.enterprise_id,
       position.status === "fulfilled" ? position.value.name
                                       : hazard.position_id || t("hazard.no_position"));
}

function showAssignment(hazard) {
  $("#assignment").hidden = false;
  const assignment = hazard.assignment;
  fill($("#assignment-body"), assignment ? facts([
    [t("hazard.assignee"), assignment.assignee.username],
    [t("hazard.due"), timeIn(assignment.due, zone)],
    [t("hazard.note"), assignment.note],
    [t("hazard.assigned_by"), `${assignment.assigned_by} · ${timeIn(assignment.assigned_at, zone)}`],
    [t("hazard.reminded"), (assignment.reminded_days_before || []).join(", ")],
    [t("hazard.escalated"), hazard.escalated_at ? timeIn(hazard.escalated_at, zone) : ""],
  ]) : message("info", t("hazard.not_assigned")));
  if (mayAssign(account()) && hazard.status !== "closed") assignForm(hazard);
}

let accountsOffered = false;

function assignForm(hazard) {
  const form = $("#assign-form");
  form.hidden = false;
  if (!form.dataset.ready) {
    form.dataset.ready = "1";
    const who = h("input", { type: "text", required: true, list: "assignee-choices",
                             autocomplete: "off" });
    const due = h("input", { type: "datetime-local" });
    const note = h("textarea", { rows: 2, maxlength: 2000 });
    fill($("#assign-fields"),
      field(t("hazard.assignee_field"), "assignee", who),
      h("datalist", { id: "assignee-choices" }),
      field(t("hazard.due_field", { zone }), "due", due, { hint: t("hazard.due_hint") }),
      field(t("hazard.note"), "note", note));
    form.addEventListener("submit", (event) => { event.preventDefault(); assign(); });
  }
  if (hazard.assignment) $("#f-assignee").value = hazard.assignment.assignee.username;
  offerAccounts(hazard.enterprise_id);
}

// A manager may list its enterprise's accounts: offered as choices; the
// others type the username (the API checks it is the hazard's enterprise's).
async function offerAccounts(enterpriseId) {
  // only they may list accounts: anyone else's call would be a 403
  if (accountsOffered || !["enterprise_manager", "authority_admin"].includes(account().role)) return;
  accountsOffered = true;
  try {
    const accounts = await all("/api/v1/accounts", {}, 1000);
    fill($("#assignee-choices"), accounts
      .filter((a) => a.enterprise_id === enterpriseId && !a.disabled)
      .map((a) => h("option", { value: a.username }, a.display_name || a.role)));
  } catch (_) { /* not theirs to list: the field takes a username */ }
}

async function assign() {
  const form = $("#assign-form");
  const box = $("#assign-message");
  showFieldErrors(form, {});
  fill(box);
  $("#assign-submit").disabled = true;
  try {
    const body = { assignee: $("#f-assignee").value.trim() };
    const due = instantIn($("#f-due").value, zone);      // typed in the deployment's zone
    if (due) body.due = due;
    if ($("#f-note").value.trim()) body.note = $("#f-note").value.trim();
    const hazard = await post(`/api/v1/hazards/${encodeURIComponent(hazardId)}/assignment`, body);
    fill(box, message("ok", t("hazard.assigned_to", { name: hazard.assignment.assignee.username })));
    showAssignment(hazard);
    await showHistory();
  } catch (err) {
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", err.message) : errorMessage(err));
  } finally {
    $("#assign-submit").disabled = false;
  }
}

function showPlan(hazard) {
  const plan = hazard.plan;
  $("#plan").hidden = !plan && hazard.level !== "major";
  fill($("#plan-body"), plan ? facts([
    [t("hazard.goal"), h("span", { class: "pre-wrap" }, plan.goal)],
    [t("hazard.measures"), h("span", { class: "pre-wrap" }, plan.measures)],
    [t("hazard.funds"), plan.funds],
    [t("hazard.responsible"), plan.responsible_person],
    [t("hazard.deadline"), timeIn(plan.deadline, zone)],
    [t("hazard.interim"), h("span", { class: "pre-wrap" }, plan.interim_measures)],
    [t("hazard.recorded_by"), plan.recorded_by],
  ]) : message("info", t("hazard.no_plan")));
}

function showRectification(hazard) {
  const done = hazard.rectification;
  $("#rectification").hidden = false;
  fill($("#rectification-body"), done ? [facts([
    [t("hazard.measures"), h("span", { class: "pre-wrap" }, done.measures)],
    [t("hazard.done_at"), timeIn(done.done_at, zone)],
    [t("hazard.cost"), done.cost],
    [t("hazard.rectified_by"), done.rectified_by],
    [t("hazard.submitted_by"), done.submitted_by],
  ]), h("h3", {}, t("hazard.photos_after")),
    photoRow(done.evidence, { label: t("hazard.photos_after") })]
    : message("info", t("hazard.not_rectified")));
}

function showVerification(hazard) {
  const verified = hazard.verification;
  const returns = hazard.returns || [];
  $("#verification").hidden = !verified && !returns.length;
  fill($("#verification-body"),
    verified ? facts([
      [t("hazard.verified"), timeIn(verified.verified_at, zone)],
      [t("hazard.verifier"), verified.verifier],
      [t("hazard.signed_by"), verified.verified_by],
      [t("hazard.comment"), verified.comment],
      [t("hazard.rule"), verified.rule_version],
    ]) : null,
    returns.length ? h("ol", { class: "returns" }, returns.map((r) => h("li", { class: "return" },
      h("strong", {}, t("hazard.returned"), " "), timeIn(r.returned_at, zone), " · ", r.returned_by,
      r.verifier && r.verifier !== r.returned_by ? ` (${r.verifier})` : "",
      h("div", { class: "pre-wrap" }, r.reason)))) : null);
}

function showListing(hazard) {
  const listing = hazard.listing;
  $("#listing").hidden = !listing;
  if (!listing) return;
  fill($("#listing-body"), facts([
    [t("hazard.office"), listing.office],
    [t("hazard.listed"), `${timeIn(listing.listed_at, zone)} · ${listing.listed_by}`],
    [t("hazard.listing_deadline"), timeIn(listing.deadline, zone)],
    [t("hazard.reason"), listing.reason],
    [t("hazard.delisted"), listing.delisted_at
      ? `${timeIn(listing.delisted_at, zone)} · ${listing.delisted_by}` : ""],
    [t("hazard.note"), listing.note],
  ]));
}

async function showHistory() {
  $("#history").hidden = false;
  const body = $("#history-body");
  try {
    const history = await get(`/api/v1/hazards/${encodeURIComponent(hazardId)}/history`);
    fill(body, history.items.map((step) => h("tr", { class: "step", dataset: { event: step.type } },
      h("td", { class: "when" }, timeIn(step.time, zone)),
      h("td", {}, eventLabel(step.type),
        step.data && step.data.reason ? h("div", { class: "pre-wrap" }, step.data.reason) : null),
      h("td", { class: "actor" }, step.actor),
      h("td", {}, labelOf("common.status", step.status)))));
  } catch (err) {
    fill(body, h("tr", {}, h("td", { colspan: 4 }, errorMessage(err))));
  }
}
