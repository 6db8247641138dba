// The /docs page (services/gateway/docs.html): reads /openapi.json and lists every
// operation, with a form to try each. A file of its own: the page's
// Content-Security-Policy runs no inline script. Its words come from the
// message catalogue (i18n.js), the API's own (summaries, descriptions) as written.
import { language, setLanguage, t } from "./i18n.js";

const METHODS = ["get", "post", "put", "patch", "delete"];
let spec = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

function resolve(schema) {
  let seen = 0;
  while (schema && schema.$ref && seen++ < 20) {
    schema = schema.$ref.replace(/^#\//, "").split("/").reduce((node, key) => node[key], spec);
  }
  return schema || {};
}

// A readable outline of a JSON schema: one line per property, nested indented.
function outline(schema, depth, seen) {
  schema = resolve(schema);
  if (depth > 6) return "…";
  const pad = "  ".repeat(depth);
  const type = describe(schema);
  if (schema.type === "array") {
    return type + "\n" + pad + "  items: " + outline(schema.items, depth + 1, seen);
  }
  if (schema.type === "object" || schema.properties) {
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties || {}).map(([name, property]) =>
      pad + "  " + name + (required.has(name) ? "*" : "") + ": " +
      outline(property, depth + 1, seen));
    return "object" + (lines.length ? "\n" + lines.join("\n") : "");
  }
  return type;
}

function describe(schema) {
  let text = schema.type || "any";
  if (schema.format) text += " (" + schema.format + ")";
  if (schema.enum) text += " " + t("docs.one_of", {values: schema.enum.map(v => JSON.stringify(v)).join(" | ")});
  const bounds = [];
  if (schema.minLength !== undefined) bounds.push(t("docs.length") + " ≥ " + schema.minLength);
  if (schema.maxLength !== undefined) bounds.push(t("docs.length") + " ≤ " + schema.maxLength);
  if (schema.minimum !== undefined) bounds.push("≥ " + schema.minimum);
  if (schema.maximum !== undefined) bounds.push("≤ " + schema.maximum);
  if (schema.maxItems !== undefined) bounds.push(t("docs.at_most_items", {n: schema.maxItems}));
  if (bounds.length) text += ", " + bounds.join(", ");
  if (schema.nullable) text += ", " + t("docs.or_null");
  if (schema.default !== undefined) text += ", " + t("docs.default", {value: JSON.stringify(schema.default)});
  if (schema.description) text += " — " + schema.description;
  return text;
}

// A starting body for the "try it" form: required fields with plausible values.
function sample(schema, depth) {
  schema = resolve(schema);
  if (depth > 5) return null;
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined && schema.default !== null) return schema.default;
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case "object": {
      const result = {};
      for (const name of schema.required || []) {
        result[name] = sample(schema.properties[name], depth + 1);
      }
      return result;
    }
    case "array": return [];
    case "integer": return schema.minimum !== undefined ? schema.minimum : 1;
    case "number": return 0;
    case "boolean": return false;
    default:
      if (schema.format === "date-time") return new Date().toISOString();
      if (schema.format === "date") return new Date().toISOString().slice(0, 10);
      return "";
  }
}

function parameterRows(parameters) {
  if (!parameters.length) return null;
  return el("table", {}, el("tr", {}, el("th", {}, t("docs.parameter")), el("th", {}, t("docs.in")),
                            el("th", {}, t("docs.schema"))),
    ...parameters.map(p => el("tr", {}, el("td", {}, p.name + (p.required ? "*" : "")),
                              el("td", {}, p.in),
                              el("td", {}, describe(Object.assign({}, resolve(p.schema),
                                                    p.description ? {description: p.description} : {}))))));
}

function responseRows(responses) {
  return el("table", {}, ...Object.entries(responses).map(([status, response]) => {
    const media = Object.entries(response.content || {}).map(([type, content]) =>
      el("div", {}, el("code", {}, type),
         content.schema && type.endsWith("json") ? el("pre", {}, outline(content.schema, 0)) : null));
    return el("tr", {}, el("td", {}, status), el("td", {}, response.description, ...media));
  }));
}

