"""The counsellor activity log: connections, bookings, cancellations and Google failures."""

from typing import Any

from sqlalchemy.orm import Session

from database import on_rollback
from gmeet_api.models import ActivityLog


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
