"""The event contract: every event that crosses the bus, as a CloudEvents 1.0
structured-mode JSON message whose `data` has a versioned marshmallow schema.

Integrators bind to these types; a breaking change gets a new `.vN` type, it
never changes an old one.
"""
import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import ClassVar, Optional
from datetime import date, datetime, timedelta, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate

from . import days

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# The largest message a consumer takes as an event; bigger is dead-lettered
# unread. Every event comes from one API request (at most 1 MiB of body).
MAX_EVENT_BYTES = 8 * 1024 * 1024

LEVELS = ("general", "major")
INSPECTION_KINDS = ("self", "grid", "enforcement")
# how a hazard came to be recorded: a free report, or the kind of inspection it was found by
HAZARD_SOURCES = ("report",) + INSPECTION_KINDS
HAZARD_TYPES = ("unsafe_condition", "unsafe_act", "management_defect")
ITEM_RESULTS = ("pass", "fail", "na")
SAFETY_ACTION_KINDS = ("training", "drill", "meeting", "daily_record")
CHECKLIST_SCOPES = ("universal", "enterprise")
SCHEDULE_FREQUENCIES = ("daily", "weekly", "monthly", "shift")
UNIVERSAL = "universal"        # the subject of events that belong to no one enterprise


def utcnow():
    return datetime.now(timezone.utc)


def isoformat(moment):
    """One textual form for instants everywhere: UTC, microseconds, 'Z'."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# Instants and days outside these years are typing mistakes, and near the
# ends of datetime's range (year 1, 9999) deadline and window arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2199


def _within_years(moment):
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError("must be in the years %d to %d" % (FIRST_YEAR, LAST_YEAR))


class Instant(fields.DateTime):
    """An aware UTC datetime; naive input is taken as UTC, output is ISO 'Z'."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:           # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise ValidationError("must be in the years %d to %d"
                                  % (FIRST_YEAR, LAST_YEAR)) from None
        _within_years(moment)
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else isoformat(value)


class InstantOrDay(Instant):
    """A period's end given as an instant, or as a day (YYYY-MM-DD) of the
    deployment's time zone (einspection.days): a `from` day means its first
    instant, a `to` day its last (microsecond), so that from=D&to=D is the
    whole local day D, an hour found at 00:30 in Shanghai included."""

    def __init__(self, end_of_day=False, **kwargs):
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10 and value[4:5] == "-":
            day = Day()._deserialize(value, attr, data, **kwargs)
            zone = days.deployment_zone()
            if self.end_of_day:
                return days.start_of(day + timedelta(days=1), zone) - timedelta(microseconds=1)
            return days.start_of(day, zone)
        return super()._deserialize(value, attr, data, **kwargs)


class Day(fields.Date):
    """A calendar day, YYYY-MM-DD, in FIRST_YEAR to LAST_YEAR."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        _within_years(day)
        return day


class Id(fields.String):
    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=1, max=64))
        super().__init__(**kwargs)


class _Data(Schema):
    class Meta:
        ordered = True
        unknown = EXCLUDE      # tolerant reader: a v1 reader ignores fields added to v1 later


def _text(max_length, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _refs(**kwargs):
    """Evidence references: blob ids like 'sha256:<hex>'."""
    return fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                       validate=validate.Length(max=50), load_default=list, **kwargs)


# --- the data of each event, one schema per version --------------------------------

class EnterpriseRegisteredV1(_Data):
    enterprise_id = Id(required=True)
    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    industry = fields.String(required=True, validate=validate.Length(min=1, max=100))
    town = fields.String(required=True, validate=validate.Length(min=1, max=100))
    grid = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    employees = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    registered_at = Instant(required=True)
    # its accounts' usernames are <account_prefix>.<name>; None in events from before it
    account_prefix = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(min=2, max=32))


class HazardReportedV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    position_id = Id(load_default=None, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    found_at = Instant(required=True)
    reported_at = Instant(required=True)
    rectification_deadline = Instant(required=True)
    reporter = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # added to v1 (optional, so v1 readers are unaffected)
    hazard_type = fields.String(load_default="unsafe_condition",
                                validate=validate.OneOf(HAZARD_TYPES))
    source_inspection_id = Id(load_default=None, allow_none=True)
    source_item_id = Id(load_default=None, allow_none=True)
    evidence = _refs()
    # added to v1: a free report, or the kind of inspection that found it (events
    # from before it read as a report, whatever inspection they name)
    source = fields.String(load_default="report", validate=validate.OneOf(HAZARD_SOURCES))


class RectificationDoneV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    measures = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    done_at = Instant(required=True)
    evidence = _refs()
    cost = fields.Decimal(load_default=None, allow_none=True, as_string=True, places=2,
                          validate=validate.Range(min=0))
    # added to v1: who did the work, as the submitter typed it (data, not the actor)
    rectified_by = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(min=1, max=200))


class RemediationPlanRecordedV1(_Data):
    """A major hazard's plan: required before it can be rectified."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    goal = _text(2000, required=True)
    measures = _text(4000, required=True)
    funds = fields.Decimal(required=True, as_string=True, places=2,
                           validate=validate.Range(min=0))
    responsible_person = _text(200, required=True)
    deadline = Instant(required=True)
    interim_measures = _text(4000, required=True)


