"""Count the SQL statements a block of code sends, to prove a route has no N+1."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from database import engine


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Collects every statement sent on `database.engine` (the tests' connection is one of its
    connections) while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
