"""A counsellor's Google grant: the encrypted tokens, and every Calendar call made with them.

Refreshed tokens, a revoked grant (the counsellor becomes reconnect_required) and the log of a
Google failure are kept whatever the request's fate: they are re-applied after a rollback.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from database import on_rollback
from gmeet_api import utils
from gmeet_api.activity import log_activity
from gmeet_api.errors import CounsellorUnavailable, GoogleCalendarUnavailable, GoogleNotConfigured
from gmeet_api.google_calendar_service import (
    GoogleCalendar,
    GoogleNotConfiguredError,
    GoogleUnavailable,
    GrantedTokens,
    GrantRevoked,
)
from gmeet_api.models import Counsellor, CounsellorStatus, CounsellorToken

logger = logging.getLogger("nucleotide.gmeet")

T = TypeVar("T")


def store_tokens(db: Session, counsellor_id: str, tokens: GrantedTokens) -> None:
    """Keep a fresh grant (encrypted); a grant without a refresh token keeps the stored one."""
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
        .values(status=CounsellorStatus.RECONNECT_REQUIRED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _persist(db, lambda session: session.execute(statement))
    log_activity(
        db,
        "token_refresh_failed",
        counsellor_id=counsellor_id,
        actor_user_id=actor_user_id,
        detail={"during": action, "status": CounsellorStatus.RECONNECT_REQUIRED},
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
