"""Helpers of the login tests only: Redis inspection, audit queries, forged tokens."""

import json
from typing import Any

import jwt
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import get_settings


def otp_keys(redis_client: redis.Redis) -> list[str]:
    """The stored one-time codes (`otp:<phone>`)."""
    return sorted(redis_client.scan_iter("otp:*"))


def audit_rows(db: Session, action: str | None = None) -> list[AuditLog]:
    db.expire_all()
    statement = select(AuditLog).order_by(AuditLog.id)
    if action:
        statement = statement.where(AuditLog.action == action)
    return list(db.scalars(statement).all())


def audit_text(row: AuditLog) -> str:
    """Everything an audit row says about its subject, as one searchable string."""
    return json.dumps({"entity_id": row.entity_id, "changes": row.changes})


def claims_of(token: str) -> dict[str, Any]:
    """The payload of one of our tokens, signature checked."""
    settings = get_settings()
    return jwt.decode(
        token, settings.SECRET_KEY.get_secret_value(), algorithms=[settings.ALGORITHM]
    )


def forge(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    """A token with `claims`, signed with `key` (default: our real key) and `algorithm`."""
    if key is None and algorithm != "none":
        key = get_settings().SECRET_KEY.get_secret_value()
    return jwt.encode(claims, key, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
