"""The hazard service's own database, fresh for each test, on each backend."""
import pytest

from einspection import eventstore
from einspection.db import make_engine
from einspection.nameko_glue import StoreHandle
from services.hazard import evidence, ledger, names


@pytest.fixture
def store(backend, databases):
    engine = make_engine(databases.url(backend, "hazard"))
    eventstore.create_tables(engine, ledger.metadata, evidence.metadata, names.metadata)
    yield StoreHandle(engine, None)
    engine.dispose()
