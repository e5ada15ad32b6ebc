"""Addresses and serviceable locations straight into the database, for tests of other modules."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from Address_module.locations import city_key
from Address_module.models import Address, ServiceableLocation


def make_location(db: Session, city: str = "BANGALORE", **overrides: Any) -> ServiceableLocation:
    """The serviceable location for `city`, created (active, South zone) if it is missing."""
    location = db.scalar(
        select(ServiceableLocation).where(ServiceableLocation.city_key == city_key(city))
    )
    if location is None:
        values: dict[str, Any] = {
            "zone": "South",
            "home_collection": True,
            "sample_pickup": True,
            "is_active": True,
            **overrides,
        }
        location = ServiceableLocation(city=city, city_key=city_key(city), **values)
        db.add(location)
        db.flush()
    return location


def make_address(db: Session, user_id: int, **overrides: Any) -> Address:
    """A serviceable address of `user_id` in Bangalore; the user's first one is the default."""
    values: dict[str, Any] = {
        "label": "home",
        "contact_name": "Ravi Kumar",
        "contact_phone": "+919876543210",
        "line1": "12, 4th Cross, Indiranagar",
        "city": "BANGALORE",
        "state": "Karnataka",
        "pincode": "560038",
        **overrides,
    }
    values["city"] = make_location(db, values["city"]).city
    if "is_default" not in values:
        has_one = db.scalar(
            select(Address.id).where(Address.user_id == user_id, Address.is_deleted.is_(False))
        )
        values["is_default"] = has_one is None
    address = Address(user_id=user_id, **values)
    db.add(address)
    db.flush()
    return address
