"""Who owns which evidence file, and how much each enterprise stores.

The bytes live in the blob store (blobs.py), content-addressed and shared;
ownership is recorded as events of the hazard service, one stream per
enterprise (`evidence-<enterprise id>`), private (`EvidenceStored`), and
projected into `evidence_files`, which `rebuild` makes again from them.

| step | what |
| --- | --- |
| upload (`store`) | the enterprise must be in the caller's scope; bytes it owns already: nothing new; else its quota is checked and `EvidenceStored` appended to its stream, in one transaction — two uploads at once conflict on the stream, so the quota holds (the loser retries) |
| a ref in a hazard report, a rectification, an inspection photo (`unowned`) | must be owned by the record's enterprise: another enterprise's ref is as unknown as a missing one |
| download (`require_visible`) | a ref owned by an enterprise of the caller's scope (the authority: any stored file); else 404 |

Plain: no nameko."""
import os

from sqlalchemy import (BigInteger, Column, DateTime, MetaData, String, Table, delete, func,
                        select)

from einspection import eventstore
from einspection import scope as tenancy
from einspection.contract import new_event, unstorable, utcnow
from einspection.errors import InvalidCommand, NotFound, TooLarge
from einspection.projection import paged

DEFAULT_QUOTA_BYTES = 5 * 1024 ** 3          # 5 GiB per enterprise
STREAM_PREFIX = "evidence-"
RETRIES = 20                                 # concurrent uploads of one enterprise

metadata = MetaData()

files = Table(
    "evidence_files", metadata,
    Column("ref", String(71), primary_key=True),
    Column("enterprise_id", String(64), primary_key=True, index=True),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)


def quota_bytes(environ=os.environ):
    """EVIDENCE_QUOTA_BYTES: what one enterprise may store in all."""
    value = int(environ.get("EVIDENCE_QUOTA_BYTES") or DEFAULT_QUOTA_BYTES)
    if value < 1:
        raise ValueError("EVIDENCE_QUOTA_BYTES must be positive, not %r" % value)
    return value


def stream_id(enterprise_id):
    return STREAM_PREFIX + enterprise_id


def project(conn, event):
    data = event.data
    conn.execute(files.insert().values(ref=data["ref"], enterprise_id=data["enterprise_id"],
                                       content_type=data["content_type"], size=data["size"],
                                       stored_at=event.time))


def used_bytes(conn, enterprise_id):
    return conn.execute(select(func.coalesce(func.sum(files.c.size), 0))
                        .where(files.c.enterprise_id == enterprise_id)).scalar_one()


def _owned_row(conn, ref, enterprise_id):
    return conn.execute(select(files).where(files.c.ref == ref,
                                            files.c.enterprise_id == enterprise_id)).first()


def view(row):
    return {"ref": row.ref, "content_type": row.content_type, "size": int(row.size),
            "enterprise_id": row.enterprise_id}


def store(conn, ref, enterprise_id, content_type, size, save, *, quota, acting):
    """Record that `enterprise_id` owns the file `ref`, within its quota, in
    `conn`'s transaction: `save()` keeps the bytes (blobs.BlobStore.save),
    called only once the checks passed and before the ownership commits — a
    failed commit leaves an unowned file, never an owner without its file.
    Returns the file's view. The same bytes again change nothing. A
    concurrent upload of the same enterprise that committed first makes the
    append raise ConcurrencyConflict: the caller tries again (RETRIES)."""
    if not tenancy.visible(acting.scope, enterprise_id):
        tenancy.log_attempt("enterprise", enterprise_id, enterprise_id, acting.actor)
        raise InvalidCommand({"enterprise_id": ["no such enterprise"]})
    stream = stream_id(enterprise_id)
    # the version before the bytes used: a concurrent upload that commits
    # between the two makes this append conflict (READ COMMITTED)
    version = eventstore.stream_version(conn, stream)
    owned = _owned_row(conn, ref, enterprise_id)
    if owned is not None:
        return view(owned)
    used = used_bytes(conn, enterprise_id)
    if used + size > quota:
        raise TooLarge("enterprise %s has used %d of its %d bytes of evidence storage; "
                       "this file of %d bytes does not fit" % (enterprise_id, used, quota, size))
    save()
    event = new_event("EvidenceStored", {
        "ref": ref, "enterprise_id": enterprise_id, "content_type": content_type,
        "size": size}, actor=acting.actor, correlation_id=acting.correlation_id,
        causation_id=acting.causation_id, time=utcnow())
    eventstore.append(conn, stream, version, [event])
    project(conn, event)
    return view(_owned_row(conn, ref, enterprise_id))


def unowned(conn, enterprise_id, refs):
    """The refs of `refs` that `enterprise_id` does not own (missing ones too).
    A ref no store could hold (a NUL in it) is owned by nobody: never queried."""
    refs = [ref for ref in refs if isinstance(ref, str)]
    storable = {ref for ref in refs if not unstorable(ref)}
    if not storable:
        return set(refs)
    owned = set(conn.execute(select(files.c.ref).where(
        files.c.enterprise_id == enterprise_id, files.c.ref.in_(storable))).scalars())
    return set(refs) - owned


def require_visible(conn, ref, scope, actor=""):
    """NotFound unless an enterprise of `scope` owns `ref` (scope None: any
    owner, or a file stored before owners were recorded)."""
    if scope is None:
        return
    owners = conn.execute(select(files.c.enterprise_id).where(files.c.ref == ref)).scalars().all()
    if not any(tenancy.visible(scope, owner) for owner in owners):
        if owners:
            tenancy.log_attempt("evidence", ref, owners[0], actor)
        raise NotFound("evidence", ref)


def rebuild(conn):
    """Drop every row and replay the EvidenceStored events of the hazard service's store."""
    conn.execute(delete(files))
    count = 0
    for _, event in paged(lambda after, limit: eventstore.read_all(conn, after, limit)):
        if event.name == "EvidenceStored":
            project(conn, event)
            count += 1
    return count
