"""Invoice kinds: each invoice records whether it is a tax invoice, a bill of supply or an
invoice-cum-bill of supply (by its lines)

Invoices already issued were all titled "Tax Invoice" and stay so: the column's default fills
them in as `tax_invoice`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `invoices` would drop the table that
    # `credit_notes` points at.
    op.add_column(
        "invoices",
        sa.Column(
            "kind",
            sa.Enum(
                "tax_invoice",
                "bill_of_supply",
                "invoice_cum_bill_of_supply",
                name="invoicekind",
                native_enum=False,
                length=32,
            ),
            server_default="tax_invoice",
            nullable=False,
        ),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite >= 3.35 drops columns in place.
        bind.exec_driver_sql("ALTER TABLE invoices DROP COLUMN kind")
        return
    op.drop_column("invoices", "kind")