class HazardVerifiedV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    verified_at = Instant(required=True)
    verifier = _text(200, required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    # added to v1: the version of the verification rule that allowed it
    rule_version = fields.String(load_default=None, allow_none=True)


class HazardReturnedV1(_Data):
    """A rectification that did not hold: the hazard is open again."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    returned_at = Instant(required=True)
    reason = _text(2000, required=True)
    verifier = _text(200, required=True)
    # added to v1: the version of the verification rule that allowed it
    rule_version = fields.String(load_default=None, allow_none=True)


class AccountRefV1(_Data):
    """An account as a hazard's assignment names it: the register's id and username."""
    account_id = Id(required=True)
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))


class HazardOverdueV1(_Data):
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    rectification_deadline = Instant(required=True)
    detected_at = Instant(required=True)
    # added to v1: the account it was assigned to when it became overdue (None: nobody)
    assignee = fields.Nested(AccountRefV1, load_default=None, allow_none=True)


class HazardAssignedV1(_Data):
    """A hazard given to a person of its enterprise to rectify (the actor
    assigned it: the enterprise's manager, an officer or the authority); a
    reassignment is another HazardAssigned. `due`: by when the assignee is
    to have it rectified (the rectification deadline unless sooner)."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    assignee = fields.Nested(AccountRefV1, required=True)
    previous_assignee = fields.Nested(AccountRefV1, load_default=None, allow_none=True)
    due = Instant(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    assigned_at = Instant(required=True)


class HazardRectificationDueV1(_Data):
    """An assigned hazard's due is near (`days_before` is the reminder's
    configured distance, 0 on the due day): recorded once per reminder by the
    hazard service's own check, so that notify reminds the assignee once."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    assignee = fields.Nested(AccountRefV1, required=True)
    due = Instant(required=True)
    days_before = fields.Integer(required=True, validate=validate.Range(min=0))
    days_left = fields.Integer(required=True)     # deployment days from detected_at's day
    detected_at = Instant(required=True)


class HazardEscalatedV1(_Data):
    """An assigned hazard still open `days_overdue` deployment days after its
    rectification deadline: recorded once by the hazard service's own check,
    so that notify tells the grid."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    rectification_deadline = Instant(required=True)
    assignee = fields.Nested(AccountRefV1, required=True)
    days_overdue = fields.Integer(required=True, validate=validate.Range(min=0))
    detected_at = Instant(required=True)


class HazardListedV1(_Data):
    """The authority lists a major hazard for supervision (挂牌督办): it is to
    be rectified by `deadline`, followed by the responsible `office`."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    listed_at = Instant(required=True)
    deadline = Instant(required=True)
    office = _text(200, required=True)
    reason = _text(2000, required=True)


class HazardListingDueV1(_Data):
    """A listed hazard's deadline is near (`days_before` is the reminder's
    configured distance, 0 on the deadline day): recorded once per reminder
    by the hazard service's own check, so that notify reminds once."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    deadline = Instant(required=True)
    office = _text(200, required=True)
    days_before = fields.Integer(required=True, validate=validate.Range(min=0))
    days_left = fields.Integer(required=True)     # deployment days from detected_at's day
    detected_at = Instant(required=True)


class HazardDelistedV1(_Data):
    """The authority signs the listing off (its actor), after the hazard's
    rectification was verified."""
    hazard_id = Id(required=True)
    enterprise_id = Id(required=True)
    delisted_at = Instant(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class EvidenceStoredV1(_Data):
    """An enterprise's evidence file: who owns the bytes stored under `ref`
    (the same bytes uploaded by two enterprises are owned by both). Private
    to the hazard service, whose evidence store it is."""
    ref = fields.String(required=True, validate=validate.Regexp(r"^sha256:[0-9a-f]{64}$"))
    enterprise_id = Id(required=True)
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, validate=validate.Range(min=1))


class ChecklistItemV1(_Data):
    item_id = Id(required=True)
    prompt = _text(2000, required=True)
    category = _text(100, required=True)
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))
    weight = fields.Decimal(required=True, as_string=True, places=2,
                            validate=validate.Range(min=0))
    major = fields.Boolean(load_default=False)
    photo_required = fields.Boolean(load_default=False)


class _ChecklistVersion(_Data):
    checklist_id = Id(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    scope = fields.String(required=True, validate=validate.OneOf(CHECKLIST_SCOPES))
    enterprise_id = Id(load_default=None, allow_none=True)
    industry = fields.String(load_default=None, allow_none=True)
    title = _text(300, required=True)
    # added to v1 (a reader of v1 without it reads null): a universal checklist's
    # least frequency of the schedules of it each enterprise it applies to must have
    required_frequency = fields.String(load_default=None, allow_none=True,
                                       validate=validate.OneOf(SCHEDULE_FREQUENCIES))


class ChecklistPublishedV1(_ChecklistVersion):
    """A frozen version: inspections refer to (checklist_id, version) forever."""
    items = fields.List(fields.Nested(ChecklistItemV1), required=True,
                        validate=validate.Length(min=1, max=2000))
    published_at = Instant(required=True)


class PositionRegisteredV1(_Data):
    position_id = Id(required=True)
    enterprise_id = Id(required=True)
    name = _text(200, required=True)
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True,
                             validate=validate.Range(-180, 180))
    checklist_ids = fields.List(Id(), load_default=list)


class PositionUpdatedV1(_Data):
    """A manager changed the position: only the fields that changed are
    here (name, latitude, longitude, checklist_ids — all of them, the new
    list); the enterprise and the QR code never change this way."""
    position_id = Id(required=True)
    enterprise_id = Id(required=True)
    name = _text(200)
    latitude = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    checklist_ids = fields.List(Id())
    updated_at = Instant(required=True)


