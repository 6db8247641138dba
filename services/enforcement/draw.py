"""The campaign's draw: a pure function of a recorded input, so anyone can
re-run it — the candidate snapshot, the algorithm's version and a seed.

| step | what | how |
| --- | --- | --- |
| commit | `snapshot_digest(snapshot)` | SHA-256 of the canonical JSON of the snapshot (and `assignment_digest` of the inspectors, conflicts and `per_target`), published before the seed is fixed |
| reveal | the seed | fixed afterwards, e.g. from a public lottery result the campaign names |
| targets | `draw(snapshot, seed)` | per town: the mandatory candidates first, then weighted sampling without replacement (Efraimidis–Spirakis) up to the town's quota |
| inspectors | `assign_inspectors(targets, …)` | `per_target` inspectors per target, never against a conflict, the most even load the conflicts allow, ties by the seed |
| verify | `verify(record)` | re-runs both from the record and compares, and recomputes the digests |

Efraimidis–Spirakis, with every number exact and the same on any machine:

    h_i   = SHA-256(seed ‖ 0x00 ‖ enterprise_id_i)          as a 256-bit integer
    u_i   = (h_i + 1) / (2^256 + 1)                          in (0, 1), never 0 nor 1
    w_i   = weight_i / 1000                                  (weights are integer milli-units)
    key_i = ln(u_i) / w_i                                    (= ln of u_i^(1/w_i), same order)

and the town's `quota − mandatory` largest keys win. Each operation is a
`decimal` operation in the fixed context `CONTEXT` (50 significant digits,
half-even): the decimal module's division and `ln` are correctly rounded,
so the key is the same decimal string in any Python on any machine; no
float, no process-global random state. Equal keys (never seen in practice)
fall to the smaller enterprise id.

Why this is a weighted draw: P(i is drawn before j) = w_i / (w_i + w_j) for
u uniform, i.e. an enterprise of twice the weight is twice as likely to be
the first drawn (Efraimidis & Spirakis 2006, "Weighted random sampling with a
reservoir").
"""
import decimal
import hashlib
import json
from collections import defaultdict
from datetime import datetime

ALGORITHM = "es-sha256-v1"
CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN, Emin=-999999,
                          Emax=999999, capitals=1, clamp=0,
                          traps=[decimal.InvalidOperation, decimal.DivisionByZero,
                                 decimal.Overflow])
_DENOMINATOR = decimal.Decimal(2 ** 256 + 1)
_MILLI = decimal.Decimal(1000)


class DrawError(ValueError):
    """A snapshot, a record or an assignment that cannot be drawn from, with the reason."""


def canonical(obj):
    """The bytes that are hashed: JSON with sorted keys, no spaces, UTF-8 as is.
    Floats are refused: a draw's input is exact (weights are integer milli-units)."""
    def no_floats(value, where):
        if isinstance(value, float):
            raise DrawError("%s: a float (%r) has no exact canonical form; use an integer "
                            "or a decimal string" % (where, value))
        if isinstance(value, dict):
            for key, item in value.items():
                no_floats(item, "%s.%s" % (where, key))
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                no_floats(item, "%s[%d]" % (where, index))
    no_floats(obj, "$")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def snapshot_digest(snapshot):
    return hashlib.sha256(canonical(snapshot)).hexdigest()


def assignment_digest(inspectors, conflicts, per_target):
    """The commitment to the inspector draw's input, published with the snapshot's."""
    return hashlib.sha256(canonical({"inspectors": list(inspectors),
                                     "conflicts": list(conflicts),
                                     "per_target": per_target})).hexdigest()


def _hash_int(*parts):
    return int.from_bytes(hashlib.sha256("\x00".join(parts).encode("utf-8")).digest(), "big")


def es_key(seed, enterprise_id, weight):
    """The Efraimidis–Spirakis key ln(u)/w as a Decimal (the formulas above)."""
    u = CONTEXT.divide(decimal.Decimal(_hash_int(seed, enterprise_id) + 1), _DENOMINATOR)
    return CONTEXT.divide(CONTEXT.ln(u), CONTEXT.divide(decimal.Decimal(weight), _MILLI))


# --- the snapshot's shape --------------------------------------------------------------------

