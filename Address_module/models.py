"""Users' addresses and the cities where samples can be collected."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from database import Base, TimestampMixin

# What an address is made of: copied into order items as the collection address snapshot.
ADDRESS_FIELDS = (
    "label",
    "contact_name",
    "contact_phone",
    "line1",
    "line2",
    "landmark",
    "locality",
    "city",
    "state",
    "pincode",
)


class Address(TimestampMixin, Base):
    __tablename__ = "addresses"
    __table_args__ = (Index("ix_addresses_user_id_is_deleted", "user_id", "is_deleted"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str] = mapped_column(String(20))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200), default=None)
    landmark: Mapped[str | None] = mapped_column(String(120), default=None)
    locality: Mapped[str | None] = mapped_column(String(120), default=None)
    # The serviceable location's name and the state's official name, not what was typed.
    city: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(64))
    pincode: Mapped[str] = mapped_column(String(6))
    is_default: Mapped[bool] = mapped_column(default=False)
    # Orders keep pointing at a deleted address, so rows are only ever marked deleted.
    is_deleted: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class ServiceableLocation(TimestampMixin, Base):
    """A city we collect samples in; seeded from data/serviceable_locations.csv, admin-managed."""

    __tablename__ = "serviceable_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(120), unique=True)
    # `city_key(city)`: what user input is matched on (case, spaces and punctuation ignored).
    city_key: Mapped[str] = mapped_column(String(120), unique=True)
    zone: Mapped[str] = mapped_column(String(32))
    home_collection: Mapped[bool] = mapped_column(default=False)
    sample_pickup: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Home collection visits per window; None: COLLECTION_CAPACITY_PER_SLOT.
    collection_capacity: Mapped[int | None] = mapped_column(default=None)
