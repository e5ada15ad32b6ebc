"""device_sessions.revoked_at indexed: the revocation sync reads recent revocations every tick

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_device_sessions_revoked_at", "device_sessions", ["revoked_at"])


def downgrade() -> None:
    op.drop_index("ix_device_sessions_revoked_at", table_name="device_sessions")
