// One's own password: POST /api/v1/auth/password {old_password, new_password};
// the API's password rules come back as its reasons beside the field, and its
// answer is a new token, kept as the session.
import { ApiError, goToLogin, me, post, saveSession } from "./api.js";
import { t } from "./i18n.js";
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
    field(t("password.current"), "old_password", secret("current-password")),
    field(t("password.new"), "new_password", secret("new-password")),
    field(t("password.repeat"), "repeat_password", secret("new-password")));
  const form = $("#own-password-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#own-password-message");
    showFieldErrors(form, {});
    fill(box);
    const chosen = form.elements.new_password.value;
    if (chosen !== form.elements.repeat_password.value) {
      showFieldErrors(form, { repeat_password: [t("password.differ")] });
      return;
    }
    $("#own-password-submit").disabled = true;
    try {
      const issued = await post("/api/v1/auth/password",
                                { old_password: form.elements.old_password.value,
                                  new_password: chosen });
      saveSession(issued);
      form.reset();
      fill(box, message("ok", t("password.changed")));
    } catch (err) {
      const placed = err instanceof ApiError ? showFieldErrors(form, err.fields) : 0;
      fill(box, placed ? message("error", err.message) : errorMessage(err));
    } finally {
      $("#own-password-submit").disabled = false;
    }
  });
}
