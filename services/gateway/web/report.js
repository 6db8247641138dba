// Report a hazard from the phone, without a checklist: the position from a
// QR scan (inspect.html links here with ?position=<id>) or chosen from the
// enterprise's list; level, category (the deployment's taxonomy), a
// description and a photo (the camera), uploaded first as evidence. One
// Idempotency-Key per filled-in form, so a double tap or a retry records one
// hazard; a change to the form is another report and gets another key.
import { account, actorName, all, ApiError, get, post, upload } from "./api.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors } from "./ui.js";

const query = new URLSearchParams(location.search);
const positionId = query.get("position");
let enterpriseId = null;
let pending = null;        // {key, found_at, photo, body}: the report being sent, until it is recorded

mountTopbar("report");
main();

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  // an insecure context (a phone on plain http) has no randomUUID; random bytes it has
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function main() {
  let positions = [];
  let categories = [];
  try {
    categories = (await get("/api/v1/hazard-categories")).categories;
    if (positionId) {
      const position = await get("/api/v1/positions/" + encodeURIComponent(positionId));
      enterpriseId = position.enterprise_id;
      positions = [position];
    } else {
      const who = account();
      enterpriseId = query.get("enterprise") || (who && who.enterprise_id);
      if (!enterpriseId) {
        fill($("#status"), message("error", "请扫描部位二维码 · Scan a position's QR code to " +
                                             "report a hazard there."));
        return;
      }
      positions = await all("/api/v1/enterprises/" + encodeURIComponent(enterpriseId) +
                            "/positions", { sort: "name" });
    }
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", "没有这个部位 · No such position.") : errorMessage(err));
    return;
  }
  fill($("#report-fields"),
    field("部位 Position", "position_id", h("select", { required: true },
      positionId ? null : h("option", { value: "" }, "— 选择 choose —"),
      positions.map((p) => h("option", { value: p.id, selected: p.id === positionId }, p.name)))),
    field("等级 Level", "level", h("select", { required: true },
      h("option", { value: "general" }, "一般隐患 general"),
      h("option", { value: "major" }, "重大隐患 major"))),
    field("类别 Category", "category", h("select", { required: true },
      categories.map((c) => h("option", { value: c.key }, `${c.zh} ${c.en}`)))),
    field("描述 Description", "description", h("textarea", { required: true, rows: 4 })),
    field("照片 Photo", "evidence", h("input", { type: "file", accept: "image/*",
                                                 capture: "environment" })),
    field("发现人 Found by", "reporter", h("input", { type: "text", value: actorName(),
                                                      required: true })));
  $("#report").hidden = false;
  const form = $("#report-form");
  form.addEventListener("input", () => { pending = null; });     // another report: another key
  form.addEventListener("change", () => { pending = null; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(form);
  });
}

async function submit(form) {
  const box = $("#report-message");
  fill(box, h("small", {}, "正在上报 Sending …"));
  try {
    if (!pending) pending = { key: newKey(), found_at: new Date().toISOString(), photo: null };
    const current = pending;
    if (form.evidence.files.length && !current.photo) {
      current.photo = (await upload("/api/v1/evidence?enterprise_id=" +
                                    encodeURIComponent(enterpriseId),
                                    form.evidence.files[0])).ref;
    }
    const body = { enterprise_id: enterpriseId, position_id: form.position_id.value || null,
                   level: form.level.value, category: form.category.value,
                   description: form.description.value.trim(), found_at: current.found_at,
                   reporter: form.reporter.value.trim(),
                   evidence: current.photo ? [current.photo] : [] };
    const hazard = await post("/api/v1/hazards", body, { idempotencyKey: current.key });
    showFieldErrors(form, {});
    fill(box, message("info", "已上报 Reported. "),
         h("a", { id: "reported-link", href: "/app/hazard.html?id=" + encodeURIComponent(hazard.id) },
           "查看隐患 Open the hazard"));
  } catch (err) {
    pending = null;            // refused: what is sent next is another request
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", "请修改标出的字段 · Correct the marked fields.")
                     : errorMessage(err));
  }
}
