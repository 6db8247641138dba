"""The authority's enforcement figures: inspections (visits), the enterprises
visited and those visited more than once, hazards found by inspectors, cases
open and closed, citations in force by class, fines proposed / imposed /
paid / outstanding — per group and in totals, within the caller's scope.
Read from this service's own read models; no I/O beyond them.

| figure | from | counted |
| --- | --- | --- |
| inspections | facts_enforcement_visits (InspectionLogged, kind enforcement), and the cases whose inspection is not among them (an imported record's) | each inspection once, on its day |
| enterprises_visited, enterprises_visited_more_than_once | the same inspections | distinct enterprises with ≥ 1, ≥ 2 of them in the group |
| hazards_found | facts_inspector_hazards (HazardReported, source enforcement) | on the day reported |
| cases_open, cases_closed | cases | on the day opened; open = not closed (open, penalty decided, paid) |
| citations_in_force, citations_<class> | case_citations | not withdrawn; withdrawn ones (an OSHA delete_flag is a withdrawal) in citations_withdrawn only |
| fines_proposed, fines_imposed, fines_paid | cases | exact sums of int minor units (einspection.money) |
| fines_outstanding | cases not closed | imposed − paid |
| fines_uncollected | closed cases | imposed − paid (a case terminated with its balance unpaid) |

So fines_imposed = fines_paid + fines_outstanding + fines_uncollected, to
the cent. Money is summed in one currency only: the `currency` asked for,
else the one currency of the cases selected; cases in two currencies with
none asked for are refused (400 naming `currency`), never added together.

The period (`from`, `to`: days, both included, cut in the deployment's
time zone) and `group_by=year` take each record's own day as above. Groups:
campaign (`(none)` outside campaigns), year, enterprise (with its name and
town: the register's, or an imported establishment's), violation_class. A
violation class's group counts its citations and their fines, and the
inspections, enterprises, cases and hazards cited of the cases with such a
citation (a case with two classes is in both groups); payments are not
allocated to citations, so its paid, outstanding and uncollected are null.
Town, grid and industry are folded by the gateway from the enterprise
groups with the register's attributes (as the hazard figures are).
"""
from collections import defaultdict
from datetime import date, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from einspection import money
from einspection import scope as tenancy
from einspection.contract import Day, Id
from einspection.days import local_day
from einspection.errors import InvalidCommand
from einspection.money import CURRENCIES, CURRENCY

from . import facts, records

SERVICE_GROUPINGS = ("campaign", "year", "enterprise", "violation_class")
REGISTER_GROUPINGS = ("town", "grid", "industry")
GROUPINGS = SERVICE_GROUPINGS[:1] + REGISTER_GROUPINGS + SERVICE_GROUPINGS[1:]
SOURCES = ("imported", "recorded")
NO_CAMPAIGN = "(none)"
BASE_COUNTS = ("inspections", "enterprises_visited", "enterprises_visited_more_than_once",
               "hazards_found", "cases_open", "cases_closed", "citations_in_force")
AMOUNTS = ("fines_proposed", "fines_imposed", "fines_paid", "fines_outstanding",
           "fines_uncollected")
CASE_AMOUNTS = ("fines_paid", "fines_outstanding", "fines_uncollected")   # not per citation


def counts(classes):
    """The count figures' names for the violation classes' rule file."""
    return BASE_COUNTS + tuple("citations_" + key for key in classes.labels) + (
        "citations_withdrawn",)


class EnforcementStatisticsQuery(Schema):
    class Meta:
        unknown = RAISE

    group_by = fields.String(required=True, validate=validate.OneOf(GROUPINGS))
    from_ = Day(data_key="from", load_default=None, metadata={
        "description": "the first day (the deployment's time zone), included"})
    to = Day(load_default=None, metadata={"description": "the last day, included"})
    campaign_id = Id(load_default=None)
    enterprise_id = Id(load_default=None)
    source = fields.String(load_default=None, validate=validate.OneOf(SOURCES), metadata={
        "description": "imported (a regulator's records, e.g. OSHA) or recorded (on the "
                       "platform); absent: both"})
    currency = fields.String(load_default=None, validate=validate.OneOf(CURRENCIES), metadata={
        "description": "the cases counted and summed; absent: the one currency of the cases "
                       "selected (400 when they are in two)"})

    @validates_schema
    def _order(self, data, **_):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("must not be before from", "to")


# --- reading the records of the query ------------------------------------------------------

