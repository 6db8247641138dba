// Log in: POST /api/v1/auth/token, keep the token, go back where the user came from.
// A temporary password (after a reset) must be changed first: the login answer
// says so (account.must_change_password, its token good for nothing else), and
// the page asks for a new one (POST /api/v1/auth/password answers a full token).
import { ApiError, post, saveSession } from "./api.js";
import { t } from "./i18n.js";
import { $, errorMessage, fill, languageSwitch, message } from "./ui.js";
import { homeOf } from "./roles.js";

const MIN_LENGTH = 12;

// Only a page of this site: `next` is parsed as the browser will parse it,
// against this page's origin, and kept only if it stays on that origin
// (a prefix check is fooled: the parser drops tabs and newlines, so
// "/\t/evil.example/" is "//evil.example/", another host). The start page
// means the account's own.
function nextPath(account) {
  const next = new URLSearchParams(location.search).get("next");
  let target = null;
  try {
    target = next ? new URL(next, location.origin) : null;
  } catch (_) { /* not a URL at all */ }
  if (!target || target.origin !== location.origin || target.pathname === "/app/") {
    return homeOf(account);
  }
  return target.pathname + target.search + target.hash;
}

function loginFailure(err) {
  if (err instanceof ApiError && err.status === 401) {
    return message("error", t("login.wrong"));
  }
  if (err instanceof ApiError && err.status === 429) {   // its message says how long to wait
    return message("error", t("login.too_many", { reason: err.message }));
  }
  return errorMessage(err);
}

let temporaryPassword = null;

function askForNewPassword(password) {
  temporaryPassword = password;
  $("#login-form").hidden = true;
  $("#password-form").hidden = false;
  $("#new-password").focus();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("#username").value.trim();
  const password = $("#password").value;
  const box = $("#login-message");
  if (!username || !password) {
    fill(box, message("error", t("login.enter_both")));
    return;
  }
  $("#login-submit").disabled = true;
  fill(box);
  try {
    const issued = await post("/api/v1/auth/token", { username, password });
    saveSession(issued);
    if (issued.account && issued.account.must_change_password) {
      askForNewPassword(password);
      return;
    }
    location.assign(nextPath(issued.account));
  } catch (err) {
    fill(box, loginFailure(err));
    $("#login-submit").disabled = false;
  }
});

$("#password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = $("#new-password").value;
  const box = $("#password-message");
  if (chosen.length < MIN_LENGTH) {
    fill(box, message("error", t("login.too_short", { n: MIN_LENGTH })));
    return;
  }
  if (chosen !== $("#repeat-password").value) {
    fill(box, message("error", t("login.differ")));
    return;
  }
  $("#password-submit").disabled = true;
  fill(box);
  try {
    const issued = await post("/api/v1/auth/password",
                              { old_password: temporaryPassword, new_password: chosen });
    saveSession(issued);
    location.assign(nextPath(issued.account));
  } catch (err) {
    fill(box, err instanceof ApiError && err.fields.new_password
      ? message("error", t("login.choose_another", {
        reasons: [].concat(err.fields.new_password).join(t("login.reasons_and")) }))
      : errorMessage(err));
    $("#password-submit").disabled = false;
  }
});

$("#login-language").append(languageSwitch());
// the buttons come disabled: a form sent before this script listens would be
// the browser's own GET, the password in the address
$("#login-submit").disabled = false;
$("#password-submit").disabled = false;
$("#username").focus();
