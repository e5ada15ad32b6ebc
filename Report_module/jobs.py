"""The purge of erased reports' files that the erasure's own clean-up could not delete."""

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Report_module.service import purge_erased_files

PURGE_JOB_ID = "purge_erased_reports"


def purge_erased_reports_job() -> int:
    with SessionLocal() as db, db.begin():
        return purge_erased_files(db)


def register_report_jobs() -> None:
    interval = minutes_to_seconds(get_settings().REPORT_PURGE_INTERVAL_MINUTES)
    register_job(PURGE_JOB_ID, purge_erased_reports_job, interval)
