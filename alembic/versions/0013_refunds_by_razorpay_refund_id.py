"""Refunds matched by their Razorpay refund id: a payment may have several refunds (partial ones,
or one made in the Razorpay Dashboard beside ours), and a Dashboard refund has no idempotency
key of ours

Existing rows stay as they are (at most one per payment, each with a key).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        # The foreign key keeps an index of its own before the unique one goes (MariaDB refuses
        # to drop the only index a foreign key uses).
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("uq_refunds_payment_id"), type_="unique")
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # One refund per payment again: a database that has recorded several refunds of one payment
    # cannot go back (the unique key refuses them) rather than lose any of them.
    refunds = sa.table(
        "refunds",
        sa.column("razorpay_refund_id", sa.String(64)),
        sa.column("idempotency_key", sa.String(64)),
    )
    op.execute(
        refunds.update()
        .where(refunds.c.idempotency_key.is_(None))
        .values(
            idempotency_key=sa.func.substr(
                sa.literal("dashboard-") + sa.func.coalesce(refunds.c.razorpay_refund_id, ""),
                1,
                64,
            )
        )
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_refunds_payment_id"), ["payment_id"])
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))
