"""Read models are disposable: they are rebuilt by replaying a positional log."""


def paged(read_page, page_size=1000):
    """Iterate a positional log page by page: read_page(after, limit) -> pairs."""
    after = 0
    while True:
        page = read_page(after, page_size)
        if not page:
            return
        yield from page
        after = page[-1][0]
