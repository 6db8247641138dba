"""What notify does, and for which message: the flow of notify in one place.

| message                                   | notice to                       | template       |
|-------------------------------------------|---------------------------------|----------------|
| GradeAssigned (grade changed)             | the enterprise                  | grade          |
| GradeStated (monthly statement)           | the enterprise                  | monthly        |
| HazardReported, level major               | its grid officer, the authority | major_hazard   |
| HazardOverdue                             | its grid officer, the authority | overdue        |
|   and, if assigned,                       | the assignee, the enterprise    | assignment_overdue |
|                                           |   (its manager)                 |                |
| HazardAssigned                            | the assignee                    | assigned       |
| HazardRectificationDue (the hazard        | the assignee                    | rectification_due |
|   service's check, once per reminder day) |                                 |                |
| HazardEscalated (assigned, still open N   | its grid                        | escalated      |
|   days after the deadline's day)          |                                 |                |
| HazardListed (挂牌督办)                   | the enterprise, its grid        | listed         |
| HazardListingDue (the hazard service's    | the enterprise, its grid, the   | listing_due    |
|   check, once per reminder day)           |   authority                     |                |
| HazardDelisted                            | the enterprise, its grid        | delisted       |
| CitationAbatementOverdue (enforcement's   | the enterprise, its grid        | abatement_overdue |
|   check, once per citation)               |                                 |                |
| InspectionMissed (the checklist service's | the enterprise                  | round_missed   |
|   check, once per round)                  |                                 |                |
| TargetsDrawn (an enforcement campaign's   | the authority (the list)        | targets_drawn  |
|   draw)                                   | each target's grid (its list)   | grid_targets_drawn |
| EnterpriseRegistered                      | (the directory; releases what waited for it) |   |
| AccountDisabled                           | (suspends the account's webhook subscriptions) |  |
| publish (command, the authority)          | each enterprise of the audience | publication    |
| any event received                        | matching webhooks whose owner may read it (the CloudEvent) |

The queue gets the types of HANDLERS and what the active subscriptions'
patterns match (bindings.py), and every event it gets is recorded in the
inbox (a hazard report that is not major too: what a consumer took in is
what it recorded, which the fault tests and imports count on).

Every notice goes to the recipient's in-app inbox and, if e-mail is on,
to each address in the recipient's settings. Exactly one notice per cause
and recipient (its id is derived from both), one delivery per notice and
address or per event and subscriber; the inbox makes a redelivered event a
no-op. All of it is recorded in the transaction of the event's receipt."""
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from einspection import auth, eventstore, paging
from einspection.consumer import topic_matches
from einspection import scope as tenancy
from einspection.contract import UNIVERSAL, EVENT_TYPES, Event, isoformat, new_event, utcnow
from einspection.errors import Conflict, InvalidCommand, NotFound

from . import addresses, channels, model, schemas, templates
from .model import (CONSUMER, deliveries, directory, disabled_accounts, notices, publications,
                    subscriptions)

NAMESPACE = uuid.UUID("8f5e8d52-5b7b-4c8e-9a57-1c0a7e3f2d10")
AUTHORITY = "authority"
RECIPIENT_KINDS = ("enterprise", "grid", "account")


@dataclass(frozen=True)
class Settings:
    default_language: str = "zh"
    email_enabled: bool = False
    secret_overlap_hours: float = 24.0     # a rotated secret's predecessor signs too this long


def derived_id(*parts):
    """Ids that the same cause always yields again: the key of exactly-once."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def enterprise_recipient(enterprise_id):
    return "enterprise:" + enterprise_id


def account_recipient(username):
    """One person's inbox (an assignee's): `account:<username>`."""
    return "account:" + username


# --- received events ------------------------------------------------------------------------

def receive(engine, event, settings):
    """An event from the queue: `handle` in a transaction of its own. True
    if it recorded events that go on the bus."""
    return receive_many(engine, [event], settings)


def receive_many(engine, events, settings):
    """A batch from the queue: `handle` of each, in their order, in one
    transaction."""
    published = False
    with engine.begin() as conn:
        for event in events:
            published |= bool(handle(conn, event, settings))
    return published


def handle(conn, event, settings):
    """Process one received event exactly once, in the caller's transaction.
    Returns True if it recorded events that go on the bus."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return False                                  # a duplicate: already done
    handler = HANDLERS.get(event.name)
    published = bool(handler(conn, event, settings)) if handler else False
    schedule_webhooks(conn, event)
    return published


