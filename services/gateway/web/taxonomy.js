// The deployment's taxonomies as the reader's language names them: hazard
// categories (GET /api/v1/hazard-categories) and violation classes (GET
// /api/v1/violation-classes) each give a key its zh and en labels. A value not
// in the taxonomy (free text from before it) shows as recorded.
import { get } from "./api.js";
import { language } from "./i18n.js";

let categories = null;

// The hazard categories in their order, fetched once a page; none if the call fails.
export function hazardCategories() {
  if (!categories) {
    categories = get("/api/v1/hazard-categories").then((answer) => answer.categories)
      .catch(() => []);
  }
  return categories;
}

// A taxonomy entry's label in the chosen language.
export function labelIn(entry) {
  return entry[language()] || entry.zh || entry.key;
}

// A function naming a category in the chosen language (the raw text if it is none of them).
export async function categoryNamer() {
  const known = new Map((await hazardCategories()).map((entry) => [entry.key, labelIn(entry)]));
  return (value) => known.get(value) || value;
}

// The violation classes as the API gives them ({version, classes: [{key, zh, en}]}).
export async function violationClasses() {
  return (await get("/api/v1/violation-classes")).classes;
}
