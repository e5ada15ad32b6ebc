"""The outbox delivery job: every NOTIFY_INTERVAL_SECONDS, batches until nothing is due."""

from config import get_settings
from core.scheduler import register_job
from database import SessionLocal
from Notification_module.delivery import deliver_due

JOB_ID = "deliver_notifications"
MAX_BATCHES_PER_RUN = 10


def deliver_notifications_job() -> int:
    """Each batch in its own transaction (its row locks held only while it sends)."""
    sent = 0
    batch_size = get_settings().NOTIFY_BATCH_SIZE
    for _ in range(MAX_BATCHES_PER_RUN):
        with SessionLocal() as db, db.begin():
            claimed = deliver_due(db, batch_size)
        sent += claimed
        if claimed < batch_size:
            break
    return sent


def register_notification_jobs() -> None:
    register_job(JOB_ID, deliver_notifications_job, get_settings().NOTIFY_INTERVAL_SECONDS)
