"""The case aggregate: its lifecycle, its rules (each refused with its own
error), exact money, partial payments, abatement, and the view."""
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from einspection.acting import Acting
from einspection.contract import Event, load_command
from einspection.errors import Conflict, InvalidCommand
from services.enforcement import cases, establishments
from services.enforcement.cases import Case
from services.enforcement.schemas import (AbateCitation, CloseCase, DecidePenalty,
                                          IssueCitation, OpenCase, RecordEstablishment,
                                          RecordPayment)

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
OFFICER = Acting("zhang.wei")
CLASSES = cases.violation_classes()


def at(days):
    return T0 + timedelta(days=days)


class Stream:
    """A case's stream: what the service appends, read back from JSON."""

    def __init__(self):
        self.events = []

    def save(self, case):
        for event in case.pending:
            event.stream_version = len(self.events) + 1
            self.events.append(Event.from_json(event.to_json()))
        case.pending = []
        return self.load(case.id)

    def load(self, case_id):
        return Case.from_history(case_id, self.events)


def opened(stream=None, **extra):
    stream = stream or Stream()
    command = load_command(OpenCase, dict({"enterprise_id": "e-1", "inspection_id": "i-1"},
                                          **extra))
    return stream, stream.save(Case.open(command, OFFICER, now=T0))


def cite(case, stream, citation_id, fine="30000.00", klass="serious", **extra):
    command = load_command(IssueCitation, dict({
        "citation_id": citation_id, "clause": "《安全生产法》第九十九条",
        "violation_class": klass, "description": "安全出口堵塞", "fine_proposed": fine,
        "abatement_date": "2026-03-20"}, **extra))
    case.issue_citation(command, OFFICER, CLASSES, now=at(1))
    return stream.save(case)


def decide(case, stream, **fines):
    command = load_command(DecidePenalty, {"fines": [
        {"citation_id": key, "fine_imposed": value} for key, value in fines.items()]})
    case.decide_penalty(command, OFFICER, now=at(5))
    return stream.save(case)


def pay(case, stream, amount, reference, day=date(2026, 3, 10)):
    command = load_command(RecordPayment, {"amount": amount, "paid_on": day.isoformat(),
                                           "reference": reference})
    case.record_payment(command, OFFICER, now=at(9))
    return stream.save(case)


def close(case, stream, outcome, note=""):
    case.close(load_command(CloseCase, {"outcome": outcome, "note": note}), OFFICER, now=at(20))
    return stream.save(case)


def test_the_whole_lifecycle_with_partial_payments():
    stream, case = opened(campaign_id="c-2026")
    assert case.id == cases.case_id_for("i-1") and case.state == cases.OPEN
    case = cite(case, stream, "c1", fine="30000.00")
    case = cite(case, stream, "c2", fine="5000.50", klass="other")
    assert case.total_proposed() == 3500050
    case = decide(case, stream, c1="20000.00", c2="5000.50")
    assert case.state == cases.PENALTY_DECIDED and case.total_imposed() == 2500050
    case = pay(case, stream, "10000.00", "BANK-1")
    assert case.state == cases.PENALTY_DECIDED and case.balance() == 1500050
    case = pay(case, stream, "15000.50", "BANK-2")
    assert case.state == cases.PAID and case.balance() == 0 and case.total_paid() == 2500050
    case = close(case, stream, "paid")
    assert case.state == cases.CLOSED
    assert [e.name for e in stream.events] == [
        "CaseOpened", "CitationIssued", "CitationIssued", "PenaltyDecided", "FinePaid",
        "FinePaid", "CaseClosed"]
    assert {e.actor for e in stream.events} == {"zhang.wei"}
    assert {e.subject for e in stream.events} == {"e-1"}
    decided = json.loads(stream.events[3].to_json())["data"]
    assert decided["total_imposed"] == 2500050 and decided["currency"] == "CNY"
    assert decided["fines"] == [{"citation_id": "c1", "fine_imposed": 2000000},
                                {"citation_id": "c2", "fine_imposed": 500050}]
    paid = json.loads(stream.events[4].to_json())["data"]
    assert paid == {"case_id": case.id, "enterprise_id": "e-1", "amount": 1000000,
                    "currency": "CNY", "paid_on": "2026-03-10", "reference": "BANK-1"}

    shown = cases.view(case.id, stream.events)
    assert shown["status"] == "closed" and shown["outcome"] == "paid"
    assert shown["outcome_label"] == "罚款缴清结案" and shown["campaign_id"] == "c-2026"
    assert shown["totals"] == {"proposed": "35000.50", "imposed": "25000.50",
                               "paid": "25000.50", "balance": "0.00"}
    assert [c["fine_imposed"] for c in shown["citations"]] == ["20000.00", "5000.50"]
    assert shown["citations"][0]["violation_class_label"] == "严重违法"
    assert shown["citations"][0]["abatement_date"] == "2026-03-20"
    assert [p["amount"] for p in shown["payments"]] == ["10000.00", "15000.50"]
    assert [h["event"] for h in shown["history"]][-1] == "CaseClosed"
    assert shown["version"] == 7


