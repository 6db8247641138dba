"""A database of an earlier release: its read models lack columns the code
declares. The services do not start on it (each request would fail), and
`make run` rebuilds such read models from their events before starting."""
import sqlite3

import pytest
from sqlalchemy import Index

from einspection import eventstore
from einspection.db import make_engine
from einspection.nameko_glue import EventStore
from services.checklist import projections
from services.checklist.service import ChecklistService
from tools import run


def older_checklist_database(path):
    url = "sqlite:///%s" % path
    engine = make_engine(url)
    eventstore.create_tables(engine, *ChecklistService.store.projections)
    engine.dispose()
    with sqlite3.connect(path) as conn:             # as the release before position edits
        conn.execute("ALTER TABLE positions DROP COLUMN retired_at")
        conn.execute("ALTER TABLE checklists DROP COLUMN required_frequency")
    return url


def test_the_columns_an_older_read_model_lacks_are_named(tmp_path):
    url = older_checklist_database(tmp_path / "checklist.db")
    engine = make_engine(url)
    try:
        assert sorted(eventstore.missing_columns(engine, projections.metadata)) == [
            "checklists.required_frequency", "positions.retired_at"]
    finally:
        engine.dispose()


class Container:
    def __init__(self, url):
        self.config = {"CHECKLIST_DATABASE_URL": url}


def test_a_service_does_not_start_on_read_models_of_an_older_shape(tmp_path):
    url = older_checklist_database(tmp_path / "checklist.db")
    store = EventStore("CHECKLIST_DATABASE_URL", url, projections=[projections.metadata],
                       relay=False)
    store.container = Container(url)
    with pytest.raises(eventstore.OutdatedReadModels, match="positions.retired_at.*make replay"):
        store.setup()
    store.engine.dispose()


def test_make_run_rebuilds_older_read_models_from_their_events(tmp_path):
    url = older_checklist_database(tmp_path / "checklist.db")
    run._read_models_up_to_date({"checklist": url})
    engine = make_engine(url)
    try:
        assert eventstore.missing_columns(engine, *ChecklistService.store.projections) == []
    finally:
        engine.dispose()


def test_an_index_added_since_is_built_at_start_but_not_on_a_table_of_an_older_shape(tmp_path):
    """The index on a table of the current shape is made in place; the one
    on a table lacking columns waits for the rebuild, so the start fails
    only with OutdatedReadModels, naming the columns."""
    url = older_checklist_database(tmp_path / "checklist.db")
    with sqlite3.connect(str(tmp_path / "checklist.db")) as conn:
        conn.execute("DROP INDEX ix_outbox_published_at")
    retired = Index("ix_positions_retired_at", projections.positions.c.retired_at)
    engine = make_engine(url)
    try:
        eventstore.create_tables(engine, *ChecklistService.store.projections)
        with engine.connect() as conn:
            names = eventstore._index_names(conn)
        assert "ix_outbox_published_at" in names
        assert "ix_positions_retired_at" not in names
    finally:
        projections.positions.indexes.discard(retired)
        engine.dispose()
