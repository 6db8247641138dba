"""The OSHA import mapping on the shipped files: the figures the API must
answer after the import (stated literally, and recomputed here from the CSV
files by code of the test's own), messy rows reported and never the end of
the import, ids that make a second run import nothing twice, and send()'s
batching past refused records."""
import csv
import io
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from einspection import imports
from einspection.contract import load_command, parse_instant
from einspection.errors import InvalidCommand
from services.enforcement import import_osha, osha


def shared_osha():
    """`../shared/data/osha` of the repository (or of a parent of its worktree)."""
    folder = os.path.dirname(os.path.abspath(__file__))
    while folder != os.path.dirname(folder):
        candidate = os.path.join(folder, "shared", "data", "osha")
        if os.path.isdir(candidate):
            return candidate
        folder = os.path.dirname(folder)
    pytest.fail("../shared/data/osha not found above %s" % __file__)


DATA = shared_osha()

# What the shipped files hold, counted once by hand-checked code (below) and
# stated here: deleted violations (delete_flag X, 64 rows) are out of every total.
INSPECTIONS = 582
VIOLATION_ROWS = 797
CITATIONS_BY_CLASS = {"other": 549, "serious": 172, "repeat": 12}     # 733 in force
FINES_PROPOSED_CENTS = 113_534_000      # initial penalties: $1,135,340.00
FINES_IMPOSED_CENTS = 73_477_100        # current penalties: $734,771.00
OPEN_CASES = 37                         # no close_case_date
ESTABLISHMENTS = 374                    # name + city, normalised
TOP_ESTABLISHMENTS = [                  # by current penalties
    ("CA PRISON INDUSTRY AUTHORITY", "CHOWCHILLA", 3_743_000),
    ("CA CORRECTIONS", "AVENAL", 2_512_500),
    ("CALIFORNIA STATE PRISON CORCORAN, SATF", "CORCORAN", 2_492_500),
    ("CA CORRECTIONS AND REHABILITATION", "NORCO", 2_268_000),
    ("CALFIRE - ALDER CONSERVATION CAMP", "KLAMATH", 2_250_000),
]


@pytest.fixture(scope="module")
def mapped():
    return osha.map_export(DATA)


def independent_figures():
    """The same figures from the CSV files with the csv module and Decimal."""
    with open(os.path.join(DATA, "derived_inspections.csv"), newline="") as handle:
        inspections = list(csv.DictReader(handle))
    with open(os.path.join(DATA, "derived_violations.csv"), newline="") as handle:
        violations = list(csv.DictReader(handle))
    in_force = [v for v in violations if v["delete_flag"] in ("", "NA")]

    def dollars(text):
        return Decimal(0) if text in ("", "NA") else Decimal(text)

    def key(text):
        return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())
    establishment = {r["activity_nr"]: (key(r["estab_name"]), key(r["site_city"]))
                     for r in inspections}
    current = defaultdict(Decimal)
    for v in in_force:
        current[establishment[v["activity_nr"]]] += dollars(v["current_penalty"])
    names = {"S": "serious", "W": "willful", "R": "repeat", "O": "other"}
    return {
        "inspections": len(inspections), "violation_rows": len(violations),
        "citations_by_class": dict(Counter(names[v["viol_type"]] for v in in_force)),
        "proposed": int(sum(dollars(v["initial_penalty"]) for v in in_force) * 100),
        "imposed": int(sum(dollars(v["current_penalty"]) for v in in_force) * 100),
        "open": sum(1 for r in inspections if r["close_case_date"] in ("", "NA")),
        "establishments": len(set(establishment.values())),
        "top": sorted(current.values(), reverse=True)[:5],
    }


def test_the_stated_figures_are_the_files():
    counted = independent_figures()
    assert counted["inspections"] == INSPECTIONS
    assert counted["violation_rows"] == VIOLATION_ROWS
    assert counted["citations_by_class"] == CITATIONS_BY_CLASS
    assert counted["proposed"] == FINES_PROPOSED_CENTS
    assert counted["imposed"] == FINES_IMPOSED_CENTS
    assert counted["open"] == OPEN_CASES
    assert counted["establishments"] == ESTABLISHMENTS
    assert [int(d * 100) for d in counted["top"]] == [fen for _, _, fen in TOP_ESTABLISHMENTS]


