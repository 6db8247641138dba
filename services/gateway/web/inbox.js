// The account's inboxes: its own (account:<username>) and the one it answers
// for — its enterprise's, its grid's or the authority's (as GET
// /api/v1/me/work names them) — unread first, each notice marked read with
// the account's read receipt.
import { get } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, fill, h, message, mountTopbar } from "./ui.js";
import { timeZone } from "./deployment.js";
import { inboxName, noticeEntry } from "./daily.js";

const SHOWN = 100;        // per inbox: the newest unread, then the newest read
let zone = "Asia/Shanghai";

mountTopbar("inbox");
main();

async function main() {
  zone = await timeZone();
  $("#zone").textContent = zone;
  try {
    const work = await get("/api/v1/me/work");
    const recipients = work.unread_notices.inboxes.map((inbox) => inbox.recipient);
    fill($("#inboxes"), recipients.map((recipient) => h("section", {
      class: "card inbox", dataset: { recipient } },
      h("h2", {}, inboxName(recipient), " ", h("span", { class: "badge unread-count" })),
      h("div", { class: "body" }, h("p", { class: "muted" }, t("common.loading"))))));
    await Promise.all(recipients.map(load));
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  } catch (err) {
    fill($("#status"), errorMessage(err));
  }
}

async function load(recipient) {
  const section = $(`.inbox[data-recipient="${CSS.escape(recipient)}"]`);
  const box = section.querySelector(".body");
  try {
    const [unread, newest] = await Promise.all([
      get("/api/v1/notices", { recipient, unread: "true", size: SHOWN }),
      get("/api/v1/notices", { recipient, size: SHOWN })]);
    const read = newest.items.filter((notice) => notice.read_at);
    section.querySelector(".unread-count").textContent = t("inbox.unread", { n: unread.unread });
    if (!unread.items.length && !read.length) {
      fill(box, message("info", t("inbox.none")));
      return;
    }
    fill(box, [...unread.items, ...read].map((notice) => {
      const entry = noticeEntry(notice, zone, () => load(recipient));
      entry.id = "notice-" + notice.notice_id;
      return entry;
    }), newest.total > SHOWN ? h("small", {}, t("inbox.newest", { shown: SHOWN, total: newest.total })) : null);
  } catch (err) {
    fill(box, errorMessage(err));
  }
}
