"""Addresses (one default per user, soft delete, audited) and serviceable locations."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from Address_module.errors import (
    AddressLimitReached,
    AddressNotFound,
    LocationExists,
    LocationNotFound,
    LocationNotServiceable,
)
from Address_module.locations import LocationRow, city_key
from Address_module.models import ADDRESS_FIELDS, Address, ServiceableLocation
from Address_module.schemas import AddressIn, AddressUpdateIn, LocationIn, LocationUpdateIn
from Audit_module.service import diff, personal_changes, record_audit
from config import get_settings
from core.clock import utcnow
from core.pincodes import check_pincode_state
from core.response_cache import catalogue_cache
from database import locked, row_select
from Login_module.locks import lock_user

ENTITY = "address"
LOCATION_ENTITY = "serviceable_location"
FIELDS = (*ADDRESS_FIELDS, "is_default")
LOCATION_FIELDS = (
    "city",
    "zone",
    "home_collection",
    "sample_pickup",
    "is_active",
    "collection_capacity",
)


# --- Serviceable locations ---------------------------------------------------------------------


def serviceability_for(db: Session, city: str) -> ServiceableLocation | None:
    """The active serviceable location a typed city matches (case, spacing and punctuation
    ignored), or None. Checkout calls this to re-check an address before taking payment."""
    key = city_key(city)
    if not key:
        return None
    return db.scalar(
        select(ServiceableLocation).where(
            ServiceableLocation.city_key == key, ServiceableLocation.is_active.is_(True)
        )
    )


def serviceability_by_city(db: Session, cities: Iterable[str]) -> dict[str, LocationRow]:
    """`serviceability_for` for many typed cities: {typed city: location}, the cities served
    by no active location left out. Read from this process's copy of the active locations,
    kept per catalogue version (every location write bumps it), so usually no query."""
    active = catalogue_cache.remembered(db, "serviceable_locations", lambda: _active_locations(db))
    keys = {city: city_key(city) for city in cities}
    return {city: active[key] for city, key in keys.items() if key in active}


def _active_locations(db: Session) -> dict[str, LocationRow]:
    return {
        location.city_key: LocationRow(
            location.city, location.zone, location.home_collection, location.sample_pickup
        )
        for location in db.scalars(
            select(ServiceableLocation).where(ServiceableLocation.is_active.is_(True))
        )
    }


def require_serviceable(db: Session, city: str) -> ServiceableLocation:
    location = serviceability_for(db, city)
    if location is None:
        raise LocationNotServiceable()
    return location


@dataclass(frozen=True)
class Serviceability:
    """What we can do in a city (nothing, where we do not serve it)."""

    serviceable: bool
    home_collection: bool = False
    sample_pickup: bool = False
    zone: str | None = None
    city: str | None = None


def serviceability(db: Session, city: str) -> Serviceability:
    location = serviceability_for(db, city)
    if location is None:
        return Serviceability(serviceable=False)
    return Serviceability(
        True, location.home_collection, location.sample_pickup, location.zone, location.city
    )


def locations_query(
    search: str | None = None, is_active: bool | None = None
) -> Select[ServiceableLocation]:
    statement = select(ServiceableLocation).order_by(ServiceableLocation.city_key)
    if search and city_key(search):
        statement = statement.where(ServiceableLocation.city_key.contains(city_key(search)))
    if is_active is not None:
        statement = statement.where(ServiceableLocation.is_active.is_(is_active))
    return statement


def get_location(db: Session, location_id: int) -> ServiceableLocation:
    location = db.get(ServiceableLocation, location_id)
    if location is None:
        raise LocationNotFound()
    return location


def _location_snapshot(location: ServiceableLocation) -> dict[str, Any]:
    return {field: getattr(location, field) for field in LOCATION_FIELDS}


def _ensure_city_free(db: Session, key: str, except_id: int | None = None) -> None:
    statement = select(ServiceableLocation.id).where(ServiceableLocation.city_key == key)
    if except_id is not None:
        statement = statement.where(ServiceableLocation.id != except_id)
    if db.scalar(statement) is not None:
        raise LocationExists()


def create_location(db: Session, admin_id: int, data: LocationIn) -> ServiceableLocation:
    key = city_key(data.city)
    _ensure_city_free(db, key)
    location = ServiceableLocation(city_key=key, **{f: getattr(data, f) for f in LOCATION_FIELDS})
    db.add(location)
    db.flush()
    record_audit(
        db,
        action="serviceable_location.created",
        entity_type=LOCATION_ENTITY,
        entity_id=location.id,
        actor_user_id=admin_id,
        changes=_location_snapshot(location),
    )
    return location


def update_location(
    db: Session, admin_id: int, location_id: int, body: LocationUpdateIn
) -> ServiceableLocation:
    changes = body.changes()
    location = get_location(db, location_id)
    old = _location_snapshot(location)
    if "city" in changes:
        key = city_key(changes["city"])
        _ensure_city_free(db, key, except_id=location.id)
        location.city_key = key
    for field, value in changes.items():
        setattr(location, field, value)
    changed = diff(old, _location_snapshot(location))
    if changed:
        db.flush()
        record_audit(
            db,
            action="serviceable_location.updated",
            entity_type=LOCATION_ENTITY,
            entity_id=location.id,
            actor_user_id=admin_id,
            changes=changed,
        )
    return location


# --- Addresses ---------------------------------------------------------------------------------


def addresses_query(user_id: int) -> Select[Address]:
    """My addresses that are not deleted: the default first, then the newest."""
    return _live(select(Address), user_id)


def _live(statement: Select[Any], user_id: Any) -> Select[Any]:
    return statement.where(Address.user_id == user_id, Address.is_deleted.is_(False)).order_by(
        Address.is_default.desc(), Address.created_at.desc(), Address.id.desc()
    )


# `addresses_query` as rows, built once, for the list (docs/performance.md): bind `user_id`.
ADDRESS_ROWS = _live(row_select(Address), bindparam("user_id"))


def lock_live_addresses(db: Session, user_id: int) -> list[Address]:
    """Lock the user, then lock and read their live addresses (always in this order, so
    concurrent writes cannot deadlock).

    The read is a locking read on purpose: it sees what the previous holder of the lock
    committed whatever the isolation level (the engine runs READ COMMITTED, where a plain read
    would see it too; under REPEATABLE READ it would not).
    """
    lock_user(db, user_id)
    return list(db.scalars(locked(addresses_query(user_id))))


def get_address(db: Session, user_id: int, address_id: int) -> Address:
    """One of my addresses; someone else's or a deleted one is AddressNotFound."""
    address = db.scalar(addresses_query(user_id).where(Address.id == address_id))
    if address is None:
        raise AddressNotFound()
    return address


