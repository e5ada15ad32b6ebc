"""The scheduled purge of dead device sessions."""

from config import get_settings
from core.scheduler import register_job
from database import SessionLocal
from Login_module.Device.service import purge_dead_sessions

JOB_ID = "purge_dead_sessions"


def purge_dead_sessions_job() -> int:
    with SessionLocal() as db, db.begin():
        return purge_dead_sessions(db)


def register_session_jobs() -> None:
    register_job(
        JOB_ID, purge_dead_sessions_job, get_settings().SESSION_CLEANUP_INTERVAL_MINUTES * 60
    )
