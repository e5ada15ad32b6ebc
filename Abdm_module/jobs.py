"""The ABDM job: every ABDM_INTERVAL_SECONDS, process the callbacks received, send the calls
queued, and push the data requested; each step in batches, each batch its own transaction."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from Abdm_module import service
from Abdm_module.messages import process_callbacks, send_calls
from config import get_settings
from core.clock import utcnow
from core.scheduler import register_job
from database import SessionLocal

JOB_ID = "abdm_exchanges"
BATCH_SIZE = 20
MAX_BATCHES_PER_STEP = 10


def _process(db: Session, now: datetime, limit: int) -> int:
    return process_callbacks(db, service.HANDLERS, now, limit)


def _send(db: Session, now: datetime, limit: int) -> int:
    return send_calls(db, service.link_headers, service.call_refused, now, limit)


# The answers to callbacks go out before any push they allow; the push's notify right after it.
STEPS: list[Callable[[Session, datetime, int], int]] = [_process, _send, service.push_due, _send]


def run_abdm_exchanges() -> int:
    """Each step until nothing is due: callbacks, the calls they queued, the pushes, and the
    calls those queued (all in the same run)."""
    if not get_settings().ABDM_ENABLED:
        return 0
    done = 0
    for step in STEPS:
        for _ in range(MAX_BATCHES_PER_STEP):
            with SessionLocal() as db, db.begin():
                handled = step(db, utcnow(), BATCH_SIZE)
            done += handled
            if handled < BATCH_SIZE:
                break
    return done


def register_abdm_jobs() -> None:
    register_job(JOB_ID, run_abdm_exchanges, get_settings().ABDM_INTERVAL_SECONDS)
