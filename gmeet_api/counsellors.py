"""Counsellors: the public and admin lists, lookups, who can take bookings, admin updates."""

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from core.clock import utcnow
from gmeet_api import utils
from gmeet_api.activity import log_activity
from gmeet_api.errors import CounsellorNotFound, CounsellorUnavailable, InvalidWorkingHours
from gmeet_api.models import Counsellor, CounsellorStatus
from gmeet_api.schemas import CounsellorUpdateIn

COUNSELLOR_ENTITY = "gmeet_counsellor"
ADMIN_FIELDS = (
    "is_active",
    "specialization",
    "bio",
    "working_days",
    "workday_start",
    "workday_end",
)


def public_counsellors_query() -> Select[Counsellor]:
    return (
        select(Counsellor)
        .where(Counsellor.is_active.is_(True), Counsellor.status == CounsellorStatus.CONNECTED)
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
    if counsellor.status != CounsellorStatus.CONNECTED:
        raise CounsellorUnavailable()
    return counsellor


def hours_of(counsellor: Counsellor) -> utils.WorkingHours:
    return utils.working_hours(
        counsellor.working_days, counsellor.workday_start, counsellor.workday_end
    )


def update_counsellor(
    db: Session, admin_user_id: int, counsellor_id: str, body: CounsellorUpdateIn
) -> Counsellor:
    """Admin: approve/deactivate, profile text, working-hours overrides (NULL = default)."""
    changes = body.changes()
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
    day = utcnow().date()
    return datetime.combine(day, hours.start) + hours.slot <= datetime.combine(day, hours.end)