def test_the_mapping_makes_the_stated_figures(mapped):
    figures = mapped.figures()
    assert figures == {"inspections": INSPECTIONS, "citations_by_class": CITATIONS_BY_CLASS,
                       "fines_proposed": FINES_PROPOSED_CENTS,
                       "fines_imposed": FINES_IMPOSED_CENTS, "open_cases": OPEN_CASES,
                       "top_establishments": TOP_ESTABLISHMENTS}
    assert len(mapped.establishments) == ESTABLISHMENTS
    commands = Counter(record["command"] for record in mapped.records)
    assert commands == {"record_establishment": ESTABLISHMENTS, "open_case": INSPECTIONS,
                        "issue_citation": VIOLATION_ROWS, "withdraw_citation": 64,
                        "decide_penalty": 269, "abate_citation": 389,
                        "close_case": INSPECTIONS - OPEN_CASES}
    # every violation row is kept, the deleted ones too (withdrawn, out of the totals)
    cited = sum(len(case.citations) for case in mapped.cases.values())
    assert cited == VIOLATION_ROWS
    assert all(case.currency == "USD" for case in mapped.cases.values())


def test_the_joined_file_maps_to_the_same_records(mapped, tmp_path):
    for name in ("CA_prison_insp_viol_2010_op.csv", "osha_data_dictionary.csv"):
        shutil.copy(os.path.join(DATA, name), tmp_path / name)
    joined = osha.map_export(str(tmp_path))
    assert joined.records == mapped.records
    assert joined.figures() == mapped.figures()


def test_records_are_valid_import_calls_in_time_order(mapped):
    batches = osha.batches(mapped, 500)
    assert [len(b.records) for b in batches] == [500] * 6 + [20]
    last = None
    for batch in batches:
        loaded = load_command(imports.ImportRecords, {"records": batch.records,
                                                      "actor": osha.ACTOR})
        for record in loaded["records"]:
            assert last is None or record["at"] >= last
            last = record["at"]
    first = mapped.records[0]
    assert first["command"] == "record_establishment" and first["account"] == osha.ACCOUNT
    assert parse_instant(first["at"]).hour == 12          # a day is 12:00 UTC of that day


def test_dollars_become_cents_exactly_and_missing_fines_are_not_stated(mapped):
    case = mapped.cases[osha.case_id_for(osha.inspection_id("316696764"))]
    deleted = case.citations[osha.citation_uid("316696764", "03001")]
    assert deleted["fine_proposed"] == 292555 and deleted["withdrawn"] is not None
    assert case.total_proposed() == money_of(case, "initial")
    # a violation whose current penalty is NA: no fine stated, nothing counted
    stated = mapped.cases[osha.case_id_for(osha.inspection_id("119956639"))]
    unstated = stated.citations[osha.citation_uid("119956639", "01002")]
    assert unstated["fine_imposed"] is None


def money_of(case, which):
    column = {"initial": "initial_penalty", "current": "current_penalty"}[which]
    with open(os.path.join(DATA, "derived_violations.csv"), newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["activity_nr"] == case.opened["source_ref"] and not r["delete_flag"]]
    return sum(int(Decimal(r[column]) * 100) for r in rows if r[column] not in ("", "NA"))


def test_the_report_lists_what_could_not_be_mapped_row_by_row(mapped, tmp_path):
    report = Counter((row["field"], row["value"]) for row in mapped.report)
    assert report[("delete_flag", "X")] == 64
    assert report[("abate_complete", "2")] == 223 and report[("abate_complete", "3")] == 107
    assert report[("abate_complete", "1")] == 1
    assert report[("current_penalty", "NA")] == 52
    path = tmp_path / "report.csv"
    osha.write_report(mapped.report, str(path))
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(mapped.report)
    row = next(r for r in rows if r["line"] == "8" and r["file"] == "derived_violations.csv")
    assert row == {"file": "derived_violations.csv", "line": "8", "activity_nr": "119948990",
                   "citation_id": "01013", "field": "delete_flag", "value": "X",
                   "problem": "code 'X' is not in the data dictionary (D)",
                   "action": "read as deleted: the citation is withdrawn, out of every total"}


def test_a_second_run_makes_the_same_records(mapped):
    again = osha.map_export(DATA)
    assert again.records == mapped.records
    ids = {imports.record_command_id(load_command(imports.ImportRecord, r), r["actor"])
           for r in mapped.records}
    assert len(ids) == len(mapped.records)        # one journal key per record, the same twice
    opened = {osha.case_id_for(r["payload"]["inspection_id"]) for r in mapped.records
              if r["command"] == "open_case"}
    assert opened == set(mapped.cases)
    assert {r["payload"].get("case_id") for r in mapped.records} - {None} <= opened


