"""Free slots: working hours, less Google Calendar's busy blocks and our confirmed bookings."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import get_settings
from core.clock import utcnow
from gmeet_api import utils
from gmeet_api.counsellors import bookable_counsellor, hours_of
from gmeet_api.errors import AvailabilityWindowTooLarge, InvalidTimeWindow
from gmeet_api.models import Booking, BookingStatus
from gmeet_api.rate_limits import limit_availability_checks
from gmeet_api.tokens import with_calendar


def live_bookings(
    db: Session, counsellor_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the counsellor's confirmed bookings that overlap [start, end)."""
    rows = db.execute(
        select(Booking.start_time, Booking.end_time).where(
            Booking.counsellor_id == counsellor_id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_time < end,
            Booking.end_time > start,
        )
    ).all()
    return [(row.start_time, row.end_time) for row in rows]


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidTimeWindow()
    max_days = get_settings().AVAILABILITY_MAX_DAYS
    if end - start > timedelta(days=max_days):
        raise AvailabilityWindowTooLarge(f"Ask for at most {max_days} days at a time.")


def available_slots(
    db: Session, counsellor_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Working-hours slots inside [start, end) that are in the future, free in Google Calendar
    and not booked with us."""
    check_window(start, end)
    limit_availability_checks()
    counsellor = bookable_counsellor(db, counsellor_id)
    candidates = hours_of(counsellor).slots_between(max(start, utcnow()), end)
    if not candidates:
        return []
    first, last = candidates[0][0], candidates[-1][1]
    busy = with_calendar(
        db, counsellor_id, "freeBusy", lambda calendar: calendar.busy_blocks(first, last)
    )
    taken = busy + live_bookings(db, counsellor_id, first, last)
    return [(s, e) for s, e in candidates if not utils.overlaps(s, e, taken)]


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class FreeSlots:
    counsellor_id: str
    start_time: datetime
    end_time: datetime
    available_slots: list[Slot]


def free_slots(db: Session, counsellor_id: str, start: datetime, end: datetime) -> FreeSlots:
    """`available_slots` as the availability answer."""
    slots = [Slot(a, b) for a, b in available_slots(db, counsellor_id, start, end)]
    return FreeSlots(counsellor_id, start, end, slots)
