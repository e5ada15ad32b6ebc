"""Visitor privacy choices: one receipt per choice a website or app visitor made."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base


class PrivacyChoice(Base):
    """A receipt: what a visitor allowed (analytics, location), under which version of the
    policy, when, and the account if they were logged in. Append-only: a change is a new
    receipt and a receipt's choice is never changed (account erasure only removes the account
    link). Nothing else about the visitor is kept: no IP address, user agent, coordinates,
    page URL or device fingerprint."""

    __tablename__ = "privacy_choices"
    __table_args__ = (
        # The latest receipt of a visitor.
        Index("ix_privacy_choices_visitor_id_id", "visitor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A random UUID (version 4) the client keeps; canonical lower-case form.
    visitor_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    analytics: Mapped[bool]
    location: Mapped[bool]
    policy_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