MESSY_INSPECTIONS = """activity_nr,reporting_id,estab_name,site_address,site_city,site_state,site_zip,sic_code,naics_code,insp_type,open_date,close_case_date
1001,950633,ACME WORKS,1 MAIN ST,FRESNO,CA,93701,NA,332312,Z,2015-01-05,2015-06-01
1002,NA,,NA,NA,CA,NA,NA,0,B,2015-02-01,NA
1003,950633,BROKEN DATES,1 X ST,FRESNO,CA,93701,9223,NA,B,01/03/2015,NA
1001,950633,ACME WORKS,1 MAIN ST,FRESNO,CA,93701,NA,332312,B,2015-01-05,2015-06-01
1004,950633,ACME WORKS,1 MAIN ST.,Fresno,CA,93701,NA,332312,B,2016-01-05,2016-06-01
"""
MESSY_VIOLATIONS = """activity_nr,citation_id,delete_flag,standard,viol_type,issuance_date,abate_date,abate_complete,current_penalty,initial_penalty,final_order_date
1001,01001,,3203 A,S,2015-01-20,2015-02-20,X,0.10,0.10,2015-03-01
1001,01002,,3203 B,Z,2015-01-20,,7,12.345,NA,
1001,01002,,3203 B,Z,2015-01-20,,7,1,1,
1001,01003,X,3203 C,O,2015-01-20,2015-02-20,X,NA,500,
1001,01004,,3203 D,O,2015-01-21,2015-09-30,X,19.99,25,2015-08-01
1002,01001,,NA,O,2015-02-10,2015-03-10,NA,NA,NA,
9999,01001,,3203 A,S,2015-01-20,2015-02-20,X,100,100,
1004,01001,,3203 A,S,2016-01-20,2016-02-20,2,200,100,
"""


@pytest.fixture
def messy(tmp_path):
    (tmp_path / "derived_inspections.csv").write_text(MESSY_INSPECTIONS)
    (tmp_path / "derived_violations.csv").write_text(MESSY_VIOLATIONS)
    shutil.copy(os.path.join(DATA, "osha_data_dictionary.csv"),
                tmp_path / "osha_data_dictionary.csv")
    return str(tmp_path)


def test_messy_rows_are_reported_and_the_rest_imported(messy):
    mapped = osha.map_export(messy)
    # (table, line, field): "i" the inspections' file, "v" the violations'
    problems = {(r["file"].split("_")[1][0], r["line"], r["field"]): r for r in mapped.report}
    assert problems[("i", 2, "insp_type")]["problem"].startswith("code 'Z' is not in the data")
    assert problems[("i", 3, "estab_name")]["action"] == "named by its activity_nr"
    assert problems[("i", 3, "site_city")]["action"] == "town recorded as unknown"
    assert problems[("i", 4, "open_date")]["problem"] == "not a date (YYYY-MM-DD)"
    assert problems[("i", 5, "activity_nr")]["problem"] == "inspection listed twice"
    assert problems[("v", 3, "viol_type")]["action"] == "kept in the description; cited as other"
    assert problems[("v", 3, "current_penalty")]["problem"] == "must have at most 2 decimals (fen)"
    assert problems[("v", 3, "initial_penalty")]["problem"] == "missing"
    assert problems[("v", 3, "abate_complete")]["problem"].startswith("code '7'")
    assert problems[("v", 4, "citation_id")]["problem"] == "cited twice in one inspection"
    assert problems[("v", 8, "activity_nr")]["problem"] == "no inspection with this activity_nr"
    assert problems[("v", 7, "abate_complete")]["problem"] == "missing"

    # what the case aggregate refuses is reported, not sent: a fine above the one proposed
    refused = [(r["line"], r["field"]) for r in mapped.report
               if r["problem"].startswith("refused")]
    assert refused == [(6, "decide_penalty"), (6, "close_case")]
    assert not any(r["command"] == "decide_penalty" and r["payload"]["fines"][0][
        "fine_imposed"] == "200.00" for r in mapped.records)

    figures = mapped.figures()
    assert figures["inspections"] == 3                   # 1003's open date is unreadable
    assert figures["citations_by_class"] == {"serious": 2, "other": 3}
    assert figures["fines_proposed"] == 10 + 2500 + 10000  # 0.10 + 25 + 100 (01003 deleted)
    assert figures["fines_imposed"] == 10 + 1999         # 0.10 + 19.99 (12.345 unreadable)
    assert figures["open_cases"] == 2
    # one establishment however its name and city are spelt
    assert len(mapped.establishments) == 2
    acme = mapped.cases[osha.case_id_for(osha.inspection_id("1001"))]
    assert acme.state == "closed" and acme.closing["outcome"] == "terminated"
    citation = acme.citations[osha.citation_uid("1001", "01002")]
    assert citation["violation_class"] == "other" and "type Z" in citation["description"]
    # abated on its abate_date, no later than the close of the case
    late = acme.citations[osha.citation_uid("1001", "01004")]
    assert late["abated"]["abated_at"].date().isoformat() == "2015-06-01"
    assert acme.decision["decided_at"].date().isoformat() == "2015-06-01"
    unnamed = mapped.cases[osha.case_id_for(osha.inspection_id("1002"))]
    assert unnamed.state == "open" and unnamed.decision is None
    assert mapped.establishments[unnamed.enterprise_id]["name"] == "OSHA establishment 1002"


