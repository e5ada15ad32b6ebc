"""What the patient's account is told about counselling sessions (through the notifications
outbox, in the booking's transaction), and the reminder job: 24 hours and 1 hour before each
confirmed session, each reminder enqueued once."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import get_settings
from core.clock import IST, utcnow
from core.scheduler import register_job
from database import SessionLocal
from gmeet_api.models import Booking, BookingStatus
from Notification_module.models import NotificationEvent
from Notification_module.service import notify

REMINDER_JOB_ID = "counselling_reminders"
REMINDER_INTERVAL_SECONDS = 300
# How long before the session each reminder goes, and how the text says it.
REMINDERS = ((timedelta(hours=24), "24h", "tomorrow"), (timedelta(hours=1), "1h", "in one hour"))


def session_time(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%a %d %b %Y, %I:%M %p IST")


def tell_patient(
    db: Session,
    booking: Booking,
    event: NotificationEvent,
    *,
    dedupe_key: str | None = None,
    **extra: str,
) -> bool:
    """Queue `event` about the booking; False when `dedupe_key` was queued before."""
    link = f"{get_settings().APP_LINK_BASE.rstrip('/')}/counselling/{booking.id}"
    queued = notify(
        db,
        booking.user_id,
        event,
        {"booking_id": booking.id, "when": session_time(booking.start_time), "link": link, **extra},
        dedupe_key=dedupe_key,
    )
    return bool(queued)


def enqueue_reminders(db: Session, now: datetime) -> int:
    """Reminders now due (the session starts within their lead time) and not sent yet; a
    session booked inside a lead time gets no reminder for it (its confirmation said it)."""
    queued = 0
    for lead, label, wording in REMINDERS:
        due = db.scalars(
            select(Booking).where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_time > now,
                Booking.start_time <= now + lead,
            )
        )
        for booking in due:
            if booking.created_at > booking.start_time - lead:
                continue
            key = f"counselling_reminder:{booking.id}:{label}"
            queued += tell_patient(
                db, booking, NotificationEvent.COUNSELLING_REMINDER, dedupe_key=key, lead=wording
            )
    return queued


def counselling_reminders_job() -> int:
    with SessionLocal() as db, db.begin():
        return enqueue_reminders(db, utcnow())


def register_counselling_jobs() -> None:
    register_job(REMINDER_JOB_ID, counselling_reminders_job, REMINDER_INTERVAL_SECONDS)
