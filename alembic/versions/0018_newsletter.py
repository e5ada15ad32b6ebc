"""Newsletter: one row per address that asked (state, the linked account, the consent), and
header fields of its own on an outbox row (List-Unsubscribe on the newsletter's e-mails)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "newsletter_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "unsubscribed",
                name="subscriptionstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", database.UTCDateTime(), nullable=True),
        sa.Column("consent_ip", sa.String(length=64), nullable=True),
        sa.Column("consent_text_version", sa.String(length=32), nullable=True),
        sa.Column("unsubscribed_at", database.UTCDateTime(), nullable=True),
        sa.Column("requested_at", database.UTCDateTime(), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_newsletter_subscriptions_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_newsletter_subscriptions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newsletter_subscriptions")),
        sa.UniqueConstraint("email", name=op.f("uq_newsletter_subscriptions_email")),
        sa.UniqueConstraint("user_id", name=op.f("uq_newsletter_subscriptions_user_id")),
    )
    with op.batch_alter_table("newsletter_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_newsletter_subscriptions_requested_by_user_id"),
            ["requested_by_user_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_newsletter_subscriptions_status_id", ["status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_newsletter_subscriptions_status_requested",
            ["status", "requested_at"],
            unique=False,
        )

    # Plain ADD COLUMN on SQLite too (a batch copy of `notifications` is not needed for it).
    op.add_column("notifications", sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite >= 3.35 drops columns in place.
        bind.exec_driver_sql("ALTER TABLE notifications DROP COLUMN headers")
    else:
        op.drop_column("notifications", "headers")

    # Its indexes go with the table (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("newsletter_subscriptions")