def active_patterns(conn):
    """The event-type patterns of the active subscriptions."""
    return {pattern for text in conn.execute(ACTIVE_PATTERNS).scalars()
            for pattern in json.loads(text)}



def on_enterprise_registered(conn, event, settings):
    model.register_enterprise(conn, event.data)
    published = False
    for row in conn.execute(select(model.waiting).where(
            model.waiting.c.enterprise_id == event.data["enterprise_id"])
            .order_by(model.waiting.c.event_id)).all():
        conn.execute(model.waiting.delete().where(model.waiting.c.event_id == row.event_id))
        released = Event.from_json(row.body)
        published |= bool(HANDLERS[released.name](conn, released, settings))
    return published


def on_grade(conn, event, settings):
    enterprise_id = event.subject
    firm = model.enterprise(conn, enterprise_id)
    kind = "grade" if event.name == "GradeAssigned" else "monthly"
    issue(conn, event, enterprise_recipient(enterprise_id), enterprise_id, kind, settings,
          lambda language: templates.grade_context(event.data, firm and firm.name, language))
    return True


LISTING_EVENTS = ("HazardListed", "HazardListingDue", "HazardDelisted")
ASSIGNMENT_EVENTS = ("HazardAssigned", "HazardRectificationDue", "HazardEscalated")
CAMPAIGN_EVENTS = ("CampaignOpened", "CandidatesCommitted", "TargetsDrawn", "InspectorsAssigned")


def needs_grid(event):
    return (event.name in ("HazardOverdue",) + LISTING_EVENTS + ASSIGNMENT_EVENTS
            or (event.name == "HazardReported" and event.data["level"] == "major"))


def wait_for_enterprise(conn, event):
    conn.execute(model.waiting.insert().values(event_id=event.id, enterprise_id=event.subject,
                                               body=event.to_json()))


def enterprise_or_wait(conn, event):
    """The event's enterprise in the directory; None if it is not there yet,
    and then the event waits for its EnterpriseRegistered (which releases it
    to its handler)."""
    firm = model.enterprise(conn, event.subject)
    if firm is None:
        wait_for_enterprise(conn, event)
    return firm


def on_hazard(conn, event, settings):
    if not needs_grid(event):
        return False
    firm = enterprise_or_wait(conn, event)
    if firm is None:
        return False
    data = event.data
    where = {"name": firm.name, "town": firm.town, "grid": firm.grid,
             "hazard_id": data["hazard_id"]}
    grid_and_authority = ("grid:" + firm.grid, AUTHORITY)
    enterprise_and_grid = (enterprise_recipient(event.subject), "grid:" + firm.grid)
    # only a major hazard is listed; of the assignment's notices only the escalation names a level
    level = data.get("level", "major")
    if event.name == "HazardReported":
        kind, recipients = "major_hazard", grid_and_authority
        context = dict(where, category=data["category"], description=data["description"],
                       found_at=data["found_at"], reported_at=data["reported_at"],
                       reporter=data["reporter"], deadline=data["rectification_deadline"])
    elif event.name == "HazardOverdue":
        kind, recipients = "overdue", grid_and_authority
        context = dict(where, level=data["level"], deadline=data["rectification_deadline"],
                       detected_at=data["detected_at"])
        if data.get("assignee"):
            # the assignee and the enterprise's manager, in words for them
            assignee = data["assignee"]["username"]
            for recipient in (account_recipient(assignee), enterprise_recipient(event.subject)):
                issue(conn, event, recipient, event.subject, "assignment_overdue", settings,
                      lambda language: dict(context, assignee=assignee,
                                            level_text=templates.level_text(level, language)))
    elif event.name in ASSIGNMENT_EVENTS:
        assignee = data["assignee"]["username"]
        context = dict(where, assignee=assignee)
        if event.name == "HazardAssigned":
            kind, recipients = "assigned", (account_recipient(assignee),)
            context.update(due=data["due"], note=data["note"], assigned_by=event.actor)
        elif event.name == "HazardRectificationDue":
            kind, recipients = "rectification_due", (account_recipient(assignee),)
            context.update(due=data["due"], days_left=data["days_left"])
        else:
            kind, recipients = "escalated", ("grid:" + firm.grid,)
            context.update(level=data["level"], deadline=data["rectification_deadline"],
                           days_overdue=data["days_overdue"])
    elif event.name == "HazardListed":
        kind, recipients = "listed", enterprise_and_grid
        context = dict(where, level=level, office=data["office"], reason=data["reason"],
                       deadline=data["deadline"], listed_at=data["listed_at"])
    elif event.name == "HazardListingDue":
        kind, recipients = "listing_due", enterprise_and_grid + (AUTHORITY,)
        context = dict(where, office=data["office"], deadline=data["deadline"],
                       days_left=data["days_left"])
    else:
        kind, recipients = "delisted", enterprise_and_grid
        context = dict(where, delisted_at=data["delisted_at"], note=data["note"],
                       delisted_by=event.actor)
    for recipient in recipients:
        issue(conn, event, recipient, event.subject, kind, settings,
              lambda language: dict(context, level_text=templates.level_text(level, language)))
    return True


