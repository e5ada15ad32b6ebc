"""One row per e-mail address that asked for the newsletter: its state, the account it is
linked to, and the proof of consent (when, from which IP, to which version of the text)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, stored_as_string


class SubscriptionStatus(StrEnum):
    # Asked for, not confirmed from the mailbox yet: nothing is sent but confirmation e-mails.
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class NewsletterSubscription(Base):
    __tablename__ = "newsletter_subscriptions"
    __table_args__ = (
        # The admin list by status, and the purge of sign-ups nobody confirmed.
        Index("ix_newsletter_subscriptions_status_id", "status", "id"),
        Index("ix_newsletter_subscriptions_status_requested", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased, as typed otherwise; one row per address.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        stored_as_string(SubscriptionStatus, 16), default=SubscriptionStatus.PENDING
    )
    # The account that confirmed it (the one logged in when the confirmation was asked for);
    # at most one subscription per account.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True, default=None
    )
    # The consent, as given by the last confirmation.
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    consent_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    consent_text_version: Mapped[str | None] = mapped_column(String(32), default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last time a confirmation e-mail was asked for, and the last account that asked
    # (logged in): a sign-up nobody confirmed is erased with that account.
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
