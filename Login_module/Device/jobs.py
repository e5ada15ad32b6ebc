"""The scheduled purge of dead device sessions, and the revocation sync."""

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Login_module.Device.service import purge_dead_sessions, sync_recent_revocations

JOB_ID = "purge_dead_sessions"
SYNC_JOB_ID = "sync_revocations"


def purge_dead_sessions_job() -> int:
    with SessionLocal() as db, db.begin():
        return purge_dead_sessions(db)


def sync_revocations_job() -> int:
    with SessionLocal() as db, db.begin():
        return sync_recent_revocations(db)


def register_session_jobs() -> None:
    settings = get_settings()
    register_job(
        JOB_ID,
        purge_dead_sessions_job,
        minutes_to_seconds(settings.SESSION_CLEANUP_INTERVAL_MINUTES),
    )
    register_job(SYNC_JOB_ID, sync_revocations_job, settings.SESSION_REVOCATION_SYNC_SECONDS)
