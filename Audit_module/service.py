"""Writing and reading the audit trail. Entries join the caller's transaction."""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from core.context import current_request
from core.validation import mask_abha_address, mask_abha_number, mask_phone
from database import on_rollback

# Every admin reads the trail: for personal fields an entry says that they changed, not what
# they hold. Phones and ABHA ids are kept masked (`+91******3210`, `**-****-****-1234`,
# `as**********@sbx`), enough to recognise one.
REDACTED = "[redacted]"
PHONE_FIELDS = frozenset({"phone", "contact_phone", "patient_phone", "technician_phone"})
MASKED_FIELDS: dict[str, Callable[[str], str]] = {
    **dict.fromkeys(PHONE_FIELDS, mask_phone),
    "abha_number": mask_abha_number,
    "abha_address": mask_abha_address,
}
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "email",
        "date_of_birth",
        "contact_name",
        "line1",
        "line2",
        "landmark",
        "locality",
        "patient_name",
        "patient_email",
        "technician_name",
        "device_name",
        "photo_path",
        "notes",
    }
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"old": a, "new": b}}` for the fields whose value changed."""
    return {
        key: {"old": _jsonable(old.get(key)), "new": _jsonable(new.get(key))}
        for key in new
        if old.get(key) != new.get(key)
    }


def _redact(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in MASKED_FIELDS and isinstance(value, str):
        return MASKED_FIELDS[key](value)
    return REDACTED


def personal_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` about a person as the audit keeps them: personal values (also inside
    `{"old", "new"}` pairs) replaced by REDACTED, phones and ABHA ids masked, None kept (set vs
    cleared)."""
    kept: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in PERSONAL_FIELDS and key not in MASKED_FIELDS:
            kept[key] = value
        elif isinstance(value, dict) and value and set(value) <= {"old", "new"}:
            kept[key] = {part: _redact(key, inner) for part, inner in value.items()}
        else:
            kept[key] = _redact(key, value)
    return kept


def _entry(
    action: str,
    entity_type: str,
    entity_id: object | None,
    actor_user_id: int | None,
    changes: dict[str, Any] | None,
) -> AuditLog:
    context = current_request()
    return AuditLog(
        actor_user_id=actor_user_id,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=_jsonable(changes) if changes is not None else None,
        ip=context.ip,
        user_agent=context.user_agent,
        request_id=context.request_id,
    )


def record_audit(
    db: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    actor_user_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the current transaction: it lands exactly when the change does."""
    db.add(_entry(action, entity_type, entity_id, actor_user_id, changes))


def record_rejection(
    db: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    actor_user_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Audit a refused attempt: kept even though the request's transaction is rolled back."""
    entry = _entry(action, entity_type, entity_id, actor_user_id, changes)
    on_rollback(db, lambda session: session.add(entry))


def audit_query(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_user_id: int | None = None,
    action: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Select[AuditLog]:
    statement = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if entity_type:
        statement = statement.where(AuditLog.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditLog.entity_id == entity_id)
    if actor_user_id is not None:
        statement = statement.where(AuditLog.actor_user_id == actor_user_id)
    if action:
        statement = statement.where(AuditLog.action == action)
    if created_from:
        statement = statement.where(AuditLog.created_at >= created_from)
    if created_to:
        statement = statement.where(AuditLog.created_at <= created_to)
    return statement
