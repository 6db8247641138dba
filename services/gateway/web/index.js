// The start page: log in first; then the page of the account's role.
import { account, loginUrl, token } from "./api.js";
import { mountTopbar } from "./ui.js";
import { homeOf } from "./roles.js";

if (!token()) {
  location.replace(loginUrl());
} else if (homeOf(account()) !== "/app/") {
  location.replace(homeOf(account()));
} else {
  mountTopbar("home");      // an integrator: both dashboards show what its grant covers
}