class PositionRetiredV1(_Data):
    """The position is no longer in use: its code stops resolving (a scan
    answers 410), no schedule can be made at it, and the schedules at it are
    ended (ScheduleEnded, same transaction). Its inspections stay."""
    position_id = Id(required=True)
    enterprise_id = Id(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    retired_at = Instant(required=True)


class PositionScannedV1(_Data):
    """Presence: who was at which position when."""
    position_id = Id(required=True)
    enterprise_id = Id(required=True)
    scanned_by = _text(200, required=True)
    scanned_at = Instant(required=True)


class ChecklistDraftSavedV1(_ChecklistVersion):
    """A draft version, editable until published. Private to the checklist service."""
    items = fields.List(fields.Nested(ChecklistItemV1), required=True,
                        validate=validate.Length(max=2000))


class PositionCodeIssuedV1(_Data):
    """A position's QR token (new or rotated). Private: the token never leaves
    the checklist service except printed on the position's QR code."""
    position_id = Id(required=True)
    enterprise_id = Id(required=True)
    token = fields.String(required=True, validate=validate.Length(min=16, max=100))
    issued_at = Instant(required=True)


class SafetyActionRecordedV1(_Data):
    action_id = Id(required=True)
    enterprise_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(SAFETY_ACTION_KINDS))
    topic = _text(300, required=True)
    held_on = fields.Date(required=True)
    people = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    notes = fields.String(load_default="", validate=validate.Length(max=4000))
    recorded_by = _text(200, required=True)


class InspectionLoggedV1(_Data):
    inspection_id = Id(required=True)
    enterprise_id = Id(required=True)
    position_id = Id(required=True)
    checklist_id = Id(required=True)
    checklist_version = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(INSPECTION_KINDS))
    started_at = Instant(required=True)
    completed_at = Instant(required=True)
    items_passed = fields.Integer(required=True, validate=validate.Range(min=0))
    items_failed = fields.Integer(required=True, validate=validate.Range(min=0))
    items_not_applicable = fields.Integer(required=True, validate=validate.Range(min=0))
    inspector = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # added to v1: what failed, so the hazard service can raise one hazard per item
    failed_items = fields.List(fields.Nested(lambda: FailedItemV1()), load_default=list)
    # added to v1: every item's result, so the inspection can be shown as it was done
    # (and the checklist service's read model rebuilt from its events)
    results = fields.List(fields.Nested(lambda: ItemResultV1()), load_default=list)
    # added to v1: the enforcement campaign it was done for, if any, and the
    # accounts (usernames) that inspected; the account that logged it is among them
    campaign_id = Id(load_default=None, allow_none=True)
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             load_default=list, validate=validate.Length(max=20))


class ItemResultV1(_Data):
    item_id = Id(required=True)
    result = fields.String(required=True, validate=validate.OneOf(ITEM_RESULTS))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    photos = _refs()


class FailedItemV1(_Data):
    item_id = Id(required=True)
    prompt = _text(2000, required=True)
    category = _text(100, required=True)
    legal_basis = fields.String(load_default="")
    major = fields.Boolean(load_default=False)
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    photos = _refs()


class IndicatorV1(_Data):
    key = fields.String(required=True)
    title = fields.String(required=True)
    value = fields.String(required=True)      # decimal as text: exact on every reader
    points = fields.String(required=True)
    max_points = fields.String(required=True)
    advice = fields.String(load_default="")    # added to v1: what gains the missing points
    # added to v1: the title and advice in other languages, {"zh": {"title", "advice"}}
    i18n = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)


class GradeAssignedV1(_Data):
    enterprise_id = Id(required=True)
    points = fields.String(required=True)
    grade = fields.String(required=True, validate=validate.OneOf(["A", "B", "C", "D", "E"]))
    previous_grade = fields.String(load_default=None, allow_none=True)
    rule_version = fields.String(required=True)
    as_of = fields.Date(required=True)
    window_start = fields.Date(required=True)
    window_end = fields.Date(required=True)
    indicators = fields.List(fields.Nested(IndicatorV1), required=True)


class GradeStatedV1(GradeAssignedV1):
    """The monthly statement of an enterprise's score, grade changed or not."""
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))


class ScoringClockAdvancedV1(_Data):
    """Scoring's day moved on: every score is re-evaluated as of `day`, so
    the window slides even for an enterprise that records nothing."""
    day = fields.Date(required=True)


LANGUAGES = ("zh", "en")
AUDIENCES = ("all", "town", "industry", "grid")


class NoticeIssuedV1(_Data):
    notice_id = Id(required=True)
    enterprise_id = Id(required=True)          # the enterprise the notice is about
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    cause_event_id = Id(required=True)
    # added to v1: who receives it ('enterprise:<id>', 'grid:<grid>', 'authority';
    # absent on old events: the enterprise), in which language, and
    # the publication it delivers, if any
    recipient = fields.String(load_default=None, allow_none=True)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    publication_id = Id(load_default=None, allow_none=True)


class NoticeReadV1(_Data):
    notice_id = Id(required=True)
    enterprise_id = Id(required=True)
    recipient = fields.String(required=True)
    reader = fields.String(required=True, validate=validate.Length(min=1, max=200))
    read_at = Instant(required=True)


class PublicationPublishedV1(_Data):
    """The authority's notice to a set of enterprises, fixed when published."""
    publication_id = Id(required=True)
    title = _text(300, required=True)
    body = _text(20000, required=True)
    audience = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    audience_value = fields.String(load_default=None, allow_none=True)
    published_by = _text(200, required=True)
    published_at = Instant(required=True)
    recipients = fields.List(Id(), required=True)


class RecipientSettingsChangedV1(_Data):
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    emails = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=20))


class WebhookSubscribedV1(_Data):
    subscription_id = Id(required=True)
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    event_types = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    secret = fields.String(required=True)       # private event: the store keeps it to sign
    description = fields.String(load_default="")
    owner = fields.String(load_default="")         # the account that subscribed
    # the enterprises whose events it may receive (None: all; an integrator's grant)
    enterprises = fields.List(Id(), load_default=None, allow_none=True)
    # added to v1: the owner's role when it subscribed, which with `enterprises`
    # decides what it may receive (None on old events: read as an integrator's)
    owner_role = fields.String(load_default=None, allow_none=True)


