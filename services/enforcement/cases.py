"""The case aggregate: one per enforcement inspection with findings. Command
methods check the rules, then record past-tense events; no I/O here (the
service loads the case's events, runs a command, appends what it recorded).

    open ──decide_penalty──▶ penalty_decided ──record_payment (balance 0)──▶ paid ──close──▶ closed
      │                            │                                                  (paid)
      │                            └──close (terminated, with a note)──▶ closed
      └──close (no_penalty / withdrawn)──▶ closed

| command | event | refused when |
| --- | --- | --- |
| `open` | CaseOpened | (the service: a case of that inspection exists) |
| `issue_citation` | CitationIssued | closed; penalty decided; class not in the rule file; same id, other content |
| `withdraw_citation` | CitationWithdrawn | closed; penalty decided; unknown citation |
| `decide_penalty` | PenaltyDecided | closed; decided otherwise before; no citation in force; a citation in force not listed, listed twice or unknown; a fine above the one proposed |
| `record_payment` | FinePaid | closed; no penalty decided; more than the balance (overpayment); a reference recorded before with other figures |
| `abate_citation` | CitationAbated | closed; unknown or withdrawn citation; a hazard the citation does not cite |
| `mark_abatement_overdue` (the service's timer) | CitationAbatementOverdue, once per citation | (records nothing) closed; imported; nothing past its abatement day |
| `close` | CaseClosed | closed otherwise before; `paid` with a balance; `no_penalty` after a penalty above zero; `withdrawn` after a payment; `terminated` without a decision above zero or without a note |

Money is an int of minor units (fen) in the case's `currency` and is summed
as ints (einspection.money); a fine `None` is "not stated" (an imported
record that lacks it) and counts nothing in a total. A withdrawn citation
stays in the file and out of every total and of the penalty decision.

A command that repeats what the case already holds — the same citation, the
same decision, a payment with the same reference and figures, an abated
citation abated again, a case closed again with its outcome — records
nothing and returns None: consumers and re-imports may run it twice.

Abatement: a citation in force with an abatement day is due by the end of
that day in the deployment's time zone. Not abated by then, while its case
is not closed, it is overdue: `mark_abatement_overdue` records
CitationAbatementOverdue once for it (the enforcement service's timer; the
stream's version makes it once across processes). A later abatement still
abates, and the view says it was late. An imported case is a record of the
past as its source holds it: never marked.
"""
import functools
import json
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

from einspection import money
from einspection.acting import Acting
from einspection.contract import isoformat, new_event
from einspection.days import deployment_zone, local_day, start_of
from einspection.errors import Conflict, InvalidCommand

OPEN = "open"
PENALTY_DECIDED = "penalty_decided"
PAID = "paid"
CLOSED = "closed"
STATES = (OPEN, PENALTY_DECIDED, PAID, CLOSED)
STATE_WORDS = {OPEN: "open", PENALTY_DECIDED: "awaiting payment of its penalty",
               PAID: "paid", CLOSED: "closed"}

OUTCOME_PAID, NO_PENALTY, WITHDRAWN, TERMINATED = "paid", "no_penalty", "withdrawn", "terminated"
OUTCOMES = (OUTCOME_PAID, NO_PENALTY, WITHDRAWN, TERMINATED)
OUTCOME_LABELS = {OUTCOME_PAID: "罚款缴清结案", NO_PENALTY: "不予处罚结案",
                  WITHDRAWN: "撤销立案", TERMINATED: "终结"}
CLOCK_SKEW = timedelta(minutes=5)

# uuid5 namespace of cases: one case per inspection, so opening it twice finds the first
CASE_NAMESPACE = uuid.UUID("0b6f1d2e-5a41-4c8e-9d67-3e2f7c1a9b50")
SERVICE = Acting("enforcement-service")
DEFAULT_VIOLATION_CLASSES = os.path.join(os.path.dirname(__file__), "rules",
                                         "violation_classes.json")


def stream_id(case_id):
    return "case-" + case_id


def case_id_for(inspection_id):
    return str(uuid.uuid5(CASE_NAMESPACE, inspection_id))


# --- the configurable list of violation classes ---------------------------------------

