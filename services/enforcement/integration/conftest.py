"""The enforcement service's own database, fresh for each test, on each backend."""
import pytest

from einspection import eventstore
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.enforcement import facts, records


@pytest.fixture
def store(backend, databases):
    engine = make_engine(databases.url(backend, "enforcement"))
    eventstore.create_tables(engine, facts.metadata, records.metadata)
    yield StoreHandle(engine, None)
    engine.dispose()
