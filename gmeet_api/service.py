"""Counsellor onboarding over OAuth, availability, booking and cancellation.

Transactions: the request's session commits once the handler returns (deps.get_db). Google is
called inside that transaction, after the local row that guards a slot is written and flushed,
so a concurrent booking of the same slot fails on the unique key before it reaches Google.
Consequences of a failure that must stick (a revoked grant, the activity log of a Google error,
deleting an event whose booking did not commit) are re-applied through `database.on_rollback`.
"""

import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import diff, personal_changes, record_audit
from config import get_settings
from core.context import current_request
from core.rate_limit import hit_sliding_window
from core.redis import get_redis
from database import on_rollback, utcnow
from gmeet_api import utils
from gmeet_api.errors import (
    AvailabilityWindowTooLarge,
    BookingAlreadyCancelled,
    BookingLimitReached,
    BookingNotCancellable,
    BookingNotFound,
    CodeExchangeFailed,
    CounsellorNotFound,
    CounsellorUnavailable,
    GoogleAuthorizationDenied,
    GoogleCalendarUnavailable,
    GoogleConnectUnavailable,
    GoogleIdentityMissing,
    GoogleNotConfigured,
    InsufficientScopes,
    InvalidOAuthState,
    InvalidSlot,
    InvalidTimeWindow,
    InvalidWorkingHours,
    PatientEmailNotAllowed,
    SlotUnavailable,
)
from gmeet_api.google_calendar_service import (
    AuthorizationRejected,
    GoogleCalendar,
    GoogleIdentity,
    GoogleNotConfiguredError,
    GoogleUnavailable,
    GrantedTokens,
    GrantRevoked,
    authorization_request,
    exchange_code,
    fetch_identity,
    meet_link_of,
    missing_calendar_scopes,
    session_event,
)
from gmeet_api.models import ActivityLog, Booking, Counsellor, CounsellorToken
from Login_module.locks import lock_user
from Login_module.snapshot import UserSnapshot
from Member_module.service import get_member

logger = logging.getLogger("nucleotide.gmeet")

STATE_KEY = "oauth:state:{}"
STATE_TTL_SECONDS = 600
CONNECT_STARTS_PER_IP_PER_HOUR = 30
AVAILABILITY_CHECKS_PER_IP_PER_MINUTE = 60
COUNSELLOR_ENTITY = "gmeet_counsellor"
BOOKING_ENTITY = "gmeet_booking"
ERASED_NAME = "Erased"
ADMIN_FIELDS = (
    "is_active",
    "specialization",
    "bio",
    "working_days",
    "workday_start",
    "workday_end",
)

T = TypeVar("T")


# --- activity log --------------------------------------------------------------------------------


def log_activity(
    db: Session,
    action: str,
    *,
    counsellor_id: str | None = None,
    actor_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
    keep_on_rollback: bool = False,
) -> None:
    """Add an activity entry; `keep_on_rollback` keeps it even if the request then fails."""

    def entry() -> ActivityLog:
        return ActivityLog(
            counsellor_id=counsellor_id, actor_user_id=actor_user_id, action=action, detail=detail
        )

    db.add(entry())
    if keep_on_rollback:
        on_rollback(db, lambda session: session.add(entry()))


# --- connecting a counsellor ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectStart:
    authorization_url: str
    redirect_uri: str


@dataclass(frozen=True)
class ConnectResult:
    counsellor: Counsellor
    is_new: bool


def start_connect() -> ConnectStart:
    """Google's consent URL, with a single-use state (and the PKCE verifier) kept 10 minutes."""
    ip = current_request().ip or "unknown"
    hit_sliding_window(f"rl:gmeet:connect:{ip}", CONNECT_STARTS_PER_IP_PER_HOUR, 3600)
    state = secrets.token_urlsafe(32)
    try:
        request = authorization_request(state)
    except GoogleNotConfiguredError as exc:
        raise GoogleNotConfigured() from exc
    get_redis().set(
        STATE_KEY.format(state),
        json.dumps({"code_verifier": request.code_verifier}),
        ex=STATE_TTL_SECONDS,
    )
    return ConnectStart(request.url, get_settings().GOOGLE_OAUTH_REDIRECT_URI)


