// The checklists the account can use (GET /api/v1/checklists: an enterprise's
// people see their own and the universal ones for their industry, the
// authority all): scope, industry, latest version and whether it is a draft
// or published, each a link to its page (checklist.html). Who may, creates one
// (the authority a universal one, an enterprise's manager one of its own:
// POST /api/v1/checklists, then on to its page to add the items) and the
// authority imports a grading standard's CSV (POST /api/v1/checklists/import),
// the file's problems — a line, a category that does not add up — listed
// beside the form. The API decides; the page leaves out what it would refuse.
import { all, goToLogin, me, post, upload } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, labelOf, message, mountTopbar,
         showFieldErrors } from "./ui.js";
import { formKey, latestStatus, mayChangeUniversal, mayCreateChecklist,
         showRefusal } from "./checklists-shared.js";

let who = null;

mountTopbar("checklists");
main();

async function main() {
  try {
    who = await me();
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  if (!who) {
    goToLogin();
    return;
  }
  if (who.enterprise_id) $("#to-schedules").hidden = false;      // the schedules of one's own
  $("#scope-filter").addEventListener("change", load);
  if (mayCreateChecklist(who)) createForm();
  if (mayChangeUniversal(who)) importForm();
  await load();
}

function checklistHref(id) {
  return "/app/checklist.html?id=" + encodeURIComponent(id);
}

async function load() {
  const box = $("#checklists-list");
  let rows;
  try {
    rows = await all("/api/v1/checklists", { scope: $("#scope-filter").value,
                                             enterprise_id: who.enterprise_id || "" });
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  if (!rows.length) {
    fill(box, message("ok", t("checklists.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "checklists" },
    h("thead", {}, h("tr", {}, ["name", "scope", "industry", "version", "status"].map(
      (name) => h("th", {}, t("checklists.col." + name))))),
    h("tbody", {}, rows.map((row) => {
      const status = latestStatus(row);
      return h("tr", { dataset: { checklistId: row.id, scope: row.scope, status } },
        h("td", { class: "name" }, h("a", { href: checklistHref(row.id) }, row.title)),
        h("td", {}, labelOf("checklists.scope", row.scope)),
        h("td", {}, row.industry || t("checklists.all_industries")),
        h("td", { class: "num version" }, String(row.latest_version),
          row.published_version && row.published_version !== row.latest_version
            ? h("small", {}, " " + t("checklists.published_is", { n: row.published_version }))
            : null),
        h("td", {}, h("span", { class: "badge " + (status === "published" ? "pass" : "") },
                      labelOf("checklists.status", status))));
    })))));
}

function createForm() {
  $("#create").hidden = false;
  const universal = mayChangeUniversal(who);
  $("#create-hint").textContent = t(universal ? "checklists.create_hint_universal"
                                              : "checklists.create_hint_enterprise");
  fill($("#create-fields"),
    field(t("checklists.field.title"), "title", h("input", { type: "text", maxlength: 300 })),
    universal ? field(t("checklists.field.industry"), "industry",
                      h("input", { type: "text", maxlength: 100 }),
                      { id: "f-create-industry", hint: t("checklists.industry_hint") }) : null);
  const form = $("#create-form");
  const key = formKey(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#create-message");
    showFieldErrors(form, {});
    fill(box);
    const body = { title: form.elements.title.value.trim(), items: [] };
    if (universal) {
      body.scope = "universal";
      const industry = form.elements.industry.value.trim();
      if (industry) body.industry = industry;
    } else {
      body.scope = "enterprise";
      body.enterprise_id = who.enterprise_id;
    }
    $("#create-submit").disabled = true;
    try {
      const made = await post("/api/v1/checklists", body, { idempotencyKey: key.get() });
      key.reset();
      location.assign(checklistHref(made.id));
    } catch (err) {
      showRefusal(form, box, err);
    } finally {
      $("#create-submit").disabled = false;
    }
  });
}

function importForm() {
  $("#import").hidden = false;
  $("#csv-sample").textContent = t("checklists.csv_sample");
  fill($("#import-fields"),
    field(t("checklists.field.file"), "csv", h("input", { type: "file", accept: ".csv,text/csv" }),
          { id: "f-import-file" }),
    field(t("checklists.field.title"), "title", h("input", { type: "text", maxlength: 300 }),
          { id: "f-import-title" }),
    field(t("checklists.field.industry"), "industry", h("input", { type: "text", maxlength: 100 }),
          { id: "f-import-industry", hint: t("checklists.industry_hint") }),
    h("div", { class: "field" }, h("label", { class: "check" },
      h("input", { type: "checkbox", name: "publish", id: "f-import-publish" }),
      t("checklists.field.publish_now"))));
  const form = $("#import-form");
  const key = formKey(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#import-message");
    showFieldErrors(form, {});
    fill(box);
    const file = form.elements.csv.files[0];
    if (!file) {
      showFieldErrors(form, { csv: [t("checklists.choose_file")] });
      return;
    }
    const query = new URLSearchParams({ title: form.elements.title.value.trim(),
                                        publish: form.elements.publish.checked ? "true" : "false" });
    const industry = form.elements.industry.value.trim();
    if (industry) query.set("industry", industry);
    $("#import-submit").disabled = true;
    try {
      // as text/csv whatever the browser makes of the file's type
      const answer = await upload("/api/v1/checklists/import?" + query.toString(),
                                  new Blob([await file.arrayBuffer()], { type: "text/csv" }),
                                  { idempotencyKey: key.get() });
      key.reset();
      form.reset();
      fill(box, message("ok", t("checklists.imported", { title: answer.title,
                                                        items: answer.latest.items.length })),
           h("a", { id: "imported-link", href: checklistHref(answer.id) }, t("checklists.open")));
      await load();
    } catch (err) {
      showRefusal(form, box, err);
    } finally {
      $("#import-submit").disabled = false;
    }
  });
}
