"""The checklist service's read models, kept in step with its own events (in
the same transaction) and rebuildable from them (`rebuild`)."""
import json
from decimal import ROUND_HALF_UP, Decimal
from datetime import timedelta, timezone

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table,
                        Text, and_, bindparam, case, func, or_, select, true, update)

from einspection import days, eventstore, paging
from einspection import scope as tenancy
from einspection.contract import ChecklistItemV1, isoformat
from einspection.figures import UNKNOWN as UNKNOWN_GROUP
from einspection.db import upsert
from einspection.errors import InvalidCommand
from einspection.projection import paged

from .checklists import content_hash
from . import schedules
from .domain import default_account_prefix

metadata = MetaData()

enterprises = Table(
    "enterprises", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("industry", String(100), nullable=False, index=True),
    Column("town", String(100), nullable=False, index=True),
    Column("grid", String(100), nullable=False, index=True),
    Column("address", String(300), nullable=False),
    Column("latitude", Float), Column("longitude", Float),
    Column("employees", Integer),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    # its accounts' usernames are <account_prefix>.<name> (services/checklist/accounts.py)
    Column("account_prefix", String(32), nullable=False, unique=True),
)

checklists = Table(
    "checklists", metadata,
    Column("checklist_id", String(64), primary_key=True),
    Column("scope", String(16), nullable=False),
    Column("enterprise_id", String(64), index=True),
    Column("industry", String(100)),
    Column("title", String(300), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("published_version", Integer),           # the latest published one
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the published version's (what is enforced); added with required frequencies
    Column("required_frequency", String(16)),
)

checklist_versions = Table(
    "checklist_versions", metadata,
    Column("checklist_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("items", Text, nullable=False),          # JSON, as in the event
    # what the version says (checklists.content_hash): a re-import finds it
    Column("content_hash", String(64), nullable=False, index=True),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("required_frequency", String(16)),       # added with required frequencies
)

positions = Table(
    "positions", metadata,
    Column("position_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("latitude", Float), Column("longitude", Float),
    Column("checklist_ids", Text, nullable=False),  # JSON list
    Column("token", String(100), unique=True),      # the current QR token: private
    Column("code_issued_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),     # of its stream
    # added with position edits: a retired position is kept, left out of listings
    Column("retired_at", DateTime(timezone=True)),
    Column("retirement_reason", Text),
)

scans = Table(
    "position_scans", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("position_id", String(64), nullable=False, index=True),
    Column("enterprise_id", String(64), nullable=False),
    Column("scanned_by", String(200), nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

inspections = Table(
    "inspections", metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), nullable=False, index=True),
    Column("checklist_id", String(64), nullable=False),
    Column("checklist_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False, index=True),
    Column("items_passed", Integer, nullable=False),
    Column("items_failed", Integer, nullable=False),
    Column("items_not_applicable", Integer, nullable=False),
    Column("inspector", String(200), nullable=False),
    Column("items", Text, nullable=False, default="[]"),  # JSON: each item with its result
    # added with enforcement: the campaign, the inspecting accounts (JSON list)
    Column("campaign_id", String(64), index=True),
    Column("inspectors", Text, nullable=False, default="[]"),
)

safety_actions = Table(
    "safety_actions", metadata,
    Column("action_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("topic", String(300), nullable=False),
    Column("held_on", Date, nullable=False, index=True),
    Column("people", Integer, nullable=False),
    Column("notes", Text, nullable=False),
    Column("recorded_by", String(200), nullable=False),       # as written: a name
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by_account", String(200), nullable=False),   # who recorded it: the event's actor
)

# Accounts of the register (services/checklist/accounts.py has their rules).
accounts = Table(
    "accounts", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("username_key", String(100), nullable=False, unique=True),  # lower case: unique as such
    Column("role", String(32), nullable=False),
    Column("enterprise_id", String(64), index=True),
    Column("grid", String(100)),
    Column("town", String(100)),
    Column("grants", Text, nullable=False),          # space-separated enterprise ids, or '*'
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("must_change_password", Boolean, nullable=False),   # a temporary one is set
    Column("created_at", DateTime(timezone=True), nullable=False),
)

TABLES = [enterprises, checklists, checklist_versions, positions, scans, inspections,
          safety_actions, accounts] + schedules.TABLES


def _columns_of(table, data):
    return {column.name: data[column.name] for column in table.columns if column.name in data}


def _items_json(items):
    return json.dumps(ChecklistItemV1(many=True).dump(items), ensure_ascii=False)


# --- keeping them in step ------------------------------------------------------------

def project(conn, event):
    handler = _HANDLERS.get(event.name)
    if handler is not None:
        handler(conn, event, event.data)


def _enterprise_registered(conn, event, data):
    # parameters, not .values(): the statement is compiled once, not per call
    conn.execute(enterprises.insert(), dict(
        _columns_of(enterprises, data),
        account_prefix=data.get("account_prefix") or default_account_prefix(data["credit_code"])))


def _draft_saved(conn, event, data):
    upsert(conn, checklists, dict(
        checklist_id=data["checklist_id"], scope=data["scope"],
        enterprise_id=data["enterprise_id"], industry=data["industry"], title=data["title"],
        latest_version=data["version"], published_version=None, updated_at=event.time),
        ["checklist_id"], ["title", "latest_version", "updated_at"])
    upsert(conn, checklist_versions, dict(
        checklist_id=data["checklist_id"], version=data["version"], status="draft",
        title=data["title"], items=_items_json(data["items"]), saved_at=event.time,
        required_frequency=data.get("required_frequency"),
        content_hash=content_hash(data["title"], data["industry"], data["items"])),
        ["checklist_id", "version"],
        ["title", "items", "saved_at", "content_hash", "required_frequency"])


def _published(conn, event, data):
    key = and_(checklist_versions.c.checklist_id == data["checklist_id"],
               checklist_versions.c.version == data["version"])
    conn.execute(update(checklist_versions).where(key).values(
        status="published", title=data["title"], items=_items_json(data["items"]),
        required_frequency=data.get("required_frequency"), published_at=data["published_at"]))
    conn.execute(update(checklists).where(checklists.c.checklist_id == data["checklist_id"])
                 .values(published_version=data["version"], updated_at=event.time,
                         required_frequency=data.get("required_frequency")))


def _position_registered(conn, event, data):
    conn.execute(positions.insert(), dict(
        checklist_ids=json.dumps(data["checklist_ids"]), version=event.stream_version,
        **_columns_of(positions, {k: v for k, v in data.items() if k != "checklist_ids"})))


# Built once, the columns to set given as parameters (its SET clause is
# theirs): cheaper than building an UPDATE per event.
_SET_POSITION = update(positions).where(positions.c.position_id == bindparam("b_position_id"))


def _set_position(conn, event, **values):
    """The position's row set to `values`, at the event's version."""
    conn.execute(_SET_POSITION, dict(values, b_position_id=event.data["position_id"],
                                     version=event.stream_version))


def _position_updated(conn, event, data):
    changed = {key: data[key] for key in ("name", "latitude", "longitude") if key in data}
    if "checklist_ids" in data:
        changed["checklist_ids"] = json.dumps(data["checklist_ids"])
    _set_position(conn, event, **changed)


def _position_retired(conn, event, data):
    _set_position(conn, event, retired_at=data["retired_at"], retirement_reason=data["reason"])


def _code_issued(conn, event, data):
    _set_position(conn, event, token=data["token"], code_issued_at=data["issued_at"])


def _scanned(conn, event, data):
    _set_position(conn, event)
    conn.execute(scans.insert().values(event_id=event.id, **_columns_of(scans, data)))


def _inspection_logged(conn, event, data):
    version = find_checklist_version(conn, data["checklist_id"], data["checklist_version"])
    results = {r["item_id"]: r for r in data["results"]}
    items = [dict(item, **{key: results[item["item_id"]][key]
                           for key in ("result", "note", "photos")})
             for item in (version["items"] if version else []) if item["item_id"] in results]
    columns = dict(_columns_of(inspections, data),
                   inspectors=json.dumps(data["inspectors"], ensure_ascii=False))
    conn.execute(inspections.insert().values(items=json.dumps(items, ensure_ascii=False),
                                             **columns))


def _safety_action(conn, event, data):
    conn.execute(safety_actions.insert().values(recorded_at=event.time,
                                                recorded_by_account=event.actor,
                                                **_columns_of(safety_actions, data)))


def _account_created(conn, event, data):
    conn.execute(accounts.insert().values(
        account_id=data["account_id"], username=data["username"], role=data["role"],
        enterprise_id=data["enterprise_id"], grid=data["grid"], town=data["town"],
        grants=" ".join(data["grants"]), display_name=data["display_name"],
        username_key=data["username"].lower(), password_hash=data["password_hash"],
        disabled=False, must_change_password=False, created_at=event.time))


def _account(data):
    return update(accounts).where(accounts.c.account_id == data["account_id"])


def _account_disabled(conn, event, data):
    conn.execute(_account(data).values(disabled=True))


def _password_changed(conn, event, data):
    conn.execute(_account(data).values(password_hash=data["password_hash"],
                                       must_change_password=False))


def _password_reset(conn, event, data):
    conn.execute(_account(data).values(password_hash=data["password_hash"],
                                       must_change_password=True))


_HANDLERS = {
    "EnterpriseRegistered": _enterprise_registered,
    "ChecklistDraftSaved": _draft_saved,
    "ChecklistPublished": _published,
    "PositionRegistered": _position_registered,
    "PositionUpdated": _position_updated,
    "PositionRetired": _position_retired,
    "PositionCodeIssued": _code_issued,
    "PositionScanned": _scanned,
    "InspectionLogged": _inspection_logged,
    "SafetyActionRecorded": _safety_action,
    "AccountCreated": _account_created,
    "AccountDisabled": _account_disabled,
    "AccountPasswordChanged": _password_changed,
    "AccountPasswordReset": _password_reset,
    **schedules.HANDLERS,
}


def rebuild(conn):
    """Empty every read model and replay the service's events into it, in the
    order they were recorded, in the caller's transaction; how many."""
    for table in reversed(TABLES):
        conn.execute(table.delete())
    replayed = 0
    for _position, event in paged(lambda after, limit: eventstore.read_all(conn, after, limit)):
        project(conn, event)
        replayed += 1
    return replayed


# --- reading --------------------------------------------------------------------------

def enterprise_view(row):
    view = dict(row._mapping)
    view["registered_at"] = isoformat(view["registered_at"])
    view["id"] = view.pop("enterprise_id")
    return view


def enterprise_page(conn, query, scope=None):
    """The register in `scope` (None: all), filtered, one page."""
    statement = select(enterprises)
    if scope is not None:
        statement = statement.where(tenancy.where(enterprises.c.enterprise_id, scope))
    for key in ("town", "grid", "industry"):
        if query.get(key) is not None:
            statement = statement.where(enterprises.c[key] == query[key])
    return paging.page_of(conn, statement, query,
                          paging.ordering(enterprises.c, query["sort"],
                                          enterprises.c.enterprise_id), enterprise_view)


def find_enterprise(conn, enterprise_id):
    return conn.execute(select(enterprises).where(
        enterprises.c.enterprise_id == enterprise_id)).first()


def find_by_account_prefix(conn, prefix):
    return conn.execute(select(enterprises).where(
        enterprises.c.account_prefix == prefix.lower())).first()


def find_by_credit_code(conn, code):
    return conn.execute(select(enterprises).where(enterprises.c.credit_code == code)).first()


def checklist_view(row):
    view = dict(row._mapping)
    view["id"] = view.pop("checklist_id")
    view["updated_at"] = isoformat(view["updated_at"])
    return view


def find_checklist(conn, checklist_id):
    row = conn.execute(select(checklists).where(
        checklists.c.checklist_id == checklist_id)).first()
    return None if row is None else checklist_view(row)


def find_universal_by_content(conn, digest):
    """(checklist id, version number, whether it is the latest) of a
    universal checklist whose latest or published version says exactly this
    (content_hash), the published one first; None if there is none."""
    c, v = checklists.c, checklist_versions.c
    row = conn.execute(select(c.checklist_id, v.version, c.latest_version, c.published_version)
                       .join(checklist_versions, v.checklist_id == c.checklist_id)
                       .where(and_(c.scope == "universal", v.content_hash == digest,
                                   or_(v.version == c.latest_version,
                                       v.version == c.published_version)))
                       .order_by(case((v.version == c.published_version, 0), else_=1),
                                 c.checklist_id)
                       .limit(1)).first()
    return None if row is None else (row.checklist_id, row.version,
                                     row.version == row.latest_version)


def list_checklists(conn, industry=None, scope=None):
    query = select(checklists).order_by(checklists.c.title, checklists.c.checklist_id)
    if industry is not None:
        query = query.where(checklists.c.industry == industry)
    if scope is not None:
        query = query.where(checklists.c.scope == scope)
    return [checklist_view(row) for row in conn.execute(query).all()]


def checklist_page(conn, query, enterprise=None, scope=None):
    """Checklists by industry and scope: the universal ones and the
    enterprise checklists of the tenant `scope` (None: all); with
    `enterprise`, only those it may see (checklists.applies_to, as SQL)."""
    c = checklists.c
    statement = select(checklists)
    if scope is not None:
        statement = statement.where(or_(c.enterprise_id.is_(None),
                                        tenancy.where(c.enterprise_id, scope)))
    if query.get("industry") is not None:
        statement = statement.where(c.industry == query["industry"])
    if query.get("scope") is not None:
        statement = statement.where(c.scope == query["scope"])
    if enterprise is not None:
        statement = statement.where(or_(
            and_(c.scope == "enterprise", c.enterprise_id == enterprise["id"]),
            and_(c.scope != "enterprise",
                 or_(c.industry.is_(None), c.industry == "", c.industry == enterprise["industry"]))))
    return paging.page_of(conn, statement, query,
                          paging.ordering(c, query["sort"], c.checklist_id), checklist_view)


def find_checklist_version(conn, checklist_id, version):
    """The version with the checklist's scope, so it can be checked for use."""
    row = conn.execute(select(checklist_versions, checklists.c.scope,
                              checklists.c.enterprise_id, checklists.c.industry)
                       .join(checklists, checklists.c.checklist_id ==
                             checklist_versions.c.checklist_id)
                       .where(and_(checklist_versions.c.checklist_id == checklist_id,
                                   checklist_versions.c.version == version))).first()
    return None if row is None else version_view(row)


def version_view(row):
    view = dict(row._mapping)
    view.pop("content_hash")
    view["items"] = json.loads(view["items"])
    view["saved_at"] = isoformat(view["saved_at"])
    view["published_at"] = view["published_at"] and isoformat(view["published_at"])
    return view


def versions_of(conn, checklist_id):
    rows = conn.execute(select(checklist_versions.c.version, checklist_versions.c.status,
                               checklist_versions.c.published_at)
                        .where(checklist_versions.c.checklist_id == checklist_id)
                        .order_by(checklist_versions.c.version)).all()
    return [{"version": r.version, "status": r.status,
             "published_at": r.published_at and isoformat(r.published_at)} for r in rows]


def position_view(row):
    view = {key: value for key, value in row._mapping.items()
            if key not in ("token", "version", "code_issued_at", "retired_at")}
    view["id"] = view.pop("position_id")
    view["checklist_ids"] = json.loads(view["checklist_ids"])
    view["code_issued_at"] = row.code_issued_at and isoformat(row.code_issued_at)
    view["retired"] = row.retired_at is not None
    view["retired_at"] = row.retired_at and isoformat(row.retired_at)
    return view


def find_position(conn, position_id):
    return conn.execute(select(positions).where(positions.c.position_id == position_id)).first()


def find_position_by_token(conn, token):
    return conn.execute(select(positions).where(positions.c.token == token)).first()


def positions_of(conn, enterprise_id, include_retired=False):
    statement = select(positions).where(positions.c.enterprise_id == enterprise_id)
    if not include_retired:
        statement = statement.where(positions.c.retired_at.is_(None))
    return conn.execute(statement.order_by(positions.c.name, positions.c.position_id)).all()


def position_page(conn, enterprise_id, query):
    """The enterprise's positions, one page: those in use, and with
    `include_retired` the retired ones too."""
    statement = select(positions).where(positions.c.enterprise_id == enterprise_id)
    if not query["include_retired"]:
        statement = statement.where(positions.c.retired_at.is_(None))
    return paging.page_of(conn, statement, query,
                          paging.ordering(positions.c, query["sort"], positions.c.position_id),
                          position_view)


def _period(column, query, is_date=False, zone=None):
    """Conditions for from / to (whole days, both included) on a column: a
    day column as it is, an instant column cut in the deployment's days."""
    conditions = []
    zone = zone or days.deployment_zone()
    if query.get("from_"):
        conditions.append(column >= (query["from_"] if is_date
                                     else days.start_of(query["from_"], zone)))
    if query.get("to"):
        conditions.append(column <= query["to"] if is_date
                          else column < days.start_of(query["to"] + timedelta(days=1), zone))
    return conditions


def _inspection_filter(query, scope=None, zone=None):
    conditions = _period(inspections.c.completed_at, query, zone=zone)
    for key in ("enterprise_id", "position_id", "kind", "campaign_id"):
        if query.get(key):
            conditions.append(inspections.c[key] == query[key])
    if scope is not None:
        conditions.append(tenancy.where(inspections.c.enterprise_id, scope))
    return and_(true(), *conditions)


def inspection_view(row, with_items=False):
    view = {key: value for key, value in row._mapping.items() if key != "items"}
    view["id"] = view.pop("inspection_id")
    view["inspectors"] = json.loads(row.inspectors or "[]")
    view["started_at"] = isoformat(view["started_at"])
    view["completed_at"] = isoformat(view["completed_at"])
    if with_items:
        view["items"] = json.loads(row.items)
    return view


def _names(conn, columns, key, ids):
    """{key: the last column} of the rows whose `key` is one of `ids`, in
    bounded IN lists; a key of two columns comes as a pair."""
    found, ids = {}, sorted(set(ids))
    for start in range(0, len(ids), 500):
        for *keys, name in conn.execute(select(*columns).where(key.in_(ids[start:start + 500]))):
            found[tuple(keys) if len(keys) > 1 else keys[0]] = name
    return found


def with_names(conn, views):
    """Inspection `views` with what an export writes beside the ids: the
    names of the enterprise and the position and the title of the checklist
    version; three queries for the whole export."""
    enterprise = _names(conn, (enterprises.c.enterprise_id, enterprises.c.name),
                        enterprises.c.enterprise_id, (v["enterprise_id"] for v in views))
    position = _names(conn, (positions.c.position_id, positions.c.name),
                      positions.c.position_id, (v["position_id"] for v in views))
    c = checklist_versions.c
    title = _names(conn, (c.checklist_id, c.version, c.title), c.checklist_id,
                   (v["checklist_id"] for v in views))
    return [dict(view, enterprise_name=enterprise.get(view["enterprise_id"]),
                 position_name=position.get(view["position_id"]),
                 checklist_title=title.get((view["checklist_id"], view["checklist_version"])))
            for view in views]


def find_inspection(conn, inspection_id):
    return conn.execute(select(inspections).where(
        inspections.c.inspection_id == inspection_id)).first()


def inspection_page(conn, query, limit=None, scope=None, zone=None):
    """(total, rows): the ledger filtered and sorted, one page of it, or up to
    `limit` rows from the first if `limit` is given; only `scope`'s enterprises;
    from / to are days of `zone` (the deployment's)."""
    where = _inspection_filter(query, scope, zone)
    total = conn.execute(select(func.count()).select_from(inspections).where(where)).scalar_one()
    key = query["sort"].lstrip("-")
    order = inspections.c[key].desc() if query["sort"].startswith("-") else inspections.c[key]
    select_rows = (select(inspections).where(where)
                   .order_by(order, inspections.c.inspection_id))
    if limit is None:
        select_rows = select_rows.offset((query["page"] - 1) * query["size"]).limit(query["size"])
    else:
        select_rows = select_rows.limit(limit)
    return total, conn.execute(select_rows).all()


def safety_action_view(row):
    view = dict(row._mapping)
    view["id"] = view.pop("action_id")
    view["held_on"] = view["held_on"].isoformat()
    view["recorded_at"] = isoformat(view["recorded_at"])
    return view


def find_safety_action(conn, action_id):
    return conn.execute(select(safety_actions).where(
        safety_actions.c.action_id == action_id)).first()


def list_safety_actions(conn, enterprise_id, query):
    conditions = _period(safety_actions.c.held_on, query, is_date=True)
    conditions.append(safety_actions.c.enterprise_id == enterprise_id)
    if query.get("kind"):
        conditions.append(safety_actions.c.kind == query["kind"])
    return paging.page_of(conn, select(safety_actions).where(and_(*conditions)), query,
                          paging.ordering(safety_actions.c, query["sort"],
                                          safety_actions.c.action_id), safety_action_view)


REGISTER_ATTRIBUTES = ("town", "grid", "industry")


def enterprise_attributes(conn, attribute, scope=None):
    if attribute not in REGISTER_ATTRIBUTES:
        raise InvalidCommand({"group_by": ["must be one of: " + ", ".join(REGISTER_ATTRIBUTES)]})
    column = enterprises.c[attribute]
    query = select(enterprises.c.enterprise_id, column)
    if scope is not None:
        query = query.where(tenancy.where(enterprises.c.enterprise_id, scope))
    return {row[0]: row[1] for row in conn.execute(query)}


INSPECTION_COUNTS = ("inspections", "enterprises_inspected", "with_findings", "items_checked",
                     "items_failed")
# rate: (numerator, denominator) of INSPECTION_COUNTS (einspection.figures)
INSPECTION_RATES = {"findings_rate": ("with_findings", "inspections"),
                    "failed_item_rate": ("items_failed", "items_checked")}


def inspection_statistics(conn, query, zone, scope=None):
    """Inspections per kind, month, enterprise, checklist, town, grid or
    industry within `scope`: how many, of how many enterprises, how many
    found something, items checked (passed or failed) and failed. Days and
    months are the deployment's (`zone`): an inspection completed at 00:30
    in Shanghai is of that day, not of the day before in UTC."""
    group_by = query["group_by"]
    conditions = []
    if query.get("from_"):
        conditions.append(inspections.c.completed_at >= days.start_of(query["from_"], zone))
    if query.get("to"):
        conditions.append(inspections.c.completed_at
                          < days.start_of(query["to"] + timedelta(days=1), zone))
    for key in ("enterprise_id", "kind", "campaign_id"):
        if query.get(key):
            conditions.append(inspections.c[key] == query[key])
    if scope is not None:
        conditions.append(tenancy.where(inspections.c.enterprise_id, scope))
    rows = conn.execute(
        select(inspections.c.enterprise_id, inspections.c.kind, inspections.c.checklist_id,
               inspections.c.completed_at, inspections.c.items_passed,
               inspections.c.items_failed, enterprises.c.town, enterprises.c.grid,
               enterprises.c.industry)
        .select_from(inspections.outerjoin(
            enterprises, enterprises.c.enterprise_id == inspections.c.enterprise_id))
        .where(and_(*conditions)))

    def key_of(row):
        if group_by == "month":
            return days.local_day(_aware(row.completed_at), zone).strftime("%Y-%m")
        if group_by == "checklist":
            return row.checklist_id
        return getattr(row, group_by if group_by != "enterprise" else "enterprise_id") \
            or UNKNOWN_GROUP

    groups, seen, total_seen = {}, {}, set()
    totals = dict.fromkeys(INSPECTION_COUNTS, 0)
    for row in rows:
        key = key_of(row)
        group = groups.setdefault(key, dict(dict.fromkeys(INSPECTION_COUNTS, 0), key=key))
        for figures_of in (group, totals):
            figures_of["inspections"] += 1
            figures_of["with_findings"] += 1 if row.items_failed else 0
            figures_of["items_checked"] += row.items_passed + row.items_failed
            figures_of["items_failed"] += row.items_failed
        seen.setdefault(key, set()).add(row.enterprise_id)
        total_seen.add(row.enterprise_id)
    for key, group in groups.items():
        group["enterprises_inspected"] = len(seen[key])
    totals["enterprises_inspected"] = len(total_seen)
    return {"group_by": group_by, "groups": [groups[key] for key in sorted(groups)],
            "totals": totals}


def _aware(moment):
    """SQLite gives back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def training_statistics(conn, query, scope=None):
    """Training across the enterprises of `scope` (None: all)."""
    conditions = [safety_actions.c.kind == "training",
                  *_period(safety_actions.c.held_on, query, is_date=True)]
    registered_query = select(func.count()).select_from(enterprises)
    if scope is not None:
        conditions.append(tenancy.where(safety_actions.c.enterprise_id, scope))
        registered_query = registered_query.where(
            tenancy.where(enterprises.c.enterprise_id, scope))
    row = conn.execute(select(func.count(), func.coalesce(func.sum(safety_actions.c.people), 0),
                              func.count(safety_actions.c.enterprise_id.distinct()))
                       .where(and_(*conditions))).one()
    registered = conn.execute(registered_query).scalar_one()
    share = (Decimal(row[2]) / registered).quantize(Decimal("0.0001"), ROUND_HALF_UP) \
        if registered else Decimal("0.0000")
    return {"sessions": row[0], "people_trained": int(row[1]), "enterprises_covered": row[2],
            "enterprises_registered": registered, "coverage": str(share)}
