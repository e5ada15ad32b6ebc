"""The outbox (one row per message and channel; the `inbox` rows are the in-app inbox), push
devices bound to login sessions, and each user's channel preferences."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, stored_as_string


class NotificationEvent(StrEnum):
    ORDER_PAID = "order_paid"
    PAYMENT_FAILED = "payment_failed"
    COLLECTION_SCHEDULED = "collection_scheduled"
    SAMPLE_COLLECTED = "sample_collected"
    REPORT_READY = "report_ready"
    REFUND_PROCESSED = "refund_processed"
    COUNSELLING_BOOKED = "counselling_booked"
    COUNSELLING_REMINDER = "counselling_reminder"
    COUNSELLING_CANCELLED = "counselling_cancelled"
    CONSENT_REQUEST = "consent_request"
    PHONE_CHANGED = "phone_changed"
    # To an address that is no account's (`notify_email`): a website enquiry, to the sales
    # inbox (with what the sender typed) and to the sender (the reference and a fixed text).
    ENQUIRY_RECEIVED = "enquiry_received"
    ENQUIRY_ACKNOWLEDGED = "enquiry_acknowledged"
    # To an address that asked for the newsletter: the double opt-in link (and unsubscribe).
    NEWSLETTER_CONFIRMATION = "newsletter_confirmation"
    # To the member's phone: the code that links their reports to their ABHA (from their app).
    ABHA_LINK_CODE = "abha_link_code"


# Texts that carry a secret (a consent request's link and code, a newsletter confirmation's
# signed links): no link in the payload, and the text is cut down to its title once the
# message has gone (no HTML part or extra headers kept either).
SECRET_EVENTS = frozenset(
    {
        NotificationEvent.CONSENT_REQUEST,
        NotificationEvent.NEWSLETTER_CONFIRMATION,
        NotificationEvent.ABHA_LINK_CODE,
    }
)
# Texts that carry a code: their SMS spend the codes' budget, not the notifications' one.
CODE_EVENTS = frozenset({NotificationEvent.CONSENT_REQUEST, NotificationEvent.ABHA_LINK_CODE})


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    INBOX = "inbox"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Not sent by rule (a phone's hourly cap of notification SMS): the inbox and push have it.
    SKIPPED = "skipped"


class DevicePlatform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The delivery job's claim: due pending rows, oldest first.
        Index("ix_notifications_due", "status", "next_attempt_at"),
        # The inbox, newest first.
        Index("ix_notifications_inbox", "user_id", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: an e-mail to an address that is no account's (`notify_email`; no inbox entry).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    event: Mapped[NotificationEvent] = mapped_column(stored_as_string(NotificationEvent, 32))
    channel: Mapped[Channel] = mapped_column(stored_as_string(Channel, 8))
    # The phone (E.164), e-mail address or push token; None for the inbox.
    recipient: Mapped[str | None] = mapped_column(String(255), default=None)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # E-mail only: the HTML part (the text part is `body`).
    html: Mapped[str | None] = mapped_column(Text, default=None)
    # E-mail only: header fields added to the message as they are, name -> value (the
    # newsletter's List-Unsubscribe and List-Unsubscribe-Post); never one the channel sets.
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    # What the app needs to open the right screen (order_id, booking_id, link).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    order_id: Mapped[int | None] = mapped_column(default=None)
    booking_id: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[DeliveryStatus] = mapped_column(
        stored_as_string(DeliveryStatus, 8), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    provider_message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # Why the last attempt failed: a short reason, never a message body or an address.
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    # One message per key (e.g. each counselling reminder is enqueued once).
    dedupe_key: Mapped[str | None] = mapped_column(String(191), unique=True, default=None)
    # Messages about one thing that changes (a collection's window): a newer one rewrites the
    # rows with the same key that have not gone yet, and the inbox keeps one entry for the key.
    coalesce_key: Mapped[str | None] = mapped_column(String(191), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class PushDevice(Base):
    """A push token, bound to the login session that registered it (it goes when that ends)."""

    __tablename__ = "push_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("device_sessions.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[DevicePlatform] = mapped_column(stored_as_string(DevicePlatform, 8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(Base):
    """Channels a user allows for events that are not essential (all on until changed)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sms: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)
    push: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
