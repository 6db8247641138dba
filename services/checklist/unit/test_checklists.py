"""The checklist aggregate, the import of a grading standard and the rules
an inspection must meet."""
import os
from datetime import timedelta
from decimal import Decimal

import pytest

from einspection.contract import utcnow
from einspection.errors import Conflict, InvalidCommand
from services.checklist import domain, standard_csv
from services.checklist.checklists import Checklist, applies_to
from services.checklist.schemas import LogInspection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
STANDARD = os.path.join(ROOT, "..", "shared", "data", "cn-warehouse-grading-standard",
                        "warehouse_logistics_grading_items.csv")
NOW = utcnow()


def item(prompt="Fire exits are free", **extra):
    return dict({"prompt": prompt, "category": "fire", "legal_basis": "GB 50016 5.5",
                 "weight": Decimal("2"), "major": False, "photo_required": False}, **extra)


def saved(checklist):
    """The aggregate as the service sees it after saving: rebuilt from its events."""
    for number, event in enumerate(checklist.pending, start=checklist.version + 1):
        event.stream_version = number
    history = getattr(checklist, "history", []) + checklist.pending
    rebuilt = Checklist.from_history(checklist.id, history)
    rebuilt.history = history
    return rebuilt


def new_checklist(*items):
    return saved(Checklist.create({"title": "Fire", "scope": "universal", "industry": None,
                                   "items": list(items) or [item()]}, actor="t", now=NOW))


def test_create_saves_draft_version_1_with_generated_item_ids():
    checklist = new_checklist(item(), item("Extinguishers checked"))
    assert (checklist.number, checklist.status) == (1, "draft")
    assert [e.name for e in checklist.history] == ["ChecklistDraftSaved"]
    ids = [i["item_id"] for i in checklist.items]
    assert len(set(ids)) == 2 and all(ids)


def test_editing_a_draft_keeps_the_version_and_the_item_ids():
    checklist = new_checklist(item())
    first = checklist.items[0]["item_id"]
    checklist.edit({"title": None, "items": [dict(item("Exits free"), item_id=first),
                                             item("New")]}, actor="t", now=NOW)
    checklist = saved(checklist)
    assert checklist.number == 1 and checklist.status == "draft"
    assert checklist.items[0]["item_id"] == first
    assert checklist.items[0]["prompt"] == "Exits free"


def test_publish_freezes_and_an_edit_starts_the_next_version():
    checklist = new_checklist(item())
    checklist.publish(actor="t", now=NOW)
    checklist = saved(checklist)
    assert checklist.status == "published"
    published = checklist.history[-1].data
    with pytest.raises(Conflict):
        checklist.publish(actor="t", now=NOW)
    checklist.edit({"title": "Fire v2", "items": [item("Changed")]}, actor="t", now=NOW)
    checklist = saved(checklist)
    assert (checklist.number, checklist.status) == (2, "draft")
    assert published["items"][0]["prompt"] == "Fire exits are free"   # untouched
    assert published["version"] == 1


def test_unknown_item_ids_and_empty_publish_are_refused():
    checklist = new_checklist(item())
    with pytest.raises(InvalidCommand) as caught:
        checklist.edit({"title": None, "items": [dict(item(), item_id="made-up")]},
                       actor="t", now=NOW)
    assert "items" in caught.value.errors
    empty = saved(Checklist.create({"title": "x", "scope": "universal", "items": []},
                                   actor="t", now=NOW))
    with pytest.raises(Conflict):
        empty.publish(actor="t", now=NOW)


def test_scope_and_enterprise_must_agree():
    with pytest.raises(InvalidCommand) as caught:
        Checklist.create({"title": "x", "scope": "enterprise", "items": []}, actor="t", now=NOW)
    assert "enterprise_id" in caught.value.errors


def test_applicability():
    mine = {"id": "e1", "industry": "textiles"}
    assert applies_to({"scope": "enterprise", "enterprise_id": "e1", "industry": None}, mine)
    assert not applies_to({"scope": "enterprise", "enterprise_id": "e2", "industry": None}, mine)
    assert applies_to({"scope": "universal", "enterprise_id": None, "industry": None}, mine)
    assert applies_to({"scope": "universal", "enterprise_id": None, "industry": "textiles"},
                      mine)
    assert not applies_to({"scope": "universal", "enterprise_id": None,
                           "industry": "chemicals"}, mine)


# --- the CN warehouse grading standard ---------------------------------------------------

def standard_text():
    with open(STANDARD, encoding="utf-8") as handle:
        return handle.read()


def test_the_real_standard_reads_as_164_items_in_13_categories_worth_1000():
    items = standard_csv.read_items(standard_text())
    assert len(items) == 164
    assert len({i["category"] for i in items}) == 13
    assert sum(i["weight"] for i in items) == 1000
    assert items[0]["category"] == "1.安全生产目标" and items[0]["legal_basis"] == "1.1目标"


