"""Who an authenticated request is for: a snapshot of their user row, shared in Redis.

Authenticating reads `user_snapshot:<user id>` in the same Redis round trip as the session's
entry, so a request whose snapshot is there reads no user row. A miss reads the row and stores
the snapshot for SNAPSHOT_SECONDS, only if the key is absent. Every committed change to a
snapshot column (through the ORM's unit of work: profile, photo, erasure) overwrites the key
with a `stale` marker for STALE_SECONDS, after the commit: every replica then reads the row
again, and a request that read the old row just before the commit cannot store it back (the
marker holds the key). Without Redis every request reads the row. A change committed while
Redis is unreachable leaves an older snapshot for at most SNAPSHOT_SECONDS; an erased account's
sessions are refused by their own tombstones regardless.

Handlers that change the user row take the row itself (`deps.CurrentUserRow`), never the
snapshot."""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import redis.exceptions
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from core.redis import get_redis
from database import on_commit
from Login_module.Device.service import cache_client, cache_missed
from Login_module.models import User

logger = logging.getLogger("nucleotide.sessions")

SNAPSHOT_SECONDS = 300
STALE_SECONDS = 10
STALE = "stale"
_CHANGED_KEY = "changed_users"


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """What requests read of their user: the row's own columns, as of the snapshot."""

    id: int
    phone: str | None
    name: str | None
    email: str | None
    date_of_birth: date | None
    gender: str | None
    photo_path: str | None

    @classmethod
    def of(cls, user: User) -> "UserSnapshot":
        return cls(
            id=user.id,
            phone=user.phone,
            name=user.name,
            email=user.email,
            date_of_birth=user.date_of_birth,
            gender=user.gender,
            photo_path=user.photo_path,
        )

    def dumps(self) -> str:
        fields = asdict(self)
        if self.date_of_birth is not None:
            fields["date_of_birth"] = self.date_of_birth.isoformat()
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | None) -> "UserSnapshot | None":
        """The snapshot in `raw`, or None for a miss, the stale marker or an unreadable entry."""
        if not raw or raw == STALE:
            return None
        try:
            fields: dict[str, Any] = json.loads(raw)
            if fields.get("date_of_birth") is not None:
                fields["date_of_birth"] = date.fromisoformat(fields["date_of_birth"])
            return cls(**fields)
        except (ValueError, TypeError):
            return None


def snapshot_key(user_id: int) -> str:
    return f"user_snapshot:{user_id}"


def remember_snapshot(snapshot: UserSnapshot) -> None:
    """Store the snapshot unless the key holds anything (another snapshot, or the marker).
    Without Redis (or while the session cache rests after a failure) the next request reads
    the row again."""
    client = cache_client()
    if client is None:
        return
    try:
        client.set(snapshot_key(snapshot.id), snapshot.dumps(), nx=True, ex=SNAPSHOT_SECONDS)
    except redis.exceptions.RedisError:
        cache_missed(client)


def _mark_stale(user_ids: set[int]) -> None:
    # Always tried, resting or not, like a session's tombstone: other replicas may be reading.
    client = get_redis()
    try:
        pipe = client.pipeline(transaction=False)
        for user_id in sorted(user_ids):
            pipe.set(snapshot_key(user_id), STALE, ex=STALE_SECONDS)
        pipe.execute()
    except redis.exceptions.RedisError:
        logger.warning(
            "user rows changed while Redis is unreachable: their snapshots may be up to %d s old",
            SNAPSHOT_SECONDS,
        )


# A change to any of these makes a snapshot stale (`last_login_at` and the like do not).
WATCHED_COLUMNS: tuple[str, ...] = ("phone", "name", "email", "date_of_birth", "gender")
WATCHED_COLUMNS += ("photo_path", "is_active", "deleted_at")


def _changes_snapshot(obj: object, session: Session) -> bool:
    if not isinstance(obj, User) or obj.id is None:
        return False
    if obj in session.deleted:
        return True
    attrs = inspect(obj).attrs
    return any(attrs[column].history.has_changes() for column in WATCHED_COLUMNS)


@event.listens_for(Session, "after_flush")
def _users_written(session: Session, _flush: UOWTransaction) -> None:
    # Still the flush's own view here: `dirty` and attribute histories as they were flushed.
    changed = {
        obj.id for obj in (*session.dirty, *session.deleted) if _changes_snapshot(obj, session)
    }
    if not changed:
        return
    pending: set[int] | None = session.info.get(_CHANGED_KEY)
    if pending is None:
        pending = session.info[_CHANGED_KEY] = set()

        def mark() -> None:
            _mark_stale(session.info.pop(_CHANGED_KEY, set()))

        on_commit(session, mark)
    pending |= changed


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED_KEY, None)
