"""A person (the user or a relative) that tests are ordered for."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from database import Base, TimestampMixin


class Member(TimestampMixin, Base):
    __tablename__ = "members"
    __table_args__ = (Index("ix_members_user_id_is_deleted", "user_id", "is_deleted"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    relation: Mapped[str] = mapped_column(String(16))
    date_of_birth: Mapped[date]
    gender: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # The member's ABHA (national health id), as core.validation normalises it: the number
    # `XX-XXXX-XXXX-XXXX`, the address lower-case `handle@abdm` / `handle@sbx`. Indexed: ABDM's
    # discovery finds a patient by either.
    abha_number: Mapped[str | None] = mapped_column(String(17), default=None, index=True)
    abha_address: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # Orders keep pointing at a deleted member, so rows are only ever marked deleted.
    is_deleted: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
