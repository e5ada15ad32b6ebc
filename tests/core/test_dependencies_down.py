"""Redis or the database down: 503 `service_unavailable`, no stack trace, nothing half-written."""

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.redis import get_redis, set_redis
from database import SessionLocal
from Login_module.models import User
from tests.support.http import assert_error
from tests.support.login import login

DEAD_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:1/none"


@pytest.fixture
def dead_redis() -> Iterator[None]:
    """Point the app at a port where no Redis listens; restore afterwards."""
    alive = get_redis()
    set_redis(
        redis.Redis(
            host="127.0.0.1",
            port=1,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # fail at once: redis-py retries 3 times by default
        )
    )
    yield
    set_redis(alive)


def test_health_reports_degraded_and_not_ready_without_redis(
    client: TestClient, dead_redis: None
) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"] == {"database": "ok", "redis": "unavailable"}
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert int(ready.headers["retry-after"]) >= 1


def test_health_is_ok_and_ready_with_everything_up(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body == {"status": "ok", "version": "3.0.0", "checks": {"database": "ok", "redis": "ok"}}
    assert client.get("/health/ready").status_code == 200


def test_otp_routes_answer_503_without_redis(client: TestClient, dead_redis: None) -> None:
    response = client.post("/auth/send-otp", json={"phone": "9876543210"})
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert "Traceback" not in response.text and "redis" not in response.text.lower()
    response = client.post("/auth/verify-otp", json={"phone": "9876543210", "otp": "123456"})
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) >= 1


def test_logged_in_requests_keep_working_without_redis(client: TestClient) -> None:
    me = login(client)
    alive = get_redis()
    set_redis(
        redis.Redis(
            host="127.0.0.1",
            port=1,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # fail at once: redis-py retries 3 times by default
        )
    )
    try:
        assert client.get("/auth/me", headers=me.headers).status_code == 200
        assert client.put("/profile", json={"name": "Asha"}, headers=me.headers).status_code == 200
        # Revocation still works and is enforced from the database.
        assert client.post("/auth/logout", headers=me.headers).status_code == 204
        assert client.get("/auth/me", headers=me.headers).status_code == 401
    finally:
        set_redis(alive)
    # Back up: the tombstone could not be written, but the database check refuses it.
    assert client.get("/auth/me", headers=me.headers).status_code == 401


def test_database_down_is_a_503_without_a_trace(client: TestClient, db: Session) -> None:
    me = login(client)
    dead = create_engine(DEAD_DATABASE_URL, connect_args={"connect_timeout": 1})
    bound = SessionLocal.kw["bind"]
    SessionLocal.configure(bind=dead)
    try:
        response = client.get("/auth/me", headers=me.headers)
    finally:
        SessionLocal.configure(bind=bound)
        dead.dispose()
    assert_error(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert "Traceback" not in response.text and "pymysql" not in response.text


def test_database_down_is_reported_by_health(client: TestClient, monkeypatch) -> None:
    import core.health

    dead = create_engine(DEAD_DATABASE_URL, connect_args={"connect_timeout": 1})
    monkeypatch.setattr(core.health, "engine", dead)
    body = client.get("/health").json()
    assert body["status"] == "degraded" and body["checks"]["database"] == "unavailable"
    assert client.get("/health/ready").status_code == 503


def test_a_failed_commit_is_an_error_response_and_nothing_is_written(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = login(client)
    real_commit = Session.commit

    def failing_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception(2013, "Lost connection during query"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    response = client.put("/profile", json={"name": "Never Saved"}, headers=me.headers)
    monkeypatch.setattr(Session, "commit", real_commit)
    assert response.status_code == 503, response.text
    db.expire_all()
    assert db.scalar(select(User.name).where(User.id == me.user_id)) is None


def test_a_deadlock_is_a_retryable_503_not_a_500(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = login(client)

    def deadlocked_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception(1213, "Deadlock found"))

    monkeypatch.setattr(Session, "commit", deadlocked_commit)
    response = client.put("/profile", json={"name": "Retry Me"}, headers=me.headers)
    monkeypatch.undo()
    assert_error(response, 503, "try_again")
    assert response.headers["Retry-After"] == "1"
