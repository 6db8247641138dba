"""Who may verify a hazard — accept its rectification (the hazard is closed)
or return it (open again): a versioned rule read from a JSON file, and
separation of duties, which no rule file can lift.

    check                  refused (403, with the reason) when
    role, by level         the account's role is not among the rule's roles for
                           the hazard's level (default: a general hazard by the
                           enterprise's manager or an officer; a major one by a
                           grid or town officer or the authority)
    separation of duties   the account recorded a remediation plan or a
                           rectification of this hazard, returned ones included

Which enterprises an officer or a manager may verify for is their scope, as
for every command. The file is `HAZARD_VERIFICATION_RULES` (default
`rules/verification.json`); its `version` is recorded on every
HazardVerified and HazardReturned. Plain: no nameko."""
import functools
import json
import os
from dataclasses import dataclass

from einspection.auth import ROLES, a_role
from einspection.contract import LEVELS
from einspection.errors import Forbidden

DEFAULT_RULES = os.path.join(os.path.dirname(__file__), "rules", "verification.json")
READ_ONLY_ROLES = ("integrator",)


@dataclass(frozen=True)
class VerificationRule:
    version: str
    roles: dict            # level -> the roles that may verify a hazard of that level

    @classmethod
    def from_dict(cls, data, source="the verification rule"):
        """The rule of a parsed file; ValueError says what is wrong with it."""
        def wrong(what):
            return ValueError("%s: %s" % (source, what))
        if not isinstance(data, dict) or not isinstance(data.get("version"), str) \
                or not data["version"].strip():
            raise wrong("needs a version (text)")
        levels = data.get("levels")
        if not isinstance(levels, dict) or set(levels) != set(LEVELS):
            raise wrong("needs levels for exactly %s" % ", ".join(LEVELS))
        roles = {}
        for level in LEVELS:
            listed = (levels[level] or {}).get("roles") if isinstance(levels[level], dict) \
                else None
            if not isinstance(listed, list) or not listed:
                raise wrong("levels.%s.roles must list at least one role" % level)
            unknown = [role for role in listed if role not in ROLES or role in READ_ONLY_ROLES]
            if unknown:
                raise wrong("levels.%s.roles: %s may not verify (roles: %s)"
                            % (level, ", ".join(map(str, unknown)), ", ".join(
                                r for r in ROLES if r not in READ_ONLY_ROLES)))
            roles[level] = tuple(listed)
        return cls(version=data["version"], roles=roles)

    def levels_for(self, role):
        """The levels of hazard `role` may verify under this rule."""
        return tuple(level for level in LEVELS if role in self.roles[level])

    def require_may_verify(self, hazard_id, level, acting, recorded_by):
        """Forbidden unless `acting` may verify a hazard of `level`;
        `recorded_by` maps each account that planned or rectified the hazard
        to what it recorded."""
        allowed = self.roles[level]
        if acting.role not in allowed:
            raise Forbidden("%s may not verify a %s hazard: under verification rule %s "
                            "that is for %s" % (a_role(acting.role) if acting.role
                                                else "a service", level, self.version,
                                                " or ".join(a_role(role) for role in allowed)))
        if acting.actor in recorded_by:
            raise Forbidden("%s recorded %s of hazard %s, so another account must verify it: "
                            "the people who planned or rectified a hazard do not sign it off "
                            "(verification rule %s)" % (acting.actor, recorded_by[acting.actor],
                                                        hazard_id, self.version))


@functools.lru_cache(maxsize=4)
def load(path=None):
    path = path or DEFAULT_RULES
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except ValueError as exc:
            raise ValueError("%s: not JSON: %s" % (path, exc)) from None
    return VerificationRule.from_dict(data, source=path)
