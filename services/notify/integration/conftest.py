"""The notify store on each backend, and real receivers: a fresh database per
test, an SMTP server and an HTTP endpoint of the test's own."""
import pytest

from einspection import eventstore
from einspection.db import make_engine
from services.notify import model
from tests.support import SmtpSink, WebhookReceiver


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "notify"))
    eventstore.create_tables(engine, model.metadata)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp(tmp_path):
    sink = SmtpSink(str(tmp_path / "mail")).start()
    yield sink
    sink.stop()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
