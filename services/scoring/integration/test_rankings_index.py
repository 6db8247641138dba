"""The rankings' index (projection.RANKING_POINTS): the lists read through
it are those of sorting every score, on both databases, and a database made
before it gets it at start."""
import random
from decimal import Decimal

from sqlalchemy import select

from einspection import eventstore
from einspection.db import make_engine
from services.scoring import projection, rankings
from services.scoring.rules import load_rules


def query(**values):
    return dict({"by": "overall", "order": "best", "limit": 10, "town": None,
                 "industry": None}, **values)


def ids(entries):
    return [e["enterprise_id"] for e in entries]


def test_the_lists_are_those_of_sorting_every_score_in_python(backend, databases):
    """Many equal points, names missing, empty or beyond ASCII (code point
    order on PostgreSQL too), an empty town beside unregistered enterprises,
    scores without a grade: overall, filtered and per town."""
    rng = random.Random(5)
    engine = make_engine(databases.url(backend, "rankings"))
    eventstore.create_tables(engine, projection.metadata)
    rows = []
    with engine.begin() as conn:
        for number in range(400):
            enterprise_id = "e-%03d-%d" % (rng.randrange(1000), number)
            name = rng.choice([None, "Ärger", "Zeta", "zeta", "Alpha", "Ω works", ""])
            town = rng.choice(["Wukang", "Xinshi", ""]) if name is not None else None
            points = rng.choice(["9.50", "10.00", "7.86", "7.90", "50.00", "5.00", "100.00"])
            grade = rng.choice(["A", "C", None])
            if name is not None:
                conn.execute(projection.enterprises.insert().values(
                    enterprise_id=enterprise_id, name=name, town=town, industry="textiles",
                    grid="g"))
            conn.execute(projection.scores.insert().values(
                enterprise_id=enterprise_id, points=points, grade=grade, as_of="2026-11-29",
                events_applied=1))
            if grade is not None:
                rows.append((enterprise_id, name, town, Decimal(points), grade))

    def expected(order, limit, members):
        sign = -1 if order == "best" else 1
        return [r[0] for r in sorted(members, key=lambda r: (sign * r[3], r[1] or "", r[0]))
                [:limit]]

    towns = sorted({r[2] for r in rows}, key=lambda town: (town is None, town or ""))
    scope = [r[0] for r in rows[::3]] + ["e-not-scored"]
    in_scope = [r for r in rows if r[0] in scope]
    with engine.connect() as conn:
        rules = load_rules()
        for members, extra in ((rows, {}), (in_scope, {"scope": scope})):
            groups = rankings.rankings(conn, query(by="town", limit=3, **extra))["groups"]
            assert [(g["town"], g["enterprises"]) for g in groups] == [
                (town, sum(1 for r in members if r[2] == town))
                for town in sorted({r[2] for r in members},
                                   key=lambda town: (town is None, town or ""))]
            spread = rankings.distribution(conn, rules, dict(query(by="town"), **extra))
            assert [(g["town"], g["counts"]) for g in spread["groups"]] == [
                (town, {grade: sum(1 for r in members if r[2] == town and r[4] == grade)
                        for grade in spread["grades"]})
                for town in sorted({r[2] for r in members},
                                   key=lambda town: (town is None, town or ""))]
        filtered = rankings.distribution(conn, rules, dict(query(by="industry", town="Wukang")))
        assert [(g["industry"], g["total"]) for g in filtered["groups"]] == [
            ("textiles", sum(1 for r in rows if r[2] == "Wukang"))]
        for order in ("best", "worst"):
            for limit in (1, 10, 500):
                assert ids(rankings.rankings(conn, query(order=order, limit=limit))["items"]) \
                    == expected(order, limit, rows)
                assert ids(rankings.rankings(conn, query(order=order, limit=limit,
                                                         town="Xinshi"))["items"]) \
                    == expected(order, limit, [r for r in rows if r[2] == "Xinshi"])
                groups = rankings.rankings(conn, query(by="town", order=order,
                                                       limit=limit))["groups"]
                assert [(g["town"], g["enterprises"], ids(g["items"])) for g in groups] == [
                    (town, sum(1 for r in rows if r[2] == town),
                     expected(order, limit, [r for r in rows if r[2] == town]))
                    for town in towns]
    engine.dispose()


def test_a_database_made_before_the_index_gets_it_at_start_its_scores_kept(backend, databases):
    engine = make_engine(databases.url(backend, "older"))
    eventstore.create_tables(engine, projection.metadata)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_scores_ranking")
        conn.execute(projection.scores.insert().values(enterprise_id="e-1", points="9.50",
                                                       grade="A", events_applied=1))
    with engine.connect() as conn:
        assert "ix_scores_ranking" not in eventstore._index_names(conn)
    eventstore.create_tables(engine, projection.metadata)          # what a start does
    with engine.connect() as conn:
        assert "ix_scores_ranking" in eventstore._index_names(conn)
        assert conn.execute(select(projection.scores.c.points)).scalars().all() == ["9.50"]
    eventstore.create_tables(engine, projection.metadata)          # and again: nothing to do
    engine.dispose()
