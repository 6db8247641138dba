"""OSHA enforcement records (the shape of `../shared/data/osha/`) as import
records of the enforcement service (einspection/imports.py), with a report
of what could not be mapped, row by row.

The export: an inspection table and a violation table that join on
`activity_nr` (`derived_inspections.csv`, `derived_violations.csv`), or the
two joined in one file (`CA_prison_insp_viol_2010_op.csv`: one row per
violation, an inspection without violations once with an empty
`citation_id`), and the data dictionary (`osha_data_dictionary.csv`) whose
code lists the coded columns are checked against.

| source | record (command) | how |
| --- | --- | --- |
| an establishment (name + city) | `record_establishment` | enterprise_id = uuid5(name, city normalised); town = site_city; industry = `NAICS <naics_code>`, else `SIC <sic_code>`; address = site street, city, state, zip. Once, at its first inspection |
| an inspection | `open_case` | inspection_id = uuid5(activity_nr), case_id derived from it (cases.case_id_for); at open_date; currency USD; source osha/activity_nr |
| a violation | `issue_citation` | citation_id = uuid5(activity_nr, citation_id); clause = Cal. Code Regs. title 8 § standard; viol_type S/W/R/O → serious/willful/repeat/other; initial_penalty → fine_proposed; abate_date → abatement_date; at issuance_date |
| `delete_flag` set | `withdraw_citation` | kept in the case, out of every total |
| current penalties | `decide_penalty` | current_penalty → fine_imposed of every citation in force; at the latest final_order_date (else the latest issuance_date) |
| abate_complete X, Q, I | `abate_citation` | at abate_date (the citation's issuance day at the earliest, the close-case day at the latest) |
| close_case_date | `close_case` | outcome `terminated` (a penalty imposed: the export holds no payments) or `no_penalty` |

Messy data: `NA` and empty are missing (a fine `None`: not stated, counting
nothing); codes outside the dictionary are kept and reported, never
dropped (an unknown violation type is cited as `other` with its code in the
description; `delete_flag` X, which the dictionary lists as D, reads as
deleted); amounts are dollars turned into cents exactly (einspection.money);
a day is 12:00 UTC of that day, the same calendar day in California and in
China. Every record is tried on the case aggregate itself before it is
sent, so the records sent are the ones the service takes; one it refuses is
reported and left out, never the end of the import. Ids are uuid5 of the
source keys: a second run makes the same records, which import nothing twice.
"""
import csv
import os
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from einspection import money
from einspection.acting import Acting
from einspection.contract import isoformat, load_command, parse_instant
from einspection.errors import DomainError, InvalidCommand

from . import case_commands, establishments
from .cases import case_id_for, violation_classes
from .schemas import RecordEstablishment

SOURCE = "osha"
CURRENCY = "USD"                       # OSHA's penalties are dollars: cents in the records
NAMESPACE = uuid.UUID("9a3c8f4e-2d17-4b6a-8e05-71c2d94f3a68")
INSPECTIONS = "derived_inspections.csv"
VIOLATIONS = "derived_violations.csv"
DICTIONARY = "osha_data_dictionary.csv"
ACTOR = "osha-import"                  # the import's own actor; each record acts as its office
ACCOUNT = {"role": "authority_inspector"}
BATCH_SIZE = 500                       # records per import call (einspection.imports.MAX_RECORDS)

VIOLATION_CLASS = {"S": "serious", "W": "willful", "R": "repeat", "O": "other"}
ABATED = {"X", "Q", "I"}               # completed, quick fix, corrected during inspection
MISSING = {"", "NA"}
# coded columns checked against the dictionary's code lists (table, column)
CODED = {"inspection": [("osha_inspection", c) for c in
                        ("insp_type", "insp_scope", "owner_type", "safety_hlth", "why_no_insp")],
         "violation": [("osha_violation", c) for c in
                       ("viol_type", "abate_complete", "delete_flag", "rec")]}
UNKNOWN_CODE_ACTIONS = {
    "delete_flag": "read as deleted: the citation is withdrawn, out of every total",
    "abate_complete": "kept in the description; not read as abated",
    "viol_type": "kept in the description; cited as other",
    "rec": "kept in the description",
}
REPORT_FIELDS = ("file", "line", "activity_nr", "citation_id", "field", "value", "problem",
                 "action")


