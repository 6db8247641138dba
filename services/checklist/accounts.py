"""Accounts of the register: who may log in, with which role, over which
enterprise, grid, town or grant — and the scope that follows from it.

An account is a stream of private events (its password hash never goes on
the bus): AccountCreated, AccountDisabled, AccountPasswordChanged (by the
account itself), AccountPasswordReset (a temporary password set by an admin
or the enterprise's manager, to be changed at the next login). Who may
create which account:
- an authority admin: any account;
- an enterprise manager: staff and managers of their own enterprise.

Usernames are case-insensitive (`Admin` is `admin`) and unique as such. An
enterprise account's username is `<account prefix>.<name>`, the prefix
being its enterprise's (unique in the register, e.g. `baide.li`), and no
other account may start with an enterprise's prefix: so the only username a
manager can find taken is one of its own enterprise's, which it may list
anyway — creating accounts tells it nothing about other enterprises.
Passwords follow the policy of `passwords`.

The scope of a principal is what it may see: every enterprise (authority,
an integrator granted '*'), or a set of enterprise ids (its own enterprise,
its grid's, its town's, or an integrator's grant)."""
import uuid

from sqlalchemy import select

from einspection import auth, paging
from einspection import scope as tenancy
from einspection.contract import isoformat, new_event
from einspection.errors import Conflict, Forbidden, InvalidCommand, NotAuthenticated, NotFound

from . import passwords, projections

accounts = projections.accounts


def stream_id(account_id):
    return "account-" + account_id


def username_key(username):
    """What makes two usernames the same: they differ only in case."""
    return username.lower()


def prefix_in_use(conn, prefix):
    """Whether an account's username already starts with `prefix` and a dot."""
    return conn.execute(select(accounts.c.account_id).where(
        accounts.c.username_key.startswith(prefix.lower() + ".", autoescape=True))
        .limit(1)).first() is not None


def find_by_username(conn, username):
    return conn.execute(select(accounts).where(
        accounts.c.username_key == username_key(username))).first()


def _check_anchor(conn, command):
    """Each role names what it is anchored to, and only that."""
    role = command["role"]
    needs = {"enterprise_staff": "enterprise_id", "enterprise_manager": "enterprise_id",
             "grid_officer": "grid", "town_officer": "town", "integrator": "grants"}.get(role)
    errors = {}
    for key in ("enterprise_id", "grid", "town", "grants"):
        if key == needs and not command.get(key):
            errors[key] = ["required for %s" % auth.a_role(role)]
        elif key != needs and command.get(key):
            errors[key] = ["not for %s" % auth.a_role(role)]
    if not errors and needs == "enterprise_id" and projections.find_enterprise(
            conn, command["enterprise_id"]) is None:
        errors["enterprise_id"] = ["no such enterprise"]
    if errors:
        raise InvalidCommand(errors)


def _check_namespace(conn, command):
    """An enterprise account's username starts with its enterprise's
    account prefix and a dot; no other account's starts with any."""
    key = username_key(command["username"])
    if command["role"] in auth.ENTERPRISE_ROLES:
        prefix = projections.find_enterprise(conn, command["enterprise_id"]).account_prefix
        if not key.startswith(prefix + ".") or key == prefix + ".":
            raise InvalidCommand({"username": [
                "must be %s.<name>: an enterprise's accounts start with its account prefix "
                "(%s)" % (prefix, prefix)]})
    elif "." in key and projections.find_by_account_prefix(conn, key.split(".", 1)[0]):
        raise InvalidCommand({"username": [
            "%s. is an enterprise's account prefix: only its own accounts start with it"
            % key.split(".", 1)[0]]})


def create(conn, command, creator, now):
    """Record a new account; `creator` is the Principal asking (None: the
    command line, bootstrapping the first admin)."""
    if creator is not None:
        allowed = (creator.role == "authority_admin" or (
            creator.role == "enterprise_manager" and command["role"] in auth.ENTERPRISE_ROLES
            and command.get("enterprise_id") == creator.enterprise_id))
        if not allowed:
            raise Forbidden("%s may not create %s account" % (
                auth.a_role(creator.role), auth.a_role(command["role"])))
    _check_anchor(conn, command)
    _check_namespace(conn, command)
    if find_by_username(conn, command["username"]) is not None:
        raise Conflict("username %s is taken" % command["username"])
    account_id = str(uuid.uuid4())
    event = new_event("AccountCreated", {
        "account_id": account_id, "username": command["username"], "role": command["role"],
        "enterprise_id": command.get("enterprise_id"), "grid": command.get("grid"),
        "town": command.get("town"), "grants": command.get("grants") or [],
        "display_name": command.get("display_name") or "",
        "password_hash": auth.hash_password(command["password"]),
    }, actor=creator.username if creator else "command-line", time=now)
    return account_id, event


def _managed(conn, account_id, by):
    """An account `by` manages: an admin any, a manager its enterprise's;
    another enterprise's is as absent as a missing one."""
    row = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
    if row is None or (by.role != "authority_admin" and not (
            by.role == "enterprise_manager" and row.enterprise_id == by.enterprise_id)):
        raise NotFound("account", account_id)
    return row


