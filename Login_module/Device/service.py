"""Device sessions: start, rotate, revoke, and the Redis cache that makes revocation instant.

The database is the source of truth. Redis holds `sess:<id>` = `active:<user id>` (short TTL,
set only if absent; a check trusts it only for that user) or `revoked` (a tombstone written on
revocation), so every replica refuses a
revoked session's token on its next request; if Redis is down, checks fall back to the
database. A revocation made while Redis was unreachable has no tombstone, and an `active` entry
cached before the outage may come back with Redis: so the first check after an outage writes
tombstones for every session revoked within the cache lifetime. After a failed call the cache
rests for REDIS_RETRY_SECONDS (straight to the database), so a partitioned Redis costs one
socket timeout per interval, not several per request.
"""

import logging
import threading
import time
from datetime import timedelta

import redis.exceptions
from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from Audit_module.service import personal_changes, record_audit
from config import get_settings
from core.clock import wall_utcnow
from core.context import current_request
from core.hooks import Hook
from core.redis import get_redis
from database import rows_changed
from Login_module.errors import SessionNotFound, SessionRevoked
from Login_module.locks import lock_user
from Login_module.models import DeviceSession, User
from Login_module.tokens import new_jti

logger = logging.getLogger("nucleotide.sessions")

ACTIVE, REVOKED = "active", "revoked"
TOUCH_INTERVAL_SECONDS = 60
CLOCK_SKEW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0

# Set when this process failed to reach Redis for the session cache; cleared by the resync.
_redis_missed = threading.Event()
# The client that failed and until when to leave it alone (the client itself, not its id, so
# a client swapped in later is never mistaken for it).
_resting: tuple[redis.Redis, float] | None = None


def cache_missed(client: redis.Redis) -> None:
    global _resting
    _resting = (client, time.monotonic() + REDIS_RETRY_SECONDS)
    _redis_missed.set()


def cache_client() -> redis.Redis | None:
    """The Redis client, or None while it rests after a failure."""
    client = get_redis()
    resting = _resting
    if resting is not None and resting[0] is client and time.monotonic() < resting[1]:
        return None
    return client


def _cache_key(session_id: int) -> str:
    return f"sess:{session_id}"


def _touch_key(session_id: int) -> str:
    return f"sess:touch:{session_id}"


def _cache_read(
    db: Session, session_id: int, extra_key: str
) -> tuple[str | None, str | None, bool]:
    """The session's cache entry, the value of `extra_key`, and whether the session's activity
    is due to be recorded (claimed at most once a TOUCH_INTERVAL_SECONDS), in one round trip;
    (None, None, True) without Redis."""
    client = cache_client()
    if client is None:
        return None, None, True
    try:
        if _redis_missed.is_set():
            _resync_revocations(db, client)
        pipe = client.pipeline(transaction=False)
        pipe.get(_cache_key(session_id))
        pipe.get(extra_key)
        pipe.set(_touch_key(session_id), "1", nx=True, ex=TOUCH_INTERVAL_SECONDS)
        cached, extra, touch_due = pipe.execute()
        return cached, extra, bool(touch_due)
    except redis.exceptions.RedisError:
        cache_missed(client)
        return None, None, True


def _revoked_recently() -> ColumnElement[bool]:
    """Revoked recently enough that an `active` entry cached before the revocation could still
    be alive (it lives SESSION_CACHE_SECONDS from its write)."""
    window = get_settings().SESSION_CACHE_SECONDS + CLOCK_SKEW_SECONDS
    return DeviceSession.revoked_at >= wall_utcnow() - timedelta(seconds=window)


def _recently_revoked(db: Session) -> list[int]:
    return list(db.scalars(select(DeviceSession.id).where(_revoked_recently())))


def _tombstone_all(client: redis.Redis, session_ids: list[int]) -> None:
    if not session_ids:
        return
    pipe = client.pipeline(transaction=False)
    for session_id in session_ids:
        pipe.set(_cache_key(session_id), REVOKED, ex=get_settings().ACCESS_TOKEN_EXPIRE_SECONDS)
    pipe.execute()


