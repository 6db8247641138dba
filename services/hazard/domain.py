"""The hazard aggregate: command methods check the invariants, then record
past-tense events. No I/O here; the service loads and saves.

Lifecycle:

    reported ──rectify──▶ rectification_submitted ──verify──▶ closed
       ▲                        │
       │                        └──return──▶ returned ──rectify──▶ rectification_submitted …
       └─ a major hazard needs a remediation plan before its first rectification

Overdue is a flag, not a state: `mark_overdue` records HazardOverdue once, when
the deadline has passed and no rectification was submitted by the deadline.

Listed supervision (挂牌督办) is a flag too, beside the lifecycle:

    major, not closed ──list (authority)──▶ listed ──delist (authority, once closed)──▶ delisted
                                               └─ HazardListingDue once per reminder day

The authority lists a major hazard with a deadline and a responsible office;
the listing is signed off (delisted) by the authority only after the
rectification was verified (closed). Before the deadline the hazard service's
own check records HazardListingDue once per configured reminder (N days
before the deadline's day, and on that day), so that notify reminds once.

Assignment is beside the lifecycle too: the enterprise's manager, an officer
or the authority (in scope) gives an open hazard to an enabled account of its
enterprise, by a due (the rectification deadline unless sooner); a
reassignment is another HazardAssigned. The hazard service's own checks then
record, once each:

    HazardRectificationDue   per reminder day (N days before the due's day, in
                             the deployment's time zone; 0: on the day) that
                             begins after the assignment, while it is open
    HazardEscalated          once, when an assigned hazard is still open N days
                             (HAZARD_ESCALATION_DAYS) after its deadline's day

Every command takes an `Acting` (einspection.acting): its actor is the actor
of the events recorded, whatever names the command holds as data. A hazard
raised from an inspection acts as the InspectionLogged it came from; the
overdue check acts as the hazard service. Verification is allowed by the
verification rule (`verification.py`) and never to an account that planned
or rectified the hazard.
"""
import uuid
from datetime import timedelta

from einspection import auth
from einspection.acting import Acting
from einspection.contract import isoformat, new_event
from einspection.days import local_day, start_of
from einspection.errors import Conflict, Forbidden, InvalidCommand

from .categories import CATEGORIES

# Default time allowed for rectification, by level (configurable per deployment).
DEFAULT_DEADLINE_DAYS = {"general": 7, "major": 30}
CLOCK_SKEW = timedelta(minutes=5)

REPORTED = "reported"
SUBMITTED = "rectification_submitted"
CLOSED = "closed"
RETURNED = "returned"
STATES = (REPORTED, SUBMITTED, CLOSED, RETURNED)
OPEN_STATES = (REPORTED, RETURNED)           # a rectification may be submitted
# a state in a sentence: "hazard h-1 is awaiting verification; ..."
STATE_WORDS = {REPORTED: "reported", SUBMITTED: "awaiting verification of its rectification",
               CLOSED: "closed", RETURNED: "returned"}

VERIFIED, RETURN = "verified", "returned"     # outcomes of a verification

# uuid5 namespace of hazards raised from inspection items: the same item of the
# same inspection always gives the same hazard id, so it is raised only once.
INSPECTION_ITEM_NAMESPACE = uuid.UUID("5d0c7c1e-8f3b-4c39-9a43-2f1b5b8e6a10")
DESCRIPTION_MAX = 4000

SERVICE = Acting("hazard-service")     # what the hazard service does by itself
# days before a listing's deadline (its day in the deployment's time zone) that
# the enterprise, its grid and the authority are reminded; and on the day itself
DEFAULT_LISTING_REMINDER_DAYS = (7, 1)
# days before an assignment's due (its day in the deployment's time zone) that
# the assignee is reminded (0: on the day); and the days after the deadline's
# day that an assigned hazard still open is escalated to the grid
DEFAULT_REMINDER_DAYS = (3, 1, 0)
DEFAULT_ESCALATION_DAYS = 3
# who may give a hazard to a person: the enterprise's manager, an officer or the
# authority (each within its scope); staff and integrators may not
ASSIGNERS = ("enterprise_manager", "grid_officer", "town_officer") + auth.AUTHORITY_ROLES
# what recording each event makes its account, for separation of duties
FIXES = {"RemediationPlanRecorded": "a remediation plan",
         "RectificationDone": "a rectification"}