def disable(conn, account_id, reason, by, now):
    """AccountDisabled: no new logins (a token already issued lives out its
    TTL). An admin disables any account, a manager those of its enterprise."""
    row = _managed(conn, account_id, by)
    if row.account_id == by.account_id:
        raise Conflict("an account cannot disable itself")
    if row.disabled:
        return None
    return new_event("AccountDisabled", {"account_id": account_id, "reason": reason,
                                         "enterprise_id": row.enterprise_id,
                                         "username": row.username},
                     actor=by.username, time=now)


def reset_password(conn, account_id, password_hash, by, now):
    """AccountPasswordReset: a temporary password (hashed by the caller) the
    account must change at its next login. An admin resets any account's, a
    manager those of its enterprise; one's own is changed, not reset. `by`
    None: the command line (an operator on the register's database)."""
    if by is None:
        row = find(conn, account_id)
    else:
        row = _managed(conn, account_id, by)
        if row.account_id == by.account_id:
            raise Conflict("an account does not reset its own password: change it with "
                           "POST /api/v1/auth/password")
    return new_event("AccountPasswordReset", {
        "account_id": account_id, "password_hash": password_hash,
        "enterprise_id": row.enterprise_id},
        actor=by.username if by is not None else "command-line", time=now)


def check_current_password(conn, principal, password):
    """The account of `principal`, if `password` is its current one (else a
    400 on old_password: a 401 would read as a dead session)."""
    row = conn.execute(select(accounts).where(
        accounts.c.account_id == principal.account_id)).first()
    if row is None or row.disabled:
        raise NotAuthenticated("the account is disabled" if row is not None
                               else "no such account")
    if not auth.check_password(password, row.password_hash):
        raise InvalidCommand({"old_password": ["is not the account's current password"]})
    return row


def check_new_password(row, new_password):
    """A 400 on new_password naming each rule it breaks: the policy, and it must be new."""
    errors = passwords.problems(new_password, row.username)
    if auth.check_password(new_password, row.password_hash):
        errors.append("must differ from the current password")
    if errors:
        raise InvalidCommand({"new_password": errors})


def password_changed(row, password_hash, now):
    return new_event("AccountPasswordChanged", {
        "account_id": row.account_id, "password_hash": password_hash,
        "enterprise_id": row.enterprise_id}, actor=row.username, time=now)


def principal_of(row):
    return auth.Principal(account_id=row.account_id, username=row.username, role=row.role,
                          enterprise_id=row.enterprise_id, grid=row.grid, town=row.town,
                          grants=tuple(row.grants.split()),
                          must_change_password=row.must_change_password)


def authenticate(conn, username, password):
    row = find_by_username(conn, username)
    # hash anyway when the name is unknown: the answer takes as long either way
    stored = row.password_hash if row is not None else _DUMMY_HASH
    if not auth.check_password(password, stored) or row is None or row.disabled:
        raise NotAuthenticated()
    return principal_of(row)


_DUMMY_HASH = auth.hash_password("not a password anyone has")


def view(row):
    return {"account_id": row.account_id, "username": row.username, "role": row.role,
            "enterprise_id": row.enterprise_id, "grid": row.grid, "town": row.town,
            "grants": row.grants.split(), "display_name": row.display_name,
            "disabled": row.disabled, "must_change_password": row.must_change_password,
            "created_at": isoformat(row.created_at)}


def find(conn, account_id):
    row = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
    if row is None:
        raise NotFound("account", account_id)
    return row


def listing(conn, scope, query):
    """A page of the accounts of `scope`'s enterprises (None: all)."""
    statement = select(accounts)
    if scope is not None:
        statement = statement.where(accounts.c.enterprise_id.in_(scope))
    if query.get("role"):
        statement = statement.where(accounts.c.role == query["role"])
    return paging.page_of(conn, statement, query,
                          paging.ordering(accounts.c, query["sort"], accounts.c.account_id), view)


def authority_inspectors(conn):
    """The usernames of the enabled authority inspector accounts, in order:
    the pool an enforcement campaign draws its inspectors from."""
    return list(conn.execute(select(accounts.c.username).where(
        accounts.c.role == "authority_inspector", accounts.c.disabled.is_(False))
        .order_by(accounts.c.username)).scalars())


def assignable(conn, enterprise_id, username, actor=""):
    """The account `username` names, if it is an enabled account of
    `enterprise_id` (a hazard of that enterprise may be assigned to it):
    {account_id, username, enterprise_id, display_name}. Otherwise a 400 on
    `assignee`; another enterprise's account reads like a missing one."""
    row = find_by_username(conn, username)
    if row is not None and row.enterprise_id != enterprise_id:
        tenancy.log_attempt("account", username, row.enterprise_id or "-", actor)
        row = None
    if row is None:
        raise InvalidCommand({"assignee": ["no such account of the hazard's enterprise"]})
    if row.disabled:
        raise InvalidCommand({"assignee": ["the account %s is disabled" % row.username]})
    return {"account_id": row.account_id, "username": row.username,
            "enterprise_id": row.enterprise_id, "display_name": row.display_name}


def scope_of(conn, principal):
    """The enterprise ids `principal` may see, or None for all of them."""
    try:
        return auth.scope_without_register(principal)
    except LookupError:
        pass
    column = {"grid_officer": projections.enterprises.c.grid,
              "town_officer": projections.enterprises.c.town}[principal.role]
    value = principal.grid if principal.role == "grid_officer" else principal.town
    return [row.enterprise_id for row in conn.execute(
        select(projections.enterprises.c.enterprise_id).where(column == value)
        .order_by(projections.enterprises.c.enterprise_id))]