@dataclass(frozen=True)
class ViolationClasses:
    version: str
    labels: dict            # key -> {"zh": ..., "en": ...}, in the file's order

    @classmethod
    def from_dict(cls, data, source="the violation classes"):
        def wrong(what):
            return ValueError("%s: %s" % (source, what))
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise wrong("needs a text `version` and a list of `classes`")
        classes = data.get("classes")
        if not isinstance(classes, list) or not classes:
            raise wrong("`classes` must be a non-empty list")
        labels = {}
        for entry in classes:
            if not (isinstance(entry, dict) and isinstance(entry.get("key"), str)
                    and entry["key"] and isinstance(entry.get("zh"), str) and entry["zh"]):
                raise wrong("every class needs a `key` and a Chinese label `zh`")
            if entry["key"] in labels:
                raise wrong("class %r is listed twice" % entry["key"])
            labels[entry["key"]] = {"zh": entry["zh"], "en": entry.get("en") or entry["key"]}
        return cls(version=data["version"], labels=labels)

    def require(self, key, field="violation_class"):
        if key not in self.labels:
            raise InvalidCommand({field: ["must be one of: %s" % ", ".join(self.labels)]})


@functools.lru_cache(maxsize=None)
def violation_classes(path=DEFAULT_VIOLATION_CLASSES):
    with open(path, encoding="utf-8") as handle:
        return ViolationClasses.from_dict(json.load(handle), source=path)


# --- the aggregate -----------------------------------------------------------------------