def _whole(value, where, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DrawError("%s: must be a whole number ≥ %d, not %r" % (where, minimum, value))
    return value


def _text(value, where):
    if not isinstance(value, str) or not value:
        raise DrawError("%s: must be a non-empty text, not %r" % (where, value))
    return value


def check_snapshot(snapshot):
    """The snapshot's shape and consistency, each fault named; returns the
    candidates grouped by town. Extra keys are allowed (the digest covers them)."""
    if not isinstance(snapshot, dict):
        raise DrawError("snapshot: must be an object")
    for key in ("campaign_id", "targets", "quotas", "candidates", "exclusions",
                "weights_version"):
        if key not in snapshot:
            raise DrawError("snapshot.%s: missing" % key)
    _text(snapshot["campaign_id"], "snapshot.campaign_id")
    _text(snapshot["weights_version"], "snapshot.weights_version")
    targets = _whole(snapshot["targets"], "snapshot.targets", 0)
    quotas = snapshot["quotas"]
    if not isinstance(quotas, dict):
        raise DrawError("snapshot.quotas: must be an object {town: quota}")
    for town, quota in quotas.items():
        _text(town, "snapshot.quotas (a town)")
        _whole(quota, "snapshot.quotas.%s" % town, 0)
    if sum(quotas.values()) != targets:
        raise DrawError("snapshot.quotas: add up to %d, not to the %d targets"
                        % (sum(quotas.values()), targets))
    if not isinstance(snapshot["candidates"], list):
        raise DrawError("snapshot.candidates: must be a list")
    if not isinstance(snapshot["exclusions"], list):
        raise DrawError("snapshot.exclusions: must be a list")
    seen = {}
    by_town = defaultdict(list)
    for index, candidate in enumerate(snapshot["candidates"]):
        where = "snapshot.candidates[%d]" % index
        if not isinstance(candidate, dict):
            raise DrawError(where + ": must be an object")
        enterprise_id = _text(candidate.get("enterprise_id"), where + ".enterprise_id")
        town = _text(candidate.get("town"), where + ".town")
        _whole(candidate.get("weight"), where + ".weight", 1)
        if not isinstance(candidate.get("mandatory"), bool):
            raise DrawError(where + ".mandatory: must be true or false")
        if not isinstance(candidate.get("factors", []), list):
            raise DrawError(where + ".factors: must be a list")
        if enterprise_id in seen:
            raise DrawError("%s: enterprise %s is listed twice (%s)"
                            % (where, enterprise_id, seen[enterprise_id]))
        seen[enterprise_id] = where
        by_town[town].append(candidate)
    for index, exclusion in enumerate(snapshot["exclusions"]):
        where = "snapshot.exclusions[%d]" % index
        if not isinstance(exclusion, dict):
            raise DrawError(where + ": must be an object")
        enterprise_id = _text(exclusion.get("enterprise_id"), where + ".enterprise_id")
        _text(exclusion.get("town"), where + ".town")
        _text(exclusion.get("reason"), where + ".reason")
        if enterprise_id in seen:
            raise DrawError("%s: enterprise %s is both excluded and %s"
                            % (where, enterprise_id, seen[enterprise_id]))
        seen[enterprise_id] = where
    for town, candidates in by_town.items():
        mandatory = sum(1 for c in candidates if c["mandatory"])
        if mandatory > quotas.get(town, 0):
            raise DrawError("snapshot.quotas.%s: %d mandatory enterprises do not fit in a "
                            "quota of %d" % (town, mandatory, quotas.get(town, 0)))
    return by_town


# --- the draw --------------------------------------------------------------------------------

def _check_seed(seed, algorithm):
    if algorithm != ALGORITHM:
        raise DrawError("algorithm: %r is not known here (this is %s)" % (algorithm, ALGORITHM))
    if not isinstance(seed, str) or not seed:
        raise DrawError("seed: must be a non-empty text")


def draw_report(snapshot, seed, algorithm=ALGORITHM):
    """{"targets": [...], "shortfall": {town: missing}, "mandatory": n, "random": n}.
    A town whose quota exceeds its candidates gets them all and is in
    `shortfall` (only towns short of their quota are listed)."""
    _check_seed(seed, algorithm)
    by_town = check_snapshot(snapshot)
    targets, shortfall = [], {}
    for town in sorted(snapshot["quotas"]):
        quota = snapshot["quotas"][town]
        keyed = sorted(((es_key(seed, c["enterprise_id"], c["weight"]), c)
                        for c in by_town.get(town, ())),
                       key=lambda pair: (-pair[0], pair[1]["enterprise_id"]))
        chosen = [pair for pair in keyed if pair[1]["mandatory"]]
        chosen += [pair for pair in keyed if not pair[1]["mandatory"]][:quota - len(chosen)]
        if len(chosen) < quota:
            shortfall[town] = quota - len(chosen)
        targets += [{"enterprise_id": c["enterprise_id"], "town": town,
                     "mandatory": c["mandatory"], "key": str(key)} for key, c in chosen]
    mandatory = sum(1 for target in targets if target["mandatory"])
    return {"targets": targets, "shortfall": shortfall, "mandatory": mandatory,
            "random": len(targets) - mandatory}


def draw(snapshot, seed, algorithm=ALGORITHM):
    """The targets, town by town (towns in code point order), each town's
    mandatory ones first, then the drawn ones, each part by key, largest first."""
    return draw_report(snapshot, seed, algorithm)["targets"]


# --- the inspectors (double random) ----------------------------------------------------------

def _check_assignment_input(targets, inspectors, conflicts, seed, per_target):
    if not isinstance(seed, str) or not seed:
        raise DrawError("seed: must be a non-empty text")
    _whole(per_target, "per_target", 1)
    if not isinstance(inspectors, list) or not all(isinstance(i, str) and i for i in inspectors):
        raise DrawError("inspectors: must be a list of account names")
    if len(set(inspectors)) != len(inspectors):
        raise DrawError("inspectors: an account is listed twice")
    if not isinstance(targets, list):
        raise DrawError("targets: must be a list")
    ids = []
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise DrawError("targets[%d]: must be an object" % index)
        ids.append(_text(target.get("enterprise_id"), "targets[%d].enterprise_id" % index))
    if len(set(ids)) != len(ids):
        raise DrawError("targets: an enterprise is listed twice")
    if not isinstance(conflicts, list):
        raise DrawError("conflicts: must be a list")
    barred = set()
    for index, conflict in enumerate(conflicts):
        if not isinstance(conflict, dict):
            raise DrawError("conflicts[%d]: must be an object" % index)
        barred.add((_text(conflict.get("inspector"), "conflicts[%d].inspector" % index),
                    _text(conflict.get("enterprise_id"), "conflicts[%d].enterprise_id" % index)))
    return ids, barred


def assign_inspectors(targets, inspectors, conflicts, seed, per_target=2):
    """[{"enterprise_id", "inspectors": [...]}] in the targets' order.

    Never an inspector against a conflict {"inspector", "enterprise_id",
    "reason"}; `per_target` distinct inspectors per target (DrawError when a
    target has fewer eligible ones); the most even load the conflicts allow.

    1. Greedy, the targets with the fewest eligible inspectors first: each
       takes the least loaded eligible inspectors, ties by the lower
       SHA-256(seed ‖ 0x00 ‖ enterprise_id ‖ 0x00 ‖ inspector).
    2. Then, while an inspector of load L can hand one target to an
       inspector of load ≤ L − 2 along a chain of swaps (each inspector on the
       chain gives up one target and takes another it may inspect), do it.
       With none left the load vector has the least sum of squares, which on
       these assignments also means the least possible max − min (the loads
       form the bases of a polymatroid); without conflicts max − min ≤ 1.
    """
    ids, barred = _check_assignment_input(targets, inspectors, conflicts, seed, per_target)
    rank = {(t, i): _hash_int(seed, t, i) for t in ids for i in inspectors}
    eligible = {t: [i for i in inspectors if (i, t) not in barred] for t in ids}
    for t in ids:
        if len(eligible[t]) < per_target:
            raise DrawError("targets: enterprise %s has %d inspector(s) without a conflict, "
                            "needs %d" % (t, len(eligible[t]), per_target))
    load = {i: 0 for i in inspectors}
    assigned = {}
    position = {t: n for n, t in enumerate(ids)}
    for t in sorted(ids, key=lambda t: (len(eligible[t]), position[t])):
        picked = sorted(eligible[t], key=lambda i: (load[i], rank[t, i]))[:per_target]
        assigned[t] = set(picked)
        for i in picked:
            load[i] += 1
    while _improve(ids, inspectors, eligible, assigned, load, rank):
        pass
    return [{"enterprise_id": t,
             "inspectors": sorted(assigned[t], key=lambda i: rank[t, i])} for t in ids]


def _improve(ids, inspectors, eligible, assigned, load, rank):
    """One chain of swaps from a most loaded inspector to one at least two
    below, by breadth-first search; False when there is none."""
    holds = {i: [t for t in ids if i in assigned[t]] for i in inspectors}
    order = sorted(inspectors, key=lambda i: (-load[i], i))
    for start in order:
        came_from = {start: None}
        frontier = [start]
        while frontier:
            following = []
            for giver in frontier:
                for t in holds[giver]:
                    for taker in sorted(eligible[t], key=lambda i: rank[t, i]):
                        if taker in came_from or taker in assigned[t]:
                            continue
                        came_from[taker] = (giver, t)
                        if load[taker] <= load[start] - 2:
                            _apply_chain(taker, came_from, assigned, load)
                            return True
                        following.append(taker)
            frontier = following
    return False


def _apply_chain(end, came_from, assigned, load):
    taker = end
    while came_from[taker] is not None:
        giver, t = came_from[taker]
        assigned[t].discard(giver)
        assigned[t].add(taker)
        taker = giver
    load[end] += 1
    load[taker] -= 1


def loads(assignments):
    """{inspector: number of targets} of an assignment."""
    counted = defaultdict(int)
    for assignment in assignments:
        for inspector in assignment["inspectors"]:
            counted[inspector] += 1
    return dict(counted)


# --- the record, and its verification --------------------------------------------------------

def export_record(snapshot, seed, targets, assignments=None, inspectors=None, conflicts=None,
                  per_target=None, **about):
    """The record file's content: everything a re-run needs, and the
    digests that were published before the seed. `about`: what an outsider
    reads beside it (e.g. campaign_name, legal_basis, seed_source,
    committed_at, revealed_at), not used by the re-run."""
    record = dict(about)
    record.update({"algorithm": ALGORITHM, "snapshot": snapshot,
                   "snapshot_digest": snapshot_digest(snapshot), "seed": seed,
                   "targets": targets})
    if assignments is not None:
        if not isinstance(inspectors, list):
            raise DrawError("inspectors: the record of assignments needs the inspector list")
        per_target = 2 if per_target is None else per_target
        record.update({"assignments": assignments, "inspectors": inspectors,
                       "conflicts": conflicts or [], "per_target": per_target,
                       "assignment_digest": assignment_digest(inspectors, conflicts or [],
                                                              per_target)})
    return record


def dumps_record(record):
    """The record as a file: readable JSON (the digest is of the canonical
    form, so the layout does not matter)."""
    canonical(record)
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _differences(part, recorded, recomputed):
    if not isinstance(recorded, list):
        return [{"part": part, "position": None, "recorded": recorded,
                 "recomputed": recomputed}]
    found = []
    for position in range(max(len(recorded), len(recomputed))):
        mine = recorded[position] if position < len(recorded) else None
        theirs = recomputed[position] if position < len(recomputed) else None
        if mine != theirs:
            found.append({"part": part, "position": position, "recorded": mine,
                          "recomputed": theirs})
    return found


def _commit_before_reveal(record):
    """True/False when the record states both instants (the digest must be
    published before the seed is fixed), None when it does not."""
    if record.get("committed_at") is None or record.get("revealed_at") is None:
        return None
    instants = []
    for key in ("committed_at", "revealed_at"):
        try:
            instant = datetime.fromisoformat(str(record[key]).replace("Z", "+00:00"))
        except ValueError:
            instant = None
        if instant is None or instant.utcoffset() is None:
            raise DrawError("record.%s: must be an instant with its offset, not %r"
                            % (key, record[key]))
        instants.append(instant)
    return instants[0] < instants[1]


def verify(record):
    """Re-run the draw (and the inspector assignment when recorded) from the
    record: {"identical": the recomputed lists equal the recorded ones,
    "digest_matches": the recorded digests are those of the recorded input,
    "committed_before_revealed": True/False when the record states
    `committed_at` and `revealed_at` (False is a difference), else None,
    "differences": [{"part", "position", "recorded", "recomputed"}],
    "targets": recomputed, "assignments": recomputed or None,
    "shortfall": {town: n}}. DrawError when the record cannot be re-run."""
    if not isinstance(record, dict):
        raise DrawError("record: must be an object")
    for key in ("algorithm", "snapshot", "snapshot_digest", "seed", "targets"):
        if key not in record:
            raise DrawError("record.%s: missing" % key)
    report = draw_report(record["snapshot"], record["seed"], record["algorithm"])
    differences = _differences("targets", record["targets"], report["targets"])
    digests = [("snapshot_digest", record["snapshot_digest"],
                snapshot_digest(record["snapshot"]))]
    assignments = None
    if "assignments" in record:
        for key in ("inspectors", "conflicts"):
            if key not in record:
                raise DrawError("record.%s: missing (the assignments need it)" % key)
        per_target = record.get("per_target", 2)
        assignments = assign_inspectors(report["targets"], record["inspectors"],
                                        record["conflicts"], record["seed"], per_target)
        differences += _differences("assignments", record["assignments"], assignments)
        if "assignment_digest" in record:
            digests.append(("assignment_digest", record["assignment_digest"],
                            assignment_digest(record["inspectors"], record["conflicts"],
                                              per_target)))
    identical = not differences
    order = _commit_before_reveal(record)
    if order is False:
        differences.append({"part": "committed_at", "position": None,
                            "recorded": record["committed_at"],
                            "recomputed": "before revealed_at %s" % record["revealed_at"]})
    for part, recorded, recomputed in digests:
        if recorded != recomputed:
            differences.append({"part": part, "position": None, "recorded": recorded,
                                "recomputed": recomputed})
    return {"identical": identical,
            "digest_matches": all(recorded == recomputed for _, recorded, recomputed in digests),
            "committed_before_revealed": order,
            "differences": differences, "targets": report["targets"],
            "assignments": assignments, "shortfall": report["shortfall"]}
