"""Rankings, excellent performers and the grade distribution, from the
stored scores. A stored score is evaluated as of the later of the
enterprise's latest event and the clock's day, so after the daily clock step
every enterprise is compared over the same window (one that recorded today:
today's)."""
from decimal import Decimal

from sqlalchemy import select

from einspection import scope as tenancy

from .projection import enterprises, scores

_SCORED = (select(scores.c.enterprise_id, enterprises.c.name, enterprises.c.town,
                  enterprises.c.industry, scores.c.points, scores.c.grade, scores.c.as_of)
           .select_from(scores.outerjoin(
               enterprises, enterprises.c.enterprise_id == scores.c.enterprise_id))
           .where(scores.c.grade.is_not(None)))


def _scored(conn, query):
    """Every scored enterprise of the caller's scope that passes the town /
    industry filters."""
    statement = _SCORED
    for column in ("town", "industry"):
        if query.get(column) is not None:
            statement = statement.where(enterprises.c[column] == query[column])
    if query.get("scope") is not None:
        statement = statement.where(tenancy.where(scores.c.enterprise_id, query["scope"]))
    return [row._asdict() for row in conn.execute(statement)]


def _ranked(entries, order, limit):
    """Best: most points first, worst: fewest first; ties by name, then id,
    so equal points always come out in the same order."""
    sign = -1 if order == "best" else 1
    ordered = sorted(entries, key=lambda e: (sign * Decimal(e["points"]), e["name"] or "",
                                             e["enterprise_id"]))
    return [dict(entry, rank=number) for number, entry in enumerate(ordered[:limit], start=1)]


def _groups(entries, by):
    """(value, entries) per town or industry, by value; unknown (an enterprise
    whose registration has not arrived yet) last."""
    grouped = {}
    for entry in entries:
        grouped.setdefault(entry[by], []).append(entry)
    return sorted(grouped.items(), key=lambda item: (item[0] is None, item[0] or ""))


def rankings(conn, query):
    entries = _scored(conn, query)
    result = {"by": query["by"], "order": query["order"], "limit": query["limit"]}
    if query["by"] == "overall":
        result["items"] = _ranked(entries, query["order"], query["limit"])
    else:
        result["groups"] = [{query["by"]: value, "enterprises": len(members),
                             "items": _ranked(members, query["order"], query["limit"])}
                            for value, members in _groups(entries, query["by"])]
    return result


def excellent_grade(rules):
    """The rule set's top grade: what counts as excellent performance."""
    return rules["grades"][0][0]


def excellent(conn, rules, query):
    grade = excellent_grade(rules)
    entries = [e for e in _scored(conn, query) if e["grade"] == grade]
    return {"grade": grade, "count": len(entries),
            "items": _ranked(entries, "best", query["limit"])}


def _counts(entries, grades):
    counts = {grade: 0 for grade in grades}
    for entry in entries:
        if entry["grade"] in counts:
            counts[entry["grade"]] += 1
    return {"counts": counts, "total": sum(counts.values())}


def distribution(conn, rules, query):
    """How many enterprises hold each grade, zeros included."""
    grades = [grade for grade, _ in rules["grades"]]
    entries = _scored(conn, query)
    result = {"by": query["by"], "grades": grades}
    if query["by"] == "overall":
        result.update(_counts(entries, grades))
    else:
        result["groups"] = [dict({query["by"]: value}, **_counts(members, grades))
                            for value, members in _groups(entries, query["by"])]
    return result