class FakeService:
    """Plays enforcement.import_records: refuses the records whose payload
    says so, like einspection.imports.run (the ones before are imported; the
    index arrives as text, as over RPC)."""

    def __init__(self, refuse=(), precheck=()):
        self.calls, self.refuse, self.precheck = [], set(refuse), set(precheck)

    def __call__(self, payload):
        records = payload["records"]
        self.calls.append([r["payload"]["n"] for r in records])
        early = {str(i): {"at": ["is in the future"]} for i, r in enumerate(records)
                 if r["payload"]["n"] in self.precheck}
        if early:
            raise InvalidCommand({"records": early})
        for index, record in enumerate(records):
            if record["payload"]["n"] in self.refuse:
                raise InvalidCommand({"records": {str(index): ["case x is closed"]},
                                      "imported": ["records before %d were imported" % index]})
        return {"results": [{} for _ in records], "events": []}


def batch_of(numbers):
    return osha.Batch([{"command": "issue_citation", "payload": {"n": n}} for n in numbers],
                      [{"file": "v.csv", "line": n, "activity_nr": "a", "citation_id": str(n)}
                       for n in numbers])


def test_send_goes_on_past_refused_records():
    service, advanced = FakeService(refuse={2, 5}), []
    imported, report = osha.send([batch_of(range(4)), batch_of(range(4, 7))], service,
                                 progress=advanced.append)
    assert service.calls == [[0, 1, 2, 3], [3], [4, 5, 6], [6]]
    assert imported == 5 and sum(advanced) == 7
    assert [(r["line"], r["problem"]) for r in report] == [
        (2, "refused: ['case x is closed']"), (5, "refused: ['case x is closed']")]


def test_send_leaves_out_records_refused_before_any_ran():
    service = FakeService(precheck={1, 3})
    imported, report = osha.send([batch_of(range(5))], service)
    assert service.calls == [[0, 1, 2, 3, 4], [0, 2, 4]]
    assert imported == 3 and [r["line"] for r in report] == [1, 3]


def test_send_stops_on_an_error_that_is_no_records():
    def broken(payload):
        raise InvalidCommand({"actor": ["required"]})
    with pytest.raises(InvalidCommand):
        osha.send([batch_of(range(2))], broken)


def test_the_cli_dry_run_writes_the_report_and_the_figures(tmp_path):
    out = io.StringIO()
    summary = import_osha.main([DATA, "--report", str(tmp_path / "r.csv"), "--dry-run"],
                               out=out)
    shown = json.loads(out.getvalue())
    assert shown == summary and shown["imported"] == 0
    assert shown["figures"]["fines_imposed"] == "734771.00"
    assert shown["figures"]["fines_proposed"] == "1135340.00"
    assert shown["figures"]["currency"] == "USD"
    assert (tmp_path / "r.csv").read_text().count("\n") == shown["report_rows"] + 1


def test_the_cli_sends_in_batches_with_the_callable_it_is_given(tmp_path, messy):
    calls = []

    def service(payload):
        calls.append(len(payload["records"]))
        return {"results": payload["records"], "events": []}
    summary = import_osha.main([messy, "--report", str(tmp_path / "r.csv"),
                                "--batch-size", "4"], rpc=service, out=io.StringIO())
    assert sum(calls) == summary["records"] == summary["imported"]
    assert max(calls) == 4
