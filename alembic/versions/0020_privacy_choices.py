"""Visitor privacy choices: append-only receipts of what a website or app visitor allowed
(analytics, location), under which policy version, linked to the account when logged in

Nothing else about the visitor is stored (no IP address, user agent, coordinates, page URL or
device fingerprint).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("analytics", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_privacy_choices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_choices")),
    )
    with op.batch_alter_table("privacy_choices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_privacy_choices_visitor_id_id", ["visitor_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_privacy_choices_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    # Its indexes go with the table (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("privacy_choices")
