"""Read models are disposable: drop their tables and replay the events."""


def rebuild(engine, tables, events, project, batch=500):
    """Drop and recreate `tables`, then feed `events` ((position, Event) pairs,
    in order) through `project(conn, event)`. Returns how many were replayed."""
    for table in reversed(tables):
        table.drop(engine, checkfirst=True)
    for table in tables:
        table.create(engine)
    count = 0
    pending = iter(events)
    while True:
        chunk = [event for _, event in _take(pending, batch)]
        if not chunk:
            return count
        with engine.begin() as conn:
            for event in chunk:
                project(conn, event)
        count += len(chunk)


def _take(iterator, n):
    for _ in range(n):
        try:
            yield next(iterator)
        except StopIteration:
            return


def paged(read_page, page_size=1000):
    """Iterate a positional log page by page: read_page(after, limit) -> pairs."""
    after = 0
    while True:
        page = read_page(after, page_size)
        if not page:
            return
        yield from page
        after = page[-1][0]
