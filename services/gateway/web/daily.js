// What the daily pages share (work, queue, hazard, inbox): evidence photos
// as thumbnails that open full size, a hazard's events named in Chinese
// first, a notice as an entry with its read receipt.
import { blob, post } from "./api.js";
import { errorMessage, fill, h, timeIn } from "./ui.js";

// The photos of `refs` as thumbnails; a click shows the photo full size. A PDF
// (a rectification's document) is a link that opens it.
export function photoRow(refs, { label } = {}) {
  const row = h("div", { class: "photo-row evidence", "aria-label": label || null });
  if (!refs || !refs.length) {
    row.append(h("span", { class: "muted" }, "无照片 no photo"));
    return row;
  }
  for (const ref of refs) {
    const slot = h("span", { class: "evidence-slot", dataset: { ref } }, "…");
    row.append(slot);
    showEvidence(slot, ref);
  }
  return row;
}

async function showEvidence(slot, ref) {
  try {
    const file = await blob("/api/v1/evidence/" + encodeURIComponent(ref));
    const url = URL.createObjectURL(file);
    if (file.type === "application/pdf") {
      fill(slot, h("a", { href: url, target: "_blank", rel: "noopener" }, "PDF 文件 document"));
      return;
    }
    fill(slot, h("button", { type: "button", class: "thumb", title: "查看原图 full size",
                             onclick: () => viewPhoto(url) },
                 h("img", { src: url, alt: "照片 photo " + ref.slice(7, 15) })));
  } catch (err) {
    fill(slot, h("span", { class: "muted" }, "照片无法加载 photo not available"));
  }
}

let viewer = null;

function viewPhoto(url) {
  if (!viewer) {
    viewer = h("dialog", { id: "photo-viewer", class: "photo-viewer" },
      h("form", { method: "dialog" },
        h("img", { id: "photo-full", alt: "照片原图 photo, full size" }),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "small" },
                                          "关闭 Close"))));
    document.body.append(viewer);
  }
  viewer.querySelector("#photo-full").src = url;
  viewer.showModal();
}

// The hazard service's events, as the history names them.
const EVENT_LABELS = {
  "einspection.hazard.reported.v1": "上报隐患 reported",
  "einspection.hazard.plan-recorded.v1": "整改方案 plan recorded",
  "einspection.hazard.rectification-done.v1": "提交整改 rectification submitted",
  "einspection.hazard.verified.v1": "验收通过 verified",
  "einspection.hazard.returned.v1": "验收退回 returned",
  "einspection.hazard.overdue.v1": "逾期 overdue",
  "einspection.hazard.listed.v1": "挂牌督办 listed",
  "einspection.hazard.listing-due.v1": "督办提醒 listing reminder",
  "einspection.hazard.delisted.v1": "摘牌 delisted",
  "einspection.hazard.assigned.v1": "指派 assigned",
  "einspection.hazard.rectification-due.v1": "整改提醒 reminder",
  "einspection.hazard.escalated.v1": "逾期上报 escalated",
};

export function eventLabel(type) {
  return EVENT_LABELS[type] || type.replace(/^einspection\.hazard\./, "").replace(/\.v\d+$/, "");
}

export const STATUS_LABELS = {
  reported: "待整改 open", returned: "已退回 returned",
  rectification_submitted: "待验收 awaiting verification", closed: "已关闭 closed",
};

export const LEVEL_LABELS = { general: "一般 general", major: "重大 major" };

export function levelTag(level) {
  return h("span", { class: "badge " + level }, LEVEL_LABELS[level] || level);
}

export function statusTag(hazard) {
  return h("span", { class: "badge " + (hazard.status === "closed" ? "closed" : "") },
           STATUS_LABELS[hazard.status] || hazard.status);
}

// Whose inbox a recipient is, as a reader says it.
export function inboxName(recipient) {
  const [kind, ...rest] = recipient.split(":");
  const value = rest.join(":");
  return ({ account: "我的通知 mine (" + value + ")", enterprise: "企业 enterprise",
            grid: "网格 grid " + value, town: "乡镇 town " + value,
            authority: "监管部门 authority" })[kind] || recipient;
}

// One notice: title, kind, when (in `zone`), the body, and its read receipt or a
// button that records one (the reader is the account: the API takes no name).
export function noticeEntry(notice, zone, onRead) {
  const unread = !notice.read_at;
  const status = h("div", { class: "notice-status" });
  return h("article", { class: "notice" + (unread ? " unread" : ""),
                        dataset: { noticeId: notice.notice_id } },
    h("div", {},
      h("div", { class: "notice-title" }, notice.title),
      h("small", {}, h("span", { class: "badge" }, notice.kind.replace(/_/g, " ")), " ",
        timeIn(notice.issued_at, zone),
        unread ? h("span", { class: "badge unread-mark" }, " 未读 unread")
               : h("span", { class: "read-receipt" },
                   ` · 已读 read by ${notice.read_by} ${timeIn(notice.read_at, zone)}`)),
      h("details", {}, h("summary", {}, "阅读 Read"), h("p", { class: "notice-body" }, notice.body)),
      status),
    unread ? h("button", { type: "button", class: "small mark-read", onclick: async (event) => {
      event.target.disabled = true;
      try {
        await post(`/api/v1/notices/${encodeURIComponent(notice.notice_id)}/read`, {});
        await onRead();
      } catch (err) {
        event.target.disabled = false;
        fill(status, errorMessage(err));
      }
    } }, "标为已读 Mark read") : null);
}