def test_fines_floats_get_wrong_sum_exactly():
    stream, case = opened()
    for number in range(10):
        case = cite(case, stream, "dime-%d" % number, fine="0.10", klass="other")
    assert case.total_proposed() == 100
    case = decide(case, stream, **{"dime-%d" % n: "0.10" for n in range(10)})
    assert cases.case_view(case)["totals"]["imposed"] == "1.00"
    stream, case = opened()
    for number in range(1000):
        case.issue_citation(load_command(IssueCitation, {
            "citation_id": "c%d" % number, "clause": "第九十九条", "violation_class": "other",
            "description": "d", "fine_proposed": "19.99"}), OFFICER, CLASSES, now=at(1))
    case = stream.save(case)
    case = decide(case, stream, **{"c%d" % n: "19.99" for n in range(1000)})
    assert case.total_imposed() == 1999000
    assert cases.case_view(case)["totals"]["proposed"] == "19990.00"
    for number in range(999):
        case.record_payment({"amount": 1999, "paid_on": date(2026, 3, 10),
                             "reference": "r%d" % number}, OFFICER, now=at(9))
    case = stream.save(case)
    assert case.state == cases.PENALTY_DECIDED and cases.case_view(case)["totals"][
        "balance"] == "19.99"
    case = pay(case, stream, "19.99", "last")
    assert case.state == cases.PAID and cases.case_view(case)["totals"]["paid"] == "19990.00"


def test_overpayment_is_refused_and_the_balance_said():
    stream, case = opened()
    case = decide(cite(case, stream, "c1", fine="30000.00"), stream, c1="30000.00")
    case = pay(case, stream, "29999.99", "r1")
    with pytest.raises(Conflict) as error:
        pay(case, stream, "0.02", "r2")
    assert "overpayment refused" in str(error.value) and error.value.state["balance"] == "0.01"
    assert stream.load(case.id).total_paid() == 2999999
    case = pay(stream.load(case.id), stream, "0.01", "r2")
    assert case.state == cases.PAID
    with pytest.raises(Conflict):           # a paid case takes no more money
        pay(case, stream, "0.01", "r3")


def test_a_payment_repeated_records_nothing_and_a_reused_reference_is_refused():
    stream, case = opened()
    case = decide(cite(case, stream, "c1", fine="100.00"), stream, c1="100.00")
    case = pay(case, stream, "40.00", "r1")
    assert case.record_payment({"amount": 4000, "paid_on": date(2026, 3, 10),
                                "reference": "r1"}, OFFICER, now=at(9)) is None
    with pytest.raises(Conflict) as error:
        case.record_payment({"amount": 5000, "paid_on": date(2026, 3, 10),
                             "reference": "r1"}, OFFICER, now=at(9))
    assert "other figures" in str(error.value)
    assert case.total_paid() == 4000