def uid(*parts):
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def normalised(text):
    """Upper case letters and digits, one space between words: the spelling
    of a name that two records of one establishment share."""
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())


def establishment_id(name, city):
    return uid("establishment", normalised(name), normalised(city))


def inspection_id(activity_nr):
    return uid("inspection", activity_nr)


def citation_uid(activity_nr, citation_id):
    return uid("citation", activity_nr, citation_id)


def missing(value):
    return value is None or value.strip() in MISSING


def instant(day):
    return datetime.combine(day, time(12), tzinfo=timezone.utc)


# --- reading the export -------------------------------------------------------------------

@dataclass
class Row:
    file: str
    line: int
    values: dict


def dictionary_codes(path):
    """{(table, column): {code}} from definitions such as 'S=Serious.W=Willful'."""
    codes = {}
    if not os.path.exists(path):
        return codes
    with open(path, encoding="utf-8", newline="") as handle:
        for entry in csv.DictReader(handle):
            found = re.findall(r"(?:^|[^A-Za-z0-9])([A-Z0-9])=", entry.get("definition") or "")
            if found:
                codes[(entry["table_name"], entry["column_name"])] = set(found)
    return codes


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        name = os.path.basename(path)
        # line numbers as a spreadsheet shows them: the header is line 1
        return reader.fieldnames or [], [Row(name, n, values)
                                         for n, values in enumerate(reader, start=2)]


def read_export(directory):
    """(inspection rows, violation rows) of the export in `directory`: the two
    tables, or one file with both joined on activity_nr."""
    inspections_path = os.path.join(directory, INSPECTIONS)
    if os.path.exists(inspections_path):
        return _rows(inspections_path)[1], _rows(os.path.join(directory, VIOLATIONS))[1]
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".csv"):
            continue
        header, rows = _rows(os.path.join(directory, name))
        if "activity_nr" in header and "citation_id" in header and "estab_name" in header:
            return split_joined(rows)
    raise FileNotFoundError("%s: no %s, nor a file of inspections joined with violations"
                            % (directory, INSPECTIONS))


def split_joined(rows):
    """A left join of inspections and violations, back into the two tables:
    an inspection once (its first row), a violation per row with a citation."""
    inspections, violations, seen = [], [], set()
    for row in rows:
        if row.values["activity_nr"] not in seen:
            seen.add(row.values["activity_nr"])
            inspections.append(row)
        if not missing(row.values.get("citation_id")):
            violations.append(row)
    return inspections, violations


# --- the mapping --------------------------------------------------------------------------

@dataclass
class Mapped:
    """What an export maps to: records in time order (each with the row it
    came from), the cases and establishments they make, and the report."""
    records: list = field(default_factory=list)
    origins: list = field(default_factory=list)
    cases: dict = field(default_factory=dict)            # case_id -> Case
    establishments: dict = field(default_factory=dict)   # enterprise_id -> data
    report: list = field(default_factory=list)

    def figures(self, top=5):
        """The figures the API answers after the import, from the cases."""
        return figures(self.cases.values(), self.establishments, top)


