"""The command journal on SQLite and PostgreSQL: a command runs once per
command id, its repeat answers the first answer and writes nothing, two
copies at once from real threads have one effect, another request under
the same id is refused, a failure journals nothing, a concealed secret is
kept nowhere, and old entries are pruned."""
import uuid
from datetime import timedelta

import eventlet
import pytest
from sqlalchemy import func, select

from einspection import eventstore, journal
from einspection.acting import Acting, new_command_id
from einspection.contract import new_event, utcnow
from einspection.db import make_engine
from einspection.errors import CommandIdReused, Conflict, InvalidCommand

threading = eventlet.patcher.original("threading")      # real threads: real concurrency
real_time = eventlet.patcher.original("time")


@pytest.fixture
def engine(backend, databases):
    engine = make_engine(databases.url(backend, "journal"), pool_size=10)
    eventstore.create_tables(engine)
    yield engine
    engine.dispose()


def acting(command_id=None):
    return Acting("li.manager", command_id=command_id or new_command_id())


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


class Report:
    """A command like report_hazard: a new stream with a random id each time
    it runs (so only the journal can tell a repeat), its answer the id."""

    def __init__(self, pause=0.0):
        self.runs = 0
        self.pause = pause

    def __call__(self, conn):
        self.runs += 1
        hazard_id = str(uuid.uuid4())
        eventstore.append(conn, "hazard-" + hazard_id, 0, [new_event(
            "ScoringClockAdvanced", {"day": utcnow().date()}, actor="li.manager")])
        real_time.sleep(self.pause)              # still in the transaction
        return {"id": hazard_id, "status": "reported"}


def test_a_repeat_answers_the_first_answer_and_writes_nothing(engine):
    report, first = Report(), acting()
    answer = journal.Command(engine, first, "report_hazard", [{"level": "major"}]).run(report)
    again = journal.Command(engine, first, "report_hazard", [{"level": "major"}]).run(report)
    assert again == answer and report.runs == 1
    assert count(engine, eventstore.events) == 1
    assert count(engine, eventstore.commands) == 1
    # another command id is another command; the same id of another command too
    journal.Command(engine, acting(), "report_hazard", [{"level": "major"}]).run(report)
    journal.Command(engine, first, "record_plan", [{"level": "major"}]).run(report)
    assert report.runs == 3 and count(engine, eventstore.events) == 3


def test_the_same_id_with_another_request_is_refused_naming_the_key(engine):
    first = acting()
    journal.Command(engine, first, "report_hazard", [{"level": "major"}]).run(Report())
    with pytest.raises(CommandIdReused) as refused:
        journal.Command(engine, first, "report_hazard", [{"level": "general"}]).run(Report())
    assert refused.value.status == 422 and "Idempotency-Key" in str(refused.value)
    assert count(engine, eventstore.events) == 1


def test_a_failed_command_journals_nothing_and_its_retry_runs(engine):
    first = acting()

    def refused(conn):
        Report()(conn)                   # written, then rolled back with the failure
        raise InvalidCommand({"level": ["not a level"]})
    with pytest.raises(InvalidCommand):
        journal.Command(engine, first, "report_hazard", []).run(refused)
    assert count(engine, eventstore.events) == count(engine, eventstore.commands) == 0
    report = Report()
    journal.Command(engine, first, "report_hazard", []).run(report)
    assert report.runs == 1 and count(engine, eventstore.events) == 1


def test_two_copies_at_once_from_real_threads_have_one_effect_and_one_answer(engine):
    """The second copy waits for the first's journal row (PostgreSQL: its
    unique key; SQLite: BEGIN IMMEDIATE) and answers what it committed."""
    copies = 2
    report, first = Report(pause=0.5), acting()
    start = threading.Barrier(copies)
    answers, lock = [], threading.Lock()

    def run():
        start.wait()
        answer = journal.Command(engine, first, "report_hazard", [{"x": 1}]).run(report)
        with lock:
            answers.append(answer)
    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == copies and answers[0] == answers[1]
    assert report.runs == 1 and count(engine, eventstore.events) == 1


def test_a_concealed_secret_is_kept_nowhere_and_its_repeat_says_so(engine):
    first = acting()

    def reset(conn):
        return {"account": {"username": "li.staff"}, "temporary_password": "s3cret-once"}
    answer = journal.Command(engine, first, "reset_password", ["a-1"]).run(
        reset, conceal=("temporary_password",))
    assert answer["temporary_password"] == "s3cret-once"
    with engine.connect() as conn:
        assert "s3cret-once" not in conn.execute(select(eventstore.commands.c.answer)).scalar()
    with pytest.raises(Conflict) as repeat:
        journal.Command(engine, first, "reset_password", ["a-1"]).run(
            reset, conceal=("temporary_password",))
    assert "temporary_password" in str(repeat.value)
    assert repeat.value.state == {"account": {"username": "li.staff"}}


def test_prepare_runs_once_after_the_journal_was_asked(engine):
    first, prepared = acting(), []

    def prepare():
        prepared.append(1)
        return "checked"
    for _ in range(2):
        answer = journal.Command(engine, first, "change_password", []).run(
            lambda conn, checked: {"prepared": checked}, prepare=prepare)
    assert answer == {"prepared": "checked"} and prepared == [1]


def test_entries_older_than_the_retention_are_pruned_and_then_run_again(engine):
    old, recent, report = acting(), acting(), Report()
    journal.Command(engine, old, "report_hazard", []).run(report)
    journal.Command(engine, recent, "report_hazard", []).run(report)
    with engine.begin() as conn:
        conn.execute(eventstore.commands.update()
                     .where(eventstore.commands.c.command_id == old.command_id)
                     .values(recorded_at=utcnow() - timedelta(hours=25)))
    assert journal.prune(engine, hours=24) == 1
    assert journal.prune(engine, hours=24) == 0           # a replica pruning after: nothing
    journal.Command(engine, recent, "report_hazard", []).run(report)     # still a repeat
    journal.Command(engine, old, "report_hazard", []).run(report)        # forgotten: runs
    assert report.runs == 3
