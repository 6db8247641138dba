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
            "category": command["category"], "description": command["description"],
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
        }, acting, now)

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
        deadline_day = local_day(self.listing["deadline"], zone)
        begun = [days for days in set(reminder_days) | {0}
                 if start_of(deadline_day - timedelta(days=days), zone) <= now
                 and (self.reminded is None or days < self.reminded)]
        return min(begun) if begun else None

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
        }

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
