"""Booking, moving and releasing home collections; the admin's run sheet, technicians and
holidays.

Capacity: the location's row is locked (`FOR UPDATE`) before its window's counter is read and
moved, so bookings at one location queue and the counter never passes the capacity."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from Address_module.models import ServiceableLocation
from Address_module.service import serviceability_for
from Audit_module.service import record_audit
from Collection_module import slots
from Collection_module.errors import (
    CollectionCancelled,
    CollectionNotFound,
    CollectionNotMovable,
    HomeCollectionUnavailable,
    InvalidCollectionSlot,
    ItemsNotSchedulable,
    RescheduleLimitReached,
    RescheduleTooLate,
    SlotFull,
)
from Collection_module.models import Collection, CollectionStatus, Holiday, SlotCount
from config import get_settings
from core.clock import today_ist
from database import locked
from Orders_module.admin import schedule_items, set_technician
from Orders_module.models import Order, OrderItem, OrderStatus
from Orders_module.service import get_order, order_item

ENTITY = "collection"


def location_of(db: Session, item: OrderItem) -> ServiceableLocation:
    """The serviceable location of the item's address city, if it has home collection."""
    location = serviceability_for(db, item.address_snapshot.get("city", ""))
    if location is None or not location.home_collection:
        raise HomeCollectionUnavailable()
    return location


def capacity(location: ServiceableLocation) -> int:
    if location.collection_capacity is not None:
        return location.collection_capacity
    return get_settings().COLLECTION_CAPACITY_PER_SLOT


def holidays_between(db: Session, first: date, last: date) -> set[date]:
    return set(db.scalars(select(Holiday.day).where(Holiday.day.between(first, last))))


@dataclass(frozen=True)
class FreeSlot:
    date: date
    start: str
    end: str
    remaining: int


@dataclass(frozen=True)
class SlotList:
    city: str
    slots: list[FreeSlot]


def free_slots(
    db: Session, order: Order, item_id: int | None, first: date | None, days: int
) -> SlotList:
    item = order_item(order, item_id) if item_id is not None else order.items[0]
    location = location_of(db, item)
    first = max(first or today_ist(), today_ist())
    last = min(first + timedelta(days=days - 1), slots.last_bookable_day())
    off = holidays_between(db, first, last)
    taken = {
        (row.day, row.start): row.booked
        for row in db.scalars(
            select(SlotCount).where(
                SlotCount.location_id == location.id, SlotCount.day.between(first, last)
            )
        )
    }
    room = capacity(location)
    found = []
    day = first
    while day <= last:
        for window in slots.windows():
            if slots.bookable(day, window, off):
                left = room - taken.get((day, window.start), 0)
                found.append(FreeSlot(day, window.start, window.end, max(0, left)))
        day += timedelta(days=1)
    return SlotList(location.city, found)


def _window(db: Session, day: date, start: str) -> slots.Window:
    window = slots.window_at(start)
    if window is None or not slots.bookable(day, window, holidays_between(db, day, day)):
        raise InvalidCollectionSlot()
    return window


def _take_place(db: Session, location: ServiceableLocation, day: date, start: str) -> None:
    """One more visit in the window, or SlotFull. The location row is locked by the caller."""
    counter = db.scalar(
        select(SlotCount)
        .where(SlotCount.location_id == location.id, SlotCount.day == day, SlotCount.start == start)
        .with_for_update()
    )
    if counter is None:
        counter = SlotCount(location_id=location.id, day=day, start=start, booked=0)
        db.add(counter)
    if counter.booked >= capacity(location):
        raise SlotFull()
    counter.booked += 1
    db.flush()


def _give_place_back(db: Session, location_id: int, day: date, start: str) -> None:
    counter = db.scalar(
        select(SlotCount)
        .where(SlotCount.location_id == location_id, SlotCount.day == day, SlotCount.start == start)
        .with_for_update()
    )
    if counter is not None and counter.booked > 0:
        counter.booked -= 1


def _lock_location(db: Session, location_id: int) -> ServiceableLocation:
    location = db.scalar(
        locked(select(ServiceableLocation).where(ServiceableLocation.id == location_id))
    )
    assert location is not None  # collections keep their location
    return location


def _booked_item_ids(db: Session, order_id: int) -> set[int]:
    booked = db.scalars(
        select(Collection.item_ids).where(
            Collection.order_id == order_id, Collection.status == CollectionStatus.BOOKED
        )
    )
    return {item_id for item_ids in booked for item_id in item_ids}


def book(
    db: Session, user_id: int, order_id: int, item_ids: list[int], day: date, start: str
) -> Collection:
    order = get_order(db, order_id, user_id=user_id, for_update=True)
    items = [order_item(order, item_id) for item_id in dict.fromkeys(item_ids)]
    already = _booked_item_ids(db, order.id)
    if (
        any(i.status != OrderStatus.PAID or i.id in already for i in items)
        or len({i.address_id for i in items}) != 1
    ):
        raise ItemsNotSchedulable()
    location = _lock_location(db, location_of(db, items[0]).id)
    window = _window(db, day, start)
    _take_place(db, location, day, start)
    collection = Collection(
        order_id=order.id,
        location_id=location.id,
        city=location.city,
        day=day,
        start=window.start,
        end=window.end,
        item_ids=[i.id for i in items],
        address=items[0].address_snapshot,
    )
    db.add(collection)
    db.flush()
    schedule_items(db, order, items, day, window.label, user_id, notice_key=_notice_key(collection))
    _audit(db, "collection.booked", collection, user_id)
    return collection