def on_abatement_overdue(conn, event, settings):
    """A citation not abated by its abatement day: the enterprise and its
    grid are told (once per citation and recipient: the event is recorded
    once, the notice's id derives from it)."""
    firm = enterprise_or_wait(conn, event)
    if firm is None:
        return False
    data = event.data
    context = {"name": firm.name, "town": firm.town, "grid": firm.grid,
               "case_id": data["case_id"], "citation_id": data["citation_id"],
               "clause": data["clause"], "abatement_date": data["abatement_date"],
               "hazard_ids": ", ".join(data["hazard_ids"]), "detected_at": data["detected_at"]}
    for recipient in (enterprise_recipient(event.subject), "grid:" + firm.grid):
        issue(conn, event, recipient, event.subject, "abatement_overdue", settings,
              lambda language: context)
    return True


def on_round_missed(conn, event, settings):
    """A scheduled round not done in its window: the enterprise is told
    (once per round: the event is recorded once, the notice's id derives
    from it)."""
    firm = enterprise_or_wait(conn, event)
    if firm is None:
        return False
    data = event.data
    context = {"name": firm.name, "town": firm.town, "grid": firm.grid,
               "schedule_id": data["schedule_id"], "round": data["round"],
               "position_id": data["position_id"], "checklist_id": data["checklist_id"],
               "window_start": data["window_start"], "window_end": data["window_end"],
               "who": data["assignee"] or data["assignee_role"] or ""}
    issue(conn, event, enterprise_recipient(event.subject), event.subject, "round_missed",
          settings, lambda language: context)
    return True


def on_targets_drawn(conn, event, settings):
    """The draw's notice with its list to the authority, and to each
    target's grid the list of its targets (one notice per cause and
    recipient). About the campaign, not one enterprise: subject `universal`."""
    data = event.data
    campaign = {"campaign_name": data["campaign_name"] or data["campaign_id"],
                "legal_basis": data["legal_basis"] or "", "seed": data["seed"],
                "seed_source": data["seed_source"], "drawn_at": data["drawn_at"]}
    issue(conn, event, AUTHORITY, UNIVERSAL, "targets_drawn", settings,
          lambda language: dict(campaign, algorithm=data["algorithm"],
                                snapshot_digest=data["snapshot_digest"],
                                targets=data["targets"], shortfall=data["shortfall"]))
    by_grid = {}
    for target in data["targets"]:
        firm = model.enterprise(conn, target["enterprise_id"])
        grid = target.get("grid") or (firm and firm.grid)
        if grid:                       # else unknown to the register as the draw and notify knew it
            by_grid.setdefault(grid, []).append(dict(target, name=target.get("name") or (
                firm and firm.name)))
    for grid, targets in sorted(by_grid.items()):
        issue(conn, event, "grid:" + grid, UNIVERSAL, "grid_targets_drawn", settings,
              lambda language, grid=grid, targets=targets: dict(campaign, grid=grid,
                                                                 targets=targets))
    return True


