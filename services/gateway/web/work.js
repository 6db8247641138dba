// My work (GET /api/v1/me/work): the hazards assigned to the account, those
// waiting for its verification, its unread notices — each hazard a link to
// its page, times in the deployment's time zone.
import { account, get } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, fill, h, hazardLink, message, mountTopbar, timeIn } from "./ui.js";
import { mayVerify } from "./roles.js";
import { timeZone } from "./deployment.js";
import { inboxName, levelTag, statusTag } from "./daily.js";

let zone = "Asia/Shanghai";

mountTopbar("work");
main();

async function main() {
  zone = await timeZone();
  try {
    const work = await get("/api/v1/me/work");
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
