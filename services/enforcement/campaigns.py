"""The campaign aggregate: an enforcement campaign (专项执法检查) from its
notice to the draw of its targets and their inspectors. Command methods
check the rules, then record past-tense events; no I/O here (the service
loads the campaign's events, runs a command, appends what it recorded).

    opened ──commit──▶ committed ──draw (seed)──▶ drawn ──assign──▶ assigned

| command | event | refused when |
| --- | --- | --- |
| `open` | CampaignOpened | a period that ends before it starts; quotas that do not add up to the targets; no quotas and no enterprise to share the targets by; a mandatory enterprise unknown or listed twice, more mandatory ones in a town than its quota, or too many for the random share (`min_random_share`, at least 70 % by default) |
| `commit` | CandidatesCommitted | committed before (the snapshot is fixed once); fewer inspectors in the pool than `per_target` |
| `draw_targets` | TargetsDrawn | not committed; drawn before |
| `assign` | InspectorsAssigned | not drawn; assigned before; a target that cannot get `per_target` inspectors without a conflict |

Commit, then reveal: the candidate snapshot and the inspector draw's input
(the pool of inspector accounts, the conflicts, inspectors per target) and
their SHA-256 are recorded (and published on the bus) before the seed is
given, so nobody can choose a seed for a snapshot or a snapshot — or an
inspector — for a seed. The draw is then a pure function of the snapshot,
the algorithm and the seed (draw.py), and so is the assignment of
inspectors: `record()` holds all of it, and `draw.verify(record)` re-runs it
anywhere.

Only the authority's accounts act on campaigns (`require_authority`)."""
import uuid
from decimal import Decimal, InvalidOperation

from einspection import auth
from einspection.contract import isoformat, new_event
from einspection.errors import Conflict, Forbidden, InvalidCommand

from . import draw, quotas, weights

OPENED, COMMITTED, DRAWN, ASSIGNED = "opened", "committed", "drawn", "assigned"
STATES = (OPENED, COMMITTED, DRAWN, ASSIGNED)
DEFAULT_MIN_RANDOM_SHARE = "0.70"
TARGET_KEYS = ("enterprise_id", "town", "mandatory", "key")    # what draw.draw returns


def stream_id(campaign_id):
    return "campaign-" + campaign_id


def require_authority(acting, what="campaigns"):
    """Campaigns and cases are the authority's legal acts."""
    if acting.role not in auth.AUTHORITY_ROLES:
        raise Forbidden("%s may not act on %s: they are the authority's"
                        % (auth.a_role(acting.role), what))


def min_random_share(text):
    """ENFORCEMENT_MIN_RANDOM_SHARE: the least share of a plan drawn at
    random, a decimal from 0 to 1 (some provinces require 0.70)."""
    try:
        share = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError("ENFORCEMENT_MIN_RANDOM_SHARE must be a decimal from 0 to 1, not %r"
                         % (text,)) from None
    if not share.is_finite() or not 0 <= share <= 1:
        raise ValueError("ENFORCEMENT_MIN_RANDOM_SHARE must be from 0 to 1, not %r" % (text,))
    return share