def on_account_disabled(conn, event, settings):
    model.disable_account(conn, event)
    return False


HANDLERS = {
    "AccountDisabled": on_account_disabled,
    "EnterpriseRegistered": on_enterprise_registered,
    "GradeAssigned": on_grade,
    "GradeStated": on_grade,
    "HazardReported": on_hazard,
    "HazardOverdue": on_hazard,
    "HazardListed": on_hazard,
    "HazardListingDue": on_hazard,
    "HazardDelisted": on_hazard,
    "HazardAssigned": on_hazard,
    "HazardRectificationDue": on_hazard,
    "HazardEscalated": on_hazard,
    "TargetsDrawn": on_targets_drawn,
    "CitationAbatementOverdue": on_abatement_overdue,
    "InspectionMissed": on_round_missed,
}


# --- notices and their deliveries ----------------------------------------------------------

def recipient_settings(conn, recipient, settings):
    row = conn.execute(select(model.recipients).where(
        model.recipients.c.recipient == recipient)).first()
    if row is None:
        return settings.default_language, []
    return row.language, json.loads(row.emails)


def issue(conn, cause, recipient, enterprise_id, kind, settings, context_for,
          publication_id=None, actor="notify"):
    """Record one notice for `recipient` and schedule its e-mails."""
    language, emails = recipient_settings(conn, recipient, settings)
    title, body = templates.render(kind, language, **context_for(language))
    notice_id = derived_id(cause.id, recipient)
    notice = new_event("NoticeIssued", {
        "notice_id": notice_id, "enterprise_id": enterprise_id, "recipient": recipient,
        "kind": kind, "language": language, "title": title, "body": body,
        "cause_event_id": cause.id, "publication_id": publication_id,
    }, actor=actor, correlation_id=cause.correlation_id, causation_id=cause.id,
        time=cause.time)        # a notice is dated by what it tells of (imported history too)
    model.record(conn, "notice-" + notice_id, 0, [notice])
    if settings.email_enabled:
        for address in emails:
            schedule(conn, notice, "email", address, notice_id=notice_id)
    return notice


def schedule(conn, cause, channel, target, **what):
    delivery_id = derived_id(cause.id, channel, target)
    scheduled = new_event("DeliveryScheduled", dict(
        what, delivery_id=delivery_id, channel=channel, target=target),
        actor="notify", correlation_id=cause.correlation_id, causation_id=cause.id)
    model.record(conn, "delivery-" + delivery_id, 0, [scheduled])


# Neither cancelled, nor disabled (its receiver answered 410), nor suspended
# (its owner's account disabled). Each of the three is final.
ACTIVE = (subscriptions.c.cancelled_at.is_(None), subscriptions.c.disabled_at.is_(None),
          subscriptions.c.owner.not_in(select(disabled_accounts.c.username)))
ACTIVE_SUBSCRIPTIONS = (select(subscriptions.c.subscription_id, subscriptions.c.event_types,
                               subscriptions.c.enterprises, subscriptions.c.owner,
                               subscriptions.c.owner_role)
                        .where(*ACTIVE).order_by(subscriptions.c.subscription_id))
ACTIVE_PATTERNS = select(subscriptions.c.event_types).where(*ACTIVE)


def schedule_webhooks(conn, event):
    body = None
    for row in conn.execute(ACTIVE_SUBSCRIPTIONS):
        if not any(topic_matches(p, event.type) for p in json.loads(row.event_types)):
            continue
        if may_receive(subscription_owner(row), subscription_scope(row), event):
            body = body or event.to_json()
            schedule(conn, event, "webhook", row.subscription_id, event_id=event.id,
                     event_type=event.type, payload=body)


# --- commands -------------------------------------------------------------------------------

