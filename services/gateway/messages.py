"""The web pages' message catalogue: one file per area of the pages
(web/messages/<area>.json, each key "<area>.<name>" with its text in every
language), served merged per language as /app/messages/<lang>.json. Kept per
area so that pages are worked on side by side without touching one file."""
import json
import os

LANGUAGES = ("zh", "en")
MESSAGES_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web", "messages")


class CatalogueError(ValueError):
    pass


def areas(root=MESSAGES_ROOT):
    """{area: {key: {lang: text}}} as the files hold them."""
    found = {}
    for name in sorted(os.listdir(root)):
        if name.endswith(".json"):
            with open(os.path.join(root, name), encoding="utf-8") as source:
                found[name[:-len(".json")]] = json.load(source)
    return found


def catalogue(language, root=MESSAGES_ROOT):
    """{key: text} in `language`; a key without it is an error (the test
    catches it before a page shows a bare key)."""
    if language not in LANGUAGES:
        raise CatalogueError("no such language: %r" % (language,))
    merged = {}
    for area, entries in areas(root).items():
        for key, texts in entries.items():
            if not key.startswith(area + "."):
                raise CatalogueError("%s: key %r is not in its area %r" % (area, key, area))
            if not isinstance(texts, dict) or not texts.get(language):
                raise CatalogueError("%s: %r has no %s text" % (area, key, language))
            merged[key] = texts[language]
    return merged
