"""A request that a member confirm their own consents from their own phone."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, stored_as_string


class ConsentRequestStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    # Five wrong codes: a resend gives a new code and link.
    BURNED = "burned"
    # A newer request for the same member replaced it.
    SUPERSEDED = "superseded"
    # Never stored: a pending request past `expires_at` is shown as expired.
    EXPIRED = "expired"


class ConsentRequest(Base):
    """The link's token and the SMS code are never stored: the token as its SHA-256, the code
    as an HMAC in Redis (`OtpStore` scope `consent_request`, living as long as the request)."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        Index("ix_consent_requests_user_member", "user_id", "member_id"),
        Index("ix_consent_requests_phone_key", "phone_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    # [{code, version}]: the exact versions the member is shown and agrees to.
    consents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The phone it was sent to: a keyed hash (withdrawal by phone finds it) and a masked copy.
    phone_key: Mapped[str] = mapped_column(String(32))
    phone_masked: Mapped[str] = mapped_column(String(32))
    status: Mapped[ConsentRequestStatus] = mapped_column(
        stored_as_string(ConsentRequestStatus, 16), default=ConsentRequestStatus.PENDING
    )
    expires_at: Mapped[datetime]
    sent_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who answered it (confirmed or declined): the member's device.
    ip_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
