"""Changing the login phone: both phones prove themselves with a code before anything changes;
then, in one transaction, the phone, the own member's phone, every other session revoked, the
old number told, the audit. A lost SIM: an admin starts it and the new phone's code completes it.

The pending change lives in Redis as long as its codes do (OTP_EXPIRY_SECONDS), so any replica
completes it. `phone_in_use` is answered only after the codes are proven: no one learns whether
a number has an account without holding it."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from config import get_settings
from core.redis import get_redis
from core.validation import mask_phone
from Login_module.Device.service import revoke_all_sessions, revoke_other_sessions
from Login_module.locks import lock_user
from Login_module.models import User
from Login_module.OTP.service import send_otp, verify_code, verify_codes
from Member_module.service import follow_login_phone
from Notification_module.models import NotificationEvent
from Notification_module.service import notify
from Profile_module.errors import PhoneChangeNotStarted, PhoneInUse, SamePhone, UserNotFound


def _change_key(user_id: int) -> str:
    return f"phone_change:{user_id}"


def _claim_key(phone: str) -> str:
    return f"phone_claim:{phone}"


def start_change(db: Session, user: User, new_phone: str) -> int:
    """Codes to the current and the new phone; the seconds they (and the change) are valid."""
    if new_phone == user.phone:
        raise SamePhone()
    assert user.phone is not None  # an erased account cannot authenticate
    ttl = get_settings().OTP_EXPIRY_SECONDS
    send_otp(db, user.phone)
    send_otp(db, new_phone)
    get_redis().set(_change_key(user.id), new_phone, ex=ttl)
    record_audit(
        db,
        action="profile.phone_change_started",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes={"old": mask_phone(user.phone), "new": mask_phone(new_phone)},
    )
    return ttl


def confirm_change(
    db: Session, user: User, session_id: int, current_otp: str, new_otp: str
) -> User:
    new_phone = get_redis().get(_change_key(user.id))
    if new_phone is None:
        raise PhoneChangeNotStarted()
    new_phone = new_phone.decode() if isinstance(new_phone, bytes) else str(new_phone)
    assert user.phone is not None
    verify_codes(db, [(user.phone, current_otp), (new_phone, new_otp)])
    _change(db, user, new_phone, actor_user_id=user.id, reason=None)
    revoke_other_sessions(db, user.id, keep_session_id=session_id)
    get_redis().delete(_change_key(user.id))
    return user


def admin_start_claim(db: Session, admin_id: int, user_id: int, new_phone: str, reason: str) -> int:
    """Lost SIM: a code to the new phone; whoever holds it completes the change."""
    user = db.get(User, user_id)
    if user is None or user.deleted_at is not None or user.phone is None:
        raise UserNotFound()
    if new_phone == user.phone:
        raise SamePhone()
    ttl = get_settings().OTP_EXPIRY_SECONDS
    send_otp(db, new_phone)
    get_redis().set(_claim_key(new_phone), f"{user_id}:{admin_id}", ex=ttl)
    record_audit(
        db,
        action="profile.phone_claim_started",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=admin_id,
        changes={"old": mask_phone(user.phone), "new": mask_phone(new_phone), "reason": reason},
    )
    return ttl


def complete_claim(db: Session, new_phone: str, otp: str) -> User:
    pending = get_redis().get(_claim_key(new_phone))
    if pending is None:
        raise PhoneChangeNotStarted()
    verify_code(db, new_phone, otp)
    value = pending.decode() if isinstance(pending, bytes) else str(pending)
    user_id, admin_id = (int(part) for part in value.split(":"))
    user = db.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise PhoneChangeNotStarted()
    _change(db, user, new_phone, actor_user_id=admin_id, reason="lost_sim")
    revoke_all_sessions(db, user.id, "phone_changed")
    get_redis().delete(_claim_key(new_phone))
    return user


def _change(
    db: Session, user: User, new_phone: str, *, actor_user_id: int, reason: str | None
) -> None:
    """The change itself, with the user row locked; the new phone must have no account."""
    lock_user(db, user.id)
    taken = db.scalar(select(User.id).where(User.phone == new_phone, User.id != user.id))
    if taken is not None:
        raise PhoneInUse()
    old_phone = user.phone
    assert old_phone is not None
    db.flush()
    try:
        # The unique phone is the last word: an account made with it since the check above.
        with db.begin_nested():
            user.phone = new_phone
            db.flush()
    except IntegrityError as exc:
        raise PhoneInUse() from exc
    follow_login_phone(db, user.id, old_phone, new_phone)
    notify(
        db,
        user.id,
        NotificationEvent.PHONE_CHANGED,
        {"new_phone": mask_phone(new_phone)},
        phone=old_phone,
    )
    record_audit(
        db,
        action="profile.phone_changed",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=actor_user_id,
        changes={"old": mask_phone(old_phone), "new": mask_phone(new_phone), "reason": reason},
    )
