"""users.gender wide enough for `prefer_not_to_say` (17 characters; MariaDB refused it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 06:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_gender_length(old: int, new: int) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(
            "users",
            "gender",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=True,
        )
        return
    # SQLite ignores VARCHAR lengths, so only the declared type changes. A batch copy of the table
    # would drop `users`, and with foreign keys on that cascades into every table pointing at it;
    # instead the declaration is rewritten in place, as https://sqlite.org/lang_altertable.html
    # (section 7) describes for changes that leave the stored data as it is.
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'users'",
        (f"gender VARCHAR({old})", f"gender VARCHAR({new})"),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    _set_gender_length(16, 32)


def downgrade() -> None:
    _set_gender_length(32, 16)
