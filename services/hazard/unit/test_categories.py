"""The hazard taxonomy: names read as keys, extensions, conflicts refused."""
import json

import pytest

from services.hazard import categories
from services.hazard.categories import Categories

BASE = {"version": "1", "categories": [
    {"key": "fire", "zh": "消防", "en": "fire", "synonyms": ["火灾"]},
    {"key": "electrical", "zh": "用电", "en": "electrical", "synonyms": []}]}


def test_keys_labels_and_synonyms_read_as_the_key_in_any_case_and_spacing():
    taxonomy = Categories.from_dicts([BASE])
    for text in ("fire", "FIRE", "  Fire ", "消防", "火灾"):
        assert taxonomy.normalised(text) == "fire", text
    assert taxonomy.normalised(" storage ") == "storage"        # free text as given
    assert taxonomy.key_of("storage") is None
    assert taxonomy.names_matching("电") == ["electrical"]
    assert taxonomy.labels("fire") == {"zh": "消防", "en": "fire"}


def test_an_extension_adds_keys_and_synonyms_and_names_its_version():
    taxonomy = Categories.from_dicts([BASE, {"version": "county-2", "categories": [
        {"key": "fire", "synonyms": ["防火门"]},
        {"key": "kilns", "zh": "窑炉", "en": "kilns"}]}])
    assert taxonomy.version == "1+county-2"
    assert [e["key"] for e in taxonomy.entries] == ["fire", "electrical", "kilns"]
    assert taxonomy.normalised("防火门") == "fire" and taxonomy.normalised("窑炉") == "kilns"
    assert taxonomy.labels("fire")["zh"] == "消防"          # kept when not given again


def test_a_name_of_two_keys_or_a_bad_key_is_refused():
    with pytest.raises(ValueError, match="names both"):
        Categories.from_dicts([BASE, {"version": "2", "categories": [
            {"key": "arson", "zh": "火灾", "en": "arson"}]}])
    with pytest.raises(ValueError, match="key"):
        Categories.from_dicts([{"version": "1", "categories": [{"key": " "}]}])


def test_the_shipped_file_loads_and_the_setting_extends_it(tmp_path):
    shipped = categories.load({})
    assert shipped.normalised("消防") == "fire" and shipped.key_of("other") == "other"
    extension = tmp_path / "county.json"
    extension.write_text(json.dumps({"version": "county-1", "categories": [
        {"key": "kilns", "zh": "窑炉", "en": "kilns"}]}), encoding="utf-8")
    extended = categories.load({"HAZARD_CATEGORIES": str(extension)})
    assert extended.normalised("窑炉") == "kilns" and extended.version.endswith("+county-1")
