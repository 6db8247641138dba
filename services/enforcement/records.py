"""The enforcement service's read models of its own events: the list of
campaigns, the list of cases with their totals (exact sums of int fen) and
their abatements (the next day to watch, how many are overdue), which
citation cites which hazard (what a HazardVerified abates), each citation's
class and fines, and the establishments recorded outside the register (the
last EstablishmentRecorded of each) — the last two for the authority's
figures (statistics.py).

Each row is the projection of its aggregate as it stands after a save
(`project_campaign`, `project_case`), so the live rows and a replay
(`rebuild`: every own event, stream by stream) are made by the same code
and come out the same."""
from collections import OrderedDict

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, String,
                        Table, and_, select)

from einspection import eventstore, money, paging
from einspection import scope as tenancy
from einspection.contract import isoformat
from einspection.db import upsert
from einspection.projection import paged

from . import cases as case_rules
from .campaigns import Campaign
from .cases import Case

metadata = MetaData()
Money = BigInteger().with_variant(Integer, "sqlite")

campaigns = Table(
    "campaigns", metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_basis", String(200), nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10), nullable=False),
    Column("targets", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("version", Integer, nullable=False),
)

case_list = Table(
    "cases", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("inspection_id", String(64), nullable=False),
    Column("campaign_id", String(64), index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("outcome", String(16)),
    Column("currency", String(3), nullable=False),
    Column("citations", Integer, nullable=False),     # in force
    Column("proposed", Money, nullable=False),
    Column("imposed", Money, nullable=False),
    Column("paid", Money, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("source_system", String(32)),
    # the earliest abatement day of a citation still watched (Case.next_abatement_due):
    # the abatement check's candidates are the cases whose day has passed
    Column("abatement_due", Date, index=True),
    Column("abatements_overdue", Integer, nullable=False),   # marked and not abated
    Column("version", Integer, nullable=False),
)

cited_hazards = Table(
    "case_cited_hazards", metadata,
    Column("hazard_id", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("citation_id", String(64), primary_key=True),
)

# each citation as it stands: the figures by violation class (statistics.py)
case_citations = Table(
    "case_citations", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("citation_id", String(64), primary_key=True),
    Column("violation_class", String(32), nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("fine_proposed", Money),                   # None: not stated (imported)
    Column("fine_imposed", Money),
)

# establishments outside the register (EstablishmentRecorded): names and towns of the figures
establishment_list = Table(
    "establishments", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("town", String(100), nullable=False),
    Column("industry", String(100), nullable=False),
    Column("source_system", String(32)),
)

TABLES = [campaigns, case_list, cited_hazards, case_citations, establishment_list]
CASE_FILTERS = ("enterprise_id", "campaign_id", "status", "currency")


def project_campaign(conn, campaign):
    view = campaign.opened
    values = {"name": view["name"], "legal_basis": view["legal_basis"],
              "period_start": view["period_start"].isoformat(),
              "period_end": view["period_end"].isoformat(), "targets": view["targets"],
              "status": campaign.state, "opened_at": view["opened_at"],
              "opened_by": view["opened_by"], "version": campaign.version}
    upsert(conn, campaigns, dict(values, campaign_id=campaign.id), ["campaign_id"], list(values))


def project_case(conn, case):
    opened, closing = case.opened, case.closing
    values = {"enterprise_id": case.enterprise_id, "inspection_id": opened["inspection_id"],
              "campaign_id": opened["campaign_id"], "status": case.state,
              "outcome": closing and closing["outcome"], "currency": case.currency,
              "citations": len(case.citations_in_force()), "proposed": case.total_proposed(),
              "imposed": case.total_imposed(), "paid": case.total_paid(),
              "opened_at": opened["opened_at"], "closed_at": closing and closing["closed_at"],
              "source_system": opened.get("source_system"),
              "abatement_due": case.next_abatement_due(),
              "abatements_overdue": len(case.abatements_overdue()), "version": case.version}
    upsert(conn, case_list, dict(values, case_id=case.id), ["case_id"], list(values))
    for citation in case.citations.values():
        upsert(conn, case_citations, {
            "case_id": case.id, "citation_id": citation["citation_id"],
            "violation_class": citation["violation_class"],
            "withdrawn": citation["withdrawn"] is not None,
            "fine_proposed": citation["fine_proposed"],
            "fine_imposed": citation["fine_imposed"]}, ["case_id", "citation_id"],
            ["violation_class", "withdrawn", "fine_proposed", "fine_imposed"])
        for hazard_id in citation["hazard_ids"]:
            upsert(conn, cited_hazards, {"hazard_id": hazard_id, "case_id": case.id,
                                         "citation_id": citation["citation_id"]},
                   ["hazard_id", "case_id", "citation_id"])


def project_establishment(conn, data):
    values = {key: data[key] or "" for key in ("name", "town", "industry")}
    values["source_system"] = data.get("source_system")
    upsert(conn, establishment_list, dict(values, enterprise_id=data["enterprise_id"]),
           ["enterprise_id"], list(values))


def cases_citing(conn, hazard_id):
    """The ids of the cases with a citation of `hazard_id`."""
    return sorted({row.case_id for row in conn.execute(
        select(cited_hazards.c.case_id).where(cited_hazards.c.hazard_id == hazard_id))})


def abatement_candidates(conn, today):
    """Ids of the cases with a citation whose abatement day is before
    `today` (the deployment's): a cheap superset; the case decides
    (Case.mark_abatement_overdue)."""
    c = case_list.c
    return conn.execute(select(c.case_id).where(c.abatement_due < today)
                        .order_by(c.abatement_due, c.case_id)).scalars().all()


def campaign_page(conn, query):
    statement = select(campaigns)
    if query.get("status"):
        statement = statement.where(campaigns.c.status == query["status"])
    return paging.page_of(conn, statement, query, paging.ordering(
        campaigns.c, query["sort"], campaigns.c.campaign_id), _campaign_row)


def _campaign_row(row):
    return {"campaign_id": row.campaign_id, "name": row.name, "legal_basis": row.legal_basis,
            "period_start": row.period_start, "period_end": row.period_end,
            "targets": row.targets, "status": row.status,
            "opened_at": isoformat(row.opened_at), "opened_by": row.opened_by}


def case_page(conn, query, scope):
    conditions = [case_list.c[key] == query[key] for key in CASE_FILTERS if query.get(key)]
    if query.get("abatement_overdue") is not None:
        conditions.append(case_list.c.abatements_overdue > 0 if query["abatement_overdue"]
                          else case_list.c.abatements_overdue == 0)
    in_scope = tenancy.where(case_list.c.enterprise_id, scope)
    if in_scope is not None:
        conditions.append(in_scope)
    statement = select(case_list)
    if conditions:
        statement = statement.where(and_(*conditions))
    return paging.page_of(conn, statement, query, paging.ordering(
        case_list.c, query["sort"], case_list.c.case_id), _case_row)


def _case_row(row):
    return {"case_id": row.case_id, "enterprise_id": row.enterprise_id,
            "inspection_id": row.inspection_id, "campaign_id": row.campaign_id,
            "status": row.status, "outcome": row.outcome,
            "outcome_label": row.outcome and case_rules.OUTCOME_LABELS[row.outcome],
            "currency": row.currency, "citations": row.citations,
            "abatements_overdue": row.abatements_overdue,
            "totals": {"proposed": money.format(row.proposed),
                       "imposed": money.format(row.imposed), "paid": money.format(row.paid),
                       "balance": money.format(row.imposed - row.paid)},
            "opened_at": isoformat(row.opened_at),
            "closed_at": row.closed_at and isoformat(row.closed_at),
            "source_system": row.source_system}


def rebuild(conn):
    """Drop the lists and make them again from every own event, in the
    caller's transaction. Returns (events read, campaigns, cases)."""
    for table in reversed(TABLES):
        table.drop(conn, checkfirst=True)
    metadata.create_all(conn)
    streams = OrderedDict()
    read = 0

    def read_own(after, limit):
        return eventstore.read_all(conn, after, limit)

    for _, event in paged(read_own):
        read += 1
        if event.stream_id.startswith(("campaign-", "case-")):
            streams.setdefault(event.stream_id, []).append(event)
        elif event.name == "EstablishmentRecorded":       # the last one recorded stands
            project_establishment(conn, event.data)
    counted = {"campaign": 0, "case": 0}
    for stream, events in streams.items():
        kind, _, ident = stream.partition("-")
        events.sort(key=lambda event: event.stream_version)
        if kind == "campaign":
            project_campaign(conn, Campaign.from_history(ident, events))
        else:
            project_case(conn, Case.from_history(ident, events))
        counted[kind] += 1
    return read, counted["campaign"], counted["case"]


def snapshot(conn):
    """Every row, for comparing a rebuild with the live read models."""
    return {table.name: [tuple(row) for row in conn.execute(
        select(table).order_by(*table.primary_key.columns))] for table in TABLES}
