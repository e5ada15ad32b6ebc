"""The database the suite runs on (MariaDB with TEST_DATABASE_URL, else SQLite): what only
MariaDB can show, emptying it, and counting the statements a block sends (to prove no N+1)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text

from database import Base, engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
IS_MARIADB = engine.dialect.name == "mysql"

requires_mariadb = pytest.mark.skipif(
    not IS_MARIADB, reason="needs real commits and row locks: set TEST_DATABASE_URL (MariaDB)"
)


def drop_everything(target: Engine) -> None:
    """Empty the test database (a re-run against the same MariaDB database starts clean)."""
    with target.begin() as connection:
        if target.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in inspect(connection).get_table_names():
            connection.execute(
                text(f"DROP TABLE `{table}`" if IS_MARIADB else f'DROP TABLE "{table}"')
            )
        if target.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def empty_every_table(target: Engine) -> None:
    """Delete every committed row (the schema and the Alembic version stay)."""
    with target.begin() as connection:
        if IS_MARIADB:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        if IS_MARIADB:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


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
