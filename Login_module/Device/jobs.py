"""The scheduled purge of dead device sessions."""

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Login_module.Device.service import purge_dead_sessions

JOB_ID = "purge_dead_sessions"


def purge_dead_sessions_job() -> int:
    with SessionLocal() as db, db.begin():
        return purge_dead_sessions(db)


def register_session_jobs() -> None:
    interval = minutes_to_seconds(get_settings().SESSION_CLEANUP_INTERVAL_MINUTES)
    register_job(JOB_ID, purge_dead_sessions_job, interval)