def _find(addresses: list[Address], address_id: int) -> Address:
    for address in addresses:
        if address.id == address_id:
            return address
    raise AddressNotFound()


def _snapshot(address: Address) -> dict[str, Any]:
    return {field: getattr(address, field) for field in FIELDS}


def _set_default(db: Session, address: Address, user_id: int, value: bool) -> None:
    """Flip one address's default flag; the side effect on a sibling is audited too."""
    address.is_default = value
    record_audit(
        db,
        action="address.updated",
        entity_type=ENTITY,
        entity_id=address.id,
        actor_user_id=user_id,
        changes={"is_default": {"old": not value, "new": value}},
    )


def _clear_defaults(db: Session, addresses: list[Address], user_id: int) -> None:
    for address in addresses:
        if address.is_default:
            _set_default(db, address, user_id, False)


def _promote_newest(db: Session, addresses: list[Address], user_id: int) -> Address | None:
    """Make the most recent of `addresses` the default; None if there is none."""
    if not addresses:
        return None
    newest = max(addresses, key=lambda address: (address.created_at, address.id))
    _set_default(db, newest, user_id, True)
    return newest


def create_address(db: Session, user_id: int, data: AddressIn) -> Address:
    """Add an address; the first one, or one sent with is_default, becomes the default."""
    state = check_pincode_state(data.pincode, data.state)
    location = require_serviceable(db, data.city)
    addresses = lock_live_addresses(db, user_id)
    if len(addresses) >= get_settings().MAX_ADDRESSES_PER_USER:
        raise AddressLimitReached()
    make_default = data.is_default or not addresses
    if make_default:
        _clear_defaults(db, addresses, user_id)
    address = Address(
        user_id=user_id,
        **{field: getattr(data, field) for field in FIELDS},
    )
    address.city = location.city
    address.state = state
    address.is_default = make_default
    db.add(address)
    db.flush()
    record_audit(
        db,
        action="address.created",
        entity_type=ENTITY,
        entity_id=address.id,
        actor_user_id=user_id,
        changes=personal_changes(_snapshot(address)),
    )
    return address


