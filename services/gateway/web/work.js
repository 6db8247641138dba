// My work (GET /api/v1/me/work): for the enterprise's people the rounds due
// today that are theirs and the enterprise's rounds missed in the last seven
// days; the hazards assigned to the account, those waiting for its
// verification, its unread notices — each hazard a link to its page, times in
// the deployment's time zone.
import { account, all, get } from "./api.js";
import { t } from "./i18n.js";
import { $, dayIn, errorMessage, fill, h, hazardLink, labelOf, message, mountTopbar,
         timeIn } from "./ui.js";
import { isEnterpriseRole, mayVerify } from "./roles.js";
import { timeZone } from "./deployment.js";
import { inboxName, levelTag, statusTag } from "./daily.js";

let zone = "Asia/Shanghai";

mountTopbar("work");
main();

async function main() {
  zone = await timeZone();
  try {
    const work = await get("/api/v1/me/work");
    if (isEnterpriseRole(account() && account().role)) await showRounds(work.rounds_due_today);
    showAssigned(work.assigned);
    showAwaiting(work.awaiting_verification);
    showUnread(work.unread_notices);
  } catch (err) {
    fill($("#status"), errorMessage(err));
  }
}

function body(id) {
  return $(`#${id} .body`);
}

function hazardTable(rows, columns) {
  return h("div", { class: "table-wrap" }, h("table", { class: "work" },
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((hazard) => h("tr", {
      class: hazard.overdue && hazard.status !== "closed" ? "late" : "",
      dataset: { hazardId: hazard.id } }, columns.map(([, cell]) => h("td", {}, cell(hazard))))))));
}

function more(list) {
  return list.total > list.items.length
    ? h("small", {}, t("common.shown_of", { shown: list.items.length, total: list.total })) : null;
}

// The names of the enterprise's positions and checklists, for its rounds.
async function namesOf(enterpriseId) {
  const [positions, checklists] = await Promise.all([
    all(`/api/v1/enterprises/${encodeURIComponent(enterpriseId)}/positions`),
    all("/api/v1/checklists")]);
  return { positions: new Map(positions.map((x) => [x.id || x.position_id, x.name])),
           checklists: new Map(checklists.map((x) => [x.checklist_id || x.id, x.title || x.name])) };
}

function roundTable(rounds, names) {
  return h("div", { class: "table-wrap" }, h("table", { class: "work rounds" },
    h("thead", {}, h("tr", {}, ["position", "checklist", "window", "round_status"].map(
      (name) => h("th", {}, t("work." + name))))),
    h("tbody", {}, rounds.map((round) => h("tr", {
      class: round.status === "missed" ? "late" : "",
      dataset: { scheduleId: round.schedule_id, round: round.round, status: round.status } },
      h("td", {}, names.positions.get(round.position_id) || round.position_id),
      h("td", {}, names.checklists.get(round.checklist_id) || round.checklist_id),
      h("td", {}, timeIn(round.window_start, zone), " – ", timeIn(round.window_end, zone)),
      h("td", {}, h("span", { class: "badge " + (round.status === "missed" ? "overdue" : "") },
                    labelOf("work.round", round.status))))))));
}

async function showRounds(due) {
  const who = account();
  const weekAgo = dayIn(Date.now() - 7 * 86400000, zone);
  const [names, missed] = await Promise.all([
    namesOf(who.enterprise_id),
    get("/api/v1/rounds", { enterprise_id: who.enterprise_id, status: "missed",
                            from: weekAgo, to: dayIn(Date.now(), zone) })]);
  $("#rounds").hidden = false;
  $("#missed").hidden = false;
  $("#rounds-count").textContent = String(due.length);
  fill(body("rounds"), due.length
    ? [roundTable(due, names), h("p", { class: "muted" }, t("work.scan_hint"))]
    : message("ok", t("work.no_rounds")));
  $("#missed-count").textContent = String(missed.items.length);
  fill(body("missed"), missed.items.length ? roundTable(missed.items, names)
                                           : message("ok", t("work.no_missed")));
}

function showAssigned(assigned) {
  $("#assigned-count").textContent = String(assigned.total);
  if (!assigned.items.length) {
    fill(body("assigned"), message("ok", t("work.nothing_assigned")));
    return;
  }
  fill(body("assigned"), hazardTable(assigned.items, [
    [t("work.level"), (x) => levelTag(x.level)],
    [t("work.category"), (x) => x.category],
    [t("work.description"), (x) => hazardLink(x)],
    [t("work.status"), (x) => [statusTag(x), x.overdue ? h("span", { class: "badge overdue" },
                                                          t("common.overdue")) : null]],
    [t("work.due"), (x) => timeIn(x.assignment_due, zone)],
  ]), more(assigned));
}

function showAwaiting(awaiting) {
  $("#awaiting-count").textContent = String(awaiting.total);
  if (!mayVerify(account())) {
    fill(body("awaiting"), message("info", t("work.role_does_not_verify")));
    return;
  }
  if (!awaiting.items.length) {
    fill(body("awaiting"), message("ok", t("work.nothing_awaiting")));
    return;
  }
  fill(body("awaiting"), hazardTable(awaiting.items, [
    [t("work.level"), (x) => levelTag(x.level)],
    [t("work.category"), (x) => x.category],
    [t("work.description"), (x) => hazardLink(x)],
    [t("work.rectified"), (x) => timeIn(x.rectified_at, zone)],
  ]), more(awaiting),
  h("div", { class: "actions" }, h("a", { class: "button", href: "/app/queue.html" },
                                   t("work.go_to_queue"))));
}

function showUnread(unread) {
  $("#unread-count").textContent = String(unread.unread);
  const inboxes = unread.inboxes.filter((inbox) => inbox.unread > 0);
  if (!inboxes.length) {
    fill(body("unread"), message("ok", t("work.no_unread")));
    return;
  }
  fill(body("unread"), inboxes.map((inbox) => h("div", { class: "inbox-summary",
                                                        dataset: { recipient: inbox.recipient } },
    h("h3", {}, inboxName(inbox.recipient), " ", h("span", { class: "badge" }, String(inbox.unread))),
    h("ul", {}, inbox.items.map((notice) => h("li", { dataset: { noticeId: notice.notice_id } },
      h("a", { href: "/app/inbox.html#notice-" + encodeURIComponent(notice.notice_id) },
        notice.title), " ", h("small", {}, timeIn(notice.issued_at, zone))))))),
  h("div", { class: "actions" }, h("a", { class: "button", href: "/app/inbox.html" },
                                   t("work.all_notices"))));
}
