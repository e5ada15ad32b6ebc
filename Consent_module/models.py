"""Versioned consent texts, the products that require them, and per-member grants."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, TimestampMixin


class ConsentType(TimestampMixin, Base):
    """The current version of a consent; every published version is kept below."""

    __tablename__ = "consent_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)


class ConsentTypeVersion(Base):
    """The exact text of each published version, so a grant can always show what was agreed."""

    __tablename__ = "consent_type_versions"
    __table_args__ = (UniqueConstraint("consent_type_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_type_id: Mapped[int] = mapped_column(ForeignKey("consent_types.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductConsent(Base):
    __tablename__ = "product_consents"
    __table_args__ = (UniqueConstraint("product_id", "consent_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    consent_type_id: Mapped[int] = mapped_column(
        ForeignKey("consent_types.id", ondelete="CASCADE"), index=True
    )


class ConsentGrant(Base):
    """One member's agreement to one version; withdrawal stamps it, nothing is deleted."""

    __tablename__ = "consent_grants"
    __table_args__ = (
        Index("ix_consent_grants_member_type", "member_id", "consent_type_id", "withdrawn_at"),
        Index("ix_consent_grants_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    consent_type_id: Mapped[int] = mapped_column(ForeignKey("consent_types.id"))
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    # Confirmed by the member from their own phone: the request, and that phone masked. None
    # for a grant the account holder gave (their own, a minor's as guardian, or from before
    # members confirmed their own).
    consent_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_requests.id", ondelete="RESTRICT"), index=True, default=None
    )
    confirmed_by_phone: Mapped[str | None] = mapped_column(String(32), default=None)
