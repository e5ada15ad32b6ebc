"""The purge job: sign-ups nobody confirmed are deleted once their last confirmation link has
expired (an address someone typed is kept no longer than it can be confirmed)."""

from config import get_settings
from core.clock import utcnow
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Newsletter_module.service import purge_unconfirmed

PURGE_JOB_ID = "purge_unconfirmed_newsletter_sign_ups"
MAX_BATCHES_PER_RUN = 20


def purge_unconfirmed_sign_ups_job() -> int:
    """Batches in their own transactions (their row locks held briefly) until none is due."""
    deleted = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with SessionLocal() as db, db.begin():
            batch = purge_unconfirmed(db, utcnow())
        deleted += batch
        if batch == 0:
            break
    return deleted


def register_newsletter_jobs() -> None:
    interval = minutes_to_seconds(get_settings().NEWSLETTER_PURGE_INTERVAL_MINUTES)
    register_job(PURGE_JOB_ID, purge_unconfirmed_sign_ups_job, interval)
