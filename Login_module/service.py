"""Logging in with a verified code, refreshing tokens, logging out."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.service import record_audit, record_rejection
from config import get_settings
from core.clock import wall_utcnow
from database import on_rollback
from Login_module.answers import LoginUser
from Login_module.Device.service import revoke_session, start_session
from Login_module.errors import AccountDisabled, RefreshTokenReused, SessionRevoked
from Login_module.models import DeviceSession, User
from Login_module.OTP.service import verify_code
from Login_module.roles import role_for_phone
from Login_module.snapshot import UserSnapshot
from Login_module.tokens import decode_token, encode_token, new_jti


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str | None = None
    device_name: str | None = None
    device_platform: str | None = None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    is_new_user: bool

    @property
    def login_user(self) -> LoginUser:
        return LoginUser(self.user, self.is_new_user)


def _issue(user: User, session: DeviceSession, is_new_user: bool) -> IssuedTokens:
    role = role_for_phone(user.phone)
    return IssuedTokens(
        access_token=encode_token(user.id, session.id, role, "access"),
        refresh_token=encode_token(user.id, session.id, role, "refresh", jti=session.refresh_jti),
        expires_in=get_settings().ACCESS_TOKEN_EXPIRE_SECONDS,
        user=user,
        is_new_user=is_new_user,
    )


def login_with_otp(db: Session, phone: str, code: str, device: DeviceInfo) -> IssuedTokens:
    """Check the code, then log the phone's user in."""
    verify_code(db, phone, code)
    return log_in(db, phone, device)


def log_in(db: Session, phone: str, device: DeviceInfo) -> IssuedTokens:
    """Find or create the user of a phone whose code was checked, open a device session, mint
    tokens."""
    user = db.scalar(select(User).where(User.phone == phone))
    is_new_user = user is None
    if user is not None and (not user.is_active or user.deleted_at is not None):
        raise AccountDisabled()
    if user is None:
        user = User(phone=phone, role=role_for_phone(phone))
        db.add(user)
        db.flush()
        record_audit(
            db, action="user.created", entity_type="user", entity_id=user.id, actor_user_id=user.id
        )
    user.role = role_for_phone(phone)
    user.last_login_at = wall_utcnow()
    session = start_session(db, user, device.device_id, device.device_name, device.device_platform)
    record_audit(
        db,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes={"session_id": session.id},
    )
    return _issue(user, session, is_new_user)


def refresh_tokens(db: Session, refresh_token: str) -> IssuedTokens:
    """Rotate the pair; a refresh token that was already rotated away kills the session."""
    claims = decode_token(refresh_token, "refresh")
    session = db.scalar(
        select(DeviceSession).where(DeviceSession.id == claims.session_id).with_for_update()
    )
    if (
        session is None
        or session.user_id != claims.user_id
        or session.revoked_at is not None
        or session.expires_at <= wall_utcnow()
    ):
        raise SessionRevoked()
    if session.refresh_jti != claims.jti:
        session_id, user_id = session.id, session.user_id

        def end_replayed_session(fresh: Session) -> None:
            replayed = fresh.get(DeviceSession, session_id)
            if replayed is not None:
                revoke_session(fresh, replayed, "refresh_reuse", user_id)

        on_rollback(db, end_replayed_session)
        record_rejection(
            db,
            action="auth.refresh_reuse",
            entity_type="device_session",
            entity_id=session_id,
            actor_user_id=user_id,
        )
        raise RefreshTokenReused()
    user = db.get(User, session.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise SessionRevoked()
    session.refresh_jti = new_jti()
    session.last_active = wall_utcnow()
    return _issue(user, session, is_new_user=False)


def logout(db: Session, user: UserSnapshot, session_id: int) -> None:
    session = db.get(DeviceSession, session_id)
    if session is not None:
        revoke_session(db, session, "logout", user.id)