def test_a_changed_item_is_refused_naming_its_category():
    lines = standard_text().split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("7,2.组织机构和职责"))
    lines[index] = lines[index].replace("。,4,", "。,5,", 1)
    with pytest.raises(InvalidCommand) as caught:
        standard_csv.read_items("\n".join(lines))
    assert list(caught.value.errors) == ["2.组织机构和职责"]
    assert "21" in caught.value.errors["2.组织机构和职责"][0]


def test_a_missing_subtotal_and_bad_columns_are_refused():
    text = "seq,category,project,content,score,deduction_method,row_type\n" \
           "1,A,A.1,Check,2,,item\n2,B,B.1,Check,3,,item\n3,B,小计,,3,,subtotal\n"
    with pytest.raises(InvalidCommand) as caught:
        standard_csv.read_items(text)
    assert caught.value.errors == {"A": ["has no subtotal row"]}
    with pytest.raises(InvalidCommand) as caught:
        standard_csv.read_items("a,b\n1,2\n")
    assert "csv" in caught.value.errors


# --- inspections --------------------------------------------------------------------------

ENTERPRISE = {"id": "e1", "industry": "textiles"}
POSITION = {"id": "p1", "enterprise_id": "e1"}


def published_version(*items):
    return {"status": "published", "scope": "enterprise", "enterprise_id": "e1",
            "industry": None, "items": [dict(i, weight="2.00") for i in items]}


VERSION = published_version(dict(item(), item_id="a"), dict(item(), item_id="b"),
                            dict(item(), item_id="c", photo_required=True, major=True))


def command(results, **extra):
    body = {"enterprise_id": "e1", "position_id": "p1", "checklist_id": "c1",
            "checklist_version": 1, "kind": "self",
            "started_at": (NOW - timedelta(hours=1)).isoformat(),
            "completed_at": NOW.isoformat(), "inspector": "wang",
            "results": [dict(zip(("item_id", "result"), r[:2]), **(r[2] if len(r) > 2 else {}))
                        for r in results]}
    body.update(extra)
    return LogInspection().load(body)


def log(cmd, position=POSITION, version=VERSION, checklist=VERSION):
    return domain.log_inspection(cmd, enterprise=ENTERPRISE, position=position,
                                 checklist=checklist, version=version, actor="t", now=NOW)


def test_an_inspection_counts_results_and_lists_failed_items():
    event = log(command([("a", "pass"), ("b", "fail", {"note": "blocked"}),
                         ("c", "fail", {"photos": ["sha256:1"]})]))
    data = event.data
    assert (data["items_passed"], data["items_failed"], data["items_not_applicable"]) == (1, 2, 0)
    assert [f["item_id"] for f in data["failed_items"]] == ["b", "c"]
    assert data["failed_items"][0]["note"] == "blocked"
    assert data["failed_items"][1]["major"] is True
    assert len(data["results"]) == 3


@pytest.mark.parametrize("results,item_id", [
    ([("a", "pass"), ("b", "pass")], "c"),                               # missing
    ([("a", "pass"), ("b", "pass"), ("c", "na"), ("x", "pass")], "x"),   # unknown
    ([("a", "pass"), ("a", "fail"), ("b", "pass"), ("c", "na")], "a"),   # twice
    ([("a", "pass"), ("b", "pass"), ("c", "fail")], "c"),                # photo required
])
def test_results_must_cover_each_item_once_naming_the_item(results, item_id):
    with pytest.raises(InvalidCommand) as caught:
        log(command(results))
    assert item_id in caught.value.errors["results"]


def test_position_version_and_applicability_are_checked():
    ok = [("a", "pass"), ("b", "pass"), ("c", "na")]
    with pytest.raises(InvalidCommand) as caught:
        log(command(ok), position={"id": "p1", "enterprise_id": "e2"})
    assert "position_id" in caught.value.errors
    with pytest.raises(InvalidCommand) as caught:
        log(command(ok), version=dict(VERSION, status="draft"))
    assert "checklist_version" in caught.value.errors
    with pytest.raises(InvalidCommand) as caught:
        log(command(ok), version=None)
    assert "checklist_version" in caught.value.errors
    # another enterprise's checklist is answered exactly like one that does not exist
    answers = []
    for checklist in (dict(VERSION, enterprise_id="e2"), None):
        with pytest.raises(InvalidCommand) as caught:
            log(command(ok), checklist=checklist, version=checklist)
        answers.append(caught.value.errors)
    assert answers[0] == answers[1] == {
        "checklist_id": ["no checklist c1 that this enterprise can use"]}
    with pytest.raises(InvalidCommand) as caught:
        log(command(ok, completed_at=(NOW + timedelta(hours=2)).isoformat(),
                    started_at=NOW.isoformat()))
    assert "completed_at" in caught.value.errors
