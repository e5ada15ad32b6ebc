"""Clock, Indian working-hours slot arithmetic, public counsellor ids and token encryption."""

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from config import get_settings, split_csv
from core.clock import IST
from core.sealed_tokens import TokenDecryptionError, decrypt_token, encrypt_token

__all__ = ["TokenDecryptionError", "decrypt_token", "encrypt_token"]  # used as utils.*

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COUNSELLOR_ID_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
COUNSELLOR_ID_LENGTH = 6


def new_counsellor_id() -> str:
    """`A3X9K2`: short enough to read out, no look-alike characters."""
    return "".join(secrets.choice(COUNSELLOR_ID_ALPHABET) for _ in range(COUNSELLOR_ID_LENGTH))


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to whatever query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- working hours -------------------------------------------------------------------------------


def parse_hhmm(value: str) -> time:
    """`"09:30"` -> time(9, 30); anything else is ValueError."""
    hours, _, minutes = value.strip().partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"{value!r} is not HH:MM")
    return time(int(hours), int(minutes))


def parse_days(value: str) -> tuple[str, ...]:
    """`"mon,tue"` -> ("mon", "tue") in week order; unknown names are ValueError."""
    days = {day.lower() for day in split_csv(value)}
    unknown = days - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s): {', '.join(sorted(unknown))}")
    return tuple(day for day in WEEKDAYS if day in days)


@dataclass(frozen=True)
class WorkingHours:
    days: tuple[str, ...]
    start: time
    end: time
    slot_minutes: int

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def day_slots(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The slots of one Indian calendar day, as aware UTC datetimes."""
        if WEEKDAYS[day.weekday()] not in self.days:
            return
        cursor = datetime.combine(day, self.start, IST)
        closing = datetime.combine(day, self.end, IST)
        while cursor + self.slot <= closing:
            yield cursor.astimezone(UTC), (cursor + self.slot).astimezone(UTC)
            cursor += self.slot

    def slots_between(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Every slot lying wholly inside [start, end)."""
        first_day = start.astimezone(IST).date()
        last_day = end.astimezone(IST).date()
        slots: list[tuple[datetime, datetime]] = []
        day = first_day
        while day <= last_day:
            slots.extend(
                (slot_start, slot_end)
                for slot_start, slot_end in self.day_slots(day)
                if slot_start >= start and slot_end <= end
            )
            day += timedelta(days=1)
        return slots

    def is_slot(self, start: datetime, end: datetime) -> bool:
        """Exactly one slot of this schedule (aligned to the day's opening)."""
        day = start.astimezone(IST).date()
        return (start.astimezone(UTC), end.astimezone(UTC)) in set(self.day_slots(day))


def working_hours(
    days: str | None = None, start: str | None = None, end: str | None = None
) -> WorkingHours:
    """The counsellor's own hours where set, else the configured defaults."""
    settings = get_settings()
    return WorkingHours(
        days=parse_days(days or settings.COUNSELLOR_WORKING_DAYS),
        start=parse_hhmm(start or settings.COUNSELLOR_WORKDAY_START),
        end=parse_hhmm(end or settings.COUNSELLOR_WORKDAY_END),
        slot_minutes=settings.SLOT_MINUTES,
    )


def overlaps(start: datetime, end: datetime, blocks: Iterable[tuple[datetime, datetime]]) -> bool:
    return any(block_start < end and block_end > start for block_start, block_end in blocks)


def to_ist(moment: datetime) -> datetime:
    return moment.astimezone(IST)


# --- tokens at rest: core.sealed_tokens (encrypt_token, decrypt_token, TokenDecryptionError)
