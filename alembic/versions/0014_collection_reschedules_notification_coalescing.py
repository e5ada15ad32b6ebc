"""Rescheduling limit and coalesced notices: how often each visit was moved, and the key that
lets a newer message rewrite the not-yet-sent rows of an earlier one

Existing visits start at 0 moves; existing outbox rows have no key (never coalesced).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reschedules", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=191), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notifications_coalesce_key"), ["coalesce_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_coalesce_key"))
        batch_op.drop_column("coalesce_key")

    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_column("reschedules")
