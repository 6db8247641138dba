"""What the enforcement service does with a command or an event: load the
aggregate (a campaign, a case), let it decide, append its events with an
optimistic version check and update the read models (records.py) in the
caller's transaction. Plain: no nameko.

| message | does |
| --- | --- |
| open_campaign, commit_candidates, draw_targets, assign_inspectors | the campaign's commands (campaigns.py) |
| a case command by name (case_commands.py) | the case's command; a citation of a hazard already verified is abated at once |
| EnterpriseRegistered, GradeAssigned/-Stated, Hazard…, InspectionLogged | the facts of the draw (facts.py) |
| InspectionLogged, kind enforcement, with failed items | opens the inspection's case (its id derives from the inspection's) |
| HazardVerified | abates the citations in force that cite the hazard (CitationAbated) |
| the abatement check (a timer) | CitationAbatementOverdue, once per citation past its abatement day (einspection.sweep) |
"""
from datetime import timezone

from einspection import eventstore
from einspection import scope as tenancy
from einspection.acting import Acting
from einspection.days import local_day
from einspection.errors import Conflict, NotFound
from einspection.sweep import record_once_each

from . import case_commands, draw, establishments, facts, records
from .campaigns import Campaign, candidates_view, stream_id as campaign_stream
from .cases import CLOSED, Case, case_id_for, stream_id as case_stream

CONSUMER = facts.CONSUMER
SERVICE_ACTOR = "enforcement-service"


# --- the two aggregates' streams -----------------------------------------------------------

def _load(conn, kind, stream, what, ident):
    """The aggregate `kind` (Campaign, Case) of `stream`, or NotFound(what, ident)."""
    events = eventstore.load_stream(conn, stream)
    if not events:
        raise NotFound(what, ident)
    return kind.from_history(ident, events)


def _save(conn, stream, aggregate, project):
    """Append the aggregate's pending events (ConcurrencyConflict if its stream
    moved since it was loaded) and `project` it, in `conn`'s transaction."""
    eventstore.append(conn, stream, aggregate.version, aggregate.pending)
    aggregate.version += len(aggregate.pending)
    aggregate.pending = []
    project(conn, aggregate)
    return aggregate


# --- campaigns ---------------------------------------------------------------------------

def load_campaign(conn, campaign_id):
    return _load(conn, Campaign, campaign_stream(campaign_id), "campaign", campaign_id)


def save_campaign(conn, campaign):
    return _save(conn, campaign_stream(campaign.id), campaign, records.project_campaign)


def open_campaign(conn, command, acting, *, now, min_share):
    campaign = Campaign.open(command, acting, now=now, directory=facts.directory(conn),
                             town_counts=facts.town_counts(conn), min_share=min_share)
    return save_campaign(conn, campaign)


def commit_candidates(conn, campaign_id, inspectors, acting, *, now, zone):
    campaign = load_campaign(conn, campaign_id)
    today = local_day(now, zone)
    campaign.commit(facts.facts_list(conn, today), today, inspectors, acting, now=now)
    return save_campaign(conn, campaign)


def draw_targets(conn, campaign_id, command, acting, *, now):
    campaign = load_campaign(conn, campaign_id)
    snapshot = campaign.commitment and campaign.commitment["snapshot"]
    ids = [c["enterprise_id"] for c in (snapshot or {}).get("candidates") or []]
    campaign.draw_targets(command, facts.directory(conn, ids), acting, now=now)
    return save_campaign(conn, campaign)


def assign_inspectors(conn, campaign_id, acting, *, now):
    campaign = load_campaign(conn, campaign_id)
    campaign.assign(acting, now=now)
    return save_campaign(conn, campaign)


def candidates(conn, campaign_id, *, now, zone):
    """The committed candidates, or before the commit a preview from the facts now."""
    campaign = load_campaign(conn, campaign_id)
    if campaign.commitment is not None:
        return candidates_view(campaign)
    today = local_day(now, zone)
    try:
        preview = campaign.candidate_snapshot(facts.facts_list(conn, today), today)
    except draw.DrawError as exc:
        raise Conflict("campaign %s: its candidates cannot be taken now: %s"
                       % (campaign_id, exc), {"state": campaign.state}) from None
    return candidates_view(campaign, preview, today)


def draw_record(conn, campaign_id):
    """The draw record (campaigns.Campaign.record), or NotFound before the draw."""
    record = load_campaign(conn, campaign_id).record()
    if record is None:
        raise NotFound("draw of campaign", campaign_id)
    return record


def verify_draw(conn, campaign_id):
    """The stored record re-run (draw.verify): whether the list is identical."""
    record = draw_record(conn, campaign_id)
    outcome = draw.verify(record)
    return {"campaign_id": campaign_id, "algorithm": record["algorithm"],
            "snapshot_digest": record["snapshot_digest"], "seed": record["seed"],
            "identical": bool(outcome["identical"]),
            "digest_matches": bool(outcome["digest_matches"]),
            "committed_before_revealed": outcome.get("committed_before_revealed"),
            "differences": list(outcome.get("differences") or [])}


# --- cases -------------------------------------------------------------------------------