def test_no_payment_before_a_penalty_nor_dated_in_the_future():
    stream, case = opened()
    case = cite(case, stream, "c1")
    with pytest.raises(Conflict) as error:
        pay(case, stream, "1.00", "r1")
    assert "no penalty is decided" in str(error.value)
    case = decide(case, stream, c1="1.00")
    with pytest.raises(InvalidCommand) as error:
        pay(case, stream, "1.00", "r1", day=date(2026, 4, 1))
    assert error.value.errors == {"paid_on": ["is in the future"]}


@pytest.mark.parametrize("fines,field,reason", [
    ({"c1": "100.00", "c3": "1.00"}, 1, "not a citation in force"),
    ({"c1": "100.00"}, "_missing", "not listed: c2"),
    ({"c1": "100.01", "c2": "1.00"}, 0, "must not exceed the fine proposed (100.00 CNY)"),
])
def test_a_penalty_decision_covers_every_citation_in_force(fines, field, reason):
    stream, case = opened()
    case = cite(cite(case, stream, "c1", fine="100.00"), stream, "c2", fine="50.00")
    with pytest.raises(InvalidCommand) as error:
        decide(case, stream, **fines)
    problem = error.value.errors["fines"][field]
    assert reason in json.dumps(problem, ensure_ascii=False)
    assert stream.load(case.id).decision is None


def test_a_citation_listed_twice_is_refused():
    stream, case = opened()
    case = cite(case, stream, "c1", fine="100.00")
    with pytest.raises(InvalidCommand) as error:
        case.decide_penalty({"fines": [{"citation_id": "c1", "fine_imposed": 1},
                                       {"citation_id": "c1", "fine_imposed": 1}]},
                            OFFICER, now=at(5))
    assert error.value.errors == {"fines": {1: {"citation_id": ["listed twice"]}}}


def test_a_decision_is_made_once():
    stream, case = opened()
    case = decide(cite(case, stream, "c1", fine="100.00"), stream, c1="80.00")
    assert case.decide_penalty({"fines": [{"citation_id": "c1", "fine_imposed": 8000}]},
                               OFFICER, now=at(6)) is None
    with pytest.raises(Conflict) as error:
        decide(case, stream, c1="70.00")
    assert "a decision is not changed" in str(error.value)
    with pytest.raises(Conflict) as error:            # citations come before the decision
        cite(case, stream, "c2")
    assert "before the penalty is decided" in str(error.value)


def test_a_case_without_citations_in_force_closes_without_penalty():
    stream, case = opened()
    case = cite(case, stream, "c1")
    case.withdraw_citation({"citation_id": "c1", "reason": "vacated"}, OFFICER, now=at(2))
    case = stream.save(case)
    assert case.total_proposed() == 0
    with pytest.raises(Conflict) as error:
        decide(case, stream, c1="1.00")
    assert "no citation in force" in str(error.value)
    case = close(case, stream, "no_penalty")
    shown = cases.case_view(case)
    assert shown["outcome"] == "no_penalty" and shown["citations"][0]["withdrawn"] is True
    assert shown["totals"]["proposed"] == "0.00"


def test_a_withdrawn_citation_is_out_of_the_totals_and_the_decision():
    stream, case = opened()
    case = cite(cite(case, stream, "c1", fine="100.00"), stream, "c2", fine="7.00")
    case.withdraw_citation({"citation_id": "c2", "reason": "vacated"}, OFFICER, now=at(2))
    assert case.withdraw_citation({"citation_id": "c2", "reason": "again"}, OFFICER,
                                  now=at(2)) is None
    case = stream.save(case)
    with pytest.raises(InvalidCommand) as error:
        decide(case, stream, c1="100.00", c2="7.00")
    assert error.value.errors["fines"][1] == {"citation_id": [
        "not a citation in force of case %s" % case.id]}
    case = decide(case, stream, c1="100.00")
    assert case.total_proposed() == 10000 and case.total_imposed() == 10000


@pytest.mark.parametrize("outcome,reason", [
    ("paid", "needs the fines paid in full (balance 100.00 CNY)"),
    ("no_penalty", "a penalty of 100.00 CNY is imposed"),
])
def test_closing_refused_while_a_balance_is_due(outcome, reason):
    stream, case = opened()
    case = decide(cite(case, stream, "c1", fine="100.00"), stream, c1="100.00")
    with pytest.raises(Conflict) as error:
        close(case, stream, outcome)
    assert reason in str(error.value)


