// What the checklist and schedule pages share: who may change what (the
// service's rules, so that a page offers only what the API would accept), an
// Idempotency-Key per filled-in form, the API's reasons as a list beside a form.
import { ApiError } from "./api.js";
import { errorMessage, fill, h, message, reasonsText, showFieldErrors } from "./ui.js";

export const AUTHORITY_ROLES = ["authority_inspector", "authority_admin"];

// Universal checklists are the authority's (create, import, edit, publish);
// an enterprise's checklists its manager's.
export function mayChangeUniversal(who) {
  return AUTHORITY_ROLES.includes(who && who.role);
}

export function mayChange(who, checklist) {
  if (!who) return false;
  if (checklist.scope === "universal") return mayChangeUniversal(who);
  return who.role === "enterprise_manager" && who.enterprise_id === checklist.enterprise_id;
}

export function mayCreateChecklist(who) {
  return mayChangeUniversal(who) || (who && who.role === "enterprise_manager");
}

// Draft or published: what the checklist's latest version is.
export function latestStatus(checklist) {
  return checklist.published_version && checklist.published_version === checklist.latest_version
    ? "published" : "draft";
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// One key per filled-in form: a double tap or a retry after a lost answer is
// the same request (docs/api.md, Idempotency-Key); any change to the form, or
// a success, makes the next submission another request.
export function formKey(form) {
  let key = null;
  form.addEventListener("input", () => { key = null; });
  form.addEventListener("change", () => { key = null; });
  return {
    get: () => { key = key || newKey(); return key; },
    reset: () => { key = null; },
  };
}

// The API's refusal shown on the form: each reason beside its field where the
// form has one, the others (a CSV's lines, a category that does not add up)
// listed in `box` one per line, with the message.
export function showRefusal(form, box, err) {
  if (!(err instanceof ApiError)) {
    fill(box, errorMessage(err));
    return;
  }
  const fields = err.fields || {};
  const placed = showFieldErrors(form, fields);
  const known = new Set([...form.querySelectorAll(".field-error[data-error-for]")]
    .map((node) => node.dataset.errorFor.split(".")[0]));
  const rest = Object.entries(fields).filter(([name]) => !known.has(name));
  fill(box, message("error", err.message),
       rest.length ? h("ul", { class: "refusals" }, rest.map(([name, reasons]) =>
         h("li", { dataset: { field: name } }, h("strong", {}, name), ": ", reasonsText(reasons))))
         : null);
  return placed;
}
