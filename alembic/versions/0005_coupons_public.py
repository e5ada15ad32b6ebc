"""coupons.public: only public coupons are listed by GET /cart/coupons

Every coupon was listed to every shopper, private codes included. Existing coupons become
private (the safe side); an admin marks the ones to advertise with `public: true`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `coupons` would drop the table that
    # carts and redemptions point at.
    op.add_column(
        "coupons",
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite >= 3.35 drops columns in place.
        bind.exec_driver_sql("ALTER TABLE coupons DROP COLUMN public")
        return
    op.drop_column("coupons", "public")
