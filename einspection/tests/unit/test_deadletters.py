"""The dead-letter tool's selection rules (the tool itself runs against a
real broker in tests/faults/test_poison_messages.py)."""
from einspection.deadletters import DeadLetter, Filter, dead_letter_queues, topic_matches


def test_topic_patterns_match_as_the_broker_matches_them():
    assert topic_matches("einspection.hazard.#", "einspection.hazard.reported.v1")
    assert topic_matches("einspection.hazard.#", "einspection.hazard")
    assert topic_matches("#", "anything.at.all")
    assert topic_matches("*.hazard.*.v1", "einspection.hazard.reported.v1")
    assert topic_matches("einspection.#.v1", "einspection.hazard.reported.v1")
    assert not topic_matches("einspection.*", "einspection.hazard.reported.v1")
    assert not topic_matches("einspection.hazard.#", "einspection.scoring.grade.v1")
    assert topic_matches("einspection.hazard.reported.v1", "einspection.hazard.reported.v1")


def letter(**values):
    defaults = dict(queue="einspection.scoring.dead-letter", original_queue="einspection.scoring",
                    routing_key="einspection.hazard.reported.v1",
                    reason="contract: {'_body': ['not JSON']}", message_id="m-1",
                    dead_lettered_at="", times=1, size=10, content_type="")
    return DeadLetter(**dict(defaults, **values))


def test_every_filter_given_must_match():
    assert Filter().empty and Filter().matches(letter())
    assert Filter(reason="NOT json").matches(letter())
    assert not Filter(reason="not UTF-8").matches(letter())
    assert Filter(routing_key="*.hazard.#", message_ids=("m-1", "m-2")).matches(letter())
    assert not Filter(routing_key="*.hazard.#", message_ids=("m-2",)).matches(letter())


def test_queues_are_named_by_consumer_or_in_full():
    assert dead_letter_queues("einspection") == ["einspection.hazard.dead-letter",
                                                 "einspection.scoring.dead-letter",
                                                 "einspection.notify.dead-letter",
                                                 "einspection.enforcement.dead-letter"]
    assert dead_letter_queues("p", ["scoring", "other.dead-letter"]) == [
        "p.scoring.dead-letter", "other.dead-letter"]


def test_the_consumers_are_the_services_own():
    from einspection.deadletters import CONSUMERS
    from services.enforcement.facts import CONSUMER as ENFORCEMENT
    from services.hazard.commands import CONSUMER as HAZARD
    from services.notify.model import CONSUMER as NOTIFY
    from services.scoring.projection import CONSUMER as SCORING
    assert set(CONSUMERS) == {HAZARD, NOTIFY, SCORING, ENFORCEMENT}
