"""Lab reports: a row per uploaded version, and the latest version on each order item

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:30:26.732851
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", database.UTCDateTime(), nullable=False),
        sa.Column("erased_at", database.UTCDateTime(), nullable=True),
        sa.Column("purged_at", database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_reports_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_item_id"], ["order_items.id"], name=op.f("fk_reports_order_item_id_order_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "order_item_id", "version", name=op.f("uq_reports_order_item_id_version")
        ),
        sa.UniqueConstraint("storage_key", name=op.f("uq_reports_storage_key")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_purged_at"), ["purged_at"], unique=False)

    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_column("report_version")

    # Dropping the table drops its indexes (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("reports")
