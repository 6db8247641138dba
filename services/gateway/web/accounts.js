// Accounts (GET/POST /api/v1/accounts): an enterprise manager sees and creates
// its enterprise's (usernames in its prefix), the authority admin everyone's,
// by role. Disable and reset a password per row; a reset's temporary password
// is shown once, in this page only (the API answers it once).
import { ApiError, all, get, goToLogin, me, post } from "./api.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors } from "./ui.js";

const ROLE_LABELS = {
  enterprise_staff: "企业员工 enterprise staff", enterprise_manager: "企业负责人 enterprise manager",
  grid_officer: "网格员 grid officer", town_officer: "乡镇监管员 town officer",
  authority_inspector: "执法人员 authority inspector", authority_admin: "管理员 authority admin",
  integrator: "对接方 integrator",
};
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
    fill($("#accounts-list"), message("error", "您无权管理账号 · This account does not manage accounts."));
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
    fill(filter, h("option", { value: "" }, "全部 all"),
         Object.entries(ROLE_LABELS).map(([role, label]) => h("option", { value: role }, label)));
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
    fill(box, message("ok", "没有账号 · No account."));
    return;
  }
  fill(box, h("div", { class: "table-wrap" }, h("table", { class: "accounts" },
    h("thead", {}, h("tr", {}, ["用户名 Username", "角色 Role", "状态 Status", "操作 Actions"].map(
      (title) => h("th", {}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", { dataset: { username: row.username,
                                                         accountId: row.account_id } },
      h("td", { class: "username" }, row.username,
        row.display_name ? h("small", {}, " " + row.display_name) : null),
      h("td", {}, ROLE_LABELS[row.role] || row.role),
      h("td", { class: "state" }, row.disabled ? h("span", { class: "badge" }, "已停用 disabled")
        : row.must_change_password ? "临时密码 temporary password" : "正常 active"),
      h("td", { class: "actions" }, row.username === who.username ? "—" : [
        row.disabled ? null : h("button", { type: "button", class: "small secondary disable",
                                            onclick: () => disable(row) }, "停用 Disable"),
        " ",
        h("button", { type: "button", class: "small secondary reset",
                      onclick: () => reset(row) }, "重置密码 Reset password")])))))));
}

async function disable(row) {
  if (!confirm(`停用 ${row.username}？Disable ${row.username}: it can no longer log in.`)) return;
  const box = $("#account-action-message");
  try {
    await post(`/api/v1/accounts/${encodeURIComponent(row.account_id)}/disable`, {});
    fill(box, message("ok", `已停用 Disabled: ${row.username}`));
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
      `${row.username} 的临时密码（仅显示这一次，首次登录须修改）· Temporary password of ` +
      `${row.username}, shown this once (to be changed at the first login): `,
      h("code", { id: "temporary-password" }, answer.temporary_password)));
    await load();
  } catch (err) {
    fill(box, errorMessage(err));
  }
}

function createForm() {
  const form = $("#account-form");
  const roles = who.role === "enterprise_manager" ? ENTERPRISE_ROLES : Object.keys(ROLE_LABELS);
  const scopeFields = who.role === "authority_admin" ? [
    field("企业 ID Enterprise id (企业账号 enterprise accounts)", "enterprise_id",
          h("input", { type: "text" })),
    field("网格 Grid (网格员 grid officer)", "grid", h("input", { type: "text" })),
    field("乡镇 Town (乡镇监管员 town officer)", "town", h("input", { type: "text" })),
  ] : [];
  fill($("#account-fields"),
    field("用户名 Username", "username", h("input", { type: "text", autocomplete: "off",
                                                     value: prefix, required: true }),
          { hint: prefix ? `以 ${prefix} 开头 starts with ${prefix}` : null }),
    field("姓名 Display name", "display_name", h("input", { type: "text" })),
    field("角色 Role", "role", h("select", {}, roles.map(
      (role) => h("option", { value: role }, ROLE_LABELS[role])))),
    field("密码 Password", "password", h("input", { type: "password", autocomplete: "new-password",
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
      fill(box, message("ok", "已创建账号 · Account created: " + created.username));
      await load();
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", err.message) : errorMessage(err));
    } finally {
      $("#account-submit").disabled = false;
    }
  });
}