function tryIt(method, path, operation) {
  const form = el("form", {});
  const inputs = [];
  for (const parameter of operation.parameters || []) {
    const input = el("input", {name: parameter.name, placeholder: describe(resolve(parameter.schema))});
    inputs.push([parameter, input]);
    form.append(el("label", {class: "param"}, parameter.in + " " + parameter.name +
                   (parameter.required ? "*" : ""), input));
  }
  const content = (operation.requestBody || {}).content || {};
  const mediaType = Object.keys(content)[0];
  let body = null, file = null;
  if (mediaType && mediaType.endsWith("json")) {
    body = el("textarea", {}, JSON.stringify(sample(content[mediaType].schema, 0), null, 2));
    form.append(el("div", {}, t("docs.body_of", {type: mediaType})), body);
  } else if (mediaType) {
    file = el("input", {type: "file"});
    form.append(el("div", {}, t("docs.body_file", {types: Object.keys(content).join(", ")})), file);
  }
  const result = el("div", {});
  form.append(el("button", {type: "submit"}, t("docs.send")), result);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const [parameter, input] of inputs) {
      if (input.value === "") continue;
      if (parameter.in === "path") url = url.replace("{" + parameter.name + "}", encodeURIComponent(input.value));
      else if (parameter.in === "query") query.append(parameter.name, input.value);
    }
    if ([...query].length) url += "?" + query;
    const headers = {};
    const token = document.getElementById("token").value.trim();
    if (token) headers["Authorization"] = "Bearer " + token;
    const init = {method: method.toUpperCase(), headers};
    if (body) { init.body = body.value; headers["Content-Type"] = mediaType; }
    if (file && file.files[0]) { init.body = file.files[0]; headers["Content-Type"] = file.files[0].type || mediaType; }
    result.replaceChildren("…");
    try {
      const response = await fetch(url, init);
      const type = response.headers.get("Content-Type") || "";
      const status = el("div", {class: "status " + (response.ok ? "ok" : "bad")},
                        method.toUpperCase() + " " + url + " → " + response.status + " " + type);
      if (type.includes("json")) {
        result.replaceChildren(status, el("pre", {}, JSON.stringify(await response.json(), null, 2)));
      } else if (type.startsWith("text/") && !type.startsWith("text/csv")) {
        result.replaceChildren(status, el("pre", {}, await response.text()));
      } else {
        const link = el("a", {href: URL.createObjectURL(await response.blob()), download: ""}, t("docs.download"));
        result.replaceChildren(status, link);
      }
    } catch (error) {
      result.replaceChildren(el("div", {class: "status bad"}, String(error)));
    }
  });
  return form;
}

function render() {
  const needle = document.getElementById("filter").value.trim().toLowerCase();
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = (operation.tags || ["other"])[0];
      const haystack = (path + " " + operation.summary + " " + tag + " " + method).toLowerCase();
      if (needle && !haystack.includes(needle)) continue;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([method, path, operation]);
    }
  }
  const container = document.getElementById("operations");
  container.replaceChildren();
  for (const [tag, operations] of byTag) {
    container.append(el("h2", {}, tag));
    for (const [method, path, operation] of operations) {
      const secured = (operation.security || spec.security || []).length > 0;
      const details = el("details", {class: "op"},
        el("summary", {}, el("span", {class: "method " + method.toUpperCase()}, method.toUpperCase()),
           el("span", {class: "path"}, path), el("span", {class: "summary"}, operation.summary || ""),
           secured ? el("span", {class: "lock"}, t("docs.secured")) : null));
      let filled = false;
      details.addEventListener("toggle", () => {
        if (filled || !details.open) return;
        filled = true;
        const content = (operation.requestBody || {}).content || {};
        details.append(el("div", {class: "body"},
          operation.description ? el("p", {}, operation.description) : null,
          parameterRows(operation.parameters || []),
          Object.keys(content).length ? el("div", {}, el("strong", {}, t("docs.body") + " "),
            ...Object.entries(content).map(([type, media]) => el("div", {}, el("code", {}, type),
              type.endsWith("json") ? el("pre", {}, outline(media.schema, 0)) : null))) : null,
          el("strong", {}, t("docs.responses")), responseRows(operation.responses || {}),
          el("strong", {}, t("docs.try_it")), tryIt(method, path, operation)));
      });
      container.append(details);
    }
  }
}

async function logIn(event) {
  event.preventDefault();
  const token = document.getElementById("token");
  const response = await fetch("/api/v1/auth/token", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: document.getElementById("username").value,
                          password: document.getElementById("password").value})});
  const answer = await response.json();
  token.value = response.ok ? answer.token : "";
  token.placeholder = response.ok ? "" : (answer.error || {}).message || t("docs.login_failed");
  sessionStorage.setItem("einspection-token", token.value);
  document.getElementById("password").value = "";
}

// To the other language, remembered on the device (as the top bar's switch of the pages).
function languageSwitch() {
  const other = language() === "zh" ? "en" : "zh";
  const button = el("button", {type: "button", class: "language-switch",
                               lang: other === "zh" ? "zh-CN" : "en",
                               title: t("common.language_switch_title")},
                    t("common.language_switch"));
  button.addEventListener("click", () => setLanguage(other));
  return button;
}

async function start() {
  document.getElementById("language").append(languageSwitch());
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("einspection-token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("einspection-token", token.value.trim()));
  document.getElementById("login").addEventListener("submit", logIn);
  document.getElementById("login-submit").disabled = false;   // disabled until it is listened to
  document.getElementById("filter").addEventListener("input", () => spec && render());
  try {
    const response = await fetch("/openapi.json");
    spec = await response.json();
  } catch (error) {
    document.getElementById("operations").textContent = t("docs.not_loaded", {error: String(error)});
    return;
  }
  document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
  document.getElementById("intro").textContent = spec.info.description || "";
  render();
}

start();