class WebhookCancelledV1(_Data):
    subscription_id = Id(required=True)


class WebhookSecretRotatedV1(_Data):
    """A subscription's new signing secret; the one it replaces signs too
    until `overlap_until` (then this one alone)."""
    subscription_id = Id(required=True)
    secret = fields.String(required=True)       # private event: the store keeps it to sign
    overlap_until = Instant(required=True)


class WebhookDisabledV1(_Data):
    """Notify stopped a subscription's deliveries: its receiver answered 410 Gone."""
    subscription_id = Id(required=True)
    reason = fields.String(required=True)
    delivery_id = Id(load_default=None, allow_none=True)    # the delivery answered so


class DeliveryScheduledV1(_Data):
    """A notice to send by e-mail, or an event to POST to a webhook subscriber."""
    delivery_id = Id(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(["email", "webhook"]))
    target = fields.String(required=True)          # the address, or the subscription id
    notice_id = Id(load_default=None, allow_none=True)
    event_id = Id(load_default=None, allow_none=True)
    event_type = fields.String(load_default="")
    payload = fields.String(load_default="")       # a webhook's body: the CloudEvent


class DeliveryAttemptedV1(_Data):
    """One try to deliver a notice (e-mail) or an event (webhook)."""
    delivery_id = Id(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(["email", "webhook"]))
    target = fields.String(required=True)
    attempt = fields.Integer(required=True)
    outcome = fields.String(required=True,
                            validate=validate.OneOf(["delivered", "retrying", "failed"]))
    error = fields.String(load_default="")
    next_attempt_at = Instant(load_default=None, allow_none=True)


class AccountCreatedV1(_Data):
    """Private to the register: it holds the password's hash."""
    account_id = Id(required=True)
    username = fields.String(required=True, validate=validate.Length(min=3, max=100))
    role = fields.String(required=True)
    enterprise_id = Id(load_default=None, allow_none=True)
    grid = fields.String(load_default=None, allow_none=True)
    town = fields.String(load_default=None, allow_none=True)
    grants = fields.List(fields.String(), load_default=list)
    display_name = fields.String(load_default="")
    password_hash = fields.String(required=True)


class AccountDisabledV1(_Data):
    """Public: it holds no secret, and notify suspends the account's webhooks by it."""
    account_id = Id(required=True)
    reason = fields.String(load_default="")
    enterprise_id = Id(load_default=None, allow_none=True)
    # added to v1: the account's username (what a webhook subscription records
    # as its owner); None on events recorded before it was added
    username = fields.String(load_default=None, allow_none=True)


class AccountPasswordChangedV1(_Data):
    """Private to the register: the account changed its own password (the
    new hash); a temporary one set by a reset is no longer in force."""
    account_id = Id(required=True)
    password_hash = fields.String(required=True)
    enterprise_id = Id(load_default=None, allow_none=True)


class AccountPasswordResetV1(_Data):
    """Private to the register: an admin or the enterprise's manager set a
    temporary password (its hash); the account must change it at its next
    login before it can do anything else."""
    account_id = Id(required=True)
    password_hash = fields.String(required=True)
    enterprise_id = Id(load_default=None, allow_none=True)


# --- enforcement: cases, citations, fines (services/enforcement/cases.py) ---------------
# Money is an int of minor units (fen for CNY, cents for USD) beside its `currency`.
CASE_OUTCOMES = ("paid", "no_penalty", "withdrawn", "terminated")
CURRENCY_CODES = ("CNY", "USD")        # einspection.money.CURRENCIES


def _fen(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kwargs)


def _currency():
    return fields.String(required=True, validate=validate.OneOf(CURRENCY_CODES))


class EstablishmentRecordedV1(_Data):
    """An establishment the enforcement office inspected that is not in the
    platform's register (an imported regulator's record: no credit code)."""
    enterprise_id = Id(required=True)
    name = _text(200, required=True)
    town = _text(100, required=True)
    industry = fields.String(load_default="", validate=validate.Length(max=100))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    employees = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=0))
    source_system = _text(32, required=True)
    source_ref = _text(200, required=True)
    recorded_at = Instant(required=True)


class CaseOpenedV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    inspection_id = Id(required=True)
    campaign_id = Id(load_default=None, allow_none=True)
    opened_at = Instant(required=True)
    currency = _currency()
    # where a case imported from another system came from (None: opened here)
    source_system = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(min=1, max=32))
    source_ref = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=200))


class CitationIssuedV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    citation_id = Id(required=True)
    clause = _text(500, required=True)
    violation_class = _text(32, required=True)
    description = _text(4000, required=True)
    fine_proposed = _fen(required=True, allow_none=True)     # None: not stated (imported)
    currency = _currency()
    abatement_date = Day(load_default=None, allow_none=True)
    hazard_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=100))
    issued_at = Instant(required=True)
    source_ref = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(min=1, max=200))


class CitationWithdrawnV1(_Data):
    """A citation vacated or deleted: kept in the file, out of every total."""
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    citation_id = Id(required=True)
    reason = _text(2000, required=True)
    withdrawn_at = Instant(required=True)
    # added to v1: it had been marked overdue for abatement (scoring takes that back)
    abatement_overdue = fields.Boolean(load_default=False)


class ImposedFineV1(_Data):
    citation_id = Id(required=True)
    fine_imposed = _fen(required=True, allow_none=True)      # None: not stated (imported)