def _kept(query, scope, enterprise_id, day, campaign_id, source):
    if not tenancy.visible(scope, enterprise_id):
        return False
    if query["enterprise_id"] and enterprise_id != query["enterprise_id"]:
        return False
    if query["from_"] and day < query["from_"] or query["to"] and day > query["to"]:
        return False
    if query["campaign_id"] and campaign_id != query["campaign_id"]:
        return False
    return not query["source"] or source == query["source"]


def _in_scope(statement, column, scope):
    condition = tenancy.where(column, scope)
    return statement if condition is None else statement.where(condition)


def _selected(conn, query, scope, zone):
    """(inspections, hazards, cases, citations) of the query: dicts with the
    attributes the groups are keyed by, money as int minor units."""
    case_rows = conn.execute(_in_scope(select(records.case_list), records.case_list.c
                                       .enterprise_id, scope)).all()
    visit_rows = conn.execute(_in_scope(select(facts.visits), facts.visits.c.enterprise_id,
                                        scope)).all()
    visits = {row.inspection_id: {
        "inspection_id": row.inspection_id, "enterprise_id": row.enterprise_id,
        "day": _date(row.day), "campaign_id": row.campaign_id, "source": "recorded"}
        for row in visit_rows}
    cases = []
    for row in case_rows:
        case = {"case_id": row.case_id, "inspection_id": row.inspection_id,
                "enterprise_id": row.enterprise_id, "campaign_id": row.campaign_id,
                "day": local_day(_aware(row.opened_at), zone), "closed": row.status == "closed",
                "currency": row.currency, "proposed": row.proposed, "imposed": row.imposed,
                "paid": row.paid, "source": "imported" if row.source_system else "recorded"}
        if _kept(query, scope, case["enterprise_id"], case["day"], case["campaign_id"],
                 case["source"]):
            cases.append(case)
        # an inspection the service knows from its case alone (an imported record)
        visits.setdefault(row.inspection_id, {key: case[key] for key in (
            "inspection_id", "enterprise_id", "day", "campaign_id", "source")})
    inspections = [visit for visit in visits.values() if _kept(
        query, scope, visit["enterprise_id"], visit["day"], visit["campaign_id"],
        visit["source"])]
    hazards = []
    for row in conn.execute(_in_scope(select(facts.inspector_hazards),
                                      facts.inspector_hazards.c.enterprise_id, scope)):
        visit = visits.get(row.inspection_id) or {}
        hazard = {"hazard_id": row.hazard_id, "enterprise_id": row.enterprise_id,
                  "day": _date(row.day), "campaign_id": visit.get("campaign_id"),
                  "inspection_id": row.inspection_id}
        if _kept(query, scope, hazard["enterprise_id"], hazard["day"], hazard["campaign_id"],
                 "recorded"):
            hazards.append(hazard)
    currency = _currency(query, cases)
    cases = [case for case in cases if case["currency"] == currency]
    case_of = {case["case_id"]: case for case in cases}
    citations = []
    for row in conn.execute(select(records.case_citations)):
        case = case_of.get(row.case_id)
        if case is not None:
            citations.append(dict(case, citation_id=row.citation_id,
                                  violation_class=row.violation_class,
                                  withdrawn=bool(row.withdrawn),
                                  fine_proposed=row.fine_proposed,
                                  fine_imposed=row.fine_imposed))
    return inspections, hazards, cases, citations, currency


def _currency(query, cases):
    if query["currency"]:
        return query["currency"]
    found = sorted({case["currency"] for case in cases})
    if len(found) > 1:
        raise InvalidCommand({"currency": [
            "the cases selected are in %s, which are not summed together: choose one "
            "(currency=%s)" % (" and ".join(found), " or currency=".join(found))]})
    return found[0] if found else CURRENCY


def _date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _aware(moment):         # SQLite gives back naive UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- the figures -------------------------------------------------------------------------

def _figures(inspections, hazards, cases, citations, classes, per_case_money=True):
    visits_of = defaultdict(int)
    for inspection in inspections:
        visits_of[inspection["enterprise_id"]] += 1
    in_force = [c for c in citations if not c["withdrawn"]]
    found = dict({
        "inspections": len(inspections), "enterprises_visited": len(visits_of),
        "enterprises_visited_more_than_once": sum(1 for n in visits_of.values() if n > 1),
        "hazards_found": len(hazards),
        "cases_open": sum(1 for case in cases if not case["closed"]),
        "cases_closed": sum(1 for case in cases if case["closed"]),
        "citations_in_force": len(in_force),
        "citations_withdrawn": len(citations) - len(in_force)},
        **{"citations_" + key: sum(1 for c in in_force if c["violation_class"] == key)
           for key in classes.labels})
    if per_case_money:
        found.update(fines_proposed=money.total(case["proposed"] for case in cases),
                     fines_imposed=money.total(case["imposed"] for case in cases),
                     fines_paid=money.total(case["paid"] for case in cases),
                     fines_outstanding=money.total(case["imposed"] - case["paid"]
                                                   for case in cases if not case["closed"]),
                     fines_uncollected=money.total(case["imposed"] - case["paid"]
                                                   for case in cases if case["closed"]))
    else:           # the citations' own fines; a payment is the case's, not a citation's
        found.update({name: None for name in CASE_AMOUNTS},
                     fines_proposed=money.total(c["fine_proposed"] for c in in_force),
                     fines_imposed=money.total(c["fine_imposed"] for c in in_force))
    return found