def load_case(conn, case_id, scope=None, actor=""):
    """The case, if it exists and its enterprise is in `scope`."""
    case = _load(conn, Case, case_stream(case_id), "case", case_id)
    tenancy.require(scope, case.enterprise_id, "case", case_id, actor)
    return case


def save_case(conn, case):
    return _save(conn, case_stream(case.id), case, records.project_case)


def case_command(conn, name, payload, acting, *, now, classes, zone, check=None):
    """Case command `name` (case_commands.NAMES) with `payload`, which names
    its case by `case_id` (by `inspection_id` for open_case). A case of an
    enterprise outside the acting scope does not exist; then `check()` (who
    may act on cases) runs."""
    case_id = case_commands.case_of(name, payload)
    events = eventstore.load_stream(conn, case_stream(case_id))
    case = Case.from_history(case_id, events) if events else None
    if case is not None:
        tenancy.require(acting.scope, case.enterprise_id, "case", case_id, acting.actor)
    elif name == "open_case" and not tenancy.visible(acting.scope, payload.get("enterprise_id")):
        raise NotFound("enterprise", payload.get("enterprise_id"))
    if check is not None:
        check()
    case = case_commands.run(case, name, payload, acting, now=now, classes=classes,
                             today=local_day(now, zone))
    if name == "issue_citation":
        citation = list(case.citations.values())[-1] if case.pending else None
        if citation is not None:
            _abate_verified(case, citation, facts.verified_hazards(conn, citation["hazard_ids"]),
                            acting, now)
    return save_case(conn, case)


def _abate_verified(case, citation, verified, acting, now):
    """A citation of hazards whose rectification is verified already: abated
    at once, by the first of them (never before the case was opened)."""
    for hazard_id in citation["hazard_ids"]:
        if hazard_id in verified and citation["abated"] is None:
            case.abate_citation({"citation_id": citation["citation_id"], "hazard_id": hazard_id,
                                 "abated_at": max(_utc(verified[hazard_id]),
                                                  case.opened["opened_at"])}, acting, now=now)


def _utc(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def mark_abatement_overdue(store, now, zone):
    """Record CitationAbatementOverdue for every citation whose abatement day
    has passed unabated, each case in its own transaction; a process that
    got there first makes the append conflict and that case is skipped, so
    each citation is marked once however many enforcement processes run.
    Returns the ids of the cases marked by this call."""
    with store.connect() as conn:
        candidates = records.abatement_candidates(conn, local_day(now, zone))

    def mark(conn, case_id):
        case = load_case(conn, case_id)
        if not case.mark_abatement_overdue(now, zone):
            return False
        save_case(conn, case)
        return True
    return record_once_each(store, candidates, mark)


def record_establishment(conn, command, acting, *, now):
    """EstablishmentRecorded for an inspected establishment outside the
    register, unless the last one recorded says the same."""
    stream = "establishment-" + command["enterprise_id"]
    events = eventstore.load_stream(conn, stream)
    event = establishments.record(command, acting, now=now,
                                  known=events[-1].data if events else None)
    if event is not None:
        eventstore.append(conn, stream, len(events) and events[-1].stream_version, [event])
        records.project_establishment(conn, event.data)
    return {"enterprise_id": command["enterprise_id"], "recorded": event is not None}


# --- received events ------------------------------------------------------------------------

def handle(conn, event, zone, *, now):
    """Process one received event exactly once, in the caller's transaction:
    the facts, and what it causes here. Returns True if it appended events."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return False                                  # a duplicate: already done
    facts.apply(conn, event, zone)
    if event.name == "HazardVerified":
        return abate_cited(conn, event, now=now)
    if (event.name == "InspectionLogged" and event.data["kind"] == "enforcement"
            and event.data["items_failed"]):
        return open_case_of_inspection(conn, event)
    return False


def open_case_of_inspection(conn, event):
    """An enforcement inspection with findings has its case, opened by the
    account that logged it, at its time; once (a case of the inspection may
    have been opened already through the API)."""
    data = event.data
    case_id = case_id_for(data["inspection_id"])
    if eventstore.stream_version(conn, case_stream(case_id)):
        return False
    case = Case.open({"enterprise_id": data["enterprise_id"],
                      "inspection_id": data["inspection_id"],
                      "campaign_id": data.get("campaign_id")},
                     Acting.following(event), now=event.time)
    save_case(conn, case)
    return True


def abate_cited(conn, event, *, now):
    """The citations in force that cite the verified hazard are abated, as of
    its verification (never before their case was opened). A closed case
    takes no change; abating an abated citation records nothing."""
    hazard_id = event.data["hazard_id"]
    acting = Acting.following(event, actor=SERVICE_ACTOR)
    appended = False
    for case_id in records.cases_citing(conn, hazard_id):
        case = load_case(conn, case_id)
        if case.state == CLOSED:
            continue
        for citation_id in case.citations_of_hazard(hazard_id):
            case.abate_citation({"citation_id": citation_id, "hazard_id": hazard_id,
                                 "abated_at": max(event.data["verified_at"],
                                                  case.opened["opened_at"])},
                                acting, now=max(now, event.data["verified_at"]))
        if case.pending:
            save_case(conn, case)
            appended = True
    return appended