def _take_state(state: str | None) -> str:
    """The PKCE verifier stored with `state`; the state is deleted as it is read (single use)."""
    if not state:
        raise InvalidOAuthState()
    stored = get_redis().getdel(STATE_KEY.format(state))
    if not stored:
        raise InvalidOAuthState()
    return json.loads(stored)["code_verifier"]


def _connect_failed(db: Session, reason: str, **detail: Any) -> None:
    log_activity(db, "connect_failed", detail={"reason": reason, **detail}, keep_on_rollback=True)


def complete_connect(
    db: Session, *, code: str | None, state: str | None, error: str | None
) -> ConnectResult:
    """The OAuth callback: check state, exchange the code, check scopes, read the identity,
    then upsert the counsellor and their encrypted tokens."""
    code_verifier = _take_state(state)
    if error:
        _connect_failed(db, "authorization_denied", google_error=error[:64])
        raise GoogleAuthorizationDenied()
    if not code:
        _connect_failed(db, "missing_code")
        raise CodeExchangeFailed()
    try:
        tokens = exchange_code(code, code_verifier)
    except AuthorizationRejected as exc:
        _connect_failed(db, "code_exchange_failed")
        raise CodeExchangeFailed() from exc
    except (GoogleUnavailable, GoogleNotConfiguredError) as exc:
        _connect_failed(db, "google_unavailable", step="token")
        raise GoogleConnectUnavailable() from exc
    missing = missing_calendar_scopes(tokens.scopes)
    if missing:
        _connect_failed(db, "insufficient_scopes", missing=missing)
        raise InsufficientScopes(details=[{"missing_scope": scope} for scope in missing])
    try:
        identity = fetch_identity(tokens)
    except (GoogleUnavailable, GrantRevoked) as exc:
        _connect_failed(db, "google_unavailable", step="userinfo")
        raise GoogleConnectUnavailable() from exc
    if not identity.sub or not identity.email or not identity.email_verified:
        _connect_failed(db, "identity_missing")
        raise GoogleIdentityMissing()

    counsellor, is_new = _upsert_counsellor(db, identity)
    _store_tokens(db, counsellor.counsellor_id, tokens)
    log_activity(
        db,
        "connected",
        counsellor_id=counsellor.counsellor_id,
        detail={"is_new": is_new, "scopes": list(tokens.scopes)},
    )
    record_audit(
        db,
        action="gmeet_counsellor.connected",
        entity_type=COUNSELLOR_ENTITY,
        entity_id=counsellor.counsellor_id,
        changes=personal_changes(
            {"is_new": is_new, "email": counsellor.email, "status": counsellor.status}
        ),
    )
    return ConnectResult(counsellor, is_new)


def _find_counsellor(db: Session, identity: GoogleIdentity) -> Counsellor | None:
    by_sub = db.scalar(
        select(Counsellor).where(Counsellor.google_sub == identity.sub).with_for_update()
    )
    if by_sub is not None:
        return by_sub
    return db.scalar(select(Counsellor).where(Counsellor.email == identity.email).with_for_update())


def _unused_counsellor_id(db: Session) -> str:
    while True:
        candidate = utils.new_counsellor_id()
        if db.scalar(select(Counsellor.id).where(Counsellor.counsellor_id == candidate)) is None:
            return candidate


def _display_name(identity: GoogleIdentity) -> str:
    return (identity.name or identity.email.split("@")[0]).strip()[:120]


def _upsert_counsellor(db: Session, identity: GoogleIdentity) -> tuple[Counsellor, bool]:
    """A reconnecting counsellor keeps their id, profile and active flag; a new one starts
    inactive until an admin approves them (anyone with a Google account can get this far)."""
    counsellor = _find_counsellor(db, identity)
    if counsellor is None:
        counsellor = Counsellor(
            counsellor_id=_unused_counsellor_id(db),
            name=_display_name(identity),
            email=identity.email,
            google_sub=identity.sub,
            is_active=False,
            status="connected",
            connected_at=utcnow(),
        )
        try:
            with db.begin_nested():
                db.add(counsellor)
        except IntegrityError:
            # The same account finished connecting in a parallel request a moment ago.
            counsellor = _find_counsellor(db, identity)
            if counsellor is None:
                raise
        else:
            return counsellor, True
    counsellor.google_sub = identity.sub
    if identity.name:
        counsellor.name = _display_name(identity)
    if counsellor.email != identity.email:
        taken = db.scalar(select(Counsellor.id).where(Counsellor.email == identity.email))
        if taken is None:
            counsellor.email = identity.email
    counsellor.status = "connected"
    counsellor.connected_at = utcnow()
    db.flush()
    return counsellor, False