class Case:
    def __init__(self, case_id):
        self.id = case_id
        self.version = 0
        self.state = None
        self.opened = None
        self.enterprise_id = None
        self.currency = None
        self.citations = {}          # citation_id -> dict, in the order issued
        self.decision = None
        self.payments = []
        self.closing = None
        self.history = []            # (event name, time, actor)
        self.pending = []

    @classmethod
    def from_history(cls, case_id, events):
        case = cls(case_id)
        for event in events:
            case._apply(event)
            case.version = event.stream_version
        return case

    def _apply(self, event):
        data = event.data
        self.history.append((event.name, event.time, event.actor))
        if event.name == "CaseOpened":
            self.state = OPEN
            self.opened = dict(data, opened_by=event.actor)
            self.enterprise_id = data["enterprise_id"]
            self.currency = data["currency"]
        elif event.name == "CitationIssued":
            self.citations[data["citation_id"]] = dict(
                data, fine_imposed=None, abated=None, withdrawn=None, overdue=None,
                issued_by=event.actor)
        elif event.name == "CitationWithdrawn":
            self.citations[data["citation_id"]]["withdrawn"] = dict(data, by=event.actor)
        elif event.name == "PenaltyDecided":
            self.state = PENALTY_DECIDED
            self.decision = dict(data, decided_by=event.actor)
            for fine in data["fines"]:
                self.citations[fine["citation_id"]]["fine_imposed"] = fine["fine_imposed"]
        elif event.name == "FinePaid":
            self.payments.append(dict(data, recorded_by=event.actor))
            if self.balance() == 0:
                self.state = PAID
        elif event.name == "CitationAbated":
            self.citations[data["citation_id"]]["abated"] = dict(data, by=event.actor)
        elif event.name == "CitationAbatementOverdue":
            self.citations[data["citation_id"]]["overdue"] = dict(data, by=event.actor)
        elif event.name == "CaseClosed":
            self.state = CLOSED
            self.closing = dict(data, closed_by=event.actor)

    def _record(self, name, data, acting, now):
        event = new_event(name, dict(data, case_id=self.id, enterprise_id=self.enterprise_id),
                          actor=acting.actor, correlation_id=acting.correlation_id,
                          causation_id=acting.causation_id, time=now)
        self._apply(event)
        self.pending.append(event)
        return event

    def _conflict(self, message):
        return Conflict("case %s is %s; %s" % (self.id, STATE_WORDS[self.state], message),
                        {"state": self.state})

    def _refuse_if_closed(self):
        if self.state == CLOSED:
            raise self._conflict("a closed case takes no more changes")

    def _in_force(self, citation_id, field="citation_id"):
        citation = self.citations.get(citation_id)
        if citation is None:
            raise InvalidCommand({field: ["not a citation of case %s" % self.id]})
        return citation

    # --- totals: exact sums of ints ----------------------------------------------------
    def citations_in_force(self):
        return [c for c in self.citations.values() if c["withdrawn"] is None]

    def total_proposed(self):
        return money.total(c["fine_proposed"] for c in self.citations_in_force())

    def total_imposed(self):
        return 0 if self.decision is None else self.decision["total_imposed"]

    def total_paid(self):
        return money.total(p["amount"] for p in self.payments)

    def balance(self):
        return self.total_imposed() - self.total_paid()

    # --- commands ----------------------------------------------------------------------
    @classmethod
    def open(cls, command, acting, *, now):
        """A new case of an inspection; its id derives from the inspection's."""
        currency = command.get("currency") or money.CURRENCY
        if currency not in money.CURRENCIES:
            raise InvalidCommand({"currency": ["must be one of: %s"
                                               % ", ".join(money.CURRENCIES)]})
        case = cls(command.get("case_id") or case_id_for(command["inspection_id"]))
        case.enterprise_id = command["enterprise_id"]
        case._record("CaseOpened", {
            "inspection_id": command["inspection_id"],
            "campaign_id": command.get("campaign_id"), "opened_at": now,
            "currency": currency, "source_system": command.get("source_system"),
            "source_ref": command.get("source_ref"),
        }, acting, now)
        return case

    def issue_citation(self, command, acting, classes, *, now):
        self._refuse_if_closed()
        if self.state != OPEN:
            raise self._conflict("citations are issued before the penalty is decided")
        classes.require(command["violation_class"])
        self._same_currency(command)
        hazard_ids = list(command.get("hazard_ids") or [])
        if len(set(hazard_ids)) != len(hazard_ids):
            raise InvalidCommand({"hazard_ids": ["lists a hazard twice"]})
        data = {"citation_id": command.get("citation_id") or str(uuid.uuid4()),
                "clause": command["clause"], "violation_class": command["violation_class"],
                "description": command["description"],
                "fine_proposed": command.get("fine_proposed"), "currency": self.currency,
                "abatement_date": command.get("abatement_date"), "hazard_ids": hazard_ids,
                "source_ref": command.get("source_ref")}
        earlier = self.citations.get(data["citation_id"])
        if earlier is not None:
            if any(earlier[key] != value for key, value in data.items()):
                raise Conflict("citation %s of case %s was issued with other content"
                               % (data["citation_id"], self.id), {"state": self.state})
            return None
        return self._record("CitationIssued", dict(data, issued_at=now), acting, now)

    def withdraw_citation(self, command, acting, *, now):
        self._refuse_if_closed()
        citation = self._in_force(command["citation_id"])
        if citation["withdrawn"] is not None:
            return None
        if self.state != OPEN:
            raise self._conflict("the penalty decision covers its citations: "
                                 "a citation is withdrawn before it")
        return self._record("CitationWithdrawn", {
            "citation_id": command["citation_id"], "reason": command["reason"],
            "withdrawn_at": now, "abatement_overdue": citation["overdue"] is not None},
            acting, now)

    def decide_penalty(self, command, acting, *, now):
        """The fine imposed for every citation in force, once."""
        self._refuse_if_closed()
        fines = [{"citation_id": f["citation_id"], "fine_imposed": f["fine_imposed"]}
                 for f in command["fines"]]
        self._same_currency(command)
        if self.decision is not None:
            if self.decision["fines"] == fines:
                return None
            raise self._conflict("its penalty was decided on %s; a decision is not "
                                 "changed" % isoformat(self.decision["decided_at"]))
        in_force = self.citations_in_force()
        if not in_force:
            raise self._conflict("it has no citation in force: close it without penalty")
        problems, listed = {}, set()
        for index, fine in enumerate(fines):
            citation = self.citations.get(fine["citation_id"])
            if citation is None or citation["withdrawn"] is not None:
                problems[index] = {"citation_id": [
                    "not a citation in force of case %s" % self.id]}
            elif fine["citation_id"] in listed:
                problems[index] = {"citation_id": ["listed twice"]}
            elif (fine["fine_imposed"] is not None and citation["fine_proposed"] is not None
                  and fine["fine_imposed"] > citation["fine_proposed"]):
                # the party's statement and defence never make the penalty heavier
                problems[index] = {"fine_imposed": [
                    "must not exceed the fine proposed (%s %s)"
                    % (money.format(citation["fine_proposed"]), self.currency)]}
            listed.add(fine["citation_id"])
        missing = [c["citation_id"] for c in in_force if c["citation_id"] not in listed]
        if missing:
            problems["_missing"] = ["every citation in force needs its fine; not listed: %s"
                                    % ", ".join(missing)]
        if problems:
            raise InvalidCommand({"fines": problems})
        return self._record("PenaltyDecided", {
            "fines": fines, "total_imposed": money.total(f["fine_imposed"] for f in fines),
            "currency": self.currency, "decided_at": now}, acting, now)

    def record_payment(self, command, acting, *, now, today=None):
        """A payment towards the fines imposed; partial payments add up, and
        nothing is taken beyond the balance. `today` is the deployment's day."""
        self._refuse_if_closed()
        self._same_currency(command)
        amount, reference = command["amount"], command["reference"]
        earlier = next((p for p in self.payments if p["reference"] == reference), None)
        if earlier is not None:
            if (earlier["amount"], earlier["paid_on"]) == (amount, command["paid_on"]):
                return None
            raise Conflict("payment %s of case %s was recorded with other figures"
                           % (reference, self.id), {"state": self.state})
        if self.decision is None:
            raise self._conflict("no penalty is decided yet: nothing to pay")
        if command["paid_on"] > (today or now.date()):
            raise InvalidCommand({"paid_on": ["is in the future"]})
        balance = self.balance()
        if amount > balance:
            raise Conflict("case %s: a payment of %s %s is more than the balance of %s %s; "
                           "overpayment refused" % (self.id, money.format(amount),
                                                    self.currency, money.format(balance),
                                                    self.currency),
                           {"state": self.state, "balance": money.format(balance)})
        return self._record("FinePaid", {
            "amount": amount, "currency": self.currency, "paid_on": command["paid_on"],
            "reference": reference}, acting, now)

    def abate_citation(self, command, acting, *, now):
        """A citation's violation put right: a cited hazard's verified
        rectification (its `hazard_id`), or as the record says."""
        self._refuse_if_closed()
        citation = self._in_force(command["citation_id"])
        if citation["withdrawn"] is not None:
            raise self._conflict("citation %s is withdrawn" % command["citation_id"])
        hazard_id = command.get("hazard_id")
        if hazard_id is not None and hazard_id not in citation["hazard_ids"]:
            raise InvalidCommand({"hazard_id": ["citation %s does not cite hazard %s"
                                                % (command["citation_id"], hazard_id)]})
        if citation["abated"] is not None:
            return None
        abated_at = command.get("abated_at") or now
        if abated_at > now + CLOCK_SKEW:
            raise InvalidCommand({"abated_at": ["is in the future"]})
        if abated_at < self.opened["opened_at"]:
            raise InvalidCommand({"abated_at": ["is before the case was opened"]})
        return self._record("CitationAbated", {
            "citation_id": command["citation_id"], "hazard_id": hazard_id,
            "abated_at": abated_at}, acting, now)

    def mark_abatement_overdue(self, now, zone, acting=SERVICE):
        """CitationAbatementOverdue for each citation in force past its
        abatement day (in `zone`) and not abated, not marked before, while
        the case is not closed; nothing for an imported case. Returns the
        events recorded."""
        if self.imported:
            return []
        recorded = []
        for citation_id in self.overdue_citations(local_day(now, zone)):
            citation = self.citations[citation_id]
            if citation["overdue"] is not None:
                continue
            recorded.append(self._record("CitationAbatementOverdue", {
                "citation_id": citation_id, "clause": citation["clause"],
                "violation_class": citation["violation_class"],
                "abatement_date": citation["abatement_date"],
                "overdue_since": start_of(citation["abatement_date"] + timedelta(days=1), zone),
                "hazard_ids": list(citation["hazard_ids"]), "detected_at": now}, acting, now))
        return recorded

    def close(self, command, acting, *, now):
        outcome, note = command["outcome"], (command.get("note") or "").strip()
        if self.state == CLOSED:
            if self.closing["outcome"] == outcome:
                return None
            raise self._conflict("it was closed as %s; a closed case takes no more changes"
                                 % self.closing["outcome"])
        if outcome == OUTCOME_PAID and self.state != PAID:
            raise self._conflict("closing as paid needs the fines paid in full (balance %s %s)"
                                 % (money.format(self.balance()), self.currency))
        if outcome == NO_PENALTY and self.total_imposed():
            raise self._conflict("a penalty of %s %s is imposed: it closes as paid or "
                                 "terminated" % (money.format(self.total_imposed()),
                                                 self.currency))
        if outcome == WITHDRAWN and self.payments:
            raise self._conflict("payments are recorded: a case with payments is not withdrawn")
        if outcome == TERMINATED:
            if not self.total_imposed() or self.state == PAID:
                raise self._conflict("terminated is for a penalty imposed and not paid in "
                                     "full")
            if not note:
                raise InvalidCommand({"note": ["required when the outcome is terminated: "
                                               "why the balance is not collected"]})
        return self._record("CaseClosed", {"outcome": outcome, "closed_at": now,
                                           "note": note}, acting, now)

    def _same_currency(self, command):
        if command.get("currency") not in (None, self.currency):
            raise InvalidCommand({"currency": ["case %s is in %s" % (self.id, self.currency)]})

    # --- questions the service asks ------------------------------------------------------
    @property
    def imported(self):
        """A case recorded from another system's records (osha.py)."""
        return bool(self.opened and self.opened.get("source_system"))

    def next_abatement_due(self):
        """The earliest abatement day still to be watched — a citation in
        force, not abated, not marked overdue — or None (closed, imported,
        none left): what the timer's cheap candidate query reads."""
        if self.state in (None, CLOSED) or self.imported:
            return None
        return min((c["abatement_date"] for c in self.citations_in_force()
                    if c["abated"] is None and c["overdue"] is None
                    and c["abatement_date"] is not None), default=None)

    def abatements_overdue(self):
        """The citations in force marked overdue and still not abated."""
        return [c["citation_id"] for c in self.citations_in_force()
                if c["overdue"] is not None and c["abated"] is None]

    def citations_of_hazard(self, hazard_id):
        """The citations in force, not yet abated, that cite `hazard_id`."""
        return [c["citation_id"] for c in self.citations_in_force()
                if hazard_id in c["hazard_ids"] and c["abated"] is None]

    def overdue_citations(self, today):
        """Citations in force past their abatement day and not abated, while open."""
        if self.state in (None, CLOSED):
            return []
        return [c["citation_id"] for c in self.citations_in_force()
                if c["abated"] is None and c["abatement_date"] is not None
                and c["abatement_date"] < today]


