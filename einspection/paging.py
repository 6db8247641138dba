"""One way to page and sort every list of the API.

A list query takes `page` (from 1), `size` (1 to MAX_SIZE, default
DEFAULT_SIZE) and `sort` (one of the list's keys, `-` in front for
descending; ties go by the row's id, so pages never overlap or skip), and is
answered as {"items", "page", "size", "total", "pages", "sort"}. The fields
are marshmallow fields, so each service's query schema validates them and the
gateway's OpenAPI document describes them from the same declaration."""
from marshmallow import fields, validate
from sqlalchemy import func, select

MAX_PAGE = 100000
MAX_SIZE = 200
DEFAULT_SIZE = 50


def page_field():
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "page number, from 1"})


def size_field(default=DEFAULT_SIZE):
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_SIZE),
                          metadata={"description": "items per page, 1 to %d" % MAX_SIZE})


def sort_field(keys, default):
    """`sort`: one of `keys`, ascending, or with `-` in front, descending."""
    choices = list(keys) + ["-" + key for key in keys]
    return fields.String(load_default=default, validate=validate.OneOf(choices),
                         metadata={"description": "one of %s; `-` in front for descending"
                                   % ", ".join(keys)})


def ordering(columns, sort, tie):
    """ORDER BY for `sort` over `columns` (a table's `.c`), ties by `tie`."""
    column = columns[sort.lstrip("-")]
    if sort.startswith("-"):
        return [column.desc(), tie.desc()]
    return [column.asc(), tie.asc()]


def envelope(items, query, total):
    size = query["size"]
    return {"items": items, "page": query["page"], "size": size, "total": total,
            "pages": -(-total // size), "sort": query["sort"]}


def page_of(conn, statement, query, order, view):
    """One page of `statement`'s rows (ordered by `order`), each through
    `view`, in the envelope."""
    total = conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    rows = conn.execute(statement.order_by(*order).limit(query["size"])
                        .offset((query["page"] - 1) * query["size"])).all()
    return envelope([view(row) for row in rows], query, total)
