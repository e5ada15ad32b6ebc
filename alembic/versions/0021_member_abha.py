"""Members: the ABHA (national health id), an optional number and address

Both NULL for existing members. Indexed, for finding a patient by either (ABDM discovery).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-11 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("abha_number", "abha_address")


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `members` would drop the tables that
    # point at it.
    op.add_column("members", sa.Column("abha_number", sa.String(length=17), nullable=True))
    op.add_column("members", sa.Column("abha_address", sa.String(length=64), nullable=True))
    for column in COLUMNS:
        op.create_index(op.f(f"ix_members_{column}"), "members", [column], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    for column in COLUMNS:
        # SQLite refuses to drop a column an index uses.
        op.drop_index(op.f(f"ix_members_{column}"), table_name="members")
        if bind.dialect.name == "sqlite":
            # SQLite >= 3.35 drops columns in place.
            bind.exec_driver_sql(f"ALTER TABLE members DROP COLUMN {column}")
        else:
            op.drop_column("members", column)