class Campaign:
    def __init__(self, campaign_id):
        self.id = campaign_id
        self.version = 0
        self.state = None
        self.opened = None           # CampaignOpened's data, with opened_by
        self.commitment = None       # CandidatesCommitted's, with committed_by
        self.drawing = None          # TargetsDrawn's, with drawn_by
        self.assignment = None       # InspectorsAssigned's, with assigned_by
        self.history = []            # (event name, time, actor)
        self.pending = []

    @classmethod
    def from_history(cls, campaign_id, events):
        campaign = cls(campaign_id)
        for event in events:
            campaign._apply(event)
            campaign.version = event.stream_version
        return campaign

    def _apply(self, event):
        data = dict(event.data)
        self.history.append((event.name, event.time, event.actor))
        if event.name == "CampaignOpened":
            self.state, self.opened = OPENED, dict(data, opened_by=event.actor)
        elif event.name == "CandidatesCommitted":
            self.state, self.commitment = COMMITTED, dict(data, committed_by=event.actor)
        elif event.name == "TargetsDrawn":
            self.state, self.drawing = DRAWN, dict(data, drawn_by=event.actor)
        elif event.name == "InspectorsAssigned":
            self.state, self.assignment = ASSIGNED, dict(data, assigned_by=event.actor)

    def _record(self, name, data, acting, now):
        event = new_event(name, dict(data, campaign_id=self.id), actor=acting.actor,
                          correlation_id=acting.correlation_id,
                          causation_id=acting.causation_id, time=now)
        self._apply(event)
        self.pending.append(event)
        return event

    def _conflict(self, message):
        return Conflict("campaign %s is %s; %s" % (self.id, self.state, message),
                        {"state": self.state})

    # --- commands ----------------------------------------------------------------------
    @classmethod
    def open(cls, command, acting, *, now, directory, town_counts, min_share):
        """A new campaign. `directory`: {enterprise_id: {town, ...}} of the
        register as the service knows it; `town_counts`: its enterprises per
        town (the basis of proportional quotas); `min_share`: the least
        random share of the plan (a Decimal)."""
        require_authority(acting)
        problems = {}
        if command["period_end"] < command["period_start"]:
            problems["period_end"] = ["is before period_start"]
        targets = command["targets"]
        given = command.get("quotas")
        if given:
            basis, counts, shares = "given", {}, dict(given)
            if sum(shares.values()) != targets:
                problems["quotas"] = ["add up to %d, not to the %d targets"
                                      % (sum(shares.values()), targets)]
        else:
            basis, counts = "proportional", dict(town_counts)
            if not counts:
                problems["quotas"] = ["no enterprise is registered to share the targets by "
                                      "town: give the quotas"]
                shares = {}
            else:
                shares = _proportional_shares(targets, counts, command.get("mandatory") or [],
                                              directory)
        mandatory = list(command.get("mandatory") or [])
        problems.update(_mandatory_problems(mandatory, directory, shares, targets, min_share))
        if problems:
            raise InvalidCommand(problems)
        campaign = cls(str(uuid.uuid4()))
        campaign._record("CampaignOpened", {
            "name": command["name"], "legal_basis": command["legal_basis"],
            "period_start": command["period_start"], "period_end": command["period_end"],
            "targets": targets, "quotas": shares, "quota_basis": basis, "town_counts": counts,
            "mandatory": mandatory, "min_random_share": str(min_share),
            "conflicts": list(command.get("conflicts") or []),
            "per_target": command["per_target"], "opened_at": now}, acting, now)
        return campaign

    def candidate_snapshot(self, facts_list, today):
        """The candidate snapshot of the campaign as the facts stand on `today`."""
        opened = self.opened
        return weights.snapshot(self.id, opened["targets"], opened["quotas"], facts_list,
                                opened["mandatory"], today)

    def commit(self, facts_list, today, inspectors, acting, *, now):
        """Fix the candidate snapshot and the inspector pool (`inspectors`:
        the authority's inspector accounts' usernames, as the register has
        them) and publish their digests, before any seed."""
        require_authority(acting)
        if self.state != OPENED:
            raise self._conflict("its candidates were committed on %s; a snapshot is fixed "
                                 "once" % isoformat(self.commitment["committed_at"]))
        per_target, conflicts = self.opened["per_target"], list(self.opened["conflicts"])
        pool = sorted(set(inspectors))
        if len(pool) < per_target:
            raise self._conflict("%d inspectors are drawn per target and the authority has "
                                 "%d inspector accounts" % (per_target, len(pool)))
        try:
            snapshot = self.candidate_snapshot(facts_list, today)
        except draw.DrawError as exc:
            raise self._conflict("its candidates cannot be taken: %s" % exc) from None
        return self._record("CandidatesCommitted", {
            "snapshot": snapshot, "snapshot_digest": draw.snapshot_digest(snapshot),
            "weights_version": snapshot.get("weights_version") or weights.WEIGHTS_VERSION,
            "as_of": today, "committed_at": now, "inspectors": pool, "conflicts": conflicts,
            "per_target": per_target,
            "assignment_digest": draw.assignment_digest(pool, conflicts, per_target)},
            acting, now)

    def draw_targets(self, command, directory, acting, *, now):
        """The draw from the committed snapshot with the revealed seed.
        `directory` gives each target's grid and name for its notices."""
        require_authority(acting)
        if self.state == OPENED:
            raise self._conflict("commit its candidates first: the snapshot's digest is "
                                 "published before the seed")
        if self.state != COMMITTED:
            raise self._conflict("its targets were drawn on %s with seed %r; a draw is made "
                                 "once" % (isoformat(self.drawing["drawn_at"]),
                                           self.drawing["seed"]))
        snapshot = self.commitment["snapshot"]
        try:
            report = draw.draw_report(snapshot, command["seed"])
        except draw.DrawError as exc:
            raise self._conflict("its snapshot cannot be drawn: %s" % exc) from None
        targets = []
        for target in report["targets"]:
            known = directory.get(target["enterprise_id"]) or {}
            targets.append(dict({key: target[key] for key in TARGET_KEYS},
                                grid=known.get("grid"), name=known.get("name")))
        return self._record("TargetsDrawn", {
            "campaign_name": self.opened["name"], "legal_basis": self.opened["legal_basis"],
            "seed": command["seed"], "seed_source": command["seed_source"],
            "algorithm": draw.ALGORITHM, "snapshot_digest": self.commitment["snapshot_digest"],
            "targets": targets, "shortfall": dict(report.get("shortfall") or {}),
            "drawn_at": now}, acting, now)

    def assign(self, acting, *, now):
        """Double random: the committed pool of inspectors drawn to the targets."""
        require_authority(acting)
        if self.state in (OPENED, COMMITTED):
            raise self._conflict("draw its targets first")
        if self.state != DRAWN:
            raise self._conflict("its inspectors were assigned on %s; an assignment is made "
                                 "once" % isoformat(self.assignment["assigned_at"]))
        commitment = self.commitment
        pool, conflicts = list(commitment["inspectors"]), list(commitment["conflicts"])
        per_target = commitment["per_target"]
        try:
            assignments = draw.assign_inspectors(self.drawn_targets(), pool, conflicts,
                                                 self.drawing["seed"], per_target=per_target)
        except draw.DrawError as exc:
            raise self._conflict("inspectors cannot be assigned: %s" % exc) from None
        return self._record("InspectorsAssigned", {
            "inspectors": pool, "conflicts": conflicts, "per_target": per_target,
            "assignments": assignments, "assigned_at": now}, acting, now)

    # --- what it holds -----------------------------------------------------------------
    def drawn_targets(self):
        """The targets as the draw gives them (without the notices' grid and name)."""
        return [{key: target[key] for key in TARGET_KEYS} for target in self.drawing["targets"]]

    def record(self):
        """The draw record: everything an outsider needs to re-run the draw
        and the assignment (`draw.verify`, `python -m services.enforcement.
        verify_draw`), with no database at all."""
        if self.drawing is None:
            return None
        commitment, assignment = self.commitment, self.assignment
        assigned = {} if assignment is None else {
            "inspectors": list(assignment["inspectors"]),
            "conflicts": [dict(c) for c in assignment["conflicts"]],
            "per_target": assignment["per_target"],
            "assignments": [{"enterprise_id": a["enterprise_id"],
                             "inspectors": list(a["inspectors"])}
                            for a in assignment["assignments"]]}
        record = draw.export_record(
            commitment["snapshot"], self.drawing["seed"], self.drawn_targets(), **assigned,
            campaign_id=self.id, campaign_name=self.opened["name"],
            legal_basis=self.opened["legal_basis"], seed_source=self.drawing["seed_source"],
            committed_at=isoformat(commitment["committed_at"]),
            revealed_at=isoformat(self.drawing["drawn_at"]))
        # the digests as they were published, not as the snapshot gives them now
        record["snapshot_digest"] = commitment["snapshot_digest"]
        if assignment is not None and commitment.get("assignment_digest"):
            record["assignment_digest"] = commitment["assignment_digest"]
        return record