def test_a_case_with_payments_is_not_withdrawn_and_termination_needs_a_note():
    stream, case = opened()
    case = decide(cite(case, stream, "c1", fine="100.00"), stream, c1="100.00")
    case = pay(case, stream, "30.00", "r1")
    with pytest.raises(Conflict) as error:
        close(case, stream, "withdrawn")
    assert "payments are recorded" in str(error.value)
    with pytest.raises(InvalidCommand) as error:
        case.close({"outcome": "terminated", "note": " "}, OFFICER, now=at(20))
    assert list(error.value.errors) == ["note"]
    with pytest.raises(InvalidCommand) as error:      # the schema says so too
        load_command(CloseCase, {"outcome": "terminated"})
    assert list(error.value.errors) == ["note"]
    case = close(case, stream, "terminated", note="移送法院强制执行")
    assert case.closing["outcome"] == "terminated" and case.balance() == 7000


def test_termination_is_for_a_penalty_unpaid():
    stream, case = opened()
    with pytest.raises(Conflict) as error:
        close(case, stream, "terminated", note="n")
    assert "terminated is for a penalty imposed" in str(error.value)


def test_a_closed_case_refuses_changes():
    stream, case = opened()
    case = close(cite(case, stream, "c1"), stream, "withdrawn")
    attempts = [
        lambda: cite(case, stream, "c2"),
        lambda: case.withdraw_citation({"citation_id": "c1", "reason": "r"}, OFFICER, now=at(21)),
        lambda: decide(case, stream, c1="1.00"),
        lambda: pay(case, stream, "1.00", "r"),
        lambda: case.abate_citation({"citation_id": "c1"}, OFFICER, now=at(21)),
        lambda: close(case, stream, "no_penalty"),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as error:
            attempt()
        assert error.value.state == {"state": "closed"}
    assert case.close({"outcome": "withdrawn"}, OFFICER, now=at(21)) is None
    assert [e.name for e in stream.events][-1] == "CaseClosed" and len(stream.events) == 3


def test_abatement_by_a_cited_hazards_verification():
    stream, case = opened()
    case = cite(case, stream, "c1", hazard_ids=["h-1", "h-2"])
    case = cite(case, stream, "c2", hazard_ids=["h-2"])
    assert case.citations_of_hazard("h-2") == ["c1", "c2"]
    assert case.overdue_citations(date(2026, 3, 21)) == ["c1", "c2"]
    with pytest.raises(InvalidCommand) as error:
        case.abate_citation({"citation_id": "c2", "hazard_id": "h-1"}, OFFICER, now=at(3))
    assert error.value.errors == {"hazard_id": ["citation c2 does not cite hazard h-1"]}
    with pytest.raises(InvalidCommand) as error:
        case.abate_citation({"citation_id": "c9"}, OFFICER, now=at(3))
    assert list(error.value.errors) == ["citation_id"]
    with pytest.raises(InvalidCommand) as error:
        case.abate_citation({"citation_id": "c1", "abated_at": at(-1)}, OFFICER, now=at(3))
    assert error.value.errors == {"abated_at": ["is before the case was opened"]}
    command = load_command(AbateCitation, {"citation_id": "c1", "hazard_id": "h-2"})
    case.abate_citation(command, cases.SERVICE, now=at(3))
    case = stream.save(case)
    assert case.abate_citation(command, cases.SERVICE, now=at(4)) is None   # a redelivery
    assert case.citations_of_hazard("h-2") == ["c2"]
    assert case.overdue_citations(date(2026, 3, 21)) == ["c2"]
    assert case.overdue_citations(date(2026, 3, 20)) == []
    shown = cases.case_view(case)["citations"][0]
    assert shown["abated"] is True and shown["abated_by_hazard"] == "h-2"
    assert stream.events[-1].actor == "enforcement-service"


@pytest.mark.parametrize("payload,field", [
    ({"violation_class": "heinous"}, "violation_class"),
    ({"fine_proposed": 30000}, "fine_proposed"),
    ({"fine_proposed": "1e3"}, "fine_proposed"),
    ({"fine_proposed": "-5"}, "fine_proposed"),
    ({"currency": "USD"}, "currency"),
    ({"hazard_ids": ["h-1", "h-1"]}, "hazard_ids"),
])
def test_a_citation_refused_names_its_field(payload, field):
    stream, case = opened()
    with pytest.raises(InvalidCommand) as error:
        cite(case, stream, "c1", **payload)
    assert list(error.value.errors) == [field]


def test_a_citation_issued_again_records_nothing_unless_it_differs():
    stream, case = opened()
    case = cite(case, stream, "c1")
    command = load_command(IssueCitation, {
        "citation_id": "c1", "clause": "《安全生产法》第九十九条", "violation_class": "serious",
        "description": "安全出口堵塞", "fine_proposed": "30000.00",
        "abatement_date": "2026-03-20"})
    assert case.issue_citation(command, OFFICER, CLASSES, now=at(2)) is None
    with pytest.raises(Conflict):
        case.issue_citation(dict(command, fine_proposed=1), OFFICER, CLASSES, now=at(2))


def test_money_in_commands_is_text_naming_the_field():
    with pytest.raises(InvalidCommand) as error:
        load_command(RecordPayment, {"amount": 100.5, "paid_on": "2026-03-01",
                                     "reference": "r"})
    assert list(error.value.errors) == ["amount"]
    with pytest.raises(InvalidCommand) as error:
        load_command(RecordPayment, {"amount": "0.00", "paid_on": "2026-03-01",
                                     "reference": "r"})
    assert "at least 0.01" in error.value.errors["amount"][0]
    with pytest.raises(InvalidCommand) as error:
        load_command(DecidePenalty, {"fines": [{"citation_id": "c1", "fine_imposed": "1,000"}]})
    assert list(error.value.errors["fines"][0]) == ["fine_imposed"]


def test_an_imported_case_in_dollars_with_fines_not_stated():
    stream, case = opened(currency="USD", source_system="osha", source_ref="316696764")
    case = cite(case, stream, "c1", fine=None, currency="USD")
    case = cite(case, stream, "c2", fine="2925.55")
    case = decide(case, stream, c1=None, c2="2000.00")
    shown = cases.case_view(case)
    assert shown["currency"] == "USD" and shown["source"] == {"system": "osha",
                                                              "ref": "316696764"}
    assert shown["totals"]["proposed"] == "2925.55" and shown["totals"]["imposed"] == "2000.00"
    assert shown["citations"][0]["fine_proposed"] is None
    assert stream.events[1].data["currency"] == "USD"
    case = close(case, stream, "terminated", note="closed in the source system")
    assert case.state == cases.CLOSED


def test_violation_classes_are_configurable():
    assert list(CLASSES.labels) == ["serious", "willful", "repeat", "other"]
    assert CLASSES.labels["repeat"]["zh"] == "重复违法"
    custom = cases.ViolationClasses.from_dict({"version": "x", "classes": [
        {"key": "minor", "zh": "轻微违法"}]})
    stream, case = opened()
    case.issue_citation(load_command(IssueCitation, {
        "clause": "第一条", "violation_class": "minor", "description": "d",
        "fine_proposed": "0"}), OFFICER, custom, now=at(1))
    assert case.pending[0].data["citation_id"]        # a fresh id when none is given
    for bad in [{"version": "x", "classes": []},
                {"version": "x", "classes": [{"key": "a", "zh": "甲"}, {"key": "a", "zh": "乙"}]},
                {"version": "x", "classes": [{"key": "a"}]}, {"classes": []}]:
        with pytest.raises(ValueError):
            cases.ViolationClasses.from_dict(bad)


def test_an_establishment_is_recorded_once_until_it_changes():
    command = load_command(RecordEstablishment, {
        "enterprise_id": "est-1", "name": "CA CORRECTIONS AVENAL", "town": "AVENAL",
        "industry": "NAICS 922140", "source_system": "osha", "source_ref": "N068"})
    event = establishments.record(command, OFFICER, now=T0)
    assert event.name == "EstablishmentRecorded" and event.subject == "est-1"
    assert establishments.record(command, OFFICER, now=T0, known=event.data) is None
    changed = dict(command, name="CA CORRECTIONS AVENAL STATE PRISON")
    assert establishments.record(changed, OFFICER, now=T0, known=event.data) is not None


# --- overdue abatement -----------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(day, hour=0):
    return datetime(2026, 3, day, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


def test_a_citation_past_its_abatement_day_is_marked_overdue_once():
    stream, case = opened()
    case = cite(case, stream, "c1", hazard_ids=["h-1"])                # due 2026-03-20
    case = cite(case, stream, "c2", abatement_date="2026-03-25")
    case = cite(case, stream, "c3")
    case = cite(case, stream, "c4", abatement_date=None)               # no day: never due
    case.withdraw_citation({"citation_id": "c3", "reason": "撤销"}, OFFICER, now=at(2))
    case = stream.save(case)
    assert case.next_abatement_due() == date(2026, 3, 20)
    # the last hour of the 20th in Shanghai (16:00Z on the 20th): not yet
    assert case.mark_abatement_overdue(shanghai(20, 23), SHANGHAI) == []
    [marked] = case.mark_abatement_overdue(shanghai(21, 0), SHANGHAI)
    assert marked.name == "CitationAbatementOverdue" and marked.actor == "enforcement-service"
    assert marked.data["citation_id"] == "c1" and marked.data["hazard_ids"] == ["h-1"]
    assert marked.data["abatement_date"] == date(2026, 3, 20)
    assert marked.data["overdue_since"] == datetime(2026, 3, 20, 16, tzinfo=timezone.utc)
    case = stream.save(case)
    assert case.mark_abatement_overdue(shanghai(22), SHANGHAI) == []     # once
    assert case.next_abatement_due() == date(2026, 3, 25)
    assert case.abatements_overdue() == ["c1"]
    shown = {c["citation_id"]: c for c in cases.case_view(case, zone=SHANGHAI)["citations"]}
    assert shown["c1"]["abatement_overdue"] is True
    assert shown["c1"]["abatement_overdue_at"] == "2026-03-20T16:00:00.000000Z"
    assert shown["c2"]["abatement_overdue"] is False and shown["c2"]["abated_late"] is False
    assert cases.case_view(case, zone=SHANGHAI)["abatements_overdue"] == 1

    # a later abatement still abates, and says it was late
    case.abate_citation({"citation_id": "c1", "hazard_id": "h-1"}, cases.SERVICE, now=at(22))
    case = stream.save(case)
    view = cases.case_view(case, zone=SHANGHAI)
    c1 = view["citations"][0]
    assert (c1["abated"], c1["abated_late"], c1["abatement_overdue"]) == (True, True, True)
    assert view["abatements_overdue"] == 0 and case.abatements_overdue() == []
    # c2 abated on its day: not late, never marked
    case.abate_citation({"citation_id": "c2", "abated_at": shanghai(25, 20)}, OFFICER,
                        now=at(30))
    case = stream.save(case)
    assert case.mark_abatement_overdue(shanghai(28), SHANGHAI) == []
    assert cases.case_view(case, zone=SHANGHAI)["citations"][1]["abated_late"] is False
    assert case.next_abatement_due() is None
    assert [e.name for e in stream.events].count("CitationAbatementOverdue") == 1


def test_no_overdue_abatement_for_a_closed_or_an_imported_case():
    stream, case = opened()
    case = cite(case, stream, "c1")
    case = close(case, stream, "withdrawn")
    assert case.next_abatement_due() is None
    assert case.mark_abatement_overdue(shanghai(28), SHANGHAI) == []
    stream, case = opened(source_system="osha", source_ref="317-1")
    case = cite(case, stream, "c1")
    assert case.imported and case.overdue_citations(date(2026, 3, 28)) == ["c1"]
    assert case.next_abatement_due() is None
    assert case.mark_abatement_overdue(shanghai(28), SHANGHAI) == []
