"""Rankings, excellent performers and the grade distribution, from the
stored scores. A stored score is evaluated as of the later of the
enterprise's latest event and the clock's day, so after the daily clock step
every enterprise is compared over the same window (one that recorded today:
today's).

The database orders, cuts and counts: a top list of a province's hundred
thousand enterprises reads `limit` rows (a group's top list, `limit` per
group), never all of them."""
from sqlalchemy import Boolean, false, func, select

from einspection import scope as tenancy

from .projection import RANKING_POINTS, enterprises, scores

_COLUMNS = (scores.c.enterprise_id, enterprises.c.name, enterprises.c.town,
            enterprises.c.industry, scores.c.points, scores.c.grade, scores.c.as_of)
_JOINED = scores.outerjoin(enterprises, enterprises.c.enterprise_id == scores.c.enterprise_id)


# the registered enterprises with a score: what the groups' sizes count
_REGISTERED = enterprises.join(scores, scores.c.enterprise_id == enterprises.c.enterprise_id)


def _filtered(statement, query, joined=_JOINED):
    """Scored enterprises only, of the caller's scope, passing the town /
    industry filters."""
    statement = statement.select_from(joined).where(scores.c.grade.is_not(None))
    for column in ("town", "industry"):
        if query.get(column) is not None:
            statement = statement.where(
                _member_of(enterprises.c[column], query[column]) if joined is _JOINED
                else enterprises.c[column] == query[column])
    if query.get("scope") is not None:
        statement = statement.where(tenancy.where(scores.c.enterprise_id, query["scope"]))
    return statement


def _unregistered(conn, query, statement):
    """The scored of the scope counted by `statement` from the scores alone:
    less what the register's side counted, the enterprises whose
    registration has not arrived (in no group). None with a town or
    industry filter: those pass none."""
    if query.get("town") is not None or query.get("industry") is not None:
        return None
    statement = statement.select_from(scores).where(scores.c.grade.is_not(None))
    if query.get("scope") is not None:
        statement = statement.where(tenancy.where(scores.c.enterprise_id, query["scope"]))
    return conn.execute(statement).all()


def _group_sizes(conn, query, group):
    """How many scored enterprises each value of `group` has; the
    unregistered under None. Counted from the register's side (its index on
    the group, each enterprise looked up in the scores' (id, grade) index,
    both in id order) and the unregistered as what is left of all scored:
    joining every score to the register from the scores' side reads the
    register in random order, several times the work at 100,000."""
    counts = dict(conn.execute(_filtered(select(group, func.count()), query, _REGISTERED)
                               .group_by(group)).all())
    left = _unregistered(conn, query, select(func.count()))
    if left is not None:
        unregistered = left[0][0] - sum(counts.values())
        if unregistered:
            counts[None] = counts.get(None, 0) + unregistered
    return counts


def _by_code_point(conn, expression):
    """Text compared as Python compares it: SQLite's default collation does,
    PostgreSQL's database collation may not ("C" does)."""
    return expression.collate("C") if conn.dialect.name == "postgresql" else expression


def _ordering(conn, order):
    """Best: most points first, worst: fewest first (points are stored as
    text: compared as numbers, read in the order of the index on them,
    projection.RANKING_POINTS); ties by name, then id, so equal points always
    come out in the same order."""
    return [RANKING_POINTS.desc() if order == "best" else RANKING_POINTS.asc(),
            _by_code_point(conn, func.coalesce(enterprises.c.name, "")),
            _by_code_point(conn, scores.c.enterprise_id)]


def _ranked(conn, query, order, limit, statement=None):
    statement = _filtered(select(*_COLUMNS) if statement is None else statement, query)
    rows = conn.execute(statement.order_by(*_ordering(conn, order)).limit(limit))
    return [dict(row._asdict(), rank=number) for number, row in enumerate(rows, start=1)]


def _group_key(value):
    """Groups by value; unknown (an enterprise whose registration has not
    arrived yet) last."""
    return (value is None, value or "")


def _grouped_ranked(conn, query, by):
    """Per town or industry, by value: how many enterprises, and its top list
    (one query per group: the database keeps `limit` rows while it scans the
    group, where numbering every row would sort them all)."""
    group = enterprises.c[by]
    counts = _group_sizes(conn, query, group)
    groups = []
    for value in sorted(counts, key=_group_key):
        members = select(*_COLUMNS).where(_member_of(group, value))
        groups.append({by: value, "enterprises": counts[value],
                       "items": _ranked(conn, query, query["order"], query["limit"], members)})
    return groups


def _member_of(group, value):
    """In the group of `value`, written so the outer join stays one: a plain
    `town = value` would let the database start from the enterprises and
    sort the whole group; this way it reads the scores in points order
    (the ranking index) and stops once the group's top list is full."""
    if value is None:
        return group.is_(None)
    return func.coalesce(group == value, false(), type_=Boolean)


def rankings(conn, query):
    result = {"by": query["by"], "order": query["order"], "limit": query["limit"]}
    if query["by"] == "overall":
        result["items"] = _ranked(conn, query, query["order"], query["limit"])
    else:
        result["groups"] = _grouped_ranked(conn, query, query["by"])
    return result


def excellent_grade(rules):
    """The rule set's top grade: what counts as excellent performance."""
    return rules["grades"][0][0]


def excellent(conn, rules, query):
    grade = excellent_grade(rules)
    count = conn.execute(_filtered(select(func.count()), query)
                         .where(scores.c.grade == grade)).scalar_one()
    items = _ranked(conn, query, "best", query["limit"],
                    select(*_COLUMNS).where(scores.c.grade == grade))
    return {"grade": grade, "count": count, "items": items}


def _counts(pairs, grades):
    counts = {grade: 0 for grade in grades}
    for grade, count in pairs:
        if grade in counts:
            counts[grade] += count
    return {"counts": counts, "total": sum(counts.values())}


def distribution(conn, rules, query):
    """How many enterprises hold each grade, zeros included."""
    grades = [grade for grade, _ in rules["grades"]]
    result = {"by": query["by"], "grades": grades}
    if query["by"] == "overall":
        pairs = conn.execute(_filtered(select(scores.c.grade, func.count()), query)
                             .group_by(scores.c.grade)).all()
        result.update(_counts(pairs, grades))
    else:
        group = enterprises.c[query["by"]]
        per_group, registered = {}, {}
        for value, grade, count in conn.execute(
                _filtered(select(group, scores.c.grade, func.count()), query, _REGISTERED)
                .group_by(group, scores.c.grade)):
            per_group.setdefault(value, []).append((grade, count))
            registered[grade] = registered.get(grade, 0) + count
        # the unregistered, grade by grade: as _group_sizes counts them
        left = _unregistered(conn, query,
                             select(scores.c.grade, func.count()).group_by(scores.c.grade))
        for grade, count in left or ():
            if count > registered.get(grade, 0):
                per_group.setdefault(None, []).append((grade, count - registered.get(grade, 0)))
        result["groups"] = [dict({query["by"]: value}, **_counts(per_group[value], grades))
                            for value in sorted(per_group, key=_group_key)]
    return result