def _proportional_shares(targets, counts, mandatory, directory):
    """Each town's mandatory enterprises plus its share of the rest of the
    plan, proportional to its other enterprises (largest remainder): a key
    list never crowds the random draw out of its own town. A list that does
    not fit (unknown ids, more than the targets) gets the plain shares and is
    refused by `_mandatory_problems`."""
    fixed = {}
    for enterprise_id in set(mandatory):
        if enterprise_id in directory:
            town = directory[enterprise_id]["town"]
            fixed[town] = fixed.get(town, 0) + 1
    rest = targets - sum(fixed.values())
    others = {town: max(0, counts.get(town, 0) - fixed.get(town, 0))
              for town in set(counts) | set(fixed)}
    if rest < 0 or (rest and not sum(others.values())):
        return quotas.largest_remainder(targets, counts)
    shares = quotas.largest_remainder(rest, others)
    return {town: shares[town] + fixed.get(town, 0) for town in others}


def _mandatory_problems(mandatory, directory, shares, targets, min_share):
    """What is wrong with a mandatory list, as {"mandatory": reasons}."""
    unknown = {index: ["no such enterprise"] for index, enterprise_id in enumerate(mandatory)
               if enterprise_id not in directory}
    if unknown:
        return {"mandatory": unknown}
    if len(set(mandatory)) != len(mandatory):
        return {"mandatory": ["lists an enterprise twice"]}
    reasons = []
    per_town = {}
    for enterprise_id in mandatory:
        town = directory[enterprise_id]["town"]
        per_town[town] = per_town.get(town, 0) + 1
    for town, count in sorted(per_town.items()):
        if count > shares.get(town, 0):
            reasons.append("%s has %d mandatory enterprises and a quota of %d"
                           % (town, count, shares.get(town, 0)))
    random_share = Decimal(targets - len(mandatory)) / Decimal(targets)
    if random_share < min_share:
        reasons.append("%d of the %d targets are mandatory: at least %s of the plan must be "
                       "drawn at random (ENFORCEMENT_MIN_RANDOM_SHARE)"
                       % (len(mandatory), targets, _percent(min_share)))
    return {"mandatory": reasons} if reasons else {}


