"""The hazard categories (隐患类别): a fixed, versioned taxonomy with Chinese
and English labels (rules/categories.json), which a deployment extends with
HAZARD_CATEGORIES (a file of the same shape: new keys, or more synonyms for
a key). A category given as a key, a label or a synonym, in any case, is
recorded as its key, so that 消防, "Fire" and fire count together; text that
matches none is kept as given (free-text categories from before the
taxonomy, and checklists' own, stay valid). The key is what HazardReported
carries, so a replay never depends on the file."""
import json
import os
from dataclasses import dataclass, field

DEFAULT_CATEGORIES = os.path.join(os.path.dirname(__file__), "rules", "categories.json")


def _folded(text):
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Categories:
    version: str
    entries: tuple                  # ({key, zh, en, synonyms}, ...), in the file's order
    _by_name: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dicts(cls, documents):
        """The base taxonomy, then each extension: a new key is added at the
        end, an existing one gains the synonyms (its labels may be changed)."""
        merged, versions = {}, []
        for document in documents:
            versions.append(str(document["version"]))
            for entry in document["categories"]:
                key = entry["key"]
                if not isinstance(key, str) or not key.strip() or len(key) > 100:
                    raise ValueError("a category needs a key of 1 to 100 characters: %r" % key)
                before = merged.get(key, {"key": key, "synonyms": []})
                merged[key] = {"key": key, "zh": entry.get("zh") or before.get("zh") or key,
                               "en": entry.get("en") or before.get("en") or key,
                               "synonyms": before["synonyms"] + [
                                   s for s in entry.get("synonyms", ())
                                   if s not in before["synonyms"]]}
        by_name = {}
        for entry in merged.values():
            for name in [entry["key"], entry["zh"], entry["en"], *entry["synonyms"]]:
                owner = by_name.setdefault(_folded(name), entry["key"])
                if owner != entry["key"]:
                    raise ValueError("%r names both %s and %s" % (name, owner, entry["key"]))
        return cls("+".join(versions), tuple(merged.values()), by_name)

    def key_of(self, text):
        """The key `text` names, or None."""
        return self._by_name.get(_folded(text)) if isinstance(text, str) else None

    def normalised(self, text):
        """The key `text` names, or the text as given (trimmed)."""
        return self.key_of(text) or text.strip()

    def labels(self, key):
        """{zh, en} of a key; of free text, the text itself."""
        entry = next((e for e in self.entries if e["key"] == key), None)
        return {"zh": entry["zh"], "en": entry["en"]} if entry else {"zh": key, "en": key}

    def names_matching(self, text):
        """Every key one of whose names contains `text` (any case): what a
        search for 'fire' or '消防' finds among the categories."""
        wanted = _folded(text)
        return sorted({key for name, key in self._by_name.items() if wanted in name})

    def view(self):
        return {"version": self.version, "categories": [dict(e) for e in self.entries]}


def load(environ=os.environ):
    """The deployment's taxonomy: the shipped file, extended by HAZARD_CATEGORIES."""
    paths = [DEFAULT_CATEGORIES] + [p for p in [environ.get("HAZARD_CATEGORIES")] if p]
    documents = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            documents.append(json.load(handle))
    return Categories.from_dicts(documents)


CATEGORIES = load()
