"""Set-ups through the HTTP API that several end-to-end tests need."""
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from einspection.auth import ENTERPRISE_ROLES
from einspection.db import make_engine
from services.checklist import projections

from . import factories
from .support import Api


def created(response, status=201):
    assert response.status_code == status, response.text
    return response.json()


def register_enterprise(api, **kwargs):
    return created(api.post("/api/v1/enterprises", factories.enterprise(**kwargs)))["id"]


def published_checklist(api, enterprise_id=None, **kwargs):
    """A published checklist; returns its published version (with items)."""
    checklist = created(api.post("/api/v1/checklists",
                                 factories.checklist(enterprise_id, **kwargs)))
    created(api.post("/api/v1/checklists/%s/publish" % checklist["id"]), 200)
    return created(api.get("/api/v1/checklists/%s/versions/1" % checklist["id"]), 200)


def position(api, enterprise_id, name="Boiler room", checklist_ids=()):
    return created(api.post("/api/v1/enterprises/%s/positions" % enterprise_id, {
        "name": name, "latitude": 30.54, "longitude": 119.96,
        "checklist_ids": list(checklist_ids)}))


def upload(api, enterprise_id, data=factories.PNG, content_type="image/png"):
    """POST /api/v1/evidence as `api`'s account, for `enterprise_id` (None: the
    account's own enterprise); the response."""
    params = {"enterprise_id": enterprise_id} if enterprise_id else None
    return api.session.post(api.base_url + "/api/v1/evidence", data=data, params=params,
                            headers={"Content-Type": content_type}, timeout=60)


def photo(api, enterprise_id, data=None):
    """The ref of a photo uploaded for `enterprise_id` (by default one of its own)."""
    return created(upload(api, enterprise_id, data or factories.unique_photo()))["ref"]


@dataclass
class Site:
    """An enterprise with a published checklist of its own and a position
    that uses it: what an inspection needs, and a photo of the enterprise's
    for the items that require one."""
    enterprise_id: str
    position_id: str
    version: dict
    photo: str = None

    def inspection(self, **kwargs):
        kwargs.setdefault("photo", self.photo)
        return factories.inspection(self.enterprise_id, self.position_id, self.version, **kwargs)


def site(api, enterprise_id=None, **enterprise_kwargs):
    enterprise_id = enterprise_id or register_enterprise(api, **enterprise_kwargs)
    version = published_checklist(api, enterprise_id)
    where = position(api, enterprise_id, checklist_ids=[version["checklist_id"]])
    return Site(enterprise_id, where["id"], version, photo(api, enterprise_id))


def username_for(api, role, enterprise_id=None):
    """A new username for an account of `role`: an enterprise account's
    starts with its enterprise's account prefix."""
    name = "%s-%s" % (role.replace("_", "."), uuid.uuid4().hex[:8])
    if role in ENTERPRISE_ROLES:
        prefix = created(api.get("/api/v1/enterprises/" + enterprise_id), 200)["account_prefix"]
        name = prefix + "." + name
    return name


def account(api, role, **anchor):
    """A new account of `role` (anchored to an enterprise_id, grid, town or
    grants), created by `api`'s account; returns the API as that account."""
    username = username_for(api, role, anchor.get("enterprise_id"))
    password = "password-" + uuid.uuid4().hex[:8]
    created(api.post("/api/v1/accounts", dict(anchor, username=username, password=password,
                                              role=role)))
    token = created(api.post("/api/v1/auth/token", {"username": username,
                                                     "password": password}), 200)["token"]
    logged_in = Api(api.base_url, token)
    logged_in.username, logged_in.password = username, password
    return logged_in


def checklist_read_models_replayed(platform):
    """(before, after): every checklist read model's rows (as text, sorted),
    and the same after a rebuild from the events — in a transaction rolled
    back, so the platform's store is left as it was."""
    def snapshot(conn):
        return {table.name: sorted(tuple(str(value) for value in row)
                                   for row in conn.execute(select(table)).all())
                for table in projections.TABLES}

    engine = make_engine(platform.database_urls["checklist"])
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            before = snapshot(conn)
            projections.rebuild(conn)
            after = snapshot(conn)
            transaction.rollback()
    finally:
        engine.dispose()
    return before, after


def position_token(platform, position_id):
    """The QR code's token is private to the checklist service: read it from
    its store, as only a test may (a phone reads it off the printed code)."""
    engine = make_engine(platform.database_urls["checklist"])
    try:
        with engine.connect() as conn:
            return conn.execute(select(projections.positions.c.token).where(
                projections.positions.c.position_id == position_id)).scalar_one()
    finally:
        engine.dispose()
