"""The retention job: enquiries closed more than ENQUIRY_RETENTION_DAYS ago are deleted."""

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Enquiry_module.service import purge_closed

PURGE_JOB_ID = "purge_closed_enquiries"
MAX_BATCHES_PER_RUN = 20


def purge_closed_enquiries_job() -> int:
    """Batches in their own transactions (their row locks held briefly) until none is due."""
    deleted = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with SessionLocal() as db, db.begin():
            batch = purge_closed(db)
        deleted += batch
        if batch == 0:
            break
    return deleted


def register_enquiry_jobs() -> None:
    interval = minutes_to_seconds(get_settings().ENQUIRY_PURGE_INTERVAL_MINUTES)
    register_job(PURGE_JOB_ID, purge_closed_enquiries_job, interval)
