"""The migrations build exactly the models' schema, on the database the suite runs against."""

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, make_url, text

import models_registry  # noqa: F401
from alembic import command
from alembic_runner import alembic_config, upgrade_to_head
from database import Base, build_engine, engine
from tests.conftest import _TMP


@pytest.fixture
def empty_engine() -> Iterator[Engine]:
    """A brand-new empty database of the same kind as the suite's."""
    if engine.dialect.name == "sqlite":
        fresh = build_engine(f"sqlite:///{_TMP / f'migrations-{uuid.uuid4().hex}.db'}")
        yield fresh
        fresh.dispose()
        return
    name = f"{engine.url.database}_mig_{uuid.uuid4().hex[:8]}"
    server = create_engine(
        make_url(str(engine.url)).set(database=None), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    fresh = build_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield fresh
    finally:
        fresh.dispose()
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE `{name}`"))
        server.dispose()


def test_upgrade_head_on_empty_database_matches_models(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_upgrade_head_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    upgrade_to_head(empty_engine)
    with empty_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads()


def test_downgrade_to_base_and_back(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(empty_engine)
    assert "users" in inspect(empty_engine).get_table_names()
