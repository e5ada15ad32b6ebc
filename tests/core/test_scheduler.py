"""Scheduled jobs run once per tick however many replicas fire them."""

import threading

import redis

from core.scheduler import TICK_EPOCH, job_run_key, register_job, run_once_per_tick, scheduler


def test_a_tick_runs_once_when_two_replicas_fire_it(redis_client: redis.Redis) -> None:
    runs: list[int] = []
    claimed = [run_once_per_tick("demo-job", 3600, lambda: runs.append(1)) for _ in range(2)]
    assert claimed == [True, False]
    assert runs == [1]
    assert redis_client.get(job_run_key("demo-job")) == "1"


def test_concurrent_firing_claims_the_tick_once(redis_client: redis.Redis) -> None:
    runs: list[int] = []
    lock = threading.Lock()

    def job() -> None:
        with lock:
            runs.append(1)

    threads = [
        threading.Thread(target=run_once_per_tick, args=("race-job", 3600, job)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [1]


def test_a_failing_job_is_logged_not_raised(redis_client: redis.Redis) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    assert run_once_per_tick("broken-job", 3600, broken) is True
    assert redis_client.get(job_run_key("broken-job")) is None


def test_jobs_fire_on_epoch_aligned_ticks() -> None:
    register_job("aligned-job", lambda: None, 600)
    try:
        job = scheduler.get_job("aligned-job")
        trigger = job.trigger
        assert trigger.start_date == TICK_EPOCH
        assert trigger.interval.total_seconds() == 600
    finally:
        scheduler.remove_job("aligned-job")
