"""Accounts of the register: who may log in, with which role, over which
enterprise, grid, town or grant — and the scope that follows from it.

An account is a stream of private events (its password hash never goes on
the bus). Who may create which account:
- an authority admin: any account;
- an enterprise manager: staff and managers of their own enterprise.
The scope of a principal is what it may see: every enterprise (authority,
an integrator granted '*'), or a set of enterprise ids (its own enterprise,
its grid's, its town's, or an integrator's grant)."""
import uuid

from sqlalchemy import select

from einspection import auth, paging
from einspection.contract import isoformat, new_event
from einspection.errors import Conflict, Forbidden, InvalidCommand, NotAuthenticated, NotFound

from . import projections

accounts = projections.accounts


def stream_id(account_id):
    return "account-" + account_id


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
    if conn.execute(select(accounts.c.account_id)
                    .where(accounts.c.username == command["username"])).first():
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


def disable(conn, account_id, reason, by, now):
    """AccountDisabled: no new logins (a token already issued lives out its
    TTL). An admin disables any account, a manager those of its enterprise."""
    row = find(conn, account_id)
    if by.role != "authority_admin" and not (
            by.role == "enterprise_manager" and row.enterprise_id == by.enterprise_id):
        raise NotFound("account", account_id)
    if row.account_id == by.account_id:
        raise Conflict("an account cannot disable itself")
    if row.disabled:
        return None
    return new_event("AccountDisabled", {"account_id": account_id, "reason": reason,
                                         "enterprise_id": row.enterprise_id,
                                         "username": row.username},
                     actor=by.username, time=now)


def principal_of(row):
    return auth.Principal(account_id=row.account_id, username=row.username, role=row.role,
                          enterprise_id=row.enterprise_id, grid=row.grid, town=row.town,
                          grants=tuple(row.grants.split()))


def authenticate(conn, username, password):
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
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
            "disabled": row.disabled, "created_at": isoformat(row.created_at)}


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