def publish(conn, command, settings, actor):
    """The authority's notice to all enterprises, a town, an industry or a
    grid: one notice per enterprise, with a read receipt each."""
    audience, value = command["audience"], command.get("audience_value")
    query = select(directory.c.enterprise_id).order_by(directory.c.enterprise_id)
    if audience != "all":
        query = query.where(getattr(directory.c, audience) == value)
    recipients = [row.enterprise_id for row in conn.execute(query)]
    if not recipients:
        raise InvalidCommand({"audience_value": [
            "no enterprise is registered in %s %r" % (audience, value) if audience != "all"
            else "no enterprise is registered yet"]})
    publication_id = str(uuid.uuid4())
    published = new_event("PublicationPublished", {
        "publication_id": publication_id, "title": command["title"], "body": command["body"],
        "audience": audience, "audience_value": value if audience != "all" else None,
        "published_by": command["published_by"], "published_at": utcnow(),
        "recipients": recipients}, actor=actor)
    model.record(conn, "publication-" + publication_id, 0, [published])
    context = {k: published.data[k] for k in ("title", "body", "published_by", "published_at")}
    for enterprise_id in recipients:
        issue(conn, published, enterprise_recipient(enterprise_id), enterprise_id,
              "publication", settings, lambda language: context,
              publication_id=publication_id, actor=actor)
    return publication_view(conn, publication_id)


def read_notice(conn, notice_id, reader):
    """The read receipt: the first read counts, later ones change nothing."""
    row = conn.execute(select(notices).where(notices.c.notice_id == notice_id)).first()
    if row is None:
        raise NotFound("notice", notice_id)
    if row.read_at is None:
        stream = "notice-" + notice_id
        model.record(conn, stream, eventstore.stream_version(conn, stream), [new_event(
            "NoticeRead", {"notice_id": notice_id, "enterprise_id": row.enterprise_id,
                           "recipient": row.recipient, "reader": reader,
                           "read_at": utcnow()}, actor=reader)])
    return notice_view(conn, notice_id)


def check_recipient(recipient):
    """The form of a recipient. Whether the enterprise exists is the
    register's to say (the gateway asks it): notify's directory may lag."""
    kind, _, name = recipient.partition(":")
    if recipient != AUTHORITY and (kind not in RECIPIENT_KINDS or not name):
        raise InvalidCommand({"recipient": [
            "must be 'authority', 'enterprise:<id>', 'grid:<grid>' or 'account:<username>'"]})


def change_recipient_settings(conn, recipient, command, actor):
    check_recipient(recipient)
    stream = "recipient-" + recipient
    model.record(conn, stream, eventstore.stream_version(conn, stream), [new_event(
        "RecipientSettingsChanged", dict(command, recipient=recipient), actor=actor)])
    return recipient_view(conn, recipient, None)


def check_subscription(command, address_rule=addresses.Rule()):
    """A subscription's checks, run before its transaction (the address rule
    may ask DNS): its patterns match some public event type, its URL is one
    the rule allows. Returns the command."""
    unknown = [p for p in command["event_types"]
               if not any(topic_matches(p, t.type) for t in EVENT_TYPES.values() if t.public)]
    errors = {}
    if unknown:
        errors["event_types"] = ["matches no event type: %s" % ", ".join(unknown)]
    try:
        address_rule.check_url(command["url"])
    except addresses.Refused as exc:
        errors["url"] = [str(exc)]
    if errors:
        raise InvalidCommand(errors)
    return command


def subscribe(conn, command, owner, scope=None):
    """Record a subscription (`command` as check_subscription passed it).
    `owner`: the principal (a dict) subscribing; `scope`: the enterprises it
    may see. Both are recorded: what it receives is what they let it read."""
    subscription_id = str(uuid.uuid4())
    secret = command.get("secret") or channels.new_secret()
    model.record(conn, "webhook-" + subscription_id, 0, [new_event("WebhookSubscribed", {
        "subscription_id": subscription_id, "url": command["url"],
        "event_types": command["event_types"], "secret": secret,
        "description": command["description"], "owner": owner["username"],
        "owner_role": owner["role"], "enterprises": None if scope is None else list(scope)},
        actor=owner["username"])])
    view = subscription_view(conn, subscription_id)
    view["secret"] = secret            # shown once: the subscriber verifies signatures with it
    return view