# --- what callers see ---------------------------------------------------------------------

def _amount(fen):
    return None if fen is None else money.format(fen)


def abated_late(citation, zone):
    """Whether a citation was abated after its abatement day (marked
    overdue first, or abated on a later day of the deployment's zone)."""
    abated, day = citation["abated"], citation["abatement_date"]
    if abated is None:
        return False
    return citation["overdue"] is not None or (
        day is not None and local_day(abated["abated_at"], zone) > day)


def case_view(case, classes=None, zone=None):
    """The case as the API shows it: money as decimal strings in its currency."""
    classes = classes or violation_classes()
    zone = zone or deployment_zone()
    opened, decision, closing = case.opened, case.decision, case.closing

    def citation_view(c):
        label = classes.labels.get(c["violation_class"])
        overdue = c["overdue"]
        return {
            "citation_id": c["citation_id"], "clause": c["clause"],
            "violation_class": c["violation_class"],
            "violation_class_label": label["zh"] if label else c["violation_class"],
            "description": c["description"], "fine_proposed": _amount(c["fine_proposed"]),
            "fine_imposed": _amount(c["fine_imposed"]),
            "abatement_date": c["abatement_date"] and c["abatement_date"].isoformat(),
            "hazard_ids": list(c["hazard_ids"]), "issued_at": isoformat(c["issued_at"]),
            "issued_by": c["issued_by"], "source_ref": c.get("source_ref"),
            "abated": c["abated"] is not None,
            "abated_at": c["abated"] and isoformat(c["abated"]["abated_at"]),
            "abated_by_hazard": c["abated"] and c["abated"]["hazard_id"],
            "abated_late": abated_late(c, zone),
            "abatement_overdue": overdue is not None,
            "abatement_overdue_at": overdue and isoformat(overdue["detected_at"]),
            "withdrawn": c["withdrawn"] is not None,
            "withdrawn_reason": c["withdrawn"] and c["withdrawn"]["reason"],
        }
    return {
        "case_id": case.id, "enterprise_id": case.enterprise_id,
        "inspection_id": opened["inspection_id"], "campaign_id": opened["campaign_id"],
        "opened_at": isoformat(opened["opened_at"]), "opened_by": opened["opened_by"],
        "source": None if not opened.get("source_system") else {
            "system": opened["source_system"], "ref": opened["source_ref"]},
        "status": case.state, "currency": case.currency,
        "citations": [citation_view(c) for c in case.citations.values()],
        "abatements_overdue": len(case.abatements_overdue()),
        "totals": {"proposed": money.format(case.total_proposed()),
                   "imposed": money.format(case.total_imposed()),
                   "paid": money.format(case.total_paid()),
                   "balance": money.format(case.balance())},
        "decided_at": decision and isoformat(decision["decided_at"]),
        "decided_by": decision and decision["decided_by"],
        "payments": [{"amount": money.format(p["amount"]), "paid_on": p["paid_on"].isoformat(),
                      "reference": p["reference"], "recorded_by": p["recorded_by"]}
                     for p in case.payments],
        "outcome": closing and closing["outcome"],
        "outcome_label": closing and OUTCOME_LABELS[closing["outcome"]],
        "closed_at": closing and isoformat(closing["closed_at"]),
        "closed_by": closing and closing["closed_by"],
        "close_note": closing and closing["note"],
        "history": [{"event": name, "at": isoformat(time), "actor": actor}
                    for name, time, actor in case.history],
        "version": case.version,
    }


def view(case_id, events, classes=None, zone=None):
    """The view of a case from its events: the pure projection the API answers with."""
    return case_view(Case.from_history(case_id, events), classes, zone)