def _store_tokens(db: Session, counsellor_id: str, tokens: GrantedTokens) -> None:
    row = db.scalar(select(CounsellorToken).where(CounsellorToken.counsellor_id == counsellor_id))
    if row is None:
        row = CounsellorToken(counsellor_id=counsellor_id)
        db.add(row)
    row.access_token = utils.encrypt_token(tokens.access_token)
    if tokens.refresh_token:
        row.refresh_token = utils.encrypt_token(tokens.refresh_token)
    row.expires_at = tokens.expires_at
    row.scopes = " ".join(tokens.scopes)
    db.flush()


# --- talking to a counsellor's calendar ----------------------------------------------------------


def _load_tokens(db: Session, counsellor_id: str) -> GrantedTokens | None:
    row = db.scalar(select(CounsellorToken).where(CounsellorToken.counsellor_id == counsellor_id))
    if row is None:
        return None
    try:
        return GrantedTokens(
            access_token=utils.decrypt_token(row.access_token),
            refresh_token=utils.decrypt_token(row.refresh_token) if row.refresh_token else None,
            expires_at=row.expires_at,
            scopes=tuple(row.scopes.split()),
        )
    except utils.TokenDecryptionError:
        logger.error("tokens of counsellor %s do not decrypt with the current key", counsellor_id)
        return None


def _persist(db: Session, apply: Callable[[Session], object]) -> None:
    """Apply a change now and again after a rollback: it holds whatever the request's fate."""
    apply(db)
    on_rollback(db, apply)


