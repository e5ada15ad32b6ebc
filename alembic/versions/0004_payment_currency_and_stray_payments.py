"""payments.currency and payments.stray_reason: captures that do not pay their order

A payment whose amount or currency differs from its order's, or a second capture of an order
already paid, is kept with the reason and refunded on its own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `payments` would drop the table that
    # `refunds` points at.
    op.add_column(
        "payments",
        sa.Column("currency", sa.String(length=3), server_default="INR", nullable=False),
    )
    op.add_column("payments", sa.Column("stray_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite >= 3.35 drops columns in place.
        bind.exec_driver_sql("ALTER TABLE payments DROP COLUMN stray_reason")
        bind.exec_driver_sql("ALTER TABLE payments DROP COLUMN currency")
        return
    op.drop_column("payments", "stray_reason")
    op.drop_column("payments", "currency")
