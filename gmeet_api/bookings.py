"""Booking a session (a Calendar event with a Meet link), my bookings, cancellation, and the
cancel-and-scrub that account erasure calls.

Transactions: the request's session commits once the handler returns (deps.get_db). Google is
called inside that transaction, after the local row that guards a slot is written and flushed,
so a concurrent booking of the same slot fails on the unique key before it reaches Google.
An event whose booking does not commit after all is deleted again through `database.on_rollback`.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from config import get_settings
from core.clock import utcnow
from database import on_rollback
from gmeet_api import utils
from gmeet_api.activity import log_activity
from gmeet_api.availability import live_bookings
from gmeet_api.counsellors import bookable_counsellor, get_counsellor, hours_of
from gmeet_api.errors import (
    BookingAlreadyCancelled,
    BookingLimitReached,
    BookingNotCancellable,
    BookingNotFound,
    CounsellorUnavailable,
    GoogleCalendarUnavailable,
    GoogleNotConfigured,
    InvalidSlot,
    PatientEmailNotAllowed,
    SlotUnavailable,
)
from gmeet_api.google_calendar_service import meet_link_of, session_event
from gmeet_api.models import Booking, BookingStatus, CounsellorStatus
from gmeet_api.notices import tell_patient
from gmeet_api.tokens import with_calendar
from Login_module.locks import lock_user
from Login_module.snapshot import UserSnapshot
from Member_module.service import get_member
from Notification_module.models import NotificationEvent

logger = logging.getLogger("nucleotide.gmeet")

BOOKING_ENTITY = "gmeet_booking"
ERASED_NAME = "Erased"


@dataclass(frozen=True)
class BookingRequest:
    counsellor_id: str
    start_time: datetime
    end_time: datetime
    member_id: int | None = None
    patient_name: str | None = None
    patient_email: str | None = None
    patient_phone: str | None = None
    notes: str | None = None


class Patient(NamedTuple):
    name: str
    email: str | None
    phone: str | None


# --- booking -------------------------------------------------------------------------------------


def _patient(db: Session, user: UserSnapshot, request: BookingRequest) -> Patient:
    """Name, email, phone: as sent, else the member's, else the account holder's.

    The counsellor's Calendar invites the email, so it can only be the profile's own (members
    hold no email): any other address would get an invitation from us it never asked for."""
    member = get_member(db, user.id, request.member_id) if request.member_id else None
    name = request.patient_name or (member.name if member else None) or user.name
    phone = request.patient_phone or (member.phone if member else None) or user.phone
    if request.patient_email and (
        not user.email or request.patient_email.casefold() != user.email.casefold()
    ):
        raise PatientEmailNotAllowed()
    email = user.email
    return Patient((name or "Nucleotide customer"), email, phone)


def _check_booking_limit(db: Session, user_id: int) -> None:
    """At most MAX_UPCOMING_BOOKINGS confirmed sessions to come per account. Counted under the
    user's row lock with a locking read (the latest committed rows), so simultaneous bookings
    by one account queue here and cannot pass the limit together."""
    lock_user(db, user_id)
    upcoming = db.scalars(
        select(Booking.id)
        .where(
            Booking.user_id == user_id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_time > utcnow(),
        )
        .with_for_update()
    ).all()
    limit = get_settings().MAX_UPCOMING_BOOKINGS
    if len(upcoming) >= limit:
        raise BookingLimitReached(details=[{"limit": limit, "upcoming": len(upcoming)}])


def book_session(db: Session, user: UserSnapshot, request: BookingRequest) -> Booking:
    """Book one slot: guard it with a unique row, re-check Google free/busy, create the
    Calendar event with a Meet conference, store its links."""
    counsellor = bookable_counsellor(db, request.counsellor_id)
    counsellor_id = counsellor.counsellor_id
    start, end = request.start_time, request.end_time
    if not hours_of(counsellor).is_slot(start, end) or start <= utcnow():
        raise InvalidSlot()
    patient = _patient(db, user, request)
    _check_booking_limit(db, user.id)
    if live_bookings(db, counsellor_id, start, end):
        raise SlotUnavailable()

    booking = _hold_slot(db, counsellor_id, user.id, request, patient)
    busy = with_calendar(
        db,
        counsellor_id,
        "freeBusy",
        lambda calendar: calendar.busy_blocks(start, end),
        actor_user_id=user.id,
    )
    if utils.overlaps(start, end, busy):
        raise SlotUnavailable()
    _attach_meet_event(db, booking, request, patient, actor_user_id=user.id)
    _record_booked(db, booking, request, actor_user_id=user.id)
    return booking


def _hold_slot(
    db: Session, counsellor_id: str, user_id: int, request: BookingRequest, patient: Patient
) -> Booking:
    """The confirmed booking row, whose unique (counsellor, slot) key holds the slot."""
    booking = Booking(
        uuid=str(uuid.uuid4()),
        counsellor_id=counsellor_id,
        user_id=user_id,
        member_id=request.member_id,
        patient_name=patient.name,
        patient_email=patient.email,
        patient_phone=patient.phone,
        notes=request.notes,
        start_time=request.start_time,
        end_time=request.end_time,
        slot_key=request.start_time,
        status=BookingStatus.CONFIRMED,
    )
    try:
        # A concurrent booking of this slot waits here on the unique key and fails once the
        # first one commits, before it ever reaches Google.
        with db.begin_nested():
            db.add(booking)
    except IntegrityError as exc:
        raise SlotUnavailable() from exc
    return booking


def _attach_meet_event(
    db: Session, booking: Booking, request: BookingRequest, patient: Patient, *, actor_user_id: int
) -> None:
    """Create the session's Calendar event (inviting the patient's email, if any) and store
    its Meet and Calendar links on the booking."""
    counsellor_id = booking.counsellor_id
    event_body = session_event(
        request_id=booking.uuid,
        start=request.start_time,
        end=request.end_time,
        patient_name=patient.name,
        patient_email=patient.email,
        patient_phone=patient.phone,
        notes=request.notes,
    )
    notify = bool(patient.email)
    event = with_calendar(
        db,
        counsellor_id,
        "events.insert",
        lambda calendar: calendar.create_event(event_body, send_updates=notify),
        actor_user_id=actor_user_id,
    )
    _delete_event_if_rolled_back(db, counsellor_id, event["id"], notify)
    booking.google_event_id = event["id"]
    booking.meet_link = meet_link_of(event)
    booking.calendar_link = event.get("htmlLink")
    booking.notifications_sent = notify
    db.flush()


def _record_booked(
    db: Session, booking: Booking, request: BookingRequest, *, actor_user_id: int
) -> None:
    log_activity(
        db,
        "booked",
        counsellor_id=booking.counsellor_id,
        actor_user_id=actor_user_id,
        detail={
            "booking_id": booking.id,
            "start_time": request.start_time.isoformat(),
            "notified": booking.notifications_sent,
        },
    )
    record_audit(
        db,
        action="gmeet_booking.created",
        entity_type=BOOKING_ENTITY,
        entity_id=booking.id,
        actor_user_id=actor_user_id,
        changes={
            "counsellor_id": booking.counsellor_id,
            "start_time": request.start_time,
            "end_time": request.end_time,
            "member_id": request.member_id,
            "google_event_id": booking.google_event_id,
        },
    )
    tell_patient(db, booking, NotificationEvent.COUNSELLING_BOOKED)


def _delete_event_if_rolled_back(
    db: Session, counsellor_id: str, event_id: str, notify: bool
) -> None:
    """No orphan events: if the booking does not commit after all, remove its event."""

    def remove(session: Session) -> None:
        try:
            with_calendar(
                session,
                counsellor_id,
                "events.delete (rollback)",
                lambda calendar: calendar.delete_event(event_id, send_updates=notify),
            )
        except Exception as exc:
            logger.error("event of a rolled-back booking not deleted: %s", type(exc).__name__)
            outcome = "failed"
        else:
            outcome = "deleted"
        log_activity(
            session,
            "orphan_event_removed" if outcome == "deleted" else "orphan_event_left",
            counsellor_id=counsellor_id,
            detail={"google_event_id": event_id},
        )

    on_rollback(db, remove)


def my_bookings_query(user_id: int) -> Select[Booking]:
    return (
        select(Booking)
        .where(Booking.user_id == user_id)
        .order_by(Booking.start_time.desc(), Booking.id.desc())
    )


# --- cancelling ----------------------------------------------------------------------------------


def cancel_booking(
    db: Session,
    *,
    user_id: int,
    is_admin: bool,
    counsellor_id: str,
    booking_id: int,
    send_notifications: bool,
) -> Booking:
    """Cancel my booking (an admin: anyone's); deletes the Calendar event, frees the slot."""
    statement = select(Booking).where(
        Booking.id == booking_id, Booking.counsellor_id == counsellor_id
    )
    if not is_admin:
        statement = statement.where(Booking.user_id == user_id)
    booking = db.scalar(statement.with_for_update())
    if booking is None:
        raise BookingNotFound()
    if booking.status == BookingStatus.CANCELLED:
        raise BookingAlreadyCancelled()
    if booking.start_time <= utcnow():
        raise BookingNotCancellable()

    event_removed = _remove_event(db, booking, send_notifications, user_id)
    _mark_cancelled(booking, user_id)
    db.flush()
    detail = {
        "booking_id": booking.id,
        "by_admin": is_admin and booking.user_id != user_id,
        "event_removed": event_removed,
        "notified": send_notifications and event_removed,
    }
    log_activity(db, "cancelled", counsellor_id=counsellor_id, actor_user_id=user_id, detail=detail)
    record_audit(
        db,
        action="gmeet_booking.cancelled",
        entity_type=BOOKING_ENTITY,
        entity_id=booking.id,
        actor_user_id=user_id,
        changes={
            "status": {"old": BookingStatus.CONFIRMED, "new": BookingStatus.CANCELLED},
            **detail,
        },
    )
    tell_patient(db, booking, NotificationEvent.COUNSELLING_CANCELLED)
    return booking


def _mark_cancelled(booking: Booking, user_id: int) -> None:
    """Cancelled by `user_id`, and the slot freed (a NULL slot key never collides)."""
    booking.status = BookingStatus.CANCELLED
    booking.slot_key = None
    booking.cancelled_at = utcnow()
    booking.cancelled_by_user_id = user_id


def _remove_event(db: Session, booking: Booking, send_notifications: bool, actor: int) -> bool:
    """Delete the booking's event. A counsellor whose grant is revoked cannot have it removed;
    the booking is cancelled with us anyway (and the activity log says the event stayed)."""
    if not booking.google_event_id:
        return False
    counsellor = get_counsellor(db, booking.counsellor_id)
    if counsellor.status != CounsellorStatus.CONNECTED:
        return False
    event_id = booking.google_event_id
    try:
        with_calendar(
            db,
            booking.counsellor_id,
            "events.delete",
            lambda calendar: calendar.delete_event(event_id, send_updates=send_notifications),
            actor_user_id=actor,
        )
    except CounsellorUnavailable:
        return False
    return True


# --- account erasure -----------------------------------------------------------------------------


def erase_bookings_of_user(db: Session, user_id: int) -> int:
    """Account erasure (DPDP): cancel the user's upcoming sessions, deleting their events and
    telling attendees, and scrub patient details from every booking of theirs. Google being
    unreachable does not block the erasure: the event stays and the activity log says so.
    Returns how many sessions were cancelled."""
    rows = db.scalars(
        select(Booking).where(Booking.user_id == user_id).order_by(Booking.id).with_for_update()
    ).all()
    cancelled = 0
    for booking in rows:
        if booking.status == BookingStatus.CONFIRMED and booking.start_time > utcnow():
            _cancel_for_erasure(db, booking, user_id)
            cancelled += 1
        booking.patient_name = ERASED_NAME
        booking.patient_email = None
        booking.patient_phone = None
        booking.notes = None
    db.flush()
    return cancelled


def _cancel_for_erasure(db: Session, booking: Booking, user_id: int) -> None:
    try:
        removed = _remove_event(db, booking, True, user_id)
    except (GoogleCalendarUnavailable, GoogleNotConfigured):
        removed = False
    _mark_cancelled(booking, user_id)
    log_activity(
        db,
        "cancelled",
        counsellor_id=booking.counsellor_id,
        actor_user_id=user_id,
        detail={
            "booking_id": booking.id,
            "reason": "account_erased",
            "event_removed": removed,
        },
    )
