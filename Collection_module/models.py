"""Home sample collection: a booking per visit (an order's items at one address), the places
taken per location and window (a counter row, locked to book), and the holidays."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, TimestampMixin, stored_as_string


class CollectionStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class SlotCount(Base):
    """How many visits are booked at one location in one window of one day. Booking locks
    this row (`FOR UPDATE`), so capacity holds whatever the concurrency."""

    __tablename__ = "collection_slot_counts"
    __table_args__ = (UniqueConstraint("location_id", "day", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("serviceable_locations.id"))
    day: Mapped[date]
    start: Mapped[str] = mapped_column(String(5))
    booked: Mapped[int] = mapped_column(default=0)


class Collection(TimestampMixin, Base):
    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_day_location", "day", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("serviceable_locations.id"))
    city: Mapped[str] = mapped_column(String(120))
    day: Mapped[date]
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    item_ids: Mapped[list[int]] = mapped_column(JSON)
    # Where the technician goes: the items' address as it was at checkout.
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[CollectionStatus] = mapped_column(
        stored_as_string(CollectionStatus, 16), default=CollectionStatus.BOOKED
    )
    technician_name: Mapped[str | None] = mapped_column(String(120), default=None)
    technician_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # Times the customer moved it (at most COLLECTION_MAX_RESCHEDULES).
    reschedules: Mapped[int] = mapped_column(default=0, server_default="0")


class Holiday(Base):
    __tablename__ = "collection_holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
