"""Home sample collection: bookings, the per-window counters, holidays, location capacity

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("serviceable_locations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collection_capacity", sa.Integer(), nullable=True))
    op.create_table(
        "collection_holidays",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_collection_holidays")),
    )
    op.create_table(
        "collection_slot_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["serviceable_locations.id"],
            name=op.f("fk_collection_slot_counts_location_id_serviceable_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_slot_counts")),
        sa.UniqueConstraint(
            "location_id",
            "day",
            "start",
            name=op.f("uq_collection_slot_counts_location_id_day_start"),
        ),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("technician_name", sa.String(length=120), nullable=True),
        sa.Column("technician_phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["serviceable_locations.id"],
            name=op.f("fk_collections_location_id_serviceable_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_collections_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
    )
    op.create_index("ix_collections_day_location", "collections", ["day", "location_id"])
    op.create_index(op.f("ix_collections_order_id"), "collections", ["order_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("collections")
    op.drop_table("collection_slot_counts")
    op.drop_table("collection_holidays")
    with op.batch_alter_table("serviceable_locations", schema=None) as batch_op:
        batch_op.drop_column("collection_capacity")