class _Mapper:
    def __init__(self, codes, classes):
        self.codes, self.classes = codes, classes
        self.out = Mapped()
        self.sequence = 0
        self.pending = []       # (at, sequence, record, origin)

    def note(self, row, column, problem, action, citation=""):
        values = row.values
        self.out.report.append({
            "file": row.file, "line": row.line, "activity_nr": values.get("activity_nr", ""),
            "citation_id": citation or values.get("citation_id", "") or "",
            "field": column, "value": values.get(column, ""), "problem": problem,
            "action": action})

    def day(self, row, column, required=False, citation=""):
        text = row.values.get(column)
        if missing(text):
            if required:
                self.note(row, column, "missing", "row not imported", citation)
            return None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            self.note(row, column, "not a date (YYYY-MM-DD)",
                      "row not imported" if required else "read as missing", citation)
            return None

    def dollars(self, row, column):
        text = row.values.get(column)
        if missing(text):
            self.note(row, column, "missing", "fine not stated (counts nothing)")
            return None
        try:
            return money.parse(text.strip(), column)
        except InvalidCommand as exc:
            self.note(row, column, exc.errors[column][0], "fine not stated (counts nothing)")
            return None

    def check_codes(self, row, kind):
        for table, column in CODED[kind]:
            known = self.codes.get((table, column))
            value = (row.values.get(column) or "").strip()
            if known and value not in MISSING and value not in known:
                self.note(row, column, "code %r is not in the data dictionary (%s)"
                          % (value, "/".join(sorted(known))),
                          UNKNOWN_CODE_ACTIONS.get(column, "kept in the report; not mapped"))

    def add(self, at, command, payload, row, actor, citation=""):
        record = {"command": command, "at": isoformat(instant(at)), "actor": actor,
                  "account": ACCOUNT, "payload": payload}
        origin = {"file": row.file, "line": row.line,
                  "activity_nr": row.values.get("activity_nr", ""), "citation_id": citation}
        self.pending.append((at, self.sequence, record, origin))
        self.sequence += 1

    # one inspection, its violations, in the order they happened
    def inspection(self, row, violations):
        values = row.values
        activity = values["activity_nr"].strip()
        self.check_codes(row, "inspection")
        opened = self.day(row, "open_date", required=True)
        if opened is None:
            for violation in violations:
                self.note(violation, "activity_nr", "its inspection is not imported",
                          "row not imported")
            return
        closed = self.day(row, "close_case_date")
        if closed is not None and closed < opened:
            self.note(row, "close_case_date", "before open_date", "case left open")
            closed = None
        actor = ("osha-" + values["reporting_id"].strip()
                 if not missing(values.get("reporting_id")) else ACTOR)
        enterprise_id = self.establishment(row, opened, actor)
        inspection = inspection_id(activity)
        case_id = case_id_for(inspection)
        self.add(opened, "open_case", {
            "enterprise_id": enterprise_id, "inspection_id": inspection, "currency": CURRENCY,
            "source_system": SOURCE, "source_ref": activity}, row, actor)

        def within(day, earliest):
            day = max(day or earliest, earliest)
            return min(day, closed) if closed else day
        in_force, decided_on, cited = [], opened, set()
        for violation in violations:
            v = violation.values
            number = v["citation_id"].strip()
            if number in cited:
                self.note(violation, "citation_id", "cited twice in one inspection",
                          "row not imported")
                continue
            cited.add(number)
            self.check_codes(violation, "violation")
            issued = self.day(violation, "issuance_date", required=True)
            if issued is None:
                continue
            issued = within(issued, opened)
            decided_on = max(decided_on, issued)     # after every citation and withdrawal
            code = (v.get("viol_type") or "").strip()
            klass = VIOLATION_CLASS.get(code)
            if klass is None:
                if code in MISSING:
                    self.note(violation, "viol_type", "missing", "cited as other")
                klass = "other"
            abatement = self.day(violation, "abate_date")
            if abatement is None and missing(v.get("abate_date")):
                self.note(violation, "abate_date", "missing", "no abatement date")
            proposed = self.dollars(violation, "initial_penalty")
            citation_id = citation_uid(activity, number)
            self.add(issued, "issue_citation", {
                "case_id": case_id, "citation_id": citation_id,
                "clause": "Cal. Code Regs. tit. 8, § %s" % (v.get("standard") or "").strip()
                          if not missing(v.get("standard")) else "unknown (not in the record)",
                "violation_class": klass,
                "description": description(v), "fine_proposed": _text(proposed),
                "abatement_date": abatement and abatement.isoformat(),
                "source_ref": "%s/%s" % (activity, number)}, violation, actor, number)
            flag = (v.get("delete_flag") or "").strip()
            if flag not in MISSING:
                self.add(issued, "withdraw_citation", {
                    "case_id": case_id, "citation_id": citation_id,
                    "reason": "deleted in the OSHA record (delete_flag %s)" % flag},
                    violation, actor, number)
                continue
            imposed = self.dollars(violation, "current_penalty")
            in_force.append((violation, citation_id, imposed, number))
            final = self.day(violation, "final_order_date")
            decided_on = max(decided_on, final or decided_on)
            abate_code = (v.get("abate_complete") or "").strip()
            if abate_code in ABATED:
                self.add(within(abatement, issued), "abate_citation", {
                    "case_id": case_id, "citation_id": citation_id,
                    "abated_at": isoformat(instant(within(abatement, issued)))},
                    violation, actor, number)
            elif abate_code in MISSING:
                self.note(violation, "abate_complete", "missing", "not read as abated")
        imposed_total = 0
        if in_force and any(imposed is not None for _, _, imposed, _ in in_force):
            imposed_total = money.total(imposed for _, _, imposed, _ in in_force)
            self.add(within(decided_on, opened), "decide_penalty", {
                "case_id": case_id, "fines": [
                    {"citation_id": citation_id, "fine_imposed": _text(imposed)}
                    for _, citation_id, imposed, _ in in_force]}, row, actor)
        elif in_force:
            self.note(row, "current_penalty", "no citation of the inspection states one",
                      "no penalty decided")
        if closed is not None:
            self.add(closed, "close_case", {"case_id": case_id, "outcome": (
                "terminated" if imposed_total else "no_penalty"), "note": (
                "closed in the OSHA record on %s; the export holds no payments"
                % closed.isoformat())}, row, actor)

    def establishment(self, row, opened, actor):
        values = row.values
        name = (values.get("estab_name") or "").strip()
        if missing(name):
            self.note(row, "estab_name", "missing", "named by its activity_nr")
            name = "OSHA establishment %s" % values["activity_nr"].strip()
        city = (values.get("site_city") or "").strip()
        if missing(city):
            self.note(row, "site_city", "missing", "town recorded as unknown")
            city = "unknown"
        enterprise_id = establishment_id(name, city)
        if enterprise_id in self.out.establishments:
            return enterprise_id
        naics = (values.get("naics_code") or "").strip()
        sic = (values.get("sic_code") or "").strip()
        if not missing(naics) and naics != "0":
            industry = "NAICS " + naics
        elif not missing(sic) and sic != "0":
            industry = "SIC " + sic
        else:
            industry = ""
            self.note(row, "naics_code", "no NAICS nor SIC code", "industry left empty")
        address = ", ".join(part for part in (
            values.get("site_address"), values.get("site_city"),
            " ".join(p for p in (values.get("site_state"), values.get("site_zip"))
                     if not missing(p))) if not missing(part))
        payload = {"enterprise_id": enterprise_id, "name": name[:200], "town": city[:100],
                   "industry": industry, "address": address[:300], "source_system": SOURCE,
                   "source_ref": normalised(name) + " / " + normalised(city)}
        self.out.establishments[enterprise_id] = payload
        self.add(opened, "record_establishment", payload, row, actor)
        return enterprise_id

    def finish(self):
        """Time order (the import's rule), then each record tried on the case
        aggregate: what the service would refuse is reported, not sent."""
        self.pending.sort(key=lambda item: (item[0], item[1]))
        for _, _, record, origin in self.pending:
            try:
                self.rehearse(record)
            except DomainError as exc:
                self.out.report.append(refused(origin, record, exc))
                continue
            self.out.records.append(record)
            self.out.origins.append(origin)
        return self.out

    def rehearse(self, record):
        now = parse_instant(record["at"])
        acting = Acting(record["actor"])
        if record["command"] == "record_establishment":
            establishments.record(load_command(RecordEstablishment, record["payload"]), acting,
                                  now=now)
            return
        case_id = case_commands.case_of(record["command"], record["payload"])
        case = case_commands.run(self.out.cases.get(case_id), record["command"],
                                 record["payload"], acting, now=now, classes=self.classes)
        case.pending = []
        self.out.cases[case.id] = case


