"""Build a fresh database straight from the models and stamp it at the newest migration.

`python create_all_tables.py` — for a new empty database only; existing ones use
`python alembic_runner.py`.
"""

import logging

from alembic import command
from sqlalchemy import Engine, inspect

import models_registry  # noqa: F401 - registers every table on Base.metadata
from alembic_runner import alembic_config
from database import Base
from database import engine as default_engine

logger = logging.getLogger("nucleotide.migrations")


def create_all_and_stamp(engine: Engine | None = None) -> None:
    engine = engine or default_engine
    existing = set(inspect(engine).get_table_names()) - {"alembic_version"}
    if existing:
        raise SystemExit(f"database is not empty ({len(existing)} tables); use alembic_runner.py")
    Base.metadata.create_all(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, "head")
    logger.info("created %d tables and stamped head", len(Base.metadata.tables))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    create_all_and_stamp()
