// Small DOM helpers shared by the pages. Text always goes in as text nodes,
// never as HTML, so data from the API cannot inject markup.
import { account, clearSession, loginUrl, token } from "./api.js";

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

export function daysBetween(from, to) {
  return Math.floor((to - from) / 86400000);
}

export function gradeBadge(grade, big = false) {
  return h("span", { class: "grade grade-" + (grade || "none") + (big ? " big" : ""),
                     title: "grade " + (grade || "none") }, grade || "–");
}

export function levelBadge(level) {
  return h("span", { class: "badge " + level }, level);
}

export function statusBadge(hazard) {
  const label = { reported: "open", returned: "returned", rectification_submitted:
                  "awaiting verification", closed: "closed" }[hazard.status] || hazard.status;
  return h("span", { class: "badge " + (hazard.status === "closed" ? "closed" : "") }, label);
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

// The top bar of every page: where to go, who is logged in.
export function topbar(current) {
  const who = account();
  const links = [
    ["enterprise", "/app/enterprise.html", "Enterprise"],
    ["authority", "/app/authority.html", "Authority"],
  ];
  const session = token()
    ? [h("span", { class: "who" }, who ? who.username + " · " + who.role.replace(/_/g, " ") : ""),
       h("button", { type: "button", class: "small", onclick: () => {
         clearSession();
         location.assign("/app/login.html");
       } }, "Log out")]
    : [h("a", { href: loginUrl() }, "Log in")];
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/app/" }, "E-inspection"),
    h("nav", {}, links.map(([key, href, label]) =>
      h("a", { href, "aria-current": key === current ? "page" : null }, label))),
    session);
}

export function mountTopbar(current) {
  document.body.prepend(topbar(current));
}
