"""One APScheduler per process; every job runs once per tick across all replicas (Redis key)."""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import RedisError

from core.metrics import JOB_RUNS
from core.redis import get_redis

logger = logging.getLogger("nucleotide.scheduler")

# Interval triggers start from a fixed epoch so every replica fires at the same wall-clock
# moments; the tick number then names one run that exactly one replica may claim.
TICK_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

scheduler = BackgroundScheduler(timezone="UTC")


def job_run_key(job_id: str) -> str:
    return f"jobruns:{job_id}"


def minutes_to_seconds(minutes: float) -> int:
    """A job interval setting (minutes, fractions allowed) as whole seconds, at least 1."""
    return max(1, round(minutes * 60))


def run_once_per_tick(job_id: str, interval_seconds: int, func: Callable[[], object]) -> bool:
    """Claim this tick for `job_id` in Redis and run `func`; False if another replica has it."""
    tick = int((time.time() - TICK_EPOCH.timestamp()) // interval_seconds)
    client = get_redis()
    try:
        if not client.set(f"lock:job:{job_id}:{tick}", "1", nx=True, ex=interval_seconds * 2):
            return False
    except RedisError as exc:
        # No claim, no run: without Redis another replica may be running this very tick.
        logger.warning("job %s skipped (tick %s): Redis unavailable (%s)", job_id, tick, exc)
        return False
    try:
        result = func()
    except Exception:
        JOB_RUNS.labels(job_id, "failed").inc()
        logger.exception("job %s failed (tick %s)", job_id, tick)
        return True
    JOB_RUNS.labels(job_id, "ok").inc()
    logger.info("job %s ran (tick %s): %s", job_id, tick, result)
    try:
        client.incr(job_run_key(job_id))
    except RedisError:
        logger.warning("job %s ran (tick %s) but its run count was not recorded", job_id, tick)
    return True


def register_job(job_id: str, func: Callable[[], object], interval_seconds: int) -> None:
    """Schedule `func` every `interval_seconds`, guarded so one replica runs each tick."""
    scheduler.add_job(
        run_once_per_tick,
        IntervalTrigger(seconds=interval_seconds, start_date=TICK_EPOCH),
        args=(job_id, interval_seconds, func),
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, interval_seconds // 2),
    )
