// The start page: a logged-in user goes straight to the page of their role.
import { account, token } from "./api.js";
import { mountTopbar } from "./ui.js";
import { homeOf } from "./roles.js";

const home = token() ? homeOf(account()) : "/app/";
if (home !== "/app/") {
  location.replace(home);
} else {
  mountTopbar("home");
}