def stream_id(hazard_id):
    return "hazard-" + hazard_id


def hazard_id_for_item(inspection_id, item_id):
    return str(uuid.uuid5(INSPECTION_ITEM_NAMESPACE, "%s/%s" % (inspection_id, item_id)))


class Hazard:
    def __init__(self, hazard_id):
        self.id = hazard_id
        self.version = 0
        self.state = None
        self.reported = None
        self.enterprise_id = None
        self.level = None
        self.found_at = None
        self.deadline = None
        self.plan = None
        self.rectification = None
        self.submitted_at = None      # when the latest rectification was recorded
        self.verification = None
        self.returns = []
        self.overdue_at = None
        self.recorded_by = {}         # account -> what it recorded of the fix (a plan, ...)
        self.listing = None           # HazardListed's data, with listed_by
        self.delisting = None         # HazardDelisted's data, with delisted_by
        self.reminded = None          # the nearest reminder recorded (its days_before)
        self.assignment = None        # the latest HazardAssigned's data, with assigned_by
        self.assignment_reminded = None   # its nearest reminder recorded (days_before)
        self.escalated_at = None
        self.pending = []

    # --- rebuilding from history -------------------------------------------------
    @classmethod
    def from_history(cls, hazard_id, events):
        hazard = cls(hazard_id)
        for _ in hazard.replay(events):
            pass
        return hazard

    def replay(self, events):
        """Apply `events` one by one, yielding each with the state it led to."""
        for event in events:
            self._apply(event)
            self.version = event.stream_version
            yield event, self.state

    def _apply(self, event):
        # each part of the hazard keeps the account that recorded it (`*_by`)
        # beside the names its data holds (reporter, rectified_by, verifier)
        data = event.data
        if event.name in FIXES:
            self.recorded_by.setdefault(event.actor, FIXES[event.name])
        if event.name == "HazardReported":
            self.state = REPORTED
            self.reported = dict(data, reported_by=event.actor)
            self.enterprise_id = data["enterprise_id"]
            self.level = data["level"]
            self.found_at = data["found_at"]
            self.deadline = data["rectification_deadline"]
        elif event.name == "RemediationPlanRecorded":
            self.plan = dict(data, recorded_by=event.actor)
        elif event.name == "RectificationDone":
            self.state = SUBMITTED
            self.rectification = dict(data, submitted_by=event.actor)
            self.submitted_at = event.time
        elif event.name == "HazardVerified":
            self.state = CLOSED
            self.verification = dict(data, verified_by=event.actor)
        elif event.name == "HazardReturned":
            self.state = RETURNED
            self.returns.append(dict(data, returned_by=event.actor))
        elif event.name == "HazardOverdue":
            self.overdue_at = data["detected_at"]
        elif event.name == "HazardListed":
            self.listing = dict(data, listed_by=event.actor)
            self.delisting, self.reminded = None, None
        elif event.name == "HazardListingDue":
            self.reminded = data["days_before"]
        elif event.name == "HazardDelisted":
            self.delisting = dict(data, delisted_by=event.actor)
        elif event.name == "HazardAssigned":
            self.assignment = dict(data, assigned_by=event.actor)
            self.assignment_reminded = None       # the new assignee's reminders start afresh
        elif event.name == "HazardRectificationDue":
            self.assignment_reminded = data["days_before"]
        elif event.name == "HazardEscalated":
            self.escalated_at = data["detected_at"]

    @property
    def listed(self):
        return self.listing is not None and self.delisting is None

    def _record(self, name, data, acting, now):
        event = new_event(name, data, actor=acting.actor, correlation_id=acting.correlation_id,
                          causation_id=acting.causation_id, time=now)
        self._apply(event)
        self.pending.append(event)
        return event

    def _conflict(self, message):
        return Conflict("hazard %s is %s; %s" % (self.id, STATE_WORDS[self.state], message),
                        {"state": self.state})

    # --- commands ----------------------------------------------------------------
    @classmethod
    def report(cls, command, acting, *, now, deadline_days=None):
        """A new hazard. Its id is random for a free report and derived from
        (inspection, item) for a hazard found by an inspection."""
        days = dict(DEFAULT_DEADLINE_DAYS, **(deadline_days or {}))
        found_at = command["found_at"]
        if found_at > now + CLOCK_SKEW:
            raise InvalidCommand({"found_at": ["is in the future"]})
        deadline = command.get("rectification_deadline") or found_at + timedelta(
            days=days[command["level"]])
        if deadline <= found_at:
            raise InvalidCommand({"rectification_deadline": ["must be after found_at"]})
        inspection_id = command.get("source_inspection_id")
        item_id = command.get("source_item_id")
        if bool(inspection_id) != bool(item_id):
            missing = "source_item_id" if inspection_id else "source_inspection_id"
            raise InvalidCommand({missing: ["source_inspection_id and source_item_id "
                                            "go together"]})
        hazard_id = (hazard_id_for_item(inspection_id, item_id) if inspection_id
                     else str(uuid.uuid4()))
        hazard = cls(hazard_id)
        hazard._record("HazardReported", {
            "hazard_id": hazard.id, "enterprise_id": command["enterprise_id"],
            "position_id": command.get("position_id"), "level": command["level"],
            "hazard_type": command.get("hazard_type") or "unsafe_condition",
            # the taxonomy's key for a key, label or synonym (消防 → fire); other text as given
            "category": CATEGORIES.normalised(command["category"]),
            "description": command["description"],
            "found_at": found_at, "reported_at": now, "rectification_deadline": deadline,
            "reporter": command["reporter"], "source_inspection_id": inspection_id,
            "source_item_id": item_id, "evidence": list(command.get("evidence") or []),
            "source": command.get("source") or "report",
        }, acting, now)
        return hazard

    @classmethod
    def from_failed_item(cls, inspection, item, acting, *, now, deadline_days=None):
        """The hazard an inspection's failed item stands for; `acting`
        follows the InspectionLogged (Acting.following)."""
        description = item["prompt"]
        if item.get("note"):
            description = "%s\n%s" % (description, item["note"])
        return cls.report({
            "enterprise_id": inspection["enterprise_id"],
            "position_id": inspection["position_id"],
            "level": "major" if item.get("major") else "general",
            "category": item["category"], "description": description[:DESCRIPTION_MAX],
            "found_at": inspection["completed_at"], "reporter": inspection["inspector"],
            "source_inspection_id": inspection["inspection_id"],
            "source_item_id": item["item_id"], "evidence": item.get("photos") or [],
            "source": inspection["kind"],
        }, acting, now=now, deadline_days=deadline_days)

    def record_plan(self, command, acting, *, now):
        """A remediation plan (a later one revises it) while the hazard is open."""
        if self.state not in OPEN_STATES:
            raise self._conflict("a plan can be recorded only while it is open")
        if command["deadline"] <= self.found_at:
            raise InvalidCommand({"deadline": ["must be after the hazard was found"]})
        self._record("RemediationPlanRecorded", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id,
            **{key: command[key] for key in ("goal", "measures", "funds", "responsible_person",
                                             "deadline", "interim_measures")},
        }, acting, now)

    def submit_rectification(self, command, acting, *, now):
        if self.state not in OPEN_STATES:
            raise self._conflict("only a reported or returned hazard can be rectified")
        if self.level == "major" and self.plan is None:
            raise Conflict("hazard %s is major: record its remediation plan "
                           "(POST /api/v1/hazards/%s/plan) before the rectification"
                           % (self.id, self.id), {"state": self.state, "plan": None})
        done_at = command["done_at"]
        if done_at > now + CLOCK_SKEW:
            raise InvalidCommand({"done_at": ["is in the future"]})
        if done_at < self.found_at:
            raise InvalidCommand({"done_at": ["is before the hazard was found"]})
        self._record("RectificationDone", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id,
            "measures": command["measures"], "done_at": done_at,
            "evidence": list(command.get("evidence") or []), "cost": command.get("cost"),
            "rectified_by": command.get("rectified_by"),
        }, acting, now)

    def verify(self, command, acting, rule, *, now):
        """Accept the submitted rectification (closed) or return it (open
        again), if `rule` (a VerificationRule) lets `acting` do either."""
        if self.state != SUBMITTED:
            raise self._conflict("only a submitted rectification can be verified or returned")
        if command["outcome"] != VERIFIED and not command.get("reason"):
            raise InvalidCommand({"reason": ["required when the outcome is returned"]})
        rule.require_may_verify(self.id, self.level, acting, self.recorded_by)
        common = {"hazard_id": self.id, "enterprise_id": self.enterprise_id,
                  "verifier": command.get("verifier") or acting.actor,
                  "rule_version": rule.version}
        if command["outcome"] == VERIFIED:
            self._record("HazardVerified", dict(common, verified_at=now,
                                                comment=command.get("comment") or ""),
                         acting, now)
        else:
            self._record("HazardReturned", dict(common, returned_at=now,
                                                reason=command["reason"]), acting, now)

    def is_overdue(self, now):
        """The deadline has passed and no rectification was submitted by it.
        A closed hazard is settled and never becomes overdue afterwards."""
        if self.state is None or self.state == CLOSED or now <= self.deadline:
            return False
        if self.state == SUBMITTED and self.submitted_at <= self.deadline:
            return False
        return True

    def mark_overdue(self, now, acting=SERVICE):
        """Record HazardOverdue once; returns the event, or None if not (or already) due."""
        if self.overdue_at is not None or not self.is_overdue(now):
            return None
        return self._record("HazardOverdue", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "level": self.level,
            "rectification_deadline": self.deadline, "detected_at": now,
            "assignee": self.assignee,
        }, acting, now)

    # --- assignment, its reminders and escalation --------------------------------------
    @property
    def assignee(self):
        """The account the hazard is assigned to ({account_id, username}), or None."""
        return None if self.assignment is None else dict(self.assignment["assignee"])

    def assign(self, command, assignee, acting, *, now):
        """Give the hazard to `assignee` ({account_id, username, enterprise_id}:
        an enabled account the register vouched for), to be rectified by
        `due` (default: the rectification deadline). The same assignment
        again records nothing."""
        if acting.role not in ASSIGNERS:
            raise Forbidden("%s may not assign a hazard: the enterprise's manager, an officer "
                            "or the authority assigns it" % (auth.a_role(acting.role)
                                                             if acting.role else "the platform"))
        if self.state == CLOSED:
            raise self._conflict("a closed hazard is not assigned to anyone")
        if assignee.get("enterprise_id") != self.enterprise_id:
            raise InvalidCommand({"assignee": ["no such account of the hazard's enterprise"]})
        due = command.get("due")
        if due is None:
            due = self.deadline
        elif due <= now:
            raise InvalidCommand({"due": ["must be in the future"]})
        elif due > self.deadline:
            raise InvalidCommand({"due": ["must not be after the rectification deadline (%s)"
                                          % isoformat(self.deadline)]})
        ref = {"account_id": assignee["account_id"], "username": assignee["username"]}
        note = command.get("note") or ""
        current = self.assignment
        if current is not None and (current["assignee"], current["due"], current["note"]) == (
                ref, due, note):
            return None
        return self._record("HazardAssigned", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "assignee": ref,
            "previous_assignee": self.assignee, "due": due, "note": note, "assigned_at": now,
        }, acting, now)

    def due_assignment_reminder(self, now, reminder_days, zone):
        """The assignee's reminder due now (its days before the due's day), or
        None. Reminder N begins at the start of the due's day minus N days (in
        `zone`); only those that begin after the assignment count (the
        assignment's own notice says the due), and only the nearest begun one
        not yet recorded: a check that runs late reminds once, with the
        latest. None once the hazard is not open (rectification submitted,
        or closed) or its due has passed (then it is overdue's)."""
        assignment = self.assignment
        if assignment is None or self.state not in OPEN_STATES or now > assignment["due"]:
            return None
        return nearest_reminder(local_day(assignment["due"], zone), reminder_days, now, zone,
                                self.assignment_reminded, after=assignment["assigned_at"])

    def remind_assignee(self, now, reminder_days, zone, acting=SERVICE):
        """Record HazardRectificationDue for the reminder due now; the event or None."""
        days = self.due_assignment_reminder(now, reminder_days, zone)
        if days is None:
            return None
        due = self.assignment["due"]
        return self._record("HazardRectificationDue", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id,
            "assignee": self.assignee, "due": due, "days_before": days,
            "days_left": (local_day(due, zone) - local_day(now, zone)).days,
            "detected_at": now}, acting, now)

    def is_escalation_due(self, now, escalation_days, zone):
        """An assigned hazard, overdue and still open (nothing submitted), at
        or after the start of the deadline's day plus `escalation_days` (in
        `zone`), not escalated yet."""
        if (self.assignment is None or self.escalated_at is not None
                or self.overdue_at is None or self.state not in OPEN_STATES):
            return False
        escalation_day = local_day(self.deadline, zone) + timedelta(days=escalation_days)
        return start_of(escalation_day, zone) <= now

    def escalate(self, now, escalation_days, zone, acting=SERVICE):
        """Record HazardEscalated once; the event, or None if not (or already) due."""
        if not self.is_escalation_due(now, escalation_days, zone):
            return None
        return self._record("HazardEscalated", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "level": self.level,
            "rectification_deadline": self.deadline, "assignee": self.assignee,
            "days_overdue": (local_day(now, zone) - local_day(self.deadline, zone)).days,
            "detected_at": now}, acting, now)

    # --- listed supervision (挂牌督办) ------------------------------------------------
    def _require_authority(self, acting, what):
        role = acting.account.role if acting.account is not None else None
        if role not in auth.AUTHORITY_ROLES:
            raise Forbidden("only the authority may %s (挂牌督办); %s may not"
                            % (what, auth.a_role(role) if role else "the platform"))

    def list_for_supervision(self, command, acting, *, now):
        """The authority lists a major, open hazard: rectified by `deadline`,
        followed by `office`."""
        self._require_authority(acting, "list a hazard for supervision")
        if self.level != "major":
            raise Conflict("hazard %s is a general hazard: only a major hazard can be listed "
                           "for supervision" % self.id,
                           {"state": self.state, "level": self.level, "listed": False})
        if self.state == CLOSED:
            raise Conflict("hazard %s is closed: its rectification is verified, there is "
                           "nothing left to supervise" % self.id,
                           {"state": self.state, "level": self.level, "listed": False})
        if self.listed:
            raise Conflict("hazard %s is listed for supervision already (deadline %s, %s)"
                           % (self.id, isoformat(self.listing["deadline"]),
                              self.listing["office"]),
                           {"state": self.state, "level": self.level, "listed": True})
        if command["deadline"] <= now:
            raise InvalidCommand({"deadline": ["must be in the future"]})
        self._record("HazardListed", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "listed_at": now,
            "deadline": command["deadline"], "office": command["office"],
            "reason": command["reason"]}, acting, now)

    def delist(self, command, acting, *, now):
        """The authority's sign-off of a listing, once the rectification is verified."""
        self._require_authority(acting, "delist a hazard")
        if not self.listed:
            raise Conflict("hazard %s is not listed for supervision" % self.id,
                           {"state": self.state, "listed": False})
        if self.state != CLOSED:
            raise Conflict("delisting requires the verified rectification: hazard %s is %s"
                           % (self.id, STATE_WORDS[self.state]),
                           {"state": self.state, "listed": True})
        self._record("HazardDelisted", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "delisted_at": now,
            "note": command.get("note") or ""}, acting, now)

    def due_reminder(self, now, reminder_days, zone):
        """The reminder due now (its days before the deadline's day), or None.
        Reminder N begins at the start of the deadline's day minus N days (in
        `zone`); 0, the deadline's day, always counts. Only the nearest begun
        one is due, and only if nothing as near was recorded: a check that
        runs late reminds once with the latest, never with each it missed.
        None for a hazard no longer listed or already closed (its
        rectification is verified: only the authority's sign-off is left)."""
        if not self.listed or self.state == CLOSED:
            return None
        return nearest_reminder(local_day(self.listing["deadline"], zone),
                                set(reminder_days) | {0}, now, zone, self.reminded)

    def remind_listing(self, now, reminder_days, zone, acting=SERVICE):
        """Record HazardListingDue for the reminder due now; the event or None."""
        days = self.due_reminder(now, reminder_days, zone)
        if days is None:
            return None
        deadline = self.listing["deadline"]
        return self._record("HazardListingDue", {
            "hazard_id": self.id, "enterprise_id": self.enterprise_id, "deadline": deadline,
            "office": self.listing["office"], "days_before": days,
            "days_left": (local_day(deadline, zone) - local_day(now, zone)).days,
            "detected_at": now}, acting, now)

    # --- what callers see ------------------------------------------------------------
    def view(self):
        reported = self.reported
        return {
            "id": self.id, "enterprise_id": self.enterprise_id, "status": self.state,
            "level": self.level, "hazard_type": reported["hazard_type"],
            "category": reported["category"], "description": reported["description"],
            "position_id": reported["position_id"],
            "source": _source_view(reported),
            "evidence": list(reported["evidence"]),
            "found_at": isoformat(reported["found_at"]),
            "reported_at": isoformat(reported["reported_at"]),
            "rectification_deadline": isoformat(self.deadline),
            "reporter": reported["reporter"], "reported_by": reported["reported_by"],
            "version": self.version,
            "overdue": self.overdue_at is not None,
            "overdue_at": _iso(self.overdue_at),
            "plan": None if not self.plan else {
                "goal": self.plan["goal"], "measures": self.plan["measures"],
                "funds": str(self.plan["funds"]),
                "responsible_person": self.plan["responsible_person"],
                "deadline": isoformat(self.plan["deadline"]),
                "interim_measures": self.plan["interim_measures"],
                "recorded_by": self.plan["recorded_by"]},
            "rectification": None if not self.rectification else {
                "measures": self.rectification["measures"],
                "done_at": isoformat(self.rectification["done_at"]),
                "evidence": self.rectification["evidence"],
                "cost": _text(self.rectification.get("cost")),
                "rectified_by": self.rectification.get("rectified_by"),
                "submitted_by": self.rectification["submitted_by"]},
            "verification": None if not self.verification else {
                "verified_at": isoformat(self.verification["verified_at"]),
                "verifier": self.verification["verifier"],
                "comment": self.verification["comment"],
                "verified_by": self.verification["verified_by"],
                "rule_version": self.verification.get("rule_version")},
            "returns": [{"returned_at": isoformat(r["returned_at"]), "reason": r["reason"],
                         "verifier": r["verifier"], "returned_by": r["returned_by"],
                         "rule_version": r.get("rule_version")} for r in self.returns],
            "listed": self.listed,
            "listing": self._listing_view(),
            "assignment": self._assignment_view(),
            "escalated_at": _iso(self.escalated_at),
        }

    def _assignment_view(self):
        assignment = self.assignment
        if assignment is None:
            return None
        return {"assignee": dict(assignment["assignee"]), "due": isoformat(assignment["due"]),
                "note": assignment["note"], "assigned_by": assignment["assigned_by"],
                "assigned_at": isoformat(assignment["assigned_at"]),
                "reminded_days_before": self.assignment_reminded}

    def _listing_view(self):
        if self.listing is None:
            return None
        listing, delisting = self.listing, self.delisting or {}
        return {"listed_at": isoformat(listing["listed_at"]),
                "deadline": isoformat(listing["deadline"]), "office": listing["office"],
                "reason": listing["reason"], "listed_by": listing["listed_by"],
                "reminded_days_before": self.reminded,
                "delisted_at": _iso(delisting.get("delisted_at")),
                "note": delisting.get("note"), "delisted_by": delisting.get("delisted_by")}


def nearest_reminder(day, reminder_days, now, zone, recorded, after=None):
    """Of the reminders `reminder_days` days before `day` (each begins at the
    start of its day in `zone`), the nearest one begun by `now` (and after
    `after`) and nearer than the one `recorded` (days before, or None); None
    if there is none."""
    begun = []
    for days in set(reminder_days):
        begins = start_of(day - timedelta(days=days), zone)
        if (after is None or after < begins) and begins <= now and (
                recorded is None or days < recorded):
            begun.append(days)
    return min(begun) if begun else None


def _source_view(reported):
    """`origin` is HazardReported's `source`: a free report, or the kind of
    inspection (self, grid, enforcement) it was found by."""
    origin = reported.get("source") or "report"
    if reported.get("source_inspection_id"):
        return {"kind": "inspection", "inspection_id": reported["source_inspection_id"],
                "item_id": reported["source_item_id"], "origin": origin}
    return {"kind": "report", "origin": origin}


def _iso(moment):
    return None if moment is None else isoformat(moment)


def _text(value):
    return None if value is None else str(value)
