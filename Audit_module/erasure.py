"""Account erasure, the audit trail's part: the entries stay (actions, ids, times and IP
addresses are the security log); the personal values in them are replaced."""

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog

ERASED = "[erased]"


class _Scrubber:
    def __init__(self, personal_keys: Collection[str], keep_note: Callable[[str], bool]) -> None:
        self.personal_keys = personal_keys
        self.keep_note = keep_note

    def value(self, key: str, value: Any) -> Any:
        if key == "note":
            return value if not isinstance(value, str) or self.keep_note(value) else ERASED
        if key in self.personal_keys:
            if isinstance(value, dict) and set(value) <= {"old", "new"}:
                return {part: None if old is None else ERASED for part, old in value.items()}
            return None if value is None else ERASED
        return self.tree(value)

    def tree(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.value(key, inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.tree(inner) for inner in value]
        return value


def erase_user_data(
    db: Session,
    user_id: int,
    *,
    own_entity_types: Collection[str],
    about: Mapping[str, Collection[int]],
    personal_keys: Collection[str],
    keep_note: Callable[[str], bool],
) -> int:
    """Scrub the user's own entries about `own_entity_types`, and every entry about the
    entities in `about` (entity type -> ids) whoever wrote it: under `personal_keys` a value
    (or its `{old, new}`) becomes `[erased]`, a `note` unless `keep_note(note)`. The number of
    entries changed."""
    conditions = [
        and_(AuditLog.actor_user_id == user_id, AuditLog.entity_type.in_(own_entity_types))
    ]
    for entity_type, ids in about.items():
        if ids:
            conditions.append(
                and_(
                    AuditLog.entity_type == entity_type,
                    AuditLog.entity_id.in_([str(entity_id) for entity_id in ids]),
                )
            )
    scrubber = _Scrubber(personal_keys, keep_note)
    scrubbed = 0
    for entry in db.scalars(select(AuditLog).where(or_(*conditions))):
        cleaned = scrubber.tree(entry.changes)
        if cleaned != entry.changes:
            entry.changes = cleaned
            scrubbed += 1
    return scrubbed
