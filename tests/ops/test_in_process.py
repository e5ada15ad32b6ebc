"""The pieces behind the process-level ops tests, in-process and quick: job intervals in
fractions of a minute, ticks without Redis, and revocations made while Redis was away."""

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.redis import build_redis, get_redis, set_redis
from core.scheduler import job_run_key, minutes_to_seconds, run_once_per_tick, scheduler
from Login_module.Device import jobs as session_jobs
from Login_module.Device.service import purge_dead_sessions
from Login_module.models import DeviceSession
from Orders_module import jobs as order_jobs
from tests.support.login import login

PHONE = "+919876597001"


def unreachable_redis() -> redis.Redis:
    """A client configured like the app's own (`build_redis`), for a port where nothing listens
    (a plain `redis.Redis` would retry with backoff for seconds)."""
    return build_redis("redis://127.0.0.1:1/0")


@pytest.fixture
def redis_away() -> Iterator[redis.Redis]:
    """Point the app at a port where no Redis listens; the reachable client is yielded back."""
    alive = get_redis()
    set_redis(unreachable_redis())
    yield alive
    set_redis(alive)


@pytest.mark.parametrize(
    ("minutes", "seconds"),
    [(60, 3600), (5, 300), (0.05, 3), (1 / 60, 1), (2 / 60, 2), (0.001, 1), (0, 1)],
)
def test_job_interval_minutes_become_whole_seconds_of_at_least_one(
    minutes: float, seconds: int
) -> None:
    assert minutes_to_seconds(minutes) == seconds


def test_fractional_interval_settings_schedule_the_jobs_in_seconds(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SESSION_CLEANUP_INTERVAL_MINUTES", 0.05)
    monkeypatch.setattr(settings, "ORDER_EXPIRY_INTERVAL_MINUTES", 0.5)
    monkeypatch.setattr(settings, "REFUND_RETRY_INTERVAL_MINUTES", 0.25)
    session_jobs.register_session_jobs()
    order_jobs.register_order_jobs()
    job_ids = (session_jobs.JOB_ID, order_jobs.JOB_ID, order_jobs.REFUND_JOB_ID)
    try:
        intervals = {
            job_id: scheduler.get_job(job_id).trigger.interval.total_seconds() for job_id in job_ids
        }
    finally:
        for job_id in job_ids:
            scheduler.remove_job(job_id)
    assert intervals == {
        session_jobs.JOB_ID: 3,
        order_jobs.JOB_ID: 30,
        order_jobs.REFUND_JOB_ID: 15,
    }


def test_a_tick_without_redis_is_skipped_not_run_and_not_raised(
    redis_away: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []
    assert run_once_per_tick("ops-job", 3600, lambda: runs.append(1)) is False
    assert runs == []
    assert "job ops-job skipped" in caplog.text
    assert redis_away.get(job_run_key("ops-job")) is None


def test_session_revoked_while_redis_was_away_stays_refused_when_it_returns_with_old_entries(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    kept = login(client, PHONE)
    other = login(client, PHONE)
    assert client.get("/auth/me", headers=other.headers).status_code == 200
    sessions = client.get("/sessions", headers=kept.headers).json()["sessions"]
    other_id = next(s["id"] for s in sessions if not s["is_current"])
    alive = get_redis()
    assert alive.get(f"sess:{other_id}") == f"active:{other.user_id}"

    set_redis(unreachable_redis())
    try:
        assert client.delete(f"/sessions/{other_id}", headers=kept.headers).status_code == 204
        assert client.get("/auth/me", headers=other.headers).status_code == 401
    finally:
        set_redis(alive)  # back, still holding the `active` entry written before
    assert alive.get(f"sess:{other_id}") == f"active:{other.user_id}"

    assert client.get("/auth/me", headers=other.headers).status_code == 401
    assert alive.get(f"sess:{other_id}") == "revoked"
    assert client.get("/auth/me", headers=kept.headers).status_code == 200


def test_purge_keeps_a_fresh_revocation_while_redis_is_away_and_tombstones_it_after(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    kept = login(client, "+919876597002")
    other = login(client, "+919876597002")
    assert client.get("/auth/me", headers=other.headers).status_code == 200  # cached active
    other_id = next(
        s["id"]
        for s in client.get("/sessions", headers=kept.headers).json()["sessions"]
        if not s["is_current"]
    )
    alive = get_redis()
    set_redis(unreachable_redis())
    try:
        assert client.delete(f"/sessions/{other_id}", headers=kept.headers).status_code == 204
        # The resync after the outage reads this row: the purge must not take it yet.
        assert purge_dead_sessions(db) == 0
    finally:
        set_redis(alive)
    assert alive.get(f"sess:{other_id}") == f"active:{other.user_id}"
    assert purge_dead_sessions(db) == 1
    assert alive.get(f"sess:{other_id}") == "revoked"
    assert db.get(DeviceSession, other_id) is None
    assert client.get("/auth/me", headers=other.headers).status_code == 401
