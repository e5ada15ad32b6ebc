"""Enquiries: the website's bulk and corporate leads, their status history and reference counter;
outbox e-mails to an address that is no account's

`notifications.user_id` becomes nullable: the sales inbox and an enquiry's sender are e-mailed
through the outbox without being accounts. The downgrade deletes those messages first (the old
schema cannot hold them).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:08:29.786359
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("new", "contacted", "converted", "closed")


def _status() -> sa.Enum:
    return sa.Enum(*STATUSES, name="enquirystatus", native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "enquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("organization", sa.String(length=160), nullable=True),
        sa.Column("number_of_tests", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", _status(), nullable=False),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.Column("closed_at", database.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enquiries")),
        sa.UniqueConstraint("reference", name=op.f("uq_enquiries_reference")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_enquiries_year_seq")),
    )
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.create_index("ix_enquiries_closed_at", ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_enquiries_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_enquiries_phone"), ["phone"], unique=False)
        batch_op.create_index("ix_enquiries_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "enquiry_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enquiry_counters")),
        sa.UniqueConstraint("year", name=op.f("uq_enquiry_counters_year")),
    )
    op.create_table(
        "enquiry_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enquiry_id", sa.Integer(), nullable=False),
        sa.Column("from_status", _status(), nullable=True),
        sa.Column("to_status", _status(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_enquiry_status_history_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enquiry_id"],
            ["enquiries.id"],
            name=op.f("fk_enquiry_status_history_enquiry_id_enquiries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enquiry_status_history")),
    )
    with op.batch_alter_table("enquiry_status_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enquiry_status_history_enquiry_id"), ["enquiry_id"], unique=False
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notifications WHERE user_id IS NULL"))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)

    # Their indexes go with the tables (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("enquiry_status_history")
    op.drop_table("enquiry_counters")
    op.drop_table("enquiries")
