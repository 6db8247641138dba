// What the daily pages share (work, queue, hazard, inbox): evidence photos
// as thumbnails that open full size, a hazard's events by name, a notice as an
// entry with its read receipt.
import { blob, post } from "./api.js";
import { t } from "./i18n.js";
import { errorMessage, fill, h, labelOf, timeIn } from "./ui.js";

// The photos of `refs` as thumbnails; a click shows the photo full size. A PDF
// (a rectification's document) is a link that opens it.
export function photoRow(refs, { label } = {}) {
  const row = h("div", { class: "photo-row evidence", "aria-label": label || null });
  if (!refs || !refs.length) {
    row.append(h("span", { class: "muted" }, t("common.photo.none")));
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
      fill(slot, h("a", { href: url, target: "_blank", rel: "noopener" }, t("common.photo.pdf")));
      return;
    }
    fill(slot, h("button", { type: "button", class: "thumb", title: t("common.photo.full_size"),
                             onclick: () => viewPhoto(url) },
                 h("img", { src: url, alt: t("common.photo.alt", { ref: ref.slice(7, 15) }) })));
  } catch (err) {
    fill(slot, h("span", { class: "muted" }, t("common.photo.unavailable")));
  }
}

let viewer = null;

function viewPhoto(url) {
  if (!viewer) {
    viewer = h("dialog", { id: "photo-viewer", class: "photo-viewer" },
      h("form", { method: "dialog" },
        h("img", { id: "photo-full", alt: t("common.photo.full_alt") }),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "small" },
                                          t("common.close")))));
    document.body.append(viewer);
  }
  viewer.querySelector("#photo-full").src = url;
  viewer.showModal();
}

// The hazard service's events, as the history names them (common.event.<name>).
export function eventLabel(type) {
  const name = type.replace(/^einspection\.hazard\./, "").replace(/\.v\d+$/, "");
  return labelOf("common.event", name);
}

export function levelTag(level) {
  return h("span", { class: "badge " + level }, labelOf("common.level", level));
}

export function statusTag(hazard) {
  return h("span", { class: "badge " + (hazard.status === "closed" ? "closed" : "") },
           labelOf("common.status", hazard.status));
}

// Whose inbox a recipient is, as a reader says it.
export function inboxName(recipient) {
  const [kind, ...rest] = recipient.split(":");
  const value = rest.join(":");
  const key = "common.inbox." + kind;
  const text = t(key, { name: value });
  return text === key ? recipient : text;
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
      h("small", {}, h("span", { class: "badge" }, labelOf("common.notice_kind", notice.kind)), " ",
        timeIn(notice.issued_at, zone),
        unread ? h("span", { class: "badge unread-mark" }, " " + t("common.notice.unread"))
               : h("span", { class: "read-receipt" }, t("common.notice.read_by", {
                 who: notice.read_by, when: timeIn(notice.read_at, zone) }))),
      h("details", {}, h("summary", {}, t("common.notice.read")),
        h("p", { class: "notice-body" }, notice.body)),
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
    } }, t("common.notice.mark_read")) : null);
}
