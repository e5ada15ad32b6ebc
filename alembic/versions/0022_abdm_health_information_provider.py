"""ABDM Health Information Provider: the exchanges with the gateway (both ways), link tokens,
care contexts, patient-initiated link requests, consent artefacts and data transfers

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "abdm_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "acknowledged",
                "transferred",
                "failed",
                "errored",
                name="transferstate",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("data_push_url", sa.String(length=500), nullable=True),
        sa.Column("key_material", sa.JSON(), nullable=True),
        sa.Column("date_from", database.UTCDateTime(), nullable=True),
        sa.Column("date_to", database.UTCDateTime(), nullable=True),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", database.UTCDateTime(), nullable=False),
        sa.Column("deadline_at", database.UTCDateTime(), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("done_at", database.UTCDateTime(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_transfers")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_abdm_transfers_transaction_id")),
    )
    with op.batch_alter_table("abdm_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_abdm_transfers_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            "ix_abdm_transfers_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "abdm_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "GRANTED",
                "REVOKED",
                "EXPIRED",
                "DENIED",
                name="consentstate",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("care_contexts", sa.JSON(), nullable=False),
        sa.Column("hi_types", sa.JSON(), nullable=False),
        sa.Column("hiu_id", sa.String(length=64), nullable=True),
        sa.Column("date_from", database.UTCDateTime(), nullable=True),
        sa.Column("date_to", database.UTCDateTime(), nullable=True),
        sa.Column("data_erase_at", database.UTCDateTime(), nullable=True),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abdm_consents_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_consents")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_abdm_consents_consent_id")),
    )
    with op.batch_alter_table("abdm_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_abdm_consents_member_id"), ["member_id"], unique=False)

    op.create_table(
        "abdm_link_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("link_ref_number", sa.String(length=64), nullable=True),
        sa.Column("order_item_ids", sa.JSON(), nullable=True),
        sa.Column("expires_at", database.UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", database.UTCDateTime(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abdm_link_requests_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_link_requests")),
        sa.UniqueConstraint("link_ref_number", name=op.f("uq_abdm_link_requests_link_ref_number")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_abdm_link_requests_transaction_id")),
    )
    with op.batch_alter_table("abdm_link_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_abdm_link_requests_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "abdm_link_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("abha_address", sa.String(length=64), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "valid",
                "failed",
                "blocked",
                name="tokenstate",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("token_encrypted", sa.Text(), nullable=True),
        sa.Column("expires_at", database.UTCDateTime(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("requested_at", database.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", database.UTCDateTime(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abdm_link_tokens_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_link_tokens")),
        sa.UniqueConstraint("member_id", name=op.f("uq_abdm_link_tokens_member_id")),
    )
    with op.batch_alter_table("abdm_link_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_abdm_link_tokens_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "abdm_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "direction", sa.Enum("in", "out", name="direction", native_enum=False), nullable=False
        ),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "done", "failed", name="messagestate", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", database.UTCDateTime(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("done_at", database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abdm_messages_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_messages")),
        sa.UniqueConstraint(
            "direction", "request_id", name=op.f("uq_abdm_messages_direction_request_id")
        ),
    )
    with op.batch_alter_table("abdm_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_abdm_messages_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_abdm_messages_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_abdm_messages_subject"), ["subject"], unique=False)

    op.create_table(
        "abdm_care_contexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "linked", "failed", name="linkstatus", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("linked_at", database.UTCDateTime(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abdm_care_contexts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_abdm_care_contexts_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_item_id"],
            ["order_items.id"],
            name=op.f("fk_abdm_care_contexts_order_item_id_order_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abdm_care_contexts")),
        sa.UniqueConstraint("order_item_id", name=op.f("uq_abdm_care_contexts_order_item_id")),
    )
    with op.batch_alter_table("abdm_care_contexts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_abdm_care_contexts_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_abdm_care_contexts_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index("ix_abdm_care_contexts_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    # Their indexes go with the tables (MariaDB refuses to drop an index a foreign key uses).
    for table in (
        "abdm_care_contexts",
        "abdm_messages",
        "abdm_link_tokens",
        "abdm_link_requests",
        "abdm_consents",
        "abdm_transfers",
    ):
        op.drop_table(table)
