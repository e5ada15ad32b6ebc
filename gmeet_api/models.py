"""Counsellors who connected Google Calendar, their encrypted tokens, bookings and activity."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, TimestampMixin, stored_as_string


class CounsellorStatus(StrEnum):
    CONNECTED = "connected"
    # The grant is gone (revoked, or the tokens no longer decrypt): the counsellor must connect
    # again before they take bookings.
    RECONNECT_REQUIRED = "reconnect_required"


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Counsellor(TimestampMixin, Base):
    __tablename__ = "counsellor_gmeet_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public id (`A3X9K2`); the other gmeet tables refer to counsellors by it.
    counsellor_id: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    google_sub: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    specialization: Mapped[str | None] = mapped_column(String(120), default=None)
    bio: Mapped[str | None] = mapped_column(Text, default=None)
    # New counsellors wait for an admin: any Google account can complete the OAuth flow.
    is_active: Mapped[bool] = mapped_column(default=False)
    status: Mapped[CounsellorStatus] = mapped_column(
        stored_as_string(CounsellorStatus, 24), default=CounsellorStatus.CONNECTED
    )
    # Per-counsellor overrides of the default working hours (NULL = the default).
    working_days: Mapped[str | None] = mapped_column(String(32), default=None)
    workday_start: Mapped[str | None] = mapped_column(String(5), default=None)
    workday_end: Mapped[str | None] = mapped_column(String(5), default=None)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)


class CounsellorToken(TimestampMixin, Base):
    """Google OAuth tokens, Fernet-encrypted (TOKEN_ENCRYPTION_KEY); never stored in clear."""

    __tablename__ = "counsellor_gmeet_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    counsellor_id: Mapped[str] = mapped_column(
        ForeignKey("counsellor_gmeet_list.counsellor_id", ondelete="CASCADE"), unique=True
    )
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    scopes: Mapped[str] = mapped_column(String(1000))


class Booking(TimestampMixin, Base):
    __tablename__ = "counsellor_gmeet_bookings"
    __table_args__ = (
        # The last line of defence against double booking: `slot_key` is the slot's start while
        # the booking is live and NULL once cancelled (NULLs never collide).
        UniqueConstraint("counsellor_id", "slot_key"),
        Index("ix_counsellor_gmeet_bookings_user_start", "user_id", "start_time"),
        Index("ix_counsellor_gmeet_bookings_counsellor_start", "counsellor_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    counsellor_id: Mapped[str] = mapped_column(ForeignKey("counsellor_gmeet_list.counsellor_id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), default=None)
    patient_name: Mapped[str] = mapped_column(String(120))
    patient_email: Mapped[str | None] = mapped_column(String(254), default=None)
    patient_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    slot_key: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[BookingStatus] = mapped_column(
        stored_as_string(BookingStatus, 16), default=BookingStatus.CONFIRMED
    )
    google_event_id: Mapped[str | None] = mapped_column(String(255), default=None)
    meet_link: Mapped[str | None] = mapped_column(String(255), default=None)
    calendar_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    notifications_sent: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_by_user_id: Mapped[int | None] = mapped_column(default=None)


class ActivityLog(Base):
    __tablename__ = "counsellor_gmeet_activity_logs"
    __table_args__ = (
        Index(
            "ix_counsellor_gmeet_activity_logs_counsellor_created", "counsellor_id", "created_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counsellor_id: Mapped[str | None] = mapped_column(
        ForeignKey("counsellor_gmeet_list.counsellor_id"), default=None
    )
    actor_user_id: Mapped[int | None] = mapped_column(default=None)
    action: Mapped[str] = mapped_column(String(48), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
