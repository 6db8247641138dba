// Small DOM helpers shared by the pages. Text always goes in as text nodes,
// never as HTML, so data from the API cannot inject markup.
import { account, clearSession, loginUrl, token } from "./api.js";
import { language, setLanguage, t } from "./i18n.js";
import { navigationOf } from "./roles.js";

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "style") {
      // through the CSSOM: the Content-Security-Policy refuses style attributes
      node.style.cssText = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, value);
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function date(iso) {
  return iso ? iso.slice(0, 10) : "";
}

export function dateTime(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return moment.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit",
                                            hour: "2-digit", minute: "2-digit" });
}

// An instant as the deployment's people read it: day and minute in `zone`
// (the deployment's time zone, deployment.js), e.g. "2026-12-03 22:40".
export function timeIn(iso, zone) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit",
                                            day: "2-digit", hour: "2-digit", minute: "2-digit",
                                            hour12: false }).format(new Date(iso));
}

// A wall time typed in a datetime-local field ("2026-12-05T09:30") read in
// `zone`, not in the browser's: the instant (ISO, UTC). The zone's offset at
// that moment is found by formatting a first guess there, then corrected once
// (a change of offset between the guess and the answer).
export function instantIn(value, zone) {
  if (!value) return undefined;
  const [day, clock] = value.split("T");
  const [y, mo, d] = day.split("-").map(Number);
  const [hh, mm] = (clock || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mm);
  const offsetAt = (moment) => {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(moment))
      .map((part) => [part.type, part.value]));
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute)
      - Math.floor(moment / 60000) * 60000;
  };
  let moment = wall - offsetAt(wall);
  moment = wall - offsetAt(moment);
  return new Date(moment).toISOString();
}

// A hazard's description (its first line, as tables show it) as a link to its page.
export function hazardLink(hazard, text) {
  return h("a", { class: "hazard-link", href: "/app/hazard.html?id=" + encodeURIComponent(hazard.id) },
           text || hazard.description.split("\n")[0]);
}

export function daysBetween(from, to) {
  return Math.floor((to - from) / 86400000);
}

// The calendar day (YYYY-MM-DD) an instant falls on in `zone` (an IANA name).
export function dayIn(moment, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit",
                                            day: "2-digit" }).format(new Date(moment));
}

// Days from today to the day of `deadline`, both cut in the deployment's time
// zone, as the hazard service counts a listing's days left (0: due today).
export function daysLeft(deadline, zone, now = Date.now()) {
  return Math.round((Date.parse(dayIn(deadline, zone)) - Date.parse(dayIn(now, zone)))
                    / 86400000);
}

// An amount as the API gives it (a decimal string) with its currency; never a float.
export function amount(value, currency) {
  if (value === null || value === undefined) return t("common.not_stated");
  return `${value} ${currency || ""}`.trim();
}

// A form field: its label, the input, and the box the API's reason for it goes
// in (`data-error-for`: the field's path in the API's 400 answer, e.g. fines.0.fine_imposed).
export function field(label, name, input, { id, hint } = {}) {
  input.id = id || "f-" + name.replace(/\./g, "-");
  if (!input.name) input.name = name;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input,
           hint ? h("small", {}, hint) : null,
           h("div", { class: "field-error", dataset: { errorFor: name } }));
}

// The API's reasons per field, each in the box of its field inside `root`, or
// of the nearest enclosing field that has one (quotas.<town> → quotas); what
// has no box stays in the message errorMessage shows. Returns how many were placed.
export function showFieldErrors(root, fields) {
  root.querySelectorAll(".field-error").forEach((box) => { box.textContent = ""; });
  const boxes = new Map([...root.querySelectorAll(".field-error[data-error-for]")].map(
    (box) => [box.dataset.errorFor, box]));
  let placed = 0;
  for (const [path, reasons] of flattenFields(fields || {})) {
    const parts = path.split(".");
    for (let length = parts.length; length > 0; length -= 1) {
      const box = boxes.get(parts.slice(0, length).join("."));
      if (!box) continue;
      const rest = parts.slice(length).join(".");
      const text = (rest ? rest + ": " : "") + reasons.join(" ");
      box.textContent = box.textContent ? box.textContent + "; " + text : text;
      placed += 1;
      break;
    }
  }
  return placed;
}

function flattenFields(fields, prefix = "") {
  const pairs = [];
  for (const [key, value] of Object.entries(fields)) {
    const path = prefix ? prefix + "." + key : key;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      pairs.push(...flattenFields(value, path));
    } else {
      pairs.push([path, [].concat(value).map(String)]);
    }
  }
  return pairs;
}

