"""Ranking order and grouping, on an in-memory SQLite projection."""
import pytest

from einspection import eventstore
from einspection.db import make_engine
from services.scoring import projection, rankings
from services.scoring.rules import load_rules

# (id, name, town, points, grade); e-5's registration has not arrived yet
SCORED = [("e-1", "Alpha", "Wukang", "9.50", "A"), ("e-2", "Beta", "Wukang", "10.00", "A"),
          ("e-3", "Gamma", "Xinshi", "7.86", "C"), ("e-4", "Gamma", "Xinshi", "7.86", "C"),
          ("e-5", None, None, "5.00", "E")]


@pytest.fixture
def conn():
    engine = make_engine("sqlite:///:memory:")
    eventstore.create_tables(engine, projection.metadata)
    with engine.begin() as conn:
        for enterprise_id, name, town, points, grade in SCORED:
            if name is not None:
                conn.execute(projection.enterprises.insert().values(
                    enterprise_id=enterprise_id, name=name, town=town, industry="textiles",
                    grid=town))
            conn.execute(projection.scores.insert().values(
                enterprise_id=enterprise_id, points=points, grade=grade, as_of="2026-11-29",
                events_applied=1))
        yield conn


def query(**values):
    return dict({"by": "overall", "order": "best", "limit": 10, "town": None,
                 "industry": None}, **values)


def ids(entries):
    return [e["enterprise_id"] for e in entries]


def test_points_rank_as_numbers_and_ties_go_by_name_then_id(conn):
    assert ids(rankings.rankings(conn, query())["items"]) == ["e-2", "e-1", "e-3", "e-4", "e-5"]
    worst = rankings.rankings(conn, query(order="worst", limit=3))["items"]
    assert ids(worst) == ["e-5", "e-3", "e-4"]          # equal points: name, then id
    assert [e["rank"] for e in worst] == [1, 2, 3]


def test_groups_come_by_name_with_the_unregistered_last(conn):
    groups = rankings.rankings(conn, query(by="town", limit=1))["groups"]
    assert [(g["town"], g["enterprises"], ids(g["items"])) for g in groups] == [
        ("Wukang", 2, ["e-2"]), ("Xinshi", 2, ["e-3"]), (None, 1, ["e-5"])]
    assert ids(rankings.rankings(conn, query(town="Xinshi"))["items"]) == ["e-3", "e-4"]


def test_excellent_is_the_top_grade_and_the_distribution_counts_zeros(conn):
    rules = load_rules()
    excellent = rankings.excellent(conn, rules, {"limit": 1, "town": None, "industry": None})
    assert (excellent["grade"], excellent["count"], ids(excellent["items"])) == ("A", 2, ["e-2"])
    overall = rankings.distribution(conn, rules, {"by": "overall", "town": None,
                                                  "industry": None})
    assert overall["counts"] == {"A": 2, "B": 0, "C": 2, "D": 0, "E": 1}
    assert overall["total"] == 5