def rotate_secret(conn, subscription_id, command, actor, settings=Settings(), now=None):
    """A new signing secret (the command's, or a generated one); the one it
    replaces signs too for the overlap, so receivers can switch without
    missing a delivery. Answers the subscription with the new `secret`."""
    view = subscription_view(conn, subscription_id)
    if view["cancelled_at"] is not None:
        raise Conflict("the subscription is cancelled", {"status": view["status"]})
    secret = command.get("secret") or channels.new_secret()
    hours = command.get("overlap_hours")
    hours = settings.secret_overlap_hours if hours is None else hours
    now = now or utcnow()
    stream = "webhook-" + subscription_id
    model.record(conn, stream, eventstore.stream_version(conn, stream), [new_event(
        "WebhookSecretRotated", {"subscription_id": subscription_id, "secret": secret,
                                 "overlap_until": now + timedelta(hours=hours)},
        actor=actor, time=now)])
    view = subscription_view(conn, subscription_id)
    view["secret"] = secret            # shown once, as when subscribing
    return view


def disable_subscription(conn, subscription_id, reason, delivery_id=None, now=None):
    """Notify's own decision (a 410 Gone): no more deliveries. Once."""
    row = conn.execute(select(subscriptions.c.disabled_at).where(
        subscriptions.c.subscription_id == subscription_id)).first()
    if row is None or row.disabled_at is not None:
        return False
    stream = "webhook-" + subscription_id
    model.record(conn, stream, eventstore.stream_version(conn, stream), [new_event(
        "WebhookDisabled", {"subscription_id": subscription_id, "reason": reason,
                            "delivery_id": delivery_id}, actor="notify", time=now)])
    return True


def cancel_subscription(conn, subscription_id, actor):
    view = subscription_view(conn, subscription_id)
    if view["cancelled_at"] is not None:
        return view
    stream = "webhook-" + subscription_id
    model.record(conn, stream, eventstore.stream_version(conn, stream), [new_event(
        "WebhookCancelled", {"subscription_id": subscription_id}, actor=actor)])
    return subscription_view(conn, subscription_id)


# --- who may read and answer which inbox ----------------------------------------------------

def _is_authority(principal):
    return principal["role"] in auth.AUTHORITY_ROLES


def may_read(principal, scope, recipient):
    """The authority reads every inbox; others their own (an enterprise's
    people theirs, a grid officer the grid's) and their scope's enterprises'."""
    if _is_authority(principal):
        return True
    kind, _, name = recipient.partition(":")
    if kind == "enterprise":
        return scope is None or name in scope
    if kind == "grid":
        return principal["role"] == "grid_officer" and principal["grid"] == name
    if kind == "account":
        return _same_account(principal, name)
    return False


def _same_account(principal, username):
    return principal["username"].lower() == username.lower()     # usernames ignore case


def answers_for(principal, recipient):
    """Whose read receipt counts: the recipient's own people only."""
    kind, _, name = recipient.partition(":")
    if recipient == AUTHORITY:
        return _is_authority(principal)
    if kind == "enterprise":
        return principal["role"] in ("enterprise_staff", "enterprise_manager") \
            and principal["enterprise_id"] == name
    if kind == "account":
        return _same_account(principal, name)
    return kind == "grid" and principal["role"] == "grid_officer" and principal["grid"] == name


def manages(principal, recipient):
    """Who may change a recipient's language and addresses."""
    if principal["role"] == "authority_admin":
        return True
    kind, _, name = recipient.partition(":")
    if kind == "enterprise":
        return principal["role"] == "enterprise_manager" and principal["enterprise_id"] == name
    if kind == "account":
        return _same_account(principal, name)
    return kind == "grid" and principal["role"] == "grid_officer" and principal["grid"] == name


def require(allowed, principal, what, ident):
    """Outside what `principal` may see, a notice or inbox does not exist."""
    if not allowed:
        tenancy.log_attempt(what, ident, "-", principal["username"])
        raise NotFound(what, ident)


