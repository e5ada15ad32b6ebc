"""Home banners: the apps' and website's home carousel

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import database

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "banners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("subtitle", sa.String(length=160), nullable=True),
        sa.Column(
            "action_type",
            sa.Enum(
                "product",
                "category",
                "url",
                "none",
                name="actiontype",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("action_url", sa.String(length=2000), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("starts_at", database.UTCDateTime(), nullable=True),
        sa.Column("ends_at", database.UTCDateTime(), nullable=True),
        sa.Column("on_app", sa.Boolean(), nullable=False),
        sa.Column("on_web", sa.Boolean(), nullable=False),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", database.UTCDateTime(), nullable=True),
        sa.Column("created_at", database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_banners_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_banners_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banners")),
    )
    with op.batch_alter_table("banners", schema=None) as batch_op:
        batch_op.create_index(
            "ix_banners_listing", ["deleted_at", "active", "position"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_banners_category_id"), ["category_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_banners_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    # Its indexes go with the table (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table("banners")
