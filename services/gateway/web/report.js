// Report a hazard from the phone, without a checklist: the position from a
// QR scan (inspect.html links here with ?position=<id>) or chosen from the
// enterprise's list; level, category (the deployment's taxonomy), a
// description and a photo (the camera), uploaded first as evidence. One
// Idempotency-Key per filled-in form, so a double tap or a retry records one
// hazard; a change to the form is another report and gets another key.
import { account, actorName, all, ApiError, get, post, upload } from "./api.js";
import { t } from "./i18n.js";
import { hazardCategories, labelIn } from "./taxonomy.js";
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
    categories = await hazardCategories();
    if (positionId) {
      const position = await get("/api/v1/positions/" + encodeURIComponent(positionId));
      enterpriseId = position.enterprise_id;
      positions = [position];
    } else {
      const who = account();
      enterpriseId = query.get("enterprise") || (who && who.enterprise_id);
      if (!enterpriseId) {
        fill($("#status"), message("error", t("report.scan_first")));
        return;
      }
      positions = await all("/api/v1/enterprises/" + encodeURIComponent(enterpriseId) +
                            "/positions", { sort: "name" });
    }
  } catch (err) {
    fill($("#status"), err instanceof ApiError && err.status === 404
      ? message("error", t("report.no_position")) : errorMessage(err));
    return;
  }
  fill($("#report-fields"),
    field(t("report.position"), "position_id", h("select", { required: true },
      positionId ? null : h("option", { value: "" }, t("report.choose")),
      positions.map((p) => h("option", { value: p.id, selected: p.id === positionId }, p.name)))),
    field(t("report.level"), "level", h("select", { required: true },
      ["general", "major"].map((level) => h("option", { value: level }, t("report.level." + level))))),
    field(t("report.category"), "category", h("select", { required: true },
      categories.map((c) => h("option", { value: c.key }, labelIn(c))))),
    field(t("report.description"), "description", h("textarea", { required: true, rows: 4 })),
    field(t("report.photo"), "evidence", h("input", { type: "file", accept: "image/*",
                                                 capture: "environment" })),
    field(t("report.found_by"), "reporter", h("input", { type: "text", value: actorName(),
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
  fill(box, h("small", {}, t("report.sending")));
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
    fill(box, message("info", t("report.reported") + " "),
         h("a", { id: "reported-link", href: "/app/hazard.html?id=" + encodeURIComponent(hazard.id) },
           t("report.open_hazard")));
  } catch (err) {
    pending = null;            // refused: what is sent next is another request
    const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
    fill(box, placed ? message("error", t("report.correct_fields"))
                     : errorMessage(err));
  }
}
