"""The pages' message catalogue (web/messages/): every key in both languages
with the same placeholders, every key a page uses present, and no visible
text in a page that does not come from the catalogue."""
import json
import os
import re
from html.parser import HTMLParser

import pytest

from services.gateway import messages

WEB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web")
# the API and event docs pages are served from services/gateway/ (routes_docs.py), their
# scripts from web/
DOCS_PAGES = [os.path.join(os.pardir, "docs.html"), os.path.join(os.pardir, "events.html")]
SOURCES = sorted(name for name in os.listdir(WEB) if name.endswith((".js", ".html"))) + DOCS_PAGES
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
KEY_IN_JS = re.compile(r"""\bt\(\s*["']([\w.-]+)["']\s*[,)]""")
PREFIX_IN_JS = re.compile(r"""\b(?:t\(\s*["']([\w.-]+\.)["']\s*\+|labelOf\(\s*["']([\w.-]+)["'])""")
KEY_IN_HTML = re.compile(r"""\bdata-i18n(?:-[a-z-]+)?=["']([\w.-]+)["']""")



def read(name):
    with open(os.path.join(WEB, name), encoding="utf-8") as source:
        return source.read()


def test_every_message_has_both_languages_with_the_same_placeholders():
    for area, entries in messages.areas().items():
        for key, texts in entries.items():
            assert key.startswith(area + "."), (area, key)
            assert set(texts) == set(messages.LANGUAGES), (key, texts)
            assert all(isinstance(text, str) and text.strip() for text in texts.values()), key
            assert len({frozenset(PLACEHOLDER.findall(text)) for text in texts.values()}) == 1, key
        assert not any(CJK.search(entries[key]["en"]) for key in entries
                       if ".language_switch" not in key), area


def test_a_key_lives_in_one_area_only_and_the_catalogues_hold_the_same_keys():
    files = messages.areas()
    assert sum(len(entries) for entries in files.values()) == len(messages.catalogue("zh"))
    assert messages.catalogue("zh").keys() == messages.catalogue("en").keys()


def test_every_key_the_pages_use_is_in_the_catalogue():
    known = messages.catalogue("zh")
    for name in SOURCES:
        text = read(name)
        used = KEY_IN_HTML.findall(text) if name.endswith(".html") else KEY_IN_JS.findall(text)
        missing = [key for key in used if key not in known]
        assert not missing, (name, missing)
        for groups in PREFIX_IN_JS.findall(text) if name.endswith(".js") else ():
            prefix = next(group for group in groups if group).rstrip(".") + "."
            assert any(key.startswith(prefix) for key in known), (name, prefix)


@pytest.mark.parametrize("name", SOURCES)
def test_no_chinese_text_outside_the_catalogue(name):
    """Chinese in a page's source would show whatever the language switch
    says; it belongs in web/messages/ (comments included, to keep it simple)."""
    lines = [line for line in read(name).splitlines() if CJK.search(line)]
    assert lines == []


class _VisibleText(HTMLParser):
    """Text in the body that no data-i18n element replaces."""
    SKIP = {"script", "style"}

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "link", "input", "img", "br", "hr", "source"):
            return
        self.stack.append((tag, "data-i18n" in dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not re.search(r"[^\W\d_]", data):       # no letter: punctuation, numbers, space
            return
        if any(tag in self.SKIP or translated for tag, translated in self.stack):
            return
        self.found.append(data.strip())


@pytest.mark.parametrize("name", [name for name in SOURCES if name.endswith(".html")])
def test_a_page_has_no_words_of_its_own(name):
    parser = _VisibleText()
    parser.feed(read(name))
    assert parser.found == []


def test_the_catalogue_refuses_a_key_without_a_language(tmp_path):
    (tmp_path / "demo.json").write_text(json.dumps({"demo.a": {"zh": "甲"}}), encoding="utf-8")
    assert messages.catalogue("zh", root=str(tmp_path)) == {"demo.a": "甲"}
    with pytest.raises(messages.CatalogueError, match="no en text"):
        messages.catalogue("en", root=str(tmp_path))
    with pytest.raises(messages.CatalogueError, match="no such language"):
        messages.catalogue("fr", root=str(tmp_path))
