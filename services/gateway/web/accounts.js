// Accounts (GET/POST /api/v1/accounts): an enterprise manager sees and creates
// its enterprise's (usernames in its prefix), the authority admin everyone's,
// by role. Disable and reset a password per row; a reset's temporary password
// is shown once, in this page only (the API answers it once).
import { ApiError, all, get, goToLogin, me, post } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, field, fill, h, labelOf, message, mountTopbar,
         showFieldErrors } from "./ui.js";

const ROLES = ["enterprise_staff", "enterprise_manager", "grid_officer", "town_officer",
               "authority_inspector", "authority_admin", "integrator"];
const roleLabel = (role) => labelOf("common.role", role);
const ENTERPRISE_ROLES = ["enterprise_staff", "enterprise_manager"];

mountTopbar("accounts");
main();

let who = null;
let prefix = "";

async function main() {
  try {
    who = await me();
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  if (!who) {
    goToLogin();   // nobody logged in yet: back here after the login
    return;
  }
  if (!who || !["enterprise_manager", "authority_admin"].includes(who.role)) {
    fill($("#accounts-list"), message("error", t("accounts.not_allowed")));
    $("#account-form").hidden = true;
    return;
  }
  if (who.role === "enterprise_manager") {
    try {
      prefix = (await get("/api/v1/enterprises/" + encodeURIComponent(who.enterprise_id)))
        .account_prefix + ".";
    } catch (err) {
      fill($("#status"), errorMessage(err));
    }
  } else {
    const filter = $("#role-filter");
    fill(filter, h("option", { value: "" }, t("accounts.all")),
         ROLES.map((role) => h("option", { value: role }, roleLabel(role))));
    filter.addEventListener("change", load);
    $("#role-filter-field").hidden = false;
  }
  createForm();
  await load();
}

async function load() {
  const box = $("#accounts-list");
  const role = who.role === "authority_admin" ? $("#role-filter").value : "";
  let rows;
  try {
    rows = await all("/api/v1/accounts", { role, sort: "username" });
  } catch (err) {
    fill(box, errorMessage(err));
    return;
  }
  if (!rows.length) {
    fill(box, message("ok", t("accounts.none")));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "accounts" },
    h("thead", {}, h("tr", {}, ["username", "role", "state", "actions"].map(
      (name) => h("th", {}, t("accounts.col." + name))))),
    h("tbody", {}, rows.map((row) => h("tr", { dataset: { username: row.username,
                                                         accountId: row.account_id } },
      h("td", { class: "username" }, row.username,
        row.display_name ? h("small", {}, " " + row.display_name) : null),
      h("td", {}, roleLabel(row.role)),
      h("td", { class: "state", dataset: { state: row.disabled ? "disabled"
        : row.must_change_password ? "temporary" : "active" } },
        row.disabled ? h("span", { class: "badge" }, t("accounts.state.disabled"))
          : t(row.must_change_password ? "accounts.state.temporary" : "accounts.state.active")),
      h("td", { class: "actions" }, row.username === who.username ? "—" : [
        row.disabled ? null : h("button", { type: "button", class: "small secondary disable",
                                            onclick: () => disable(row) }, t("accounts.disable")),
        " ",
        h("button", { type: "button", class: "small secondary reset",
                      onclick: () => reset(row) }, t("accounts.reset"))])))))));
}

async function disable(row) {
  if (!confirm(t("accounts.confirm_disable", { username: row.username }))) return;
  const box = $("#account-action-message");
  try {
    await post(`/api/v1/accounts/${encodeURIComponent(row.account_id)}/disable`, {});
    fill(box, message("ok", t("accounts.disabled", { username: row.username })));
    await load();
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

async function reset(row) {
  const box = $("#account-action-message");
  try {
    const answer = await post(`/api/v1/accounts/${encodeURIComponent(row.account_id)}/password-reset`,
                              {});
    fill(box, h("div", { class: "message ok", role: "status" },
      t("accounts.temporary", { username: row.username }), " ",
      h("code", { id: "temporary-password" }, answer.temporary_password)));
    await load();
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

function createForm() {
  const form = $("#account-form");
  const roles = who.role === "enterprise_manager" ? ENTERPRISE_ROLES : ROLES;
  const scopeFields = who.role === "authority_admin" ? [
    field(t("accounts.field.enterprise_id"), "enterprise_id", h("input", { type: "text" })),
    field(t("accounts.field.grid"), "grid", h("input", { type: "text" })),
    field(t("accounts.field.town"), "town", h("input", { type: "text" })),
  ] : [];
  fill($("#account-fields"),
    field(t("accounts.field.username"), "username", h("input", { type: "text", autocomplete: "off",
                                                                value: prefix, required: true }),
          { hint: prefix ? t("accounts.starts_with", { prefix }) : null }),
    field(t("accounts.field.display_name"), "display_name", h("input", { type: "text" })),
    field(t("accounts.field.role"), "role", h("select", {}, roles.map(
      (role) => h("option", { value: role }, roleLabel(role))))),
    field(t("accounts.field.password"), "password", h("input", { type: "password",
                                                               autocomplete: "new-password",
                                                               required: true })),
    scopeFields);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#account-message");
    showFieldErrors(form, {});
    fill(box);
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    const body = { username: value("username"), role: value("role"),
                   password: form.elements.password.value };
    if (value("display_name")) body.display_name = value("display_name");
    if (who.role === "enterprise_manager") body.enterprise_id = who.enterprise_id;
    for (const name of ["enterprise_id", "grid", "town"]) {
      if (who.role === "authority_admin" && value(name)) body[name] = value(name);
    }
    $("#account-submit").disabled = true;
    try {
      const created = await post("/api/v1/accounts", body);
      form.reset();
      form.elements.username.value = prefix;
      fill(box, message("ok", t("accounts.created", { username: created.username })));
      await load();
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", err.message) : errorMessage(err));
    } finally {
      $("#account-submit").disabled = false;
    }
  });
}
