// The /docs/events page (services/gateway/events.html): reads /asyncapi.json and
// lists the broker, then every channel (routing key) with its message: the
// CloudEvents envelope and the fields of its data. A file of its own: the
// page's Content-Security-Policy runs no inline script. Its words come from the
// message catalogue (i18n.js), the document's own (descriptions) as written.
import { language, setLanguage, t } from "./i18n.js";

let doc = null;

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
    schema = schema.$ref.replace(/^#\//, "").split("/").reduce((node, key) => node[key], doc);
  }
  return schema || {};
}

function typeOf(schema) {
  const types = [].concat(schema.type || []);
  const variants = (schema.anyOf || []).map(resolve);
  if (variants.length) {
    return variants.map(v => v.type === "null" ? "null" : (v.properties ? "object" : typeOf(v)))
                   .join(" | ");
  }
  return types.length ? types.join(" | ") : "any";
}

function describe(schema) {
  let text = typeOf(schema);
  if (schema.format) text += " (" + schema.format + ")";
  if (schema.const !== undefined) text += " = " + JSON.stringify(schema.const);
  if (schema.enum) text += " " + t("docs.one_of", {values: schema.enum.map(v => JSON.stringify(v)).join(" | ")});
  const bounds = [];
  if (schema.minLength !== undefined) bounds.push(t("docs.length") + " ≥ " + schema.minLength);
  if (schema.maxLength !== undefined) bounds.push(t("docs.length") + " ≤ " + schema.maxLength);
  if (schema.minimum !== undefined) bounds.push("≥ " + schema.minimum);
  if (schema.maximum !== undefined) bounds.push("≤ " + schema.maximum);
  if (schema.maxItems !== undefined) bounds.push(t("docs.at_most_items", {n: schema.maxItems}));
  if (bounds.length) text += ", " + bounds.join(", ");
  if (schema.default !== undefined) text += ", " + t("docs.default", {value: JSON.stringify(schema.default)});
  if (schema.description) text += " — " + schema.description;
  return text;
}

// A readable outline of a JSON schema: one line per property, nested indented.
function outline(schema, depth) {
  schema = resolve(schema);
  if (depth > 6) return "…";
  const pad = "  ".repeat(depth);
  const object = (schema.anyOf || []).map(resolve).find(v => v.properties) ||
                 (schema.properties ? schema : null);
  if ([].concat(schema.type || []).includes("array")) {
    return describe(schema) + "\n" + pad + "  items: " + outline(schema.items, depth + 1);
  }
  if (object) {
    const required = new Set(object.required || []);
    const lines = Object.entries(object.properties).map(([name, property]) =>
      pad + "  " + name + (required.has(name) ? "*" : "") + ": " + outline(property, depth + 1));
    return describe(schema) + "\n" + lines.join("\n");
  }
  return describe(schema);
}

function matches(channel, message, needle) {
  return !needle || [channel.address, message.name, message.summary]
    .some(text => (text || "").toLowerCase().includes(needle));
}

function render() {
  const needle = document.getElementById("filter").value.trim().toLowerCase();
  const container = document.getElementById("channels");
  container.replaceChildren();
  for (const [id, channel] of Object.entries(doc.channels)) {
    const exchange = channel.bindings.amqp.exchange;
    for (const reference of Object.values(channel.messages)) {
      const message = resolve(reference);
      if (!matches(channel, message, needle)) continue;
      const [envelope, own] = message.payload.allOf.map(resolve);
      const details = el("details", {class: "op", id: "channel-" + id},
        el("summary", {}, el("span", {class: "path"}, channel.address),
           el("span", {class: "summary"}, message.name)));
      let filled = false;
      details.addEventListener("toggle", () => {
        if (filled || !details.open) return;
        filled = true;
        details.append(el("div", {class: "body"},
          message.summary ? el("p", {}, message.summary) : null,
          el("table", {},
            el("tr", {}, el("th", {}, t("docs.events_exchange")),
               el("td", {}, el("code", {}, exchange.name + " (" + exchange.type + ")"))),
            el("tr", {}, el("th", {}, t("docs.events_routing_key")),
               el("td", {}, el("code", {}, channel.address))),
            el("tr", {}, el("th", {}, t("docs.events_content_type")),
               el("td", {}, el("code", {}, message.contentType))),
            el("tr", {}, el("th", {}, t("docs.events_source")),
               el("td", {}, el("code", {}, own.properties.source.const)))),
          el("strong", {}, t("docs.events_envelope")),
          el("pre", {}, outline(envelope, 0)),
          el("strong", {}, t("docs.events_data")),
          el("pre", {}, outline(own.properties.data, 0))));
      });
      container.append(details);
    }
  }
  if (!container.childElementCount) container.textContent = t("docs.events_none");
}

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
  document.getElementById("filter").addEventListener("input", () => doc && render());
  try {
    const response = await fetch("/asyncapi.json");
    doc = await response.json();
  } catch (error) {
    document.getElementById("channels").textContent = t("docs.events_not_loaded", {error: String(error)});
    return;
  }
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("intro").textContent = doc.info.description || "";
  const server = doc.servers.broker;
  document.getElementById("broker").append(el("p", {},
    t("docs.events_broker", {protocol: server.protocol + " " + server.protocolVersion,
                             host: server.host, vhost: server.pathname})));
  render();
}

start();