def _text(fen):
    return None if fen is None else money.format(fen)


def description(v):
    """The violation as the record states it, its codes kept as they are."""
    parts = ["OSHA citation %s" % v["citation_id"].strip()]
    for column, label in (("standard", "standard"), ("viol_type", "type"),
                          ("gravity", "gravity"), ("nr_instances", "instances"),
                          ("nr_exposed", "exposed"), ("abate_complete", "abatement"),
                          ("delete_flag", "delete_flag"), ("rec", "rec")):
        if not missing(v.get(column)):
            parts.append("%s %s" % (label, v[column].strip()))
    return "; ".join(parts)[:4000]


def refused(origin, record, exc):
    reasons = getattr(exc, "errors", None) or str(exc)
    return dict(origin, field=record["command"], value="", problem="refused: %s" % (reasons,),
                action="record not imported")


def map_export(directory, classes=None):
    """The import records, cases and report of the export in `directory`."""
    inspections, violations = read_export(directory)
    mapper = _Mapper(dictionary_codes(os.path.join(directory, DICTIONARY)),
                     classes or violation_classes())
    by_activity = defaultdict(list)
    for row in violations:
        by_activity[(row.values.get("activity_nr") or "").strip()].append(row)
    seen = set()
    for row in inspections:
        activity = (row.values.get("activity_nr") or "").strip()
        if missing(activity):
            mapper.note(row, "activity_nr", "missing", "row not imported")
            continue
        if activity in seen:
            mapper.note(row, "activity_nr", "inspection listed twice", "row not imported")
            continue
        seen.add(activity)
        mapper.inspection(row, by_activity.get(activity, []))
    for activity, rows in by_activity.items():
        if activity not in seen:
            for row in rows:
                mapper.note(row, "activity_nr", "no inspection with this activity_nr",
                            "row not imported")
    return mapper.finish()