class PenaltyDecidedV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    fines = fields.List(fields.Nested(ImposedFineV1), required=True)
    total_imposed = _fen(required=True)
    currency = _currency()
    decided_at = Instant(required=True)


class FinePaidV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    currency = _currency()
    paid_on = Day(required=True)
    reference = _text(200, required=True)


class CitationAbatedV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    citation_id = Id(required=True)
    hazard_id = Id(load_default=None, allow_none=True)    # the verified hazard, if any
    abated_at = Instant(required=True)


class CitationAbatementOverdueV1(_Data):
    """A citation in force not abated by its abatement day (a day in the
    deployment's time zone): recorded once per citation by the enforcement
    service's own check, while its case is not closed; never for a case
    imported from another system (its history is as the source holds it)."""
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    citation_id = Id(required=True)
    clause = _text(500, required=True)
    violation_class = _text(32, required=True)
    abatement_date = Day(required=True)
    overdue_since = Instant(required=True)      # the start of the day after abatement_date
    hazard_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=100))
    detected_at = Instant(required=True)


class CaseClosedV1(_Data):
    case_id = Id(required=True)
    enterprise_id = Id(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(CASE_OUTCOMES))
    closed_at = Instant(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


# --- enforcement: campaigns and their draws (services/enforcement/campaigns.py) -----------
QUOTA_BASES = ("given", "proportional")


def _towns(**kwargs):
    """{town: a count}: quotas per town, or the enterprises counted per town."""
    return fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                       values=fields.Integer(strict=True, validate=validate.Range(min=0)),
                       **kwargs)


class ConflictV1(_Data):
    """An inspector who must not inspect an enterprise: own ties, a recusal."""
    inspector = _text(100, required=True)
    enterprise_id = Id(required=True)
    reason = _text(500, required=True)


class CampaignOpenedV1(_Data):
    """An enforcement campaign (专项执法检查): its legal basis, period, how
    many targets and their quota per town — given, or proportional to each
    town's enterprises (`town_counts`, by largest remainder) — the mandatory
    list (key enterprises that must be inspected; the rest is drawn at
    random, at least `min_random_share` of the plan), the inspectors'
    conflicts, and how many inspectors go to each target."""
    campaign_id = Id(required=True)
    name = _text(200, required=True)
    legal_basis = _text(200, required=True)
    period_start = Day(required=True)
    period_end = Day(required=True)
    targets = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    quotas = _towns(required=True)
    quota_basis = fields.String(required=True, validate=validate.OneOf(QUOTA_BASES))
    town_counts = _towns(load_default=dict)
    mandatory = fields.List(Id(), load_default=list)
    min_random_share = fields.String(required=True)     # a decimal as text, e.g. "0.70"
    conflicts = fields.List(fields.Nested(ConflictV1), load_default=list)
    per_target = fields.Integer(strict=True, required=True, validate=validate.Range(min=2))
    opened_at = Instant(required=True)


class CandidatesCommittedV1(_Data):
    """The candidate snapshot (ids, weights with their factors, exclusions
    with their reasons) and its SHA-256, fixed and published before the
    seed is known: commit, then reveal (services/enforcement/draw.py)."""
    campaign_id = Id(required=True)
    snapshot = fields.Dict(required=True)
    snapshot_digest = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    weights_version = _text(64, required=True)
    as_of = Day(required=True)        # the deployment's day the facts were taken on
    committed_at = Instant(required=True)
    # the inspector draw's input, fixed with the snapshot: the pool (the
    # authority's inspector accounts then), the conflicts, inspectors per
    # target, and their SHA-256 (draw.assignment_digest)
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             load_default=list)
    conflicts = fields.List(fields.Nested(ConflictV1), load_default=list)
    per_target = fields.Integer(load_default=None, allow_none=True)
    assignment_digest = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class DrawnTargetV1(_Data):
    enterprise_id = Id(required=True)
    town = _text(100, required=True)
    mandatory = fields.Boolean(required=True)
    key = fields.String(required=True)             # the sampling key, a decimal as text
    # where notices about it go (the register's, as the enforcement service knew it)
    grid = fields.String(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)


class TargetsDrawnV1(_Data):
    """The draw: a pure function of the committed snapshot, the algorithm
    and the seed (taken from the public source the campaign names)."""
    campaign_id = Id(required=True)
    # the campaign as its notice names it, for whoever reads the draw alone (notify)
    campaign_name = fields.String(load_default=None, allow_none=True)
    legal_basis = fields.String(load_default=None, allow_none=True)
    seed = _text(200, required=True)
    seed_source = _text(500, required=True)
    algorithm = _text(32, required=True)
    snapshot_digest = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    targets = fields.List(fields.Nested(DrawnTargetV1), required=True)
    shortfall = _towns(load_default=dict)        # towns with fewer candidates than their quota
    drawn_at = Instant(required=True)


class AssignmentV1(_Data):
    enterprise_id = Id(required=True)
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             required=True)


class InspectorsAssignedV1(_Data):
    """Double random: inspectors drawn from the pool committed with the
    candidates (the authority's inspector accounts then), never against a
    conflict, with a balanced load, seeded by the draw's seed."""
    campaign_id = Id(required=True)
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                             required=True)
    conflicts = fields.List(fields.Nested(ConflictV1), load_default=list)
    per_target = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    assignments = fields.List(fields.Nested(AssignmentV1), required=True)
    assigned_at = Instant(required=True)