def _grouped(records_by_kind, key_of):
    groups = defaultdict(lambda: {kind: [] for kind in records_by_kind})
    for kind, found in records_by_kind.items():
        for record in found:
            groups[key_of(record)][kind].append(record)
    return groups


KEYS = {"campaign": lambda record: record["campaign_id"] or NO_CAMPAIGN,
        "year": lambda record: str(record["day"].year),
        "enterprise": lambda record: record["enterprise_id"]}


def enforcement_statistics(conn, query, classes, zone, scope=None):
    """The figures of `query` (EnforcementStatisticsQuery, loaded) within
    `scope`: {group_by, currency, groups: [{key, figures…}], totals}. Money
    as int minor units: the gateway writes them as decimal strings."""
    group_by = "enterprise" if query["group_by"] in REGISTER_GROUPINGS else query["group_by"]
    inspections, hazards, cases, citations, currency = _selected(conn, query, scope, zone)
    totals = _figures(inspections, hazards, cases, citations, classes)
    if group_by == "violation_class":
        groups = _by_class(inspections, hazards, cases, citations, classes, conn)
    else:
        parts = _grouped({"inspections": inspections, "hazards": hazards, "cases": cases,
                          "citations": citations}, KEYS[group_by])
        groups = [dict(_figures(classes=classes, **parts[key]), key=key)
                  for key in sorted(parts)]
    answer = {"group_by": group_by, "currency": currency, "groups": groups, "totals": totals}
    if group_by == "enterprise":
        names = _names(conn, [group["key"] for group in groups])
        for group in groups:
            group.update(names.get(group["key"]) or {"name": None, "town": None})
        if query["group_by"] in REGISTER_GROUPINGS:
            answer["attributes"] = attributes(conn, query["group_by"],
                                              [group["key"] for group in groups])
    return answer


def _by_class(inspections, hazards, cases, citations, classes, conn):
    """Per violation class: its citations, and what their cases hold."""
    cited = defaultdict(set)
    for row in conn.execute(select(records.cited_hazards)):
        cited[(row.case_id, row.citation_id)].add(row.hazard_id)
    found = {hazard["hazard_id"]: hazard for hazard in hazards}
    groups = []
    for key in sorted({c["violation_class"] for c in citations}):
        of_class = [c for c in citations if c["violation_class"] == key]
        case_ids = {c["case_id"] for c in of_class if not c["withdrawn"]}
        inspection_ids = {case["inspection_id"] for case in cases if case["case_id"] in case_ids}
        hazard_ids = set().union(*[cited[(c["case_id"], c["citation_id"])]
                                   for c in of_class if not c["withdrawn"]])
        groups.append(dict(_figures(
            [i for i in inspections if i["inspection_id"] in inspection_ids],
            [found[h] for h in sorted(hazard_ids) if h in found],
            [case for case in cases if case["case_id"] in case_ids], of_class, classes,
            per_case_money=False), key=key))
    return groups


def _names(conn, enterprise_ids):
    """{id: {name, town}}: the register's (as the facts hold it), else an
    imported establishment's."""
    found = {key: {"name": row["name"], "town": row["town"]}
             for key, row in facts.directory(conn, enterprise_ids).items()}
    statement = select(records.establishment_list).where(
        records.establishment_list.c.enterprise_id.in_(list(enterprise_ids)))
    for row in conn.execute(statement):
        found.setdefault(row.enterprise_id, {"name": row.name, "town": row.town})
    return found


def attributes(conn, attribute, enterprise_ids):
    """{id: town or industry} of imported establishments, for the groups the
    register does not describe (they have no grid)."""
    if attribute not in ("town", "industry") or not enterprise_ids:
        return {}
    column = records.establishment_list.c[attribute]
    return {row[0]: row[1] or None for row in conn.execute(
        select(records.establishment_list.c.enterprise_id, column).where(
            records.establishment_list.c.enterprise_id.in_(list(enterprise_ids))))}