def _notice_key(collection: Collection) -> str:
    """The visit's messages share it: a burst of moves is told once, with the last window."""
    return f"collection:{collection.id}"


def _collection_of(db: Session, order: Order, collection_id: int) -> Collection:
    collection = db.scalar(
        select(Collection)
        .where(
            Collection.id == collection_id,
            Collection.order_id == order.id,
            Collection.status == CollectionStatus.BOOKED,
        )
        .with_for_update()
    )
    if collection is None:
        raise CollectionNotFound()
    return collection


def reschedule(
    db: Session, user_id: int, order_id: int, collection_id: int, day: date, start: str
) -> Collection:
    """Move the visit (the order and the visit locked, so moves of one visit queue): not once a
    sample is collected, not within the cut-off, at most COLLECTION_MAX_RESCHEDULES times (then
    even to the window it is in). Moving to the window it is in changes nothing."""
    order = get_order(db, order_id, user_id=user_id, for_update=True)
    collection = _collection_of(db, order, collection_id)
    items = [order_item(order, item_id) for item_id in collection.item_ids]
    if any(item.status != OrderStatus.SAMPLE_COLLECTION_SCHEDULED for item in items):
        raise CollectionNotMovable()
    current = slots.Window(collection.start, collection.end)
    if slots.too_late_to_move(collection.day, current):
        raise RescheduleTooLate()
    if collection.reschedules >= get_settings().COLLECTION_MAX_RESCHEDULES:
        raise RescheduleLimitReached()
    window = _window(db, day, start)
    if (day, window.start) == (collection.day, collection.start):
        return collection
    location = _lock_location(db, collection.location_id)
    _give_place_back(db, location.id, collection.day, collection.start)
    _take_place(db, location, day, window.start)
    collection.day, collection.start, collection.end = day, window.start, window.end
    collection.reschedules += 1
    notice_key = _notice_key(collection)
    schedule_items(db, order, items, day, window.label, user_id, notice_key=notice_key)
    _audit(db, "collection.rescheduled", collection, user_id)
    return collection


def release_for_cancelled_order(db: Session, order: Order) -> None:
    """An ended order's booked visits give their places back (only a paid order can have
    booked one, so an unpaid order ending, e.g. replaced at checkout, costs no statement)."""
    if order.paid_at is None:
        return
    booked = db.scalars(
        select(Collection)
        .where(Collection.order_id == order.id, Collection.status == CollectionStatus.BOOKED)
        .with_for_update()
    ).all()
    for collection in booked:
        _lock_location(db, collection.location_id)
        _give_place_back(db, collection.location_id, collection.day, collection.start)
        collection.status = CollectionStatus.CANCELLED
        _audit(db, "collection.cancelled", collection, None)


def run_sheet(db: Session, day: date, city: str | None) -> list[Collection]:
    statement = select(Collection).where(
        Collection.day == day, Collection.status == CollectionStatus.BOOKED
    )
    if city:
        location = serviceability_for(db, city)
        if location is None:
            return []
        statement = statement.where(Collection.location_id == location.id)
    return list(db.scalars(statement.order_by(Collection.start, Collection.id)))


def assign_technician(
    db: Session, admin_id: int, collection_id: int, name: str, phone: str
) -> Collection:
    """Who collects. The order is locked before the visit, as whatever ends the order locks
    them, so the two queue; a visit its ended order released is CollectionCancelled."""
    found = db.get(Collection, collection_id)
    if found is None:
        raise CollectionNotFound()
    order = get_order(db, found.order_id, for_update=True)
    collection = db.scalar(locked(select(Collection).where(Collection.id == collection_id)))
    if collection is None:
        raise CollectionNotFound()
    if collection.status != CollectionStatus.BOOKED:
        raise CollectionCancelled()
    collection.technician_name, collection.technician_phone = name, phone
    set_technician(db, order, [order_item(order, i) for i in collection.item_ids], name, phone)
    _audit(db, "collection.technician_assigned", collection, admin_id)
    return collection


def add_holiday(db: Session, admin_id: int, day: date) -> Holiday:
    holiday = db.get(Holiday, day)
    if holiday is None:
        holiday = Holiday(day=day)
        db.add(holiday)
        db.flush()
        record_audit(
            db,
            action="collection.holiday_added",
            entity_type="holiday",
            entity_id=day.isoformat(),
            actor_user_id=admin_id,
        )
    return holiday


def remove_holiday(db: Session, admin_id: int, day: date) -> None:
    db.execute(delete(Holiday).where(Holiday.day == day))
    record_audit(
        db,
        action="collection.holiday_removed",
        entity_type="holiday",
        entity_id=day.isoformat(),
        actor_user_id=admin_id,
    )


def _audit(db: Session, action: str, collection: Collection, actor_user_id: int | None) -> None:
    record_audit(
        db,
        action=action,
        entity_type=ENTITY,
        entity_id=collection.id,
        actor_user_id=actor_user_id,
        changes={
            "order_id": collection.order_id,
            "day": collection.day,
            "start": collection.start,
            "item_ids": collection.item_ids,
        },
    )
