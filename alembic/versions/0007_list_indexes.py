"""Indexes for the newest-first lists: all orders (admin) and audit entries of one type

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_created", "orders", ["created_at", "id"])
    op.create_index(
        "ix_audit_logs_entity_type_created", "audit_logs", ["entity_type", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_logs_entity_type_created", table_name="audit_logs")
    op.drop_index("ix_orders_created", table_name="orders")