def update_address(db: Session, user_id: int, address_id: int, body: AddressUpdateIn) -> Address:
    """Change the fields sent. A changed pincode/state is checked against the other one; a
    changed city must be serviceable. `is_default: true` moves the default here; `false` on
    the default hands it to the most recent other address (the only address stays default)."""
    changes = body.changes()
    addresses = lock_live_addresses(db, user_id)
    address = _find(addresses, address_id)
    others = [other for other in addresses if other.id != address.id]
    if "pincode" in changes or "state" in changes:
        changes["state"] = check_pincode_state(
            changes.get("pincode", address.pincode), changes.get("state", address.state)
        )
    if "city" in changes:
        changes["city"] = require_serviceable(db, changes["city"]).city
    make_default = changes.pop("is_default", None)
    old = _snapshot(address)
    for field, value in changes.items():
        setattr(address, field, value)
    if make_default and not address.is_default:
        _clear_defaults(db, others, user_id)
        address.is_default = True
    elif make_default is False and address.is_default:
        # The only address keeps the default: a user with addresses always has one.
        address.is_default = _promote_newest(db, others, user_id) is None
    changed = diff(old, _snapshot(address))
    if changed:
        db.flush()
        record_audit(
            db,
            action="address.updated",
            entity_type=ENTITY,
            entity_id=address.id,
            actor_user_id=user_id,
            changes=personal_changes(changed),
        )
    return address


def delete_address(db: Session, user_id: int, address_id: int) -> None:
    """Soft delete; deleting the default makes the most recent remaining address the default."""
    addresses = lock_live_addresses(db, user_id)
    address = _find(addresses, address_id)
    was_default = address.is_default
    address.is_deleted = True
    address.deleted_at = utcnow()
    address.is_default = False
    if was_default:
        _promote_newest(db, [other for other in addresses if other.id != address.id], user_id)
    db.flush()
    record_audit(
        db,
        action="address.deleted",
        entity_type=ENTITY,
        entity_id=address.id,
        actor_user_id=user_id,
        changes={"label": address.label, "city": address.city, "was_default": was_default},
    )


# --- account erasure ---------------------------------------------------------------------

# What an erased address holds instead (in the row and in order snapshots): city and state stay
# (the place of supply on an invoice); the rest goes.
ERASED_ADDRESS: dict[str, Any] = {
    "contact_name": "Erased",
    "contact_phone": "",
    "line1": "Erased",
    "line2": None,
    "landmark": None,
    "locality": None,
    "pincode": "000000",
}


def erase_user_data(db: Session, user_id: int) -> int:
    """Every address of the user, deleted ones too, scrubbed and marked deleted; the count."""
    now = utcnow()
    addresses = db.scalars(
        select(Address).where(Address.user_id == user_id).with_for_update()
    ).all()
    for address in addresses:
        for field, value in ERASED_ADDRESS.items():
            setattr(address, field, value)
        address.is_default = False
        address.is_deleted = True
        address.deleted_at = address.deleted_at or now
    return len(addresses)
