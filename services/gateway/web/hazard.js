// One hazard, everything about it: level, status, the full description,
// position, the report's photos, the assignment (and the assign form for
// whoever may assign), plan, rectification with its photos, verification,
// returns, listing, and the history with each actor and time — times in the
// deployment's time zone.
import { account, all, ApiError, download, get, post } from "./api.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors,
         instantIn, labelOf, timeIn } from "./ui.js";
import { mayAssign } from "./roles.js";
import { timeZone } from "./deployment.js";
import { eventLabel, levelTag, photoRow, statusTag } from "./daily.js";

const hazardId = new URLSearchParams(location.search).get("id");
let zone = "Asia/Shanghai";

mountTopbar("hazard");
main();

// The notice is behind the token, which a plain link cannot send: fetched
// and saved as a file, to open and print.
$("#print-notice").addEventListener("click", async (event) => {
  event.preventDefault();
  const box = $("#print-message");
  fill(box, h("small", {}, "正在生成 Preparing …"));
  try {
    const file = `rectification-notice-${hazardId}.pdf`;
    await download(`/api/v1/hazards/${encodeURIComponent(hazardId)}/rectification-notice.pdf`,
                   {}, file);
    fill(box, h("small", { class: "exported" }, "已下载 Downloaded " + file));
  } catch (err) {
    fill(box, errorMessage(err));
  }
});

async function main() {
  if (!hazardId) {
    fill($("#status"), message("error", "缺少隐患编号 · No hazard named: open this page from a list."));
    return;
  }
  zone = await timeZone();
  $("#zone").textContent = zone;
  await load();
}

async function load() {
  let hazard;
  try {
    hazard = await get("/api/v1/hazards/" + encodeURIComponent(hazardId));
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", "没有这个隐患 · No such hazard.") : errorMessage(err));
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
  fill($("#hazard-title"), hazard.category + " ", levelTag(hazard.level), " ", statusTag(hazard),
       hazard.overdue ? h("span", { class: "badge overdue" }, "已逾期 overdue") : null);
  $("#hazard-description").textContent = hazard.description;       // every line
  const summary = $("#hazard-summary");
  const show = (enterprise, position) => fill(summary, facts([
    ["企业 Enterprise", enterprise],
    ["位置 Position", position],
    ["类别 Category", hazard.category],
    ["发现时间 Found", timeIn(hazard.found_at, zone)],
    ["上报 Reported", `${timeIn(hazard.reported_at, zone)} · ${hazard.reporter}` +
                      ` (${hazard.reported_by})`],
    ["整改期限 Rectify by", timeIn(hazard.rectification_deadline, zone)],
    ["来源 Source", hazard.source ? hazard.source.kind + (hazard.source.origin
      && hazard.source.origin !== hazard.source.kind ? " · " + hazard.source.origin : "") : ""],
    ["逾期 Overdue since", hazard.overdue_at ? timeIn(hazard.overdue_at, zone) : ""],
  ]));
  show(hazard.enterprise_id, hazard.position_id || "未指定 none");
  fill($("#hazard-photos"), photoRow(hazard.evidence, { label: "隐患照片 photos of the report" }));
  const [enterprise, position] = await Promise.allSettled([
    get("/api/v1/enterprises/" + encodeURIComponent(hazard.enterprise_id)),
    hazard.position_id ? get("/api/v1/positions/" + encodeURIComponent(hazard.position_id))
                       : Promise.reject(new Error("none"))]);
  show(enterprise.status === "fulfilled" ? enterprise.value.name : hazard.enterprise_id,
       position.status === "fulfilled" ? position.value.name
                                       : hazard.position_id || "未指定 none");
}

function showAssignment(hazard) {
  $("#assignment").hidden = false;
  const assignment = hazard.assignment;
  fill($("#assignment-body"), assignment ? facts([
    ["负责人 Assignee", assignment.assignee.username],
    ["完成期限 Due", timeIn(assignment.due, zone)],
    ["说明 Note", assignment.note],
    ["指派人 Assigned by", `${assignment.assigned_by} · ${timeIn(assignment.assigned_at, zone)}`],
    ["已提醒 Reminded (days before)", (assignment.reminded_days_before || []).join(", ")],
    ["逾期上报 Escalated", hazard.escalated_at ? timeIn(hazard.escalated_at, zone) : ""],
  ]) : message("info", "尚未指派 · Not assigned to anyone yet."));
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
      field("负责人 Assignee (用户名 username)", "assignee", who),
      h("datalist", { id: "assignee-choices" }),
      field(`完成期限 Due (${zone})`, "due", due,
            { hint: "留空则为整改期限 empty: the rectification deadline" }),
      field("说明 Note", "note", note));
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
    fill(box, message("ok", `已指派给 ${hazard.assignment.assignee.username} · Assigned.`));
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
    ["目标 Goal", h("span", { class: "pre-wrap" }, plan.goal)],
    ["措施 Measures", h("span", { class: "pre-wrap" }, plan.measures)],
    ["资金 Funds", plan.funds],
    ["责任人 Responsible", plan.responsible_person],
    ["期限 Deadline", timeIn(plan.deadline, zone)],
    ["临时措施 Interim measures", h("span", { class: "pre-wrap" }, plan.interim_measures)],
    ["记录人 Recorded by", plan.recorded_by],
  ]) : message("info", "重大隐患需先制定整改方案 · A major hazard needs a plan: none yet."));
}

function showRectification(hazard) {
  const done = hazard.rectification;
  $("#rectification").hidden = false;
  fill($("#rectification-body"), done ? [facts([
    ["措施 Measures", h("span", { class: "pre-wrap" }, done.measures)],
    ["完成时间 Done at", timeIn(done.done_at, zone)],
    ["费用 Cost", done.cost],
    ["整改人 Rectified by", done.rectified_by],
    ["提交人 Submitted by", done.submitted_by],
  ]), h("h3", {}, "整改照片 photos after"),
    photoRow(done.evidence, { label: "整改照片 photos after" })]
    : message("info", "尚未整改 · Not rectified yet."));
}

function showVerification(hazard) {
  const verified = hazard.verification;
  const returns = hazard.returns || [];
  $("#verification").hidden = !verified && !returns.length;
  fill($("#verification-body"),
    verified ? facts([
      ["验收 Verified", timeIn(verified.verified_at, zone)],
      ["验收人 Verifier", verified.verifier],
      ["签字账号 Signed by", verified.verified_by],
      ["意见 Comment", verified.comment],
      ["规则 Rule", verified.rule_version],
    ]) : null,
    returns.length ? h("ol", { class: "returns" }, returns.map((r) => h("li", { class: "return" },
      h("strong", {}, "退回 returned "), timeIn(r.returned_at, zone), " · ", r.returned_by,
      r.verifier && r.verifier !== r.returned_by ? ` (${r.verifier})` : "",
      h("div", { class: "pre-wrap" }, r.reason)))) : null);
}

function showListing(hazard) {
  const listing = hazard.listing;
  $("#listing").hidden = !listing;
  if (!listing) return;
  fill($("#listing-body"), facts([
    ["督办单位 Office", listing.office],
    ["挂牌时间 Listed", `${timeIn(listing.listed_at, zone)} · ${listing.listed_by}`],
    ["督办期限 Deadline", timeIn(listing.deadline, zone)],
    ["理由 Reason", listing.reason],
    ["摘牌 Delisted", listing.delisted_at
      ? `${timeIn(listing.delisted_at, zone)} · ${listing.delisted_by}` : ""],
    ["说明 Note", listing.note],
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
