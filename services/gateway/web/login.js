// Log in: POST /api/v1/auth/token, keep the token, go back where the user came from.
import { ApiError, post, saveSession } from "./api.js";
import { $, errorMessage, fill, message } from "./ui.js";
import { homeOf } from "./roles.js";

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

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("#username").value.trim();
  const password = $("#password").value;
  const box = $("#login-message");
  if (!username || !password) {
    fill(box, message("error", "Enter your username and password."));
    return;
  }
  $("#login-submit").disabled = true;
  fill(box);
  try {
    const issued = await post("/api/v1/auth/token", { username, password });
    saveSession(issued);
    location.assign(nextPath(issued.account));
  } catch (err) {
    fill(box, err instanceof ApiError && err.status === 401
      ? message("error", "Wrong username or password.")
      : errorMessage(err));
    $("#login-submit").disabled = false;
  }
});
$("#username").focus();