export function gradeBadge(grade, big = false) {
  return h("span", { class: "grade grade-" + (grade || "none") + (big ? " big" : ""),
                     title: t("common.grade", { grade: grade || "–" }) }, grade || "–");
}

// A label of the catalogue for a value the API gives (a level, a status, a
// role), or the value itself where the catalogue has none.
export function labelOf(prefix, value) {
  const key = prefix + "." + value;
  const text = t(key);
  return text === key ? String(value) : text;
}

export function levelBadge(level) {
  return h("span", { class: "badge " + level }, labelOf("common.level", level));
}

export function statusBadge(hazard) {
  return h("span", { class: "badge " + (hazard.status === "closed" ? "closed" : "") },
           labelOf("common.status", hazard.status));
}

// Listed supervision: a page of listed hazards as a table; `leading(hazard)` gives the cells before the hazard's own, under `titles`.
// `zone`: the deployment's time zone (deployment.js), in which days left are counted.
export function listedTable(page, leading = () => [], titles = [], zone = "Asia/Shanghai") {
  if (!page.items.length) return message("ok", t("common.listed.none"));
  const now = Date.now();
  return [h("div", { class: "table-wrap" }, h("table", { class: "listed" },
    h("thead", {}, h("tr", {}, [...titles, ...["category", "description", "office", "deadline",
                                               "days_left", "status"]
      .map((name) => t("common.listed." + name))].map((title) => h("th", {}, title)))),
    h("tbody", {}, page.items.map((hazard) => {
      const left = daysLeft(hazard.listing_deadline, zone, now);
      return h("tr", { class: left < 0 ? "late" : "", dataset: { hazardId: hazard.id } },
        ...leading(hazard),
        h("td", {}, hazard.category),
        h("td", {}, hazardLink(hazard)),
        h("td", {}, hazard.listing_office),
        h("td", {}, dayIn(hazard.listing_deadline, zone)),
        h("td", { class: "num" }, left < 0 ? h("span", { class: "badge overdue" }, t("common.overdue"))
                                           : String(left)),
        h("td", {}, statusBadge(hazard)));
    })))),
    page.total > page.items.length
      ? h("small", {}, t("common.shown_of", { shown: page.items.length, total: page.total }))
      : null];
}

export function message(kind, text) {
  return h("div", { class: "message " + kind, role: kind === "error" ? "alert" : "status" }, text);
}

// An ApiError as a message, with the fields it names.
export function errorMessage(err) {
  const lines = [err.message || String(err)];
  for (const [field, reasons] of Object.entries((err && err.fields) || {})) {
    lines.push(field + ": " + flatten(reasons).join("; "));
  }
  return message("error", lines.join(" — "));
}

// The reasons the API gives for one field (a list, or nested by position) as one text.
export function reasonsText(reasons) {
  return flatten(reasons).join(" ");
}

function flatten(reasons) {
  if (Array.isArray(reasons)) return reasons.map(String);
  if (reasons && typeof reasons === "object") {
    return Object.entries(reasons).map(([key, value]) => key + ": " + flatten(value).join(", "));
  }
  return [String(reasons)];
}

// The top bar of every page: where to go, who is logged in, the language switch.
export function topbar(current) {
  const who = account();
  const links = navigationOf(who);
  const session = token()
    ? [h("span", { class: "who" }, who ? who.username + " · " + labelOf("common.role", who.role) : ""),
       h("button", { type: "button", class: "small", onclick: () => {
         clearSession();
         location.assign("/app/login.html");
       } }, t("common.log_out"))]
    : [h("a", { href: loginUrl() }, t("common.log_in"))];
  const link = ([key, href]) =>
    h("a", { href, "aria-current": key === current ? "page" : null }, t("common.nav." + key));
  const daily = links.filter(([key]) => !MANAGEMENT.has(key));
  const managing = links.filter(([key]) => MANAGEMENT.has(key));
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/app/" }, t("common.brand")),
    h("nav", {}, daily.map(link),
      managing.length
        ? h("details", { class: "manage-menu" },
            h("summary", {}, t("common.nav.manage")), h("div", { class: "menu" }, managing.map(link)))
        : null),
    session,
    languageSwitch());
}

// The top bar's management pages, under one menu: the daily ones stay in sight.
const MANAGEMENT = new Set(["checklists", "schedules", "positions", "safety", "publications",
                            "accounts", "password"]);

// To the other language, remembered on the device.
export function languageSwitch() {
  const other = language() === "zh" ? "en" : "zh";
  return h("button", { type: "button", class: "small language-switch", lang: other === "zh" ? "zh-CN" : "en",
                       title: t("common.language_switch_title"),
                       onclick: () => setLanguage(other) }, t("common.language_switch"));
}

export function mountTopbar(current) {
  document.body.prepend(topbar(current));
}
