"""Enquiries (bulk and corporate testing leads from the website's form), their status history
and the counter that gives each its reference (`ENQ-2026-000123`, gapless per year)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from database import Base, stored_as_string


class EnquiryStatus(StrEnum):
    """The sales pipeline. `closed` starts the retention clock (ENQUIRY_RETENTION_DAYS)."""

    NEW = "new"
    CONTACTED = "contacted"
    CONVERTED = "converted"
    CLOSED = "closed"


class EnquiryCounter(Base):
    """The last reference number given in a calendar year (India time); locked while one is
    taken, in the transaction that stores the enquiry, so a rollback uses none."""

    __tablename__ = "enquiry_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class Enquiry(Base):
    """A lead as the sender typed it. Personal data: exported and erased with the account
    whose phone or e-mail it carries, deleted ENQUIRY_RETENTION_DAYS after it is closed."""

    __tablename__ = "enquiries"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        # The admin list: by status, newest first.
        Index("ix_enquiries_status_created", "status", "created_at"),
        # The retention job: closed ones, oldest close first.
        Index("ix_enquiries_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    # E.164, as every phone; matched against an account's login phone for export and erasure.
    phone: Mapped[str] = mapped_column(String(32), index=True)
    # Lower-cased, so an account's e-mail matches it whatever its case.
    email: Mapped[str] = mapped_column(String(254), index=True)
    organization: Mapped[str | None] = mapped_column(String(160), default=None)
    number_of_tests: Mapped[int]
    message: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[EnquiryStatus] = mapped_column(
        stored_as_string(EnquiryStatus, 16), default=EnquiryStatus.NEW
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When it was last closed (None while open; a reopened enquiry's clock starts again).
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    history: Mapped[list["EnquiryStatusChange"]] = relationship(
        back_populates="enquiry",
        lazy="raise",
        order_by="EnquiryStatusChange.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class EnquiryStatusChange(Base):
    """One step of an enquiry's pipeline (or a note on it), by whom and when; goes with it."""

    __tablename__ = "enquiry_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(
        ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )
    # None on the first entry (the enquiry arrived).
    from_status: Mapped[EnquiryStatus | None] = mapped_column(
        stored_as_string(EnquiryStatus, 16), default=None
    )
    to_status: Mapped[EnquiryStatus] = mapped_column(stored_as_string(EnquiryStatus, 16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # The admin who made the change; None for the enquiry's arrival from the website.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)

    enquiry: Mapped[Enquiry] = relationship(back_populates="history", lazy="raise")