def sync_recent_revocations(db: Session) -> int:
    """Tombstone every session revoked in the last few sync intervals.

    A replica that cannot reach Redis still revokes in the database, but its tombstone is lost,
    and replicas that can reach Redis would trust a cached `active` entry for up to
    SESSION_CACHE_SECONDS. This job (one replica per tick, on any replica that reaches Redis)
    closes that gap to about one interval. Raises while Redis is away (the tick is skipped)."""
    settings = get_settings()
    window = 3 * settings.SESSION_REVOCATION_SYNC_SECONDS + CLOCK_SKEW_SECONDS
    revoked = list(
        db.scalars(
            select(DeviceSession.id).where(
                DeviceSession.revoked_at >= wall_utcnow() - timedelta(seconds=window)
            )
        )
    )
    _tombstone_all(get_redis(), revoked)
    return len(revoked)


def _resync_revocations(db: Session, client: redis.Redis) -> None:
    """After an outage: tombstone every recently revoked session."""
    client.ping()  # raises while Redis is still away, leaving the flag set
    _redis_missed.clear()
    revoked = _recently_revoked(db)
    _tombstone_all(client, revoked)
    logger.info("Redis reachable again: %d recent revocations re-sent to the cache", len(revoked))


def _active_value(user_id: int) -> str:
    return f"{ACTIVE}:{user_id}"


def _cache_set_active(session_id: int, user_id: int) -> None:
    client = cache_client()
    if client is None:
        return
    try:
        client.set(
            _cache_key(session_id),
            _active_value(user_id),
            nx=True,
            ex=get_settings().SESSION_CACHE_SECONDS,
        )
    except redis.exceptions.RedisError:
        cache_missed(client)


def _cache_tombstone(session_id: int) -> None:
    # Always tried, resting or not: other replicas may still be reading the cache.
    client = get_redis()
    try:
        client.set(_cache_key(session_id), REVOKED, ex=get_settings().ACCESS_TOKEN_EXPIRE_SECONDS)
    except redis.exceptions.RedisError:
        cache_missed(client)
        logger.warning("session %s revoked while Redis is unreachable", session_id)


def active_sessions_query(user_id: int) -> Select[DeviceSession]:
    return select(DeviceSession).where(
        DeviceSession.user_id == user_id,
        DeviceSession.revoked_at.is_(None),
        DeviceSession.expires_at > wall_utcnow(),
    )


# Run in the transaction that ends a session (logout, revocation, eviction, erasure):
# `handler(db, session_id)`; other modules drop what they bound to it (push tokens).
session_ended: Hook[[Session, int]] = Hook("session_ended")


def revoke_session(db: Session, session: DeviceSession, reason: str, actor_user_id: int) -> None:
    if session.revoked_at is not None:
        return
    session.revoked_at = wall_utcnow()
    session.revoked_reason = reason
    _cache_tombstone(session.id)
    session_ended(db, session.id)
    record_audit(
        db,
        action="session.revoked",
        entity_type="device_session",
        entity_id=session.id,
        actor_user_id=actor_user_id,
        changes={"reason": reason, "user_id": session.user_id},
    )


def start_session(
    db: Session,
    user: User,
    device_id: str | None,
    device_name: str | None,
    device_platform: str | None,
) -> DeviceSession:
    """A new device session; the same device's old one and the least recently active beyond
    MAX_ACTIVE_SESSIONS are revoked."""
    settings = get_settings()
    # One login at a time per user: the user row is the lock. Locking only the session rows
    # lets two logins deadlock on the index gap (MariaDB) when both insert.
    lock_user(db, user.id)
    active = db.scalars(
        active_sessions_query(user.id).order_by(DeviceSession.last_active).with_for_update()
    ).all()
    remaining = []
    for old in active:
        if device_id and old.device_id == device_id:
            revoke_session(db, old, "replaced", user.id)
        else:
            remaining.append(old)
    while len(remaining) >= settings.MAX_ACTIVE_SESSIONS:
        revoke_session(db, remaining.pop(0), "evicted", user.id)

    context = current_request()
    now = wall_utcnow()
    session = DeviceSession(
        user_id=user.id,
        device_id=device_id,
        device_name=device_name,
        device_platform=device_platform,
        ip_address=context.ip,
        user_agent=context.user_agent,
        refresh_jti=new_jti(),
        created_at=now,
        last_active=now,
        expires_at=now + timedelta(seconds=settings.REFRESH_TOKEN_EXPIRE_SECONDS),
    )
    db.add(session)
    db.flush()
    record_audit(
        db,
        action="session.created",
        entity_type="device_session",
        entity_id=session.id,
        actor_user_id=user.id,
        changes=personal_changes({"device_name": device_name, "device_platform": device_platform}),
    )
    return session


