"""Evidence ownership on SQLite and PostgreSQL: who owns a file, the quota
held under concurrent uploads, the projection rebuilt from its events."""
import eventlet
import pytest
from sqlalchemy import select

from einspection import eventstore
from einspection.errors import InvalidCommand, NotFound, TooLarge
from einspection.acting import Acting, new_command_id
from services.hazard import commands, evidence


def ref(n):
    return "sha256:%064x" % n


def put(store, n, enterprise_id="e-1", size=100, quota=1000, scope=None, saved=None):
    """An upload as the service makes it: one journaled command, tried again
    when a concurrent upload of the enterprise committed first."""
    acting = Acting(actor="li", scope=scope, command_id=new_command_id())
    return store.command(acting, "put_evidence", [ref(n), enterprise_id]).run(
        lambda conn: evidence.store(conn, ref(n), enterprise_id, "image/png", size,
                                    lambda: saved.append(n) if saved is not None else None,
                                    quota=quota, acting=acting),
        attempts=evidence.RETRIES)


def test_the_same_bytes_are_owned_by_each_enterprise_that_uploads_them(store):
    saved = []
    assert put(store, 1, saved=saved)["enterprise_id"] == "e-1"
    put(store, 1, saved=saved)                                 # again: nothing new
    put(store, 1, "e-2", saved=saved)
    assert saved == [1, 1]
    with store.connect() as conn:
        assert evidence.unowned(conn, "e-1", [ref(1), ref(2)]) == {ref(2)}
        assert evidence.unowned(conn, "e-3", [ref(1)]) == {ref(1)}
        evidence.require_visible(conn, ref(1), ["e-2"])
        with pytest.raises(NotFound):
            evidence.require_visible(conn, ref(1), ["e-3"])     # as unknown as a missing one
        with pytest.raises(NotFound):
            evidence.require_visible(conn, ref(2), ["e-1"])
        events = eventstore.load_stream(conn, evidence.stream_id("e-1"))
    assert [(e.name, e.data["ref"], e.actor) for e in events] == [("EvidenceStored", ref(1), "li")]


def test_an_enterprise_outside_the_scope_is_no_such_enterprise_and_nothing_is_saved(store):
    saved = []
    with pytest.raises(InvalidCommand) as error:
        put(store, 1, "e-2", scope=["e-1"], saved=saved)
    assert error.value.errors == {"enterprise_id": ["no such enterprise"]}
    assert saved == []


def test_the_quota_counts_an_enterprises_bytes_and_nothing_is_saved_past_it(store):
    saved = []
    for n in range(3):
        put(store, n, size=300, saved=saved)
    with pytest.raises(TooLarge):
        put(store, 9, size=300, saved=saved)
    assert saved == [0, 1, 2]
    put(store, 9, "e-2", size=300, saved=saved)                # the quota is per enterprise
    with store.connect() as conn:
        assert evidence.used_bytes(conn, "e-1") == 900


def test_concurrent_uploads_of_one_enterprise_keep_the_quota(store):
    """Ten uploads at once of 300 bytes each against a quota of 1,000: three
    get in, whatever the interleaving (they conflict on the enterprise's
    evidence stream and retry)."""
    def upload(n):
        try:
            put(store, n, size=300)
            return "stored"
        except TooLarge:
            return "full"
    outcomes = [thread.wait() for thread in [eventlet.spawn(upload, n) for n in range(10)]]
    assert sorted(outcomes) == ["full"] * 7 + ["stored"] * 3
    with store.connect() as conn:
        assert evidence.used_bytes(conn, "e-1") == 900


def test_refs_nested_like_a_command_are_named_where_they_stand(store):
    put(store, 1)
    with store.connect() as conn:
        with pytest.raises(InvalidCommand) as error:
            commands.require_evidence(conn, "e-1", {"results": {
                "item-a": {"photos": [ref(1), ref(2)]}, "item-b": {"photos": [ref(1)]}}})
    assert error.value.errors == {"results": {"item-a": {"photos": {
        1: [commands.no_such_evidence(ref(2))]}}}}


def test_the_ownership_table_rebuilds_from_its_events(store):
    for n, enterprise_id in enumerate(["e-1", "e-1", "e-2", "e-3"]):
        put(store, n % 3, enterprise_id)
    with store.connect() as conn:
        before = conn.execute(select(evidence.files).order_by(
            evidence.files.c.ref, evidence.files.c.enterprise_id)).all()
    with store.begin() as conn:
        assert evidence.rebuild(conn) == 4
    with store.connect() as conn:
        after = conn.execute(select(evidence.files).order_by(
            evidence.files.c.ref, evidence.files.c.enterprise_id)).all()
    assert [tuple(row) for row in after] == [tuple(row) for row in before]
