"""Collection windows and which of them can be booked, in Asia/Kolkata."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from config import get_settings
from core.clock import IST, now_ist, today_ist

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    start: str
    end: str

    def starts_on(self, day: date) -> datetime:
        return datetime.combine(day, time.fromisoformat(self.start), IST)

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


def windows() -> list[Window]:
    """COLLECTION_SLOTS, e.g. `07:00-09:00,09:00-11:00`."""
    found = []
    for part in get_settings().COLLECTION_SLOTS.split(","):
        start, _, end = part.strip().partition("-")
        found.append(
            Window(
                time.fromisoformat(start).strftime("%H:%M"),
                time.fromisoformat(end).strftime("%H:%M"),
            )
        )
    return found


def window_at(start: str) -> Window | None:
    return next((w for w in windows() if w.start == start), None)


def working_days() -> set[int]:
    names = {name.strip().lower()[:3] for name in get_settings().COLLECTION_DAYS.split(",")}
    return {DAY_NAMES.index(name) for name in names if name in DAY_NAMES}


def last_bookable_day() -> date:
    return today_ist() + timedelta(days=get_settings().COLLECTION_MAX_DAYS)


def bookable(day: date, window: Window, holidays: set[date]) -> bool:
    """A working day, not a holiday, at least COLLECTION_LEAD_HOURS ahead, within the horizon."""
    lead = timedelta(hours=get_settings().COLLECTION_LEAD_HOURS)
    return (
        day.weekday() in working_days()
        and day not in holidays
        and window.starts_on(day) >= now_ist() + lead
        and day <= last_bookable_day()
    )


def too_late_to_move(day: date, window: Window) -> bool:
    cutoff = timedelta(hours=get_settings().COLLECTION_RESCHEDULE_CUTOFF_HOURS)
    return now_ist() >= window.starts_on(day) - cutoff
