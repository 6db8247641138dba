// Hazard categories as the reader's language names them: the deployment's
// taxonomy (GET /api/v1/hazard-categories) gives each key its zh and en
// labels; a category not in the taxonomy (free text) shows as recorded.
import { get } from "./api.js";
import { language } from "./i18n.js";

let taxonomy = null;

// The taxonomy, fetched once a page; none (every category as recorded) if it fails.
export function categoryLabels() {
  if (!taxonomy) {
    taxonomy = get("/api/v1/hazard-categories")
      .then((answer) => new Map(answer.categories.map((entry) => [entry.key, entry])))
      .catch(() => new Map());
  }
  return taxonomy;
}

export function categoryLabel(labels, value) {
  const entry = labels && labels.get(value);
  return entry ? entry[language()] || entry.zh || value : value;
}