def _save_refreshed_tokens(db: Session, counsellor_id: str, tokens: GrantedTokens) -> None:
    values: dict[str, Any] = {
        "access_token": utils.encrypt_token(tokens.access_token),
        "expires_at": tokens.expires_at,
        "updated_at": utcnow(),
    }
    if tokens.refresh_token:
        values["refresh_token"] = utils.encrypt_token(tokens.refresh_token)
    statement = (
        update(CounsellorToken)
        .where(CounsellorToken.counsellor_id == counsellor_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    _persist(db, lambda session: session.execute(statement))


def _mark_reconnect_required(
    db: Session, counsellor_id: str, action: str, actor_user_id: int | None
) -> None:
    statement = (
        update(Counsellor)
        .where(Counsellor.counsellor_id == counsellor_id)
        .values(status="reconnect_required", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _persist(db, lambda session: session.execute(statement))
    log_activity(
        db,
        "token_refresh_failed",
        counsellor_id=counsellor_id,
        actor_user_id=actor_user_id,
        detail={"during": action, "status": "reconnect_required"},
        keep_on_rollback=True,
    )


def with_calendar(
    db: Session,
    counsellor_id: str,
    action: str,
    call: Callable[[GoogleCalendar], T],
    *,
    actor_user_id: int | None = None,
) -> T:
    """Run `call` against the counsellor's calendar. Refreshed tokens are stored (encrypted);
    a revoked grant marks the counsellor reconnect_required (409 counsellor_unavailable); any
    other failure is 503 google_calendar_unavailable. Both failures are logged and kept."""
    tokens = _load_tokens(db, counsellor_id)
    if tokens is None:
        _mark_reconnect_required(db, counsellor_id, action, actor_user_id)
        raise CounsellorUnavailable()
    try:
        calendar = GoogleCalendar(tokens)
    except GoogleNotConfiguredError as exc:
        raise GoogleNotConfigured() from exc
    try:
        return call(calendar)
    except GrantRevoked as exc:
        _mark_reconnect_required(db, counsellor_id, action, actor_user_id)
        raise CounsellorUnavailable() from exc
    except GoogleUnavailable as exc:
        log_activity(
            db,
            "google_error",
            counsellor_id=counsellor_id,
            actor_user_id=actor_user_id,
            detail={"during": action, "reason": exc.reason},
            keep_on_rollback=True,
        )
        raise GoogleCalendarUnavailable() from exc
    finally:
        refreshed = calendar.refreshed_tokens()
        if refreshed is not None:
            _save_refreshed_tokens(db, counsellor_id, refreshed)


# --- counsellors ---------------------------------------------------------------------------------


def public_counsellors_query() -> Select[Counsellor]:
    return (
        select(Counsellor)
        .where(Counsellor.is_active.is_(True), Counsellor.status == "connected")
        .order_by(Counsellor.name, Counsellor.id)
    )


def admin_counsellors_query() -> Select[Counsellor]:
    return select(Counsellor).order_by(Counsellor.created_at.desc(), Counsellor.id.desc())


def get_counsellor(db: Session, counsellor_id: str, *, for_update: bool = False) -> Counsellor:
    statement = select(Counsellor).where(Counsellor.counsellor_id == counsellor_id)
    if for_update:
        statement = statement.with_for_update()
    counsellor = db.scalar(statement)
    if counsellor is None:
        raise CounsellorNotFound()
    return counsellor


def bookable_counsellor(db: Session, counsellor_id: str) -> Counsellor:
    """An active counsellor with a working Google connection; inactive ones do not exist."""
    counsellor = get_counsellor(db, counsellor_id)
    if not counsellor.is_active:
        raise CounsellorNotFound()
    if counsellor.status != "connected":
        raise CounsellorUnavailable()
    return counsellor


def hours_of(counsellor: Counsellor) -> utils.WorkingHours:
    return utils.working_hours(
        counsellor.working_days, counsellor.workday_start, counsellor.workday_end
    )


def update_counsellor(
    db: Session, admin_user_id: int, counsellor_id: str, changes: dict[str, Any]
) -> Counsellor:
    """Admin: approve/deactivate, profile text, working-hours overrides (NULL = default)."""
    counsellor = get_counsellor(db, counsellor_id, for_update=True)
    old = {field: getattr(counsellor, field) for field in ADMIN_FIELDS}
    for field, value in changes.items():
        setattr(counsellor, field, value)
    hours = hours_of(counsellor)
    if not hours.days or not _holds_a_slot(hours):
        raise InvalidWorkingHours()
    changed = diff(old, {field: getattr(counsellor, field) for field in ADMIN_FIELDS})
    if changed:
        db.flush()
        record_audit(
            db,
            action="gmeet_counsellor.updated",
            entity_type=COUNSELLOR_ENTITY,
            entity_id=counsellor.counsellor_id,
            actor_user_id=admin_user_id,
            changes=changed,
        )
        log_activity(
            db,
            "admin_updated",
            counsellor_id=counsellor.counsellor_id,
            actor_user_id=admin_user_id,
            detail=changed,
        )
    return counsellor


def _holds_a_slot(hours: utils.WorkingHours) -> bool:
    day = utils.now().date()
    return datetime.combine(day, hours.start) + hours.slot <= datetime.combine(day, hours.end)


# --- availability --------------------------------------------------------------------------------


def _live_bookings(
    db: Session, counsellor_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    rows = db.execute(
        select(Booking.start_time, Booking.end_time).where(
            Booking.counsellor_id == counsellor_id,
            Booking.status == "confirmed",
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
    # Public and each answer costs a Google call: keep one client from spending the quota.
    ip = current_request().ip or "unknown"
    hit_sliding_window(f"rl:gmeet:availability:{ip}", AVAILABILITY_CHECKS_PER_IP_PER_MINUTE, 60)
    counsellor = bookable_counsellor(db, counsellor_id)
    candidates = hours_of(counsellor).slots_between(max(start, utils.now()), end)
    if not candidates:
        return []
    first, last = candidates[0][0], candidates[-1][1]
    busy = with_calendar(
        db, counsellor_id, "freeBusy", lambda calendar: calendar.busy_blocks(first, last)
    )
    taken = busy + _live_bookings(db, counsellor_id, first, last)
    return [(s, e) for s, e in candidates if not utils.overlaps(s, e, taken)]


# --- booking -------------------------------------------------------------------------------------


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


def _patient(
    db: Session, user: UserSnapshot, request: BookingRequest
) -> tuple[str, str | None, str | None]:
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
    return (name or "Nucleotide customer"), email, phone


def _check_booking_limit(db: Session, user_id: int) -> None:
    """At most MAX_UPCOMING_BOOKINGS confirmed sessions to come per account. Counted under the
    user's row lock with a locking read (the latest committed rows), so simultaneous bookings
    by one account queue here and cannot pass the limit together."""
    lock_user(db, user_id)
    upcoming = db.scalars(
        select(Booking.id)
        .where(
            Booking.user_id == user_id,
            Booking.status == "confirmed",
            Booking.start_time > utils.now(),
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
    start, end = request.start_time, request.end_time
    if not hours_of(counsellor).is_slot(start, end) or start <= utils.now():
        raise InvalidSlot()
    patient_name, patient_email, patient_phone = _patient(db, user, request)
    _check_booking_limit(db, user.id)
    if _live_bookings(db, counsellor.counsellor_id, start, end):
        raise SlotUnavailable()

    booking = Booking(
        uuid=str(uuid.uuid4()),
        counsellor_id=counsellor.counsellor_id,
        user_id=user.id,
        member_id=request.member_id,
        patient_name=patient_name,
        patient_email=patient_email,
        patient_phone=patient_phone,
        notes=request.notes,
        start_time=start,
        end_time=end,
        slot_key=start,
        status="confirmed",
    )
    try:
        # A concurrent booking of this slot waits here on the unique key and fails once the
        # first one commits, before it ever reaches Google.
        with db.begin_nested():
            db.add(booking)
    except IntegrityError as exc:
        raise SlotUnavailable() from exc

    busy = with_calendar(
        db,
        counsellor.counsellor_id,
        "freeBusy",
        lambda calendar: calendar.busy_blocks(start, end),
        actor_user_id=user.id,
    )
    if utils.overlaps(start, end, busy):
        raise SlotUnavailable()

    event_body = session_event(
        request_id=booking.uuid,
        start=start,
        end=end,
        patient_name=patient_name,
        patient_email=patient_email,
        patient_phone=patient_phone,
        notes=request.notes,
    )
    notify = bool(patient_email)
    event = with_calendar(
        db,
        counsellor.counsellor_id,
        "events.insert",
        lambda calendar: calendar.create_event(event_body, send_updates=notify),
        actor_user_id=user.id,
    )
    _delete_event_if_rolled_back(db, counsellor.counsellor_id, event["id"], notify)
    booking.google_event_id = event["id"]
    booking.meet_link = meet_link_of(event)
    booking.calendar_link = event.get("htmlLink")
    booking.notifications_sent = notify
    db.flush()
    log_activity(
        db,
        "booked",
        counsellor_id=counsellor.counsellor_id,
        actor_user_id=user.id,
        detail={"booking_id": booking.id, "start_time": start.isoformat(), "notified": notify},
    )
    record_audit(
        db,
        action="gmeet_booking.created",
        entity_type=BOOKING_ENTITY,
        entity_id=booking.id,
        actor_user_id=user.id,
        changes={
            "counsellor_id": counsellor.counsellor_id,
            "start_time": start,
            "end_time": end,
            "member_id": request.member_id,
            "google_event_id": booking.google_event_id,
        },
    )
    return booking


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
    if booking.status == "cancelled":
        raise BookingAlreadyCancelled()
    if booking.start_time <= utils.now():
        raise BookingNotCancellable()

    event_removed = _remove_event(db, booking, send_notifications, user_id)
    booking.status = "cancelled"
    booking.slot_key = None
    booking.cancelled_at = utcnow()
    booking.cancelled_by_user_id = user_id
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
        changes={"status": {"old": "confirmed", "new": "cancelled"}, **detail},
    )
    return booking


def _remove_event(db: Session, booking: Booking, send_notifications: bool, actor: int) -> bool:
    """Delete the booking's event. A counsellor whose grant is revoked cannot have it removed;
    the booking is cancelled with us anyway (and the activity log says the event stayed)."""
    if not booking.google_event_id:
        return False
    counsellor = get_counsellor(db, booking.counsellor_id)
    if counsellor.status != "connected":
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
        if booking.status == "confirmed" and booking.start_time > utils.now():
            try:
                removed = _remove_event(db, booking, True, user_id)
            except (GoogleCalendarUnavailable, GoogleNotConfigured):
                removed = False
            booking.status = "cancelled"
            booking.slot_key = None
            booking.cancelled_at = utcnow()
            booking.cancelled_by_user_id = user_id
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
            cancelled += 1
        booking.patient_name = ERASED_NAME
        booking.patient_email = None
        booking.patient_phone = None
        booking.notes = None
    db.flush()
    return cancelled
