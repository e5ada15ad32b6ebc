"""The migrations build exactly the models' schema, on the database the suite runs against."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import models_registry  # noqa: F401
from alembic_runner import alembic_config, upgrade_to_head
from database import Base


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
