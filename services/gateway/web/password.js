// One's own password: POST /api/v1/auth/password {old_password, new_password};
// the API's password rules come back as its reasons beside the field, and its
// answer is a new token, kept as the session.
import { ApiError, goToLogin, me, post, saveSession } from "./api.js";
import { $, errorMessage, field, fill, h, message, mountTopbar, showFieldErrors } from "./ui.js";

mountTopbar("password");
main();

async function main() {
  try {
    if (!(await me())) {
      goToLogin();   // nobody logged in yet: back here after the login
      return;
    }
  } catch (err) {
    fill($("#status"), errorMessage(err));
    return;
  }
  const secret = (autocomplete) => h("input", { type: "password", autocomplete, required: true });
  fill($("#own-password-fields"),
    field("当前密码 Current password", "old_password", secret("current-password")),
    field("新密码 New password", "new_password", secret("new-password")),
    field("再次输入新密码 Repeat the new password", "repeat_password", secret("new-password")));
  const form = $("#own-password-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#own-password-message");
    showFieldErrors(form, {});
    fill(box);
    const chosen = form.elements.new_password.value;
    if (chosen !== form.elements.repeat_password.value) {
      showFieldErrors(form, { repeat_password: ["两次输入不一致 the two new passwords differ"] });
      return;
    }
    $("#own-password-submit").disabled = true;
    try {
      const issued = await post("/api/v1/auth/password",
                                { old_password: form.elements.old_password.value,
                                  new_password: chosen });
      saveSession(issued);
      form.reset();
      fill(box, message("ok", "密码已修改 · Your password is changed."));
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", err.message) : errorMessage(err));
    } finally {
      $("#own-password-submit").disabled = false;
    }
  });
}
