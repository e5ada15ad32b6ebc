"""Apply migrations (`alembic upgrade head`) under a lock, so replicas starting together are safe.

Run by hand: `python alembic_runner.py`.
"""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from config import get_settings
from database import build_engine

logger = logging.getLogger("nucleotide.migrations")

ROOT = Path(__file__).resolve().parent
MIGRATION_LOCK = "nucleotide_migrations"
LOCK_TIMEOUT_SECONDS = 120


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    return config


def upgrade_to_head(engine: Engine | None = None) -> None:
    """`alembic upgrade head` on `engine` (default: DATABASE_URL without the requests' statement
    timeout); on MySQL under GET_LOCK so only one replica migrates."""
    if engine is None:
        own = build_engine(get_settings().DATABASE_URL, for_migrations=True)
        try:
            upgrade_to_head(own)
        finally:
            own.dispose()
        return
    config = alembic_config()
    with engine.connect() as connection:
        locked = engine.dialect.name == "mysql"
        if locked:
            got = connection.execute(
                text("SELECT GET_LOCK(:name, :timeout)"),
                {"name": MIGRATION_LOCK, "timeout": LOCK_TIMEOUT_SECONDS},
            ).scalar()
            if got != 1:
                raise RuntimeError("timed out waiting for the migration lock")
        try:
            before = MigrationContext.configure(connection).get_current_heads()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
            after = MigrationContext.configure(connection).get_current_heads()
        finally:
            if locked:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": MIGRATION_LOCK})
    if before == after:
        logger.info("database schema is at head (%s); nothing to migrate", ",".join(after))
    else:
        # One line per real migration: replicas starting together show it exactly once.
        logger.info(
            "database schema migrated from %s to head (%s)",
            ",".join(before) or "empty",
            ",".join(after),
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    upgrade_to_head()
