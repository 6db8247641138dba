// The pages' words in the reader's language: Chinese by default, English on the
// switch in the top bar, remembered on the device. Every visible string is a
// key of the message catalogue (web/messages/<area>.json, served merged per
// language as /app/messages/<lang>.json); a test checks that each key used
// here exists in both languages.
//
// In HTML: <h1 data-i18n="work.title"></h1>, and for attributes
// data-i18n-placeholder / -title / -aria-label / -alt. In JS: t(key), and
// t(key, { shown: 3, total: 9 }) fills the text's {shown} and {total}.
const CHOICE = "einspection.language";
export const LANGUAGES = { zh: "zh-CN", en: "en" };

export function language() {
  try {
    const chosen = localStorage.getItem(CHOICE);
    if (chosen in LANGUAGES) return chosen;
  } catch (err) {
    // storage refused (a private window): the default
  }
  return "zh";
}

const chosen = language();
let messages = {};
try {
  const response = await fetch(`/app/messages/${chosen}.json`,
                               { headers: { Accept: "application/json" } });
  if (response.ok) messages = await response.json();
} catch (err) {
  // offline before the catalogue was ever cached: the keys show, the page still works
}
document.documentElement.lang = LANGUAGES[chosen];

export function t(key, params) {
  let text = messages[key];
  if (text === undefined) {
    console.warn("no message for", key);
    return key;
  }
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name])
                                                                         : whole));
  }
  return text;
}

const ATTRIBUTES = ["placeholder", "title", "aria-label", "alt"];

// Fills every element under `root` that names a key.
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    }
  }
}

export function setLanguage(next) {
  try {
    localStorage.setItem(CHOICE, next);
  } catch (err) {
    // not remembered; this page still switches
  }
  location.reload();
}

translate();