def _percent(share):
    return "%s %%" % (share * 100).normalize()


# --- what callers see ---------------------------------------------------------------------

def _day(value):
    return value.isoformat() if value is not None else None


def summary_view(campaign):
    opened = campaign.opened
    return {"campaign_id": campaign.id, "name": opened["name"],
            "legal_basis": opened["legal_basis"], "period_start": _day(opened["period_start"]),
            "period_end": _day(opened["period_end"]), "targets": opened["targets"],
            "status": campaign.state, "opened_at": isoformat(opened["opened_at"]),
            "opened_by": opened["opened_by"]}


def view(campaign):
    """The campaign as the API shows it."""
    opened, commitment, drawing, assignment = (campaign.opened, campaign.commitment,
                                               campaign.drawing, campaign.assignment)
    answer = summary_view(campaign)
    answer.update(
        quotas=dict(opened["quotas"]), quota_basis=opened["quota_basis"],
        town_counts=dict(opened["town_counts"]), mandatory=list(opened["mandatory"]),
        min_random_share=opened["min_random_share"],
        conflicts=[dict(c) for c in opened["conflicts"]], per_target=opened["per_target"],
        commitment=None if commitment is None else {
            "snapshot_digest": commitment["snapshot_digest"],
            "inspectors": list(commitment["inspectors"]),
            "per_target": commitment["per_target"],
            "assignment_digest": commitment["assignment_digest"],
            "weights_version": commitment["weights_version"],
            "as_of": _day(commitment["as_of"]),
            "candidates": len(commitment["snapshot"].get("candidates") or []),
            "exclusions": len(commitment["snapshot"].get("exclusions") or []),
            "committed_at": isoformat(commitment["committed_at"]),
            "committed_by": commitment["committed_by"]},
        draw=None if drawing is None else {
            "seed": drawing["seed"], "seed_source": drawing["seed_source"],
            "algorithm": drawing["algorithm"], "drawn_at": isoformat(drawing["drawn_at"]),
            "drawn_by": drawing["drawn_by"],
            "targets": [dict(t) for t in drawing["targets"]],
            "shortfall": dict(drawing["shortfall"])},
        assignment=None if assignment is None else {
            "inspectors": list(assignment["inspectors"]), "per_target": assignment["per_target"],
            "conflicts": [dict(c) for c in assignment["conflicts"]],
            "assignments": [dict(a) for a in assignment["assignments"]],
            "assigned_at": isoformat(assignment["assigned_at"]),
            "assigned_by": assignment["assigned_by"]},
        history=[{"event": name, "at": isoformat(time), "actor": actor}
                 for name, time, actor in campaign.history],
        version=campaign.version)
    return answer


def candidates_view(campaign, preview=None, today=None):
    """The candidates with their weights and factors, and the exclusions with
    their reasons: the committed snapshot, or before the commit `preview`
    (a snapshot of the facts as they stand, recorded nowhere)."""
    committed = campaign.commitment is not None
    snapshot = campaign.commitment["snapshot"] if committed else preview
    return {"campaign_id": campaign.id, "committed": committed,
            "snapshot_digest": campaign.commitment["snapshot_digest"] if committed else None,
            "as_of": _day(campaign.commitment["as_of"]) if committed else _day(today),
            "weights_version": snapshot.get("weights_version"),
            "quotas": dict(snapshot.get("quotas") or {}),
            "candidates": list(snapshot.get("candidates") or []),
            "exclusions": list(snapshot.get("exclusions") or [])}