class ShiftV1(_Data):
    """A named time window within a local day (end at or before start: it
    ends the next day, a night shift)."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    start = fields.String(required=True, validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))
    end = fields.String(required=True, validate=validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))


class InspectionScheduledV1(_Data):
    """A checklist to be done at a position of the enterprise how often
    (`frequency`: daily, weekly on `weekdays` (ISO, 1 = Monday), monthly,
    or each of `shifts`, on `weekdays` if given), by whom (`assignee`, a
    username of the enterprise, or anyone in `assignee_role`), from
    `starts_on` (a day of the deployment's time zone, whose rounds are cut there)."""
    schedule_id = Id(required=True)
    enterprise_id = Id(required=True)
    checklist_id = Id(required=True)
    position_id = Id(required=True)
    frequency = fields.String(required=True, validate=validate.OneOf(SCHEDULE_FREQUENCIES))
    weekdays = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)),
                           load_default=list)
    shifts = fields.List(fields.Nested(ShiftV1), load_default=list)
    assignee = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(min=1, max=100))
    assignee_role = fields.String(load_default=None, allow_none=True,
                                  validate=validate.OneOf(("enterprise_staff",
                                                           "enterprise_manager")))
    starts_on = Day(required=True)
    scheduled_at = Instant(required=True)


