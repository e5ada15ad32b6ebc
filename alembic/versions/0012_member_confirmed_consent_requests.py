"""Member-confirmed consent: consent requests, and who confirmed each grant

Existing grants keep `consent_request_id` NULL (given by the account holder). They stay valid
for the orders already placed (the withdrawal checks of placed orders read only
`withdrawn_at`); a new checkout counts, for an adult member other than `self`, only grants the
member confirmed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:16:59.509730
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_key", sa.String(length=32), nullable=False),
        sa.Column("phone_masked", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "declined",
                "burned",
                "superseded",
                "expired",
                name="consentrequeststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", database.UTCDateTime(), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("decided_at", database.UTCDateTime(), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_consent_requests_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_consent_requests_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_consent_requests_token_hash")),
    )
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index("ix_consent_requests_phone_key", ["phone_key"], unique=False)
        batch_op.create_index(
            "ix_consent_requests_user_member", ["user_id", "member_id"], unique=False
        )

    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by_phone", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_consent_grants_consent_request_id"), ["consent_request_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_grants_consent_request_id_consent_requests"),
            "consent_requests",
            ["consent_request_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_grants", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consent_grants_consent_request_id_consent_requests"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_consent_grants_consent_request_id"))
        batch_op.drop_column("confirmed_by_phone")
        batch_op.drop_column("consent_request_id")

    # Its indexes go with the table (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("consent_requests")
