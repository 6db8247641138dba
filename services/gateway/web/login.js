// Log in: POST /api/v1/auth/token, keep the token, go back where the user came from.
import { ApiError, post, saveSession } from "./api.js";
import { $, errorMessage, fill, message } from "./ui.js";
import { homeOf } from "./roles.js";

// Only a path on this site (an open redirect to another host is refused);
// the start page means the account's own.
function nextPath(account) {
  const next = new URLSearchParams(location.search).get("next") || "";
  const onSite = next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\");
  return onSite && next !== "/app/" ? next : homeOf(account);
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