class ScheduleEndedV1(_Data):
    """No rounds of the schedule from `ends_on` on (rounds before stand)."""
    schedule_id = Id(required=True)
    enterprise_id = Id(required=True)
    ends_on = Day(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    ended_at = Instant(required=True)


class _RoundV1(_Data):
    schedule_id = Id(required=True)
    enterprise_id = Id(required=True)
    checklist_id = Id(required=True)
    position_id = Id(required=True)
    round = fields.String(required=True, validate=validate.Length(min=1, max=80))
    window_start = Instant(required=True)
    window_end = Instant(required=True)


class InspectionRoundDoneV1(_RoundV1):
    """A round done: a self-inspection of the schedule's checklist at its
    position completed within the round's window (the first one)."""
    inspection_id = Id(required=True)
    completed_at = Instant(required=True)


class InspectionMissedV1(_RoundV1):
    """A round whose window ended without such an inspection: recorded once,
    by the checklist service's check, at the end of its window."""
    assignee = fields.String(load_default=None, allow_none=True)
    assignee_role = fields.String(load_default=None, allow_none=True)


@dataclass(frozen=True)
class EventType:
    name: str           # the past-tense domain name, e.g. HazardReported
    type: str           # the CloudEvents type and the routing key
    source: str         # the service that owns it
    schema: type
    public: bool = True  # False: kept in the owner's store, never published (e.g. secrets)


EVENT_TYPES = {
    e.name: e for e in [
        EventType("EnterpriseRegistered", "einspection.enterprise.registered.v1", "checklist",
                  EnterpriseRegisteredV1),
        EventType("HazardReported", "einspection.hazard.reported.v1", "hazard", HazardReportedV1),
        EventType("RectificationDone", "einspection.hazard.rectification-done.v1", "hazard",
                  RectificationDoneV1),
        EventType("InspectionLogged", "einspection.inspection.logged.v1", "checklist",
                  InspectionLoggedV1),
        EventType("GradeAssigned", "einspection.grade.assigned.v1", "scoring", GradeAssignedV1),
        EventType("NoticeIssued", "einspection.notice.issued.v1", "notify", NoticeIssuedV1),
        EventType("RemediationPlanRecorded", "einspection.hazard.plan-recorded.v1", "hazard",
                  RemediationPlanRecordedV1),
        EventType("HazardVerified", "einspection.hazard.verified.v1", "hazard",
                  HazardVerifiedV1),
        EventType("HazardReturned", "einspection.hazard.returned.v1", "hazard",
                  HazardReturnedV1),
        EventType("HazardOverdue", "einspection.hazard.overdue.v1", "hazard", HazardOverdueV1),
        EventType("HazardAssigned", "einspection.hazard.assigned.v1", "hazard",
                  HazardAssignedV1),
        EventType("HazardRectificationDue", "einspection.hazard.rectification-due.v1", "hazard",
                  HazardRectificationDueV1),
        EventType("HazardEscalated", "einspection.hazard.escalated.v1", "hazard",
                  HazardEscalatedV1),
        EventType("HazardListed", "einspection.hazard.listed.v1", "hazard", HazardListedV1),
        EventType("HazardListingDue", "einspection.hazard.listing-due.v1", "hazard",
                  HazardListingDueV1),
        EventType("HazardDelisted", "einspection.hazard.delisted.v1", "hazard",
                  HazardDelistedV1),
        EventType("EvidenceStored", "einspection.evidence.stored.v1", "hazard",
                  EvidenceStoredV1, public=False),
        EventType("ChecklistPublished", "einspection.checklist.published.v1", "checklist",
                  ChecklistPublishedV1),
        EventType("PositionRegistered", "einspection.position.registered.v1", "checklist",
                  PositionRegisteredV1),
        EventType("PositionScanned", "einspection.position.scanned.v1", "checklist",
                  PositionScannedV1),
        EventType("PositionUpdated", "einspection.position.updated.v1", "checklist",
                  PositionUpdatedV1),
        EventType("PositionRetired", "einspection.position.retired.v1", "checklist",
                  PositionRetiredV1),
        EventType("ChecklistDraftSaved", "einspection.checklist.draft-saved.v1", "checklist",
                  ChecklistDraftSavedV1, public=False),
        EventType("PositionCodeIssued", "einspection.position.code-issued.v1", "checklist",
                  PositionCodeIssuedV1, public=False),
        EventType("SafetyActionRecorded", "einspection.safety-action.recorded.v1", "checklist",
                  SafetyActionRecordedV1),
        EventType("InspectionScheduled", "einspection.schedule.scheduled.v1", "checklist",
                  InspectionScheduledV1),
        EventType("ScheduleEnded", "einspection.schedule.ended.v1", "checklist",
                  ScheduleEndedV1),
        EventType("InspectionRoundDone", "einspection.schedule.round-done.v1", "checklist",
                  InspectionRoundDoneV1),
        EventType("InspectionMissed", "einspection.schedule.round-missed.v1", "checklist",
                  InspectionMissedV1),
        EventType("AccountCreated", "einspection.account.created.v1", "checklist",
                  AccountCreatedV1, public=False),
        EventType("AccountDisabled", "einspection.account.disabled.v1", "checklist",
                  AccountDisabledV1),
        EventType("AccountPasswordChanged", "einspection.account.password-changed.v1",
                  "checklist", AccountPasswordChangedV1, public=False),
        EventType("AccountPasswordReset", "einspection.account.password-reset.v1", "checklist",
                  AccountPasswordResetV1, public=False),
        EventType("GradeStated", "einspection.grade.stated.v1", "scoring", GradeStatedV1),
        EventType("ScoringClockAdvanced", "einspection.scoring.clock-advanced.v1", "scoring",
                  ScoringClockAdvancedV1, public=False),
        EventType("NoticeRead", "einspection.notice.read.v1", "notify", NoticeReadV1),
        EventType("PublicationPublished", "einspection.publication.published.v1", "notify",
                  PublicationPublishedV1),
        EventType("RecipientSettingsChanged", "einspection.notify.recipient-settings.v1",
                  "notify", RecipientSettingsChangedV1, public=False),
        EventType("WebhookSubscribed", "einspection.notify.webhook-subscribed.v1", "notify",
                  WebhookSubscribedV1, public=False),
        EventType("WebhookCancelled", "einspection.notify.webhook-cancelled.v1", "notify",
                  WebhookCancelledV1, public=False),
        EventType("WebhookSecretRotated", "einspection.notify.webhook-secret-rotated.v1",
                  "notify", WebhookSecretRotatedV1, public=False),
        EventType("WebhookDisabled", "einspection.notify.webhook-disabled.v1", "notify",
                  WebhookDisabledV1, public=False),
        EventType("DeliveryScheduled", "einspection.notify.delivery-scheduled.v1", "notify",
                  DeliveryScheduledV1, public=False),
        EventType("DeliveryAttempted", "einspection.notify.delivery-attempted.v1", "notify",
                  DeliveryAttemptedV1, public=False),
        EventType("EstablishmentRecorded", "einspection.establishment.recorded.v1",
                  "enforcement", EstablishmentRecordedV1),
        EventType("CaseOpened", "einspection.case.opened.v1", "enforcement", CaseOpenedV1),
        EventType("CitationIssued", "einspection.case.citation-issued.v1", "enforcement",
                  CitationIssuedV1),
        EventType("CitationWithdrawn", "einspection.case.citation-withdrawn.v1",
                  "enforcement", CitationWithdrawnV1),
        EventType("PenaltyDecided", "einspection.case.penalty-decided.v1", "enforcement",
                  PenaltyDecidedV1),
        EventType("FinePaid", "einspection.case.fine-paid.v1", "enforcement", FinePaidV1),
        EventType("CitationAbated", "einspection.case.citation-abated.v1", "enforcement",
                  CitationAbatedV1),
        EventType("CitationAbatementOverdue", "einspection.case.abatement-overdue.v1",
                  "enforcement", CitationAbatementOverdueV1),
        EventType("CaseClosed", "einspection.case.closed.v1", "enforcement", CaseClosedV1),
        EventType("CampaignOpened", "einspection.campaign.opened.v1", "enforcement",
                  CampaignOpenedV1),
        EventType("CandidatesCommitted", "einspection.campaign.candidates-committed.v1",
                  "enforcement", CandidatesCommittedV1),
        EventType("TargetsDrawn", "einspection.campaign.targets-drawn.v1", "enforcement",
                  TargetsDrawnV1),
        EventType("InspectorsAssigned", "einspection.campaign.inspectors-assigned.v1",
                  "enforcement", InspectorsAssignedV1),
    ]
}
BY_TYPE = {e.type: e for e in EVENT_TYPES.values()}


@functools.lru_cache(maxsize=None)
def data_schema(name):
    """One schema instance per event: building a marshmallow schema costs more
    than using it, and an instance holds no per-call state."""
    return EVENT_TYPES[name].schema()


class ContractError(Exception):
    """A message that is not a valid event of this contract; `errors` says why."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Event:
    """One domain event in its CloudEvents envelope.

    `data` holds deserialized values (datetimes, not strings); `to_json` and
    `from_json` are the only ways in and out of the wire form.
    """
    name: str
    subject: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=utcnow)
    # metadata, carried as CloudEvents extension attributes
    actor: str = "system"
    correlation_id: str = ""
    causation_id: str = ""
    stream_id: str = ""
    stream_version: int = 0
    # the text a received event came as (from_json): what an inbox keeps
    # (eventstore.record_received) without encoding the event again
    received_json: ClassVar[Optional[str]] = None

    @property
    def type(self):
        return EVENT_TYPES[self.name].type

    @property
    def source(self):
        return "/einspection/" + EVENT_TYPES[self.name].source

    def data_json(self):
        return data_schema(self.name).dump(self.data)

    def to_dict(self):
        return {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": isoformat(self.time),
            "subject": self.subject,
            "datacontenttype": CONTENT_TYPE,
            "actor": self.actor,
            "correlationid": self.correlation_id or self.id,
            "causationid": self.causation_id or self.id,
            "streamid": self.stream_id,
            "streamversion": self.stream_version,
            "data": self.data_json(),
        }

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, envelope):
        errors = {}
        if not isinstance(envelope, dict):
            raise ContractError({"_schema": ["an event must be a JSON object"]})
        for attr in ("specversion", "id", "source", "type", "time", "subject", "data"):
            if attr not in envelope:
                errors[attr] = ["missing"]
        if errors:
            raise ContractError(errors)
        if envelope["specversion"] != SPECVERSION:
            raise ContractError({"specversion": ["must be 1.0"]})
        kind = BY_TYPE.get(envelope["type"])
        if kind is None:
            raise ContractError({"type": ["unknown event type %r" % envelope["type"]]})
        try:
            data = data_schema(kind.name).load(envelope["data"])
            time = parse_instant(envelope["time"])
            version = int(envelope.get("streamversion", 0))
        except ValidationError as exc:
            raise ContractError({"data": exc.messages}) from None
        except (TypeError, ValueError) as exc:
            raise ContractError({"time": [str(exc)]}) from None
        return cls(name=kind.name, subject=str(envelope["subject"]), data=data,
                   id=str(envelope["id"]), time=time,
                   actor=str(envelope.get("actor", "")),
                   correlation_id=str(envelope.get("correlationid", "")),
                   causation_id=str(envelope.get("causationid", "")),
                   stream_id=str(envelope.get("streamid", "")), stream_version=version)

    @classmethod
    def from_json(cls, body):
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError({"_body": ["not JSON: %s" % exc]}) from None
        event = cls.from_dict(envelope)
        if isinstance(body, str):
            event.received_json = body
        return event

    @classmethod
    def from_stored_json(cls, body):
        """An event from a body that was validated when it was written (to_json,
        as event stores keep them; or the text an inbox received, which
        from_json validated on arrival), for replays that read
        many: nothing is validated again, only the top-level instants and days
        of `data` are parsed (nested values, decimals and floats stay as the
        JSON has them). A body missing a field that has a default, or of a type
        this contract does not know, is read by `from_json` instead, so the
        fields a reader takes are the same either way."""
        envelope = json.loads(body)
        kind = BY_TYPE.get(envelope.get("type"))
        if kind is None:
            return cls.from_json(body)
        parsers, defaulted = _stored_readers(kind.name)
        data = envelope["data"]
        if not defaulted.issubset(data):
            return cls.from_json(body)
        for key, parse in parsers:
            value = data.get(key)
            if value is not None:
                data[key] = parse(value)
        return cls(name=kind.name, subject=envelope["subject"], data=data,
                   id=envelope["id"], time=parse_instant(envelope["time"]),
                   actor=envelope.get("actor", ""),
                   correlation_id=envelope.get("correlationid", ""),
                   causation_id=envelope.get("causationid", ""),
                   stream_id=envelope.get("streamid", ""),
                   stream_version=int(envelope.get("streamversion", 0)))


@functools.lru_cache(maxsize=None)
def _stored_readers(name):
    """For Event.from_stored_json: the (field, parser) pairs of an event's
    top-level instants and days, and the fields that have a default. An event
    with a temporal field of another kind is always read by from_json (an
    empty set of defaults it can never satisfy: None)."""
    parsers = []
    for key, declared in data_schema(name).fields.items():
        if type(declared) is Instant:
            parsers.append((key, parse_instant))
        elif type(declared) in (Day, fields.Date):
            parsers.append((key, date.fromisoformat))
        elif isinstance(declared, (fields.DateTime, fields.Date, fields.Time)):
            return (), _NEVER
    defaulted = frozenset(key for key, declared in data_schema(name).fields.items()
                          if declared.load_default is not missing)
    return tuple(parsers), defaulted


class _Never(frozenset):
    """A set of required keys no dict has."""

    def issubset(self, other):
        return False


_NEVER = _Never()


def new_event(name, data, *, actor, correlation_id="", causation_id="", time=None):
    """Build an event from command-side values, validated against its schema
    and in the canonical shape every reader will see (defaults filled in).
    `actor` is who acted (einspection.acting): an event without one is a bug."""
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("event %s needs its actor (einspection.acting)" % name)
    schema = data_schema(name)
    try:
        data = schema.load(schema.dump(data))
    except ValidationError as exc:
        raise ContractError(exc.messages) from None
    return Event(name=name, subject=data.get("enterprise_id") or UNIVERSAL, data=data,
                 actor=actor, correlation_id=correlation_id, causation_id=causation_id,
                 time=time or utcnow())


@functools.lru_cache(maxsize=None)
def _schema_instance(schema_class):
    return schema_class()


UNSTORABLE_TEXT = "must not contain NUL characters or unpaired surrogates"


def unstorable(text):
    """Whether `text` holds what no database takes: a NUL character (PostgreSQL
    refuses it) or an unpaired UTF-16 surrogate (JSON can carry one, UTF-8
    cannot encode it)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_text(value):
    """Where in a decoded JSON value there is unstorable text, in marshmallow's
    error shape ({field: [reason]}, list positions as keys); {} if nowhere."""
    if isinstance(value, str):
        return [UNSTORABLE_TEXT] if unstorable(value) else {}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {}
    problems = {}
    for key, item in items:
        if isinstance(key, str) and unstorable(key):
            problems["_body"] = ["a field name " + UNSTORABLE_TEXT]
            continue
        found = unstorable_text(item)
        if found:
            problems[key] = found
    return problems


def load_command(schema, payload):
    """Validate a command payload; bad input raises InvalidCommand {field: reasons}.
    `schema` is a Schema class (one cached instance is used) or an instance."""
    from .errors import InvalidCommand
    if isinstance(schema, type):
        schema = _schema_instance(schema)
    if not isinstance(payload, dict):
        raise InvalidCommand({"_body": ["must be a JSON object"]})
    problems = unstorable_text(payload)
    if problems:
        raise InvalidCommand(problems)
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidCommand(exc.messages) from None