def figures(cases, establishment_names, top=5):
    """Inspections, citations in force by class, fines proposed (initial) and
    imposed (current) in cents, open cases, and the establishments with the
    highest fines imposed — exact sums of ints."""
    cases = list(cases)
    by_class, imposed_by = Counter(), Counter()
    proposed = imposed = open_cases = 0
    for case in cases:
        for citation in case.citations_in_force():
            by_class[citation["violation_class"]] += 1
        proposed += case.total_proposed()
        imposed += case.total_imposed()
        imposed_by[case.enterprise_id] += case.total_imposed()
        open_cases += case.state != "closed"
    ranked = sorted(imposed_by.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {"inspections": len(cases),
            "citations_by_class": dict(by_class), "fines_proposed": proposed,
            "fines_imposed": imposed, "open_cases": open_cases,
            "top_establishments": [(establishment_names[e]["name"],
                                    establishment_names[e]["town"], fen)
                                   for e, fen in ranked]}


def batches(mapped, size=BATCH_SIZE):
    """The records in import calls of at most `size`, each with the rows they came from."""
    return [Batch(mapped.records[start:start + size], mapped.origins[start:start + size])
            for start in range(0, len(mapped.records), size)]


@dataclass
class Batch:
    records: list
    origins: list


def send(batches, rpc, *, progress=None):
    """Import the batches with `rpc` (the enforcement service's
    import_records, or any callable that takes its payload). A record the
    service refuses is reported and the rest of its batch sent again after
    it: the import never stops halfway. Returns (imported count, report rows)."""
    imported, report = 0, []
    for batch in batches:
        records, origins = list(batch.records), list(batch.origins)
        while records:
            try:
                answer = rpc({"records": records, "actor": ACTOR})
            except InvalidCommand as exc:
                failed, done = _failures(exc.errors, len(records))
                for index in failed:
                    report.append(refused(origins[index], records[index], InvalidCommand(
                        exc.errors["records"].get(index, exc.errors["records"].get(
                            str(index))))))
                imported += done
                if progress:
                    progress(done + len(failed))
                keep = [i for i in range(len(records)) if i >= done and i not in failed]
                records = [records[i] for i in keep]
                origins = [origins[i] for i in keep]
                continue
            imported += len(answer["results"])
            if progress:
                progress(len(records))
            records = []
    return imported, report


def _failures(errors, count):
    """(indexes of the records refused, how many before them were imported)
    from an import's InvalidCommand; the indexes may have become text on the
    way (RPC)."""
    listed = errors.get("records") if isinstance(errors, dict) else None
    if not isinstance(listed, dict) or not listed:
        raise InvalidCommand(errors)            # not a record's fault: nothing to skip
    indexes = sorted(int(key) for key in listed if 0 <= int(key) < count)
    if "imported" in errors:                     # stopped at one record, the ones before in
        return [indexes[0]], indexes[0]
    return indexes, 0                            # refused before running: none imported


def write_report(rows, path):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row.get(key, "") for key in REPORT_FIELDS})
