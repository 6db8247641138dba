"""Who is asking, and what they may see: accounts' roles, password hashes,
signed bearer tokens and the scope of an account.

Tokens are signed, not stored: `<payload>.<signature>`, the payload a
base64url JSON of the account's claims and an expiry, the signature
HMAC-SHA256 with the platform's secret (`AUTH_SECRET`). The gateway checks
one without a database round trip; an expired, altered or foreign token is
refused. Passwords are hashed with scrypt, salted, and compared in constant
time."""
import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

ENTERPRISE_ROLES = ("enterprise_staff", "enterprise_manager")
ROLES = ENTERPRISE_ROLES + ("grid_officer", "town_officer", "authority_inspector",
                            "authority_admin", "integrator")
AUTHORITY_ROLES = ("authority_inspector", "authority_admin")
# who reads and manages accounts: an admin any, a manager those of its enterprise
ACCOUNT_MANAGERS = ("authority_admin", "enterprise_manager")
# What each role is called in a sentence of an error ("an integrator may not ...").
ROLE_NAMES = {"enterprise_staff": "enterprise staff member",
              "enterprise_manager": "enterprise manager", "grid_officer": "grid officer",
              "town_officer": "town officer", "authority_inspector": "authority inspector",
              "authority_admin": "authority admin", "integrator": "integrator"}


def a_role(role):
    """A role in a sentence, with its article: 'an authority inspector', 'a grid officer'."""
    name = ROLE_NAMES.get(role) or str(role).replace("_", " ")
    return ("an " if name[:1] in "aeiou" else "a ") + name

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired; says which."""


@dataclass(frozen=True)
class Principal:
    """An authenticated account, as its token carries it."""
    account_id: str
    username: str
    role: str
    enterprise_id: str = None        # enterprise roles
    grid: str = None                 # grid officers
    town: str = None                 # town officers
    grants: tuple = field(default_factory=tuple)   # integrators: enterprise ids, or ("*",)
    # logged in with a temporary password: may only change it (POST /api/v1/auth/password)
    must_change_password: bool = False

    @property
    def sees_everything(self):
        return self.role in AUTHORITY_ROLES or (self.role == "integrator"
                                                and "*" in self.grants)

    def to_dict(self):
        return dict(asdict(self), grants=list(self.grants))

    @classmethod
    def from_dict(cls, data):
        return cls(**dict(data, grants=tuple(data.get("grants") or ())))


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return "scrypt$%d$%d$%d$%s$%s" % (_SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"],
                                      salt.hex(), digest.hex())


def check_password(password, stored):
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except (AttributeError, ValueError):
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                               r=int(r), p=int(p), dklen=len(digest) // 2)
    return hmac.compare_digest(candidate.hex(), digest)


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret, payload):
    return _b64(hmac.new(secret.encode("utf-8"), payload.encode("ascii"),
                         hashlib.sha256).digest())


def issue_token(principal, secret, ttl_seconds, now=None):
    """A bearer token for `principal`, valid for `ttl_seconds`; returns
    (token, expires_at)."""
    now = now or datetime.now(timezone.utc)
    expires = now + timedelta(seconds=ttl_seconds)
    claims = dict(principal.to_dict(), exp=int(expires.timestamp()), iat=int(now.timestamp()))
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return "%s.%s" % (payload, _sign(secret, payload)), expires


def verify_token(token, secret, now=None):
    """The Principal a token names; InvalidToken says why not."""
    if not token:
        raise InvalidToken("missing bearer token")
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise InvalidToken("malformed token")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise InvalidToken("invalid token signature")
    try:
        claims = json.loads(_unb64(payload))
        expires = int(claims.pop("exp"))
        claims.pop("iat", None)
        principal = Principal.from_dict(claims)
    except (ValueError, TypeError, KeyError):
        raise InvalidToken("malformed token") from None
    now = now or datetime.now(timezone.utc)
    if now.timestamp() >= expires:
        raise InvalidToken("token expired")
    if principal.role not in ROLES:
        raise InvalidToken("unknown role")
    return principal


def scope_without_register(principal):
    """The enterprise ids `principal` may see when its account alone says
    (None: all of them); LookupError when the register must be asked (the
    enterprises of a grid or a town)."""
    if principal.sees_everything:
        return None
    if principal.role in ENTERPRISE_ROLES:
        return [principal.enterprise_id]
    if principal.role == "integrator":
        return sorted(principal.grants)
    raise LookupError(principal.role)