def subscription_owner(row):
    """The principal a subscription was made by, as far as reading goes. One
    recorded before roles were is taken as an integrator's (the lesser)."""
    return {"username": row.owner, "role": row.owner_role or "integrator",
            "enterprise_id": None, "grid": None, "town": None}


def subscription_scope(row):
    return None if row.enterprises is None else json.loads(row.enterprises)


def may_receive(owner, scope, event):
    """Whether a subscription's owner could read `event` over the API: a
    webhook delivers no more than its owner may pull. The same rules as the
    routes: the inbox rule (`may_read`) for notices, the gateway's roles for
    publications (the authority's) and accounts, the scope for the rest."""
    data = event.data
    if event.name in ("NoticeIssued", "NoticeRead"):
        recipient = data["recipient"] or enterprise_recipient(data["enterprise_id"])
        return may_read(owner, scope, recipient)
    if event.name in ("PublicationPublished",) + CAMPAIGN_EVENTS:
        return _is_authority(owner)          # the authority's routes alone show them
    if event.name == "AccountDisabled":
        return owner["role"] in auth.ACCOUNT_MANAGERS and (
            scope is None or data["enterprise_id"] in scope)
    return event.subject == UNIVERSAL or tenancy.visible(scope, event.subject)


def owns_subscription(principal, view):
    return principal["role"] == "authority_admin" or view["owner"] == principal["username"]


def subscriptions_owner(principal):
    """Whose subscriptions `principal` sees: anyone's (None) for the authority's admin."""
    return None if principal["role"] == "authority_admin" else principal["username"]


# --- queries --------------------------------------------------------------------------------

def _iso(moment):
    return None if moment is None else isoformat(moment)


def _notice(row):
    view = dict(row._mapping)
    view["issued_at"], view["read_at"] = _iso(row.issued_at), _iso(row.read_at)
    return view


def _query(schema, **given):
    """A query with the schema's defaults filled in (for callers in-process)."""
    return schema().load(given)


def inbox(conn, recipient, query=None):
    """A page of the recipient's notices, newest first unless sorted otherwise,
    with how many of all its notices are unread."""
    query = query or _query(schemas.InboxQuery, recipient=recipient)
    statement = select(notices).where(notices.c.recipient == recipient)
    if query["unread"]:
        statement = statement.where(notices.c.read_at.is_(None))
    if query.get("kind"):
        statement = statement.where(notices.c.kind == query["kind"])
    unread = conn.execute(select(func.count()).select_from(notices).where(
        notices.c.recipient == recipient, notices.c.read_at.is_(None))).scalar_one()
    found = paging.page_of(conn, statement, query,
                           paging.ordering(notices.c, query["sort"], notices.c.notice_id),
                           _notice)
    return dict(found, recipient=recipient, unread=unread)


def _delivery(row):
    return {"delivery_id": row.delivery_id, "channel": row.channel, "target": row.target,
            "event_type": row.event_type, "event_id": row.event_id,
            "notice_id": row.notice_id, "status": row.status, "attempts": row.attempts,
            "last_error": row.last_error, "scheduled_at": _iso(row.scheduled_at),
            "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
            "finished_at": _iso(row.finished_at)}


def notice_view(conn, notice_id):
    row = conn.execute(select(notices).where(notices.c.notice_id == notice_id)).first()
    if row is None:
        raise NotFound("notice", notice_id)
    view = _notice(row)
    view["deliveries"] = [_delivery(d) for d in conn.execute(
        select(deliveries).where(deliveries.c.notice_id == notice_id)
        .order_by(deliveries.c.target)).all()]
    return view


def publication_view(conn, publication_id):
    row = conn.execute(select(publications).where(
        publications.c.publication_id == publication_id)).first()
    if row is None:
        raise NotFound("publication", publication_id)
    view = dict(row._mapping, published_at=_iso(row.published_at))
    rows = conn.execute(
        select(notices.c.enterprise_id, notices.c.notice_id, notices.c.read_at,
               notices.c.read_by, directory.c.name)
        .outerjoin(directory, directory.c.enterprise_id == notices.c.enterprise_id)
        .where(notices.c.publication_id == publication_id)
        .order_by(notices.c.enterprise_id)).all()
    view["recipients"] = [{"enterprise_id": r.enterprise_id, "name": r.name,
                           "notice_id": r.notice_id, "read_at": _iso(r.read_at),
                           "read_by": r.read_by} for r in rows]
    view["read_count"] = sum(1 for r in rows if r.read_at is not None)
    view["not_read"] = [r.enterprise_id for r in rows if r.read_at is None]
    return view