def check_session_active(db: Session, session_id: int, user_id: int, extra_key: str) -> str | None:
    """Refuse a token whose session is revoked, expired or not the token's user's; record the
    session's activity at most once a minute. Answers the cached value of `extra_key`, read in
    the same Redis round trip (the user's snapshot), or None."""
    cached, extra, touch_due = _cache_read(db, session_id, extra_key)
    if cached == REVOKED:
        raise SessionRevoked()
    if cached != _active_value(user_id):
        # Anything else (nothing cached, another user's session, an entry of an older format)
        # is decided by the database.
        session = db.get(DeviceSession, session_id)
        if (
            session is None
            or session.user_id != user_id
            or session.revoked_at is not None
            or session.expires_at <= wall_utcnow()
        ):
            raise SessionRevoked()
        _cache_set_active(session_id, user_id)
    if touch_due:
        _record_activity(db, session_id)
    return extra


def _record_activity(db: Session, session_id: int) -> None:
    now = wall_utcnow()
    db.execute(
        update(DeviceSession)
        .where(
            DeviceSession.id == session_id,
            DeviceSession.last_active < now - timedelta(seconds=TOUCH_INTERVAL_SECONDS),
        )
        .values(last_active=now)
    )


def list_sessions(db: Session, user_id: int) -> list[DeviceSession]:
    statement = active_sessions_query(user_id).order_by(DeviceSession.last_active.desc())
    return list(db.scalars(statement).all())


def owned_active_session(db: Session, user_id: int, session_id: int) -> DeviceSession:
    session = db.scalar(
        active_sessions_query(user_id).where(DeviceSession.id == session_id).with_for_update()
    )
    if session is None:
        raise SessionNotFound()
    return session


def revoke_other_sessions(db: Session, user_id: int, keep_session_id: int) -> int:
    others = db.scalars(
        active_sessions_query(user_id).where(DeviceSession.id != keep_session_id).with_for_update()
    ).all()
    for session in others:
        revoke_session(db, session, "revoked_by_user", user_id)
    return len(others)


def revoke_all_sessions(db: Session, user_id: int, reason: str) -> int:
    sessions = db.scalars(active_sessions_query(user_id).with_for_update()).all()
    for session in sessions:
        revoke_session(db, session, reason, user_id)
    return len(sessions)


def erase_user_data(db: Session, user_id: int) -> int:
    """Account erasure: every session revoked (its tokens refused at once on every replica) and
    every session's device details scrubbed; the number revoked."""
    revoked = revoke_all_sessions(db, user_id, "account_erased")
    db.execute(
        update(DeviceSession)
        .where(DeviceSession.user_id == user_id)
        .values(device_id=None, device_name=None, ip_address=None, user_agent=None)
        .execution_options(synchronize_session=False)
    )
    return revoked


def purge_dead_sessions(db: Session) -> int:
    """Delete sessions that expired or were revoked (their tokens are refused either way).

    A recent revocation's row is what the post-outage resync reads, so it is deleted only once
    its tombstone is written (again) here; while Redis is away such rows are kept.
    """
    dead = or_(DeviceSession.expires_at <= wall_utcnow(), DeviceSession.revoked_at.is_not(None))
    not_recent = or_(DeviceSession.revoked_at.is_(None), ~_revoked_recently())
    # The write comes first so SQLite takes its write lock before any read (a read-then-write
    # transaction cannot upgrade while a request holds the lock: "database is locked").
    purged = rows_changed(db.execute(delete(DeviceSession).where(dead, not_recent)))
    revoked = _recently_revoked(db)
    try:
        _tombstone_all(get_redis(), revoked)
    except redis.exceptions.RedisError:
        return purged
    if revoked:
        purged += rows_changed(
            db.execute(delete(DeviceSession).where(DeviceSession.id.in_(revoked)))
        )
    return purged
