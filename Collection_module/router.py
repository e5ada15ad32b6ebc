"""Home sample collection under the order paths: free windows, booking, moving; the admin's run
sheet, technicians and holidays."""

from datetime import date
from typing import Annotated

from fastapi import Query, Response, status

from Collection_module import service
from Collection_module.answers import CustomerCollection
from Collection_module.models import Collection, Holiday
from Collection_module.schemas import (
    BookIn,
    CollectionOut,
    HolidayOut,
    RescheduleIn,
    RunSheetEntryOut,
    SlotsOut,
    TechnicianIn,
)
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentUser
from Orders_module.service import get_order

router = APIRouter(prefix="/orders", tags=["collection"])


@router.get("/admin/collections", response_model=list[RunSheetEntryOut])
def run_sheet(
    db: DbSession,
    _admin: AdminUser,
    day: Annotated[date, Query(alias="date")],
    city: Annotated[str | None, Query(max_length=120)] = None,
) -> list[Collection]:
    """The day's visits (optionally one city's), by window: the run sheet (admin)."""
    return service.run_sheet(db, day, city)


@router.put("/admin/collections/{collection_id}", response_model=CollectionOut)
def assign_technician(
    collection_id: RowId, body: TechnicianIn, db: DbSession, admin: AdminUser
) -> Collection:
    """Who collects: shown to the customer on the order (admin)."""
    return service.assign_technician(
        db, admin.id, collection_id, body.technician_name, body.technician_phone
    )


@router.post("/admin/holidays/{day}", response_model=HolidayOut, status_code=201)
def add_holiday(day: date, db: DbSession, admin: AdminUser) -> Holiday:
    """No collection on this day (admin)."""
    return service.add_holiday(db, admin.id, day)


@router.delete("/admin/holidays/{day}", status_code=status.HTTP_204_NO_CONTENT)
def remove_holiday(day: date, db: DbSession, admin: AdminUser) -> Response:
    service.remove_holiday(db, admin.id, day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{order_id}/collection-slots", response_model=SlotsOut)
def collection_slots(
    order_id: RowId,
    db: DbSession,
    user: CurrentUser,
    item_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    first: Annotated[date | None, Query(alias="from")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 14,
) -> service.SlotList:
    """Windows a home collection can be booked in for the item's address city (by default the
    order's first item)."""
    order = get_order(db, order_id, user_id=user.id)
    return service.free_slots(db, order, item_id, first, days)


@router.post("/{order_id}/collection", response_model=CollectionOut, status_code=201)
def book_collection(
    order_id: RowId, body: BookIn, db: DbSession, user: CurrentUser
) -> CustomerCollection:
    """Book a home collection for paid tests at one address."""
    booked = service.book(db, user.id, order_id, body.item_ids, body.date, body.start)
    return CustomerCollection(booked)


@router.put("/{order_id}/collection/{collection_id}", response_model=CollectionOut)
def reschedule_collection(
    order_id: RowId, collection_id: RowId, body: RescheduleIn, db: DbSession, user: CurrentUser
) -> CustomerCollection:
    """Move it, until COLLECTION_RESCHEDULE_CUTOFF_HOURS before its window."""
    moved = service.reschedule(db, user.id, order_id, collection_id, body.date, body.start)
    return CustomerCollection(moved)