def list_publications(conn, query=None):
    query = query or _query(schemas.PublicationQuery)
    statement = select(publications)
    if query.get("audience"):
        statement = statement.where(publications.c.audience == query["audience"])
    return paging.page_of(conn, statement, query,
                          paging.ordering(publications.c, query["sort"],
                                          publications.c.publication_id),
                          lambda r: dict(r._mapping, published_at=_iso(r.published_at)))


def recipient_view(conn, recipient, settings):
    row = conn.execute(select(model.recipients).where(
        model.recipients.c.recipient == recipient)).first()
    if row is None:
        return {"recipient": recipient, "language": settings.default_language, "emails": [],
                "changed_at": None}
    return {"recipient": recipient, "language": row.language, "emails": json.loads(row.emails),
            "changed_at": _iso(row.changed_at)}


SUBSCRIPTION = (select(subscriptions,
                       disabled_accounts.c.disabled_at.label("account_disabled_at"))
                .outerjoin(disabled_accounts,
                           disabled_accounts.c.username == subscriptions.c.owner))


def subscription_view(conn, subscription_id):
    row = conn.execute(SUBSCRIPTION.where(
        subscriptions.c.subscription_id == subscription_id)).first()
    if row is None:
        raise NotFound("webhook subscription", subscription_id)
    counts = dict(conn.execute(
        select(deliveries.c.status, func.count())
        .where(deliveries.c.channel == "webhook", deliveries.c.target == subscription_id)
        .group_by(deliveries.c.status)).all())
    return {"subscription_id": row.subscription_id, "url": row.url, "owner": row.owner,
            "event_types": json.loads(row.event_types), "description": row.description,
            "subscribed_at": _iso(row.subscribed_at), "cancelled_at": _iso(row.cancelled_at),
            "suspended_at": _iso(row.account_disabled_at),
            "disabled_at": _iso(row.disabled_at), "disabled_reason": row.disabled_reason,
            "secret_rotated_at": _iso(row.secret_rotated_at),
            "previous_secret_until": _iso(row.previous_secret_until),
            "status": ("cancelled" if row.cancelled_at is not None
                       else "disabled" if row.disabled_at is not None
                       else "suspended" if row.account_disabled_at is not None else "active"),
            "deliveries": {s: counts.get(s, 0) for s in ("pending", "delivered", "failed")}}


def list_subscriptions(conn, query=None, owner=None):
    """A page of the subscriptions (of `owner` only, unless None)."""
    query = query or _query(schemas.WebhookQuery)
    statement = select(subscriptions.c.subscription_id)
    if owner is not None:
        statement = statement.where(subscriptions.c.owner == owner)
    if query.get("cancelled") is not None:
        cancelled = subscriptions.c.cancelled_at
        statement = statement.where(cancelled.is_not(None) if query["cancelled"]
                                    else cancelled.is_(None))
    return paging.page_of(conn, statement, query,
                          paging.ordering(subscriptions.c, query["sort"],
                                          subscriptions.c.subscription_id),
                          lambda row: subscription_view(conn, row.subscription_id))


def subscription_deliveries(conn, subscription_id, query=None):
    query = query or _query(schemas.DeliveriesQuery)
    subscription_view(conn, subscription_id)          # 404 for an unknown one
    statement = select(deliveries).where(deliveries.c.channel == "webhook",
                                         deliveries.c.target == subscription_id)
    if query.get("status"):
        statement = statement.where(deliveries.c.status == query["status"])
    return paging.page_of(conn, statement, query,
                          paging.ordering(deliveries.c, query["sort"], deliveries.c.delivery_id),
                          _delivery)
