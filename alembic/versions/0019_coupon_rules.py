"""Coupons: who may use them. Allowed plan types, first order only, and an allow-list of phones
and accounts (targeted coupons); each cart records when its account first had an order paid

Existing coupons keep applying as before: any plan, any order, no allow-list. Carts learn from
the orders already paid when their account's first order was paid; an account with a paid
order and no cart row (none today: checkout needs the cart) gets an empty cart holding it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `coupons` or `carts` would drop the
    # tables that point at them.
    op.add_column(
        "coupons", sa.Column("allowed_plan_types", sa.JSON(), server_default="[]", nullable=False)
    )
    op.add_column(
        "coupons",
        sa.Column("first_order_only", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "coupons", sa.Column("targeted", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("carts", sa.Column("first_order_paid_at", database.UTCDateTime(), nullable=True))
    op.create_table(
        "coupon_allowed_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(phone IS NULL) <> (user_id IS NULL)",
            name=op.f("ck_coupon_allowed_entries_phone_or_user"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_allowed_entries_coupon_id_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_coupon_allowed_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_allowed_entries")),
        sa.UniqueConstraint(
            "coupon_id", "phone", name=op.f("uq_coupon_allowed_entries_coupon_id_phone")
        ),
        sa.UniqueConstraint(
            "coupon_id", "user_id", name=op.f("uq_coupon_allowed_entries_coupon_id_user_id")
        ),
    )
    with op.batch_alter_table("coupon_allowed_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coupon_allowed_entries_phone"), ["phone"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coupon_allowed_entries_user_id"), ["user_id"], unique=False
        )
    _backfill_first_paid_orders()


def _backfill_first_paid_orders() -> None:
    op.execute(
        "UPDATE carts SET first_order_paid_at = (SELECT MIN(orders.paid_at) FROM orders "
        "WHERE orders.user_id = carts.user_id AND orders.paid_at IS NOT NULL)"
    )
    op.execute(
        "INSERT INTO carts (user_id, first_order_paid_at, created_at, updated_at) "
        "SELECT orders.user_id, MIN(orders.paid_at), MIN(orders.paid_at), MIN(orders.paid_at) "
        "FROM orders WHERE orders.paid_at IS NOT NULL "
        "AND orders.user_id NOT IN (SELECT carts.user_id FROM carts) "
        "GROUP BY orders.user_id"
    )


def downgrade() -> None:
    # Its indexes go with the table (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("coupon_allowed_entries")
    bind = op.get_bind()
    columns = [
        ("carts", "first_order_paid_at"),
        ("coupons", "targeted"),
        ("coupons", "first_order_only"),
        ("coupons", "allowed_plan_types"),
    ]
    for table, column in columns:
        if bind.dialect.name == "sqlite":
            # SQLite >= 3.35 drops columns in place.
            bind.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
