"""The checklist aggregate: universal (the authority's, for all enterprises or
one industry) or enterprise-made; versioned. A draft version can be saved again
and again; publishing freezes it; editing a published checklist starts the next
version as a draft. Items keep their generated ids across versions.

What a version says — title, industry, items in order without their ids —
has a `content_hash`: an import of a standard identical to one the register
holds is recognised by it.

A universal checklist may carry a `required_frequency` (a schedule
frequency, or None), saved with the draft and frozen with the published
version: every enterprise it applies to must schedule it at least that often
(services/checklist/schedules.py). An enterprise checklist carries none."""
import hashlib
import json
import uuid
from decimal import Decimal

from einspection.contract import new_event
from einspection.errors import Conflict, InvalidCommand

DRAFT, PUBLISHED = "draft", "published"
ITEM_FIELDS = ("item_id", "prompt", "category", "legal_basis", "weight", "major",
               "photo_required")


def stream_id(checklist_id):
    return "checklist-" + checklist_id


def applies_to(checklist, enterprise):
    """Whether a checklist (anything with scope, enterprise_id, industry) is
    one the enterprise may see and use."""
    if checklist["scope"] == "enterprise":
        return checklist["enterprise_id"] == enterprise["id"]
    return not checklist["industry"] or checklist["industry"] == enterprise["industry"]


def no_usable_checklist(checklist_id):
    """What a checklist that does not exist, or is not one the enterprise may
    use (another enterprise's, another industry's), is called: the same, so
    another tenant's checklist ids cannot be probed."""
    return "no checklist %s that this enterprise can use" % checklist_id


def content_hash(title, industry, items):
    """SHA-256 (hex) of what a checklist version says: equal for equal
    content whatever the item ids and however a weight is written (2, 2.00)."""
    canonical = {"title": title, "industry": industry or None, "items": [
        [item["prompt"], item["category"], item.get("legal_basis") or "",
         str(Decimal(str(item["weight"])).quantize(Decimal("0.01"))),
         bool(item.get("major")), bool(item.get("photo_required"))] for item in items]}
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Checklist:
    def __init__(self, checklist_id):
        self.id = checklist_id
        self.version = 0            # of the stream
        self.number = 0             # the checklist's own version number
        self.status = None
        self.scope = self.enterprise_id = self.industry = self.title = None
        self.required_frequency = None
        self.items = []
        self.known_item_ids = set()
        self.pending = []

    @classmethod
    def from_history(cls, checklist_id, events):
        checklist = cls(checklist_id)
        for event in events:
            checklist._apply(event)
            checklist.version = event.stream_version
        return checklist

    def _apply(self, event):
        data = event.data
        if event.name == "ChecklistDraftSaved":
            self.number, self.status = data["version"], DRAFT
            self.scope, self.enterprise_id = data["scope"], data["enterprise_id"]
            self.industry, self.title = data["industry"], data["title"]
            self.required_frequency = data.get("required_frequency")
            self.items = data["items"]
            self.known_item_ids |= {item["item_id"] for item in self.items}
        elif event.name == "ChecklistPublished":
            self.status = PUBLISHED

    def _record(self, name, data, actor, correlation_id, now):
        event = new_event(name, data, actor=actor, correlation_id=correlation_id, time=now)
        self._apply(event)
        self.pending.append(event)

    def _save_draft(self, number, title, items, required_frequency, actor, correlation_id,
                    now):
        self._record("ChecklistDraftSaved", {
            "checklist_id": self.id, "version": number, "scope": self.scope,
            "enterprise_id": self.enterprise_id, "industry": self.industry, "title": title,
            "required_frequency": required_frequency, "items": items},
            actor, correlation_id, now)

    def _required_frequency(self, command):
        """The required frequency the command leaves the draft with: what it
        says, or (left out) what the checklist had. Only a universal one has one."""
        frequency = command.get("required_frequency", self.required_frequency)
        if frequency is not None and self.scope != "universal":
            raise InvalidCommand({"required_frequency": [
                "only a universal checklist (the authority's) has a required frequency"]})
        return frequency

    # --- commands ----------------------------------------------------------------
    @classmethod
    def create(cls, command, *, actor, now, correlation_id=""):
        scope = command["scope"]
        if scope == "enterprise" and not command.get("enterprise_id"):
            raise InvalidCommand({"enterprise_id": ["required for an enterprise checklist"]})
        if scope == "universal" and command.get("enterprise_id"):
            raise InvalidCommand({"enterprise_id": ["a universal checklist has no enterprise"]})
        checklist = cls(str(uuid.uuid4()))
        checklist.scope = scope
        checklist.enterprise_id = command.get("enterprise_id")
        checklist.industry = command.get("industry") or None
        checklist._save_draft(1, command["title"], checklist._identified(command["items"]),
                              checklist._required_frequency(command), actor, correlation_id,
                              now)
        return checklist

    def edit(self, command, *, actor, now, correlation_id=""):
        """Save the draft; a published version is never touched: editing it
        starts the next version."""
        number = self.number + 1 if self.status == PUBLISHED else self.number
        self._save_draft(number, command.get("title") or self.title,
                         self._identified(command["items"]), self._required_frequency(command),
                         actor, correlation_id, now)

    def publish(self, *, actor, now, correlation_id=""):
        if self.status == PUBLISHED:
            raise Conflict("version %d of checklist %s is published already; edit the "
                           "checklist to start version %d" % (self.number, self.id,
                                                               self.number + 1),
                           {"state": PUBLISHED, "version": self.number})
        if not self.items:
            raise Conflict("version %d of checklist %s has no items to publish"
                           % (self.number, self.id), {"state": DRAFT, "version": self.number})
        self._record("ChecklistPublished", {
            "checklist_id": self.id, "version": self.number, "scope": self.scope,
            "enterprise_id": self.enterprise_id, "industry": self.industry,
            "title": self.title, "required_frequency": self.required_frequency,
            "items": self.items, "published_at": now},
            actor, correlation_id, now)

    def _identified(self, items):
        """Items with ids: a given id must be one of this checklist's items; a
        new item gets a new id."""
        errors, seen, result = {}, set(), []
        for index, item in enumerate(items):
            item_id = item.get("item_id")
            if item_id is None:
                item_id = uuid.uuid4().hex[:12]
            elif item_id not in self.known_item_ids:
                errors[index] = {"item_id": ["not an item of this checklist; leave it out "
                                             "for a new item"]}
            elif item_id in seen:
                errors[index] = {"item_id": ["appears twice"]}
            seen.add(item_id)
            result.append(dict({key: item[key] for key in ITEM_FIELDS if key in item},
                               item_id=item_id))
        if errors:
            raise InvalidCommand({"items": errors})
        return result
