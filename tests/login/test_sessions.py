"""Device sessions through HTTP (/sessions), the active-session cache, and the purge job."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import core.scheduler
from config import Settings
from core.clock import utcnow
from core.scheduler import job_run_key, run_once_per_tick
from database import engine
from Login_module.Device.jobs import JOB_ID, purge_dead_sessions_job
from Login_module.Device.service import active_sessions_query, start_session
from Login_module.models import DeviceSession, User
from Login_module.tokens import encode_token
from tests.login.support import audit_rows, claims_of
from tests.support.database import counting_statements, requires_mariadb
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login

PHONE = "+919876500021"
OTHER_PHONE = "+919876500022"


@pytest.fixture(autouse=True)
def no_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests log the same phone in several times."""
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def session_id(user: LoggedIn) -> int:
    return claims_of(user.access_token)["sid"]


def me_status(client: TestClient, user: LoggedIn) -> int:
    return client.get("/auth/me", headers=user.headers).status_code


# --- GET /sessions --------------------------------------------------------------------------


def test_list_shows_my_active_sessions(client: TestClient) -> None:
    web = login(client, PHONE, device_id="web-1", device_name="Chrome", device_platform="web")
    app = login(client, PHONE, device_id="app-1", device_name="iPhone", device_platform="ios")
    login(client, OTHER_PHONE)  # someone else's session is not listed
    response = client.get("/sessions", headers={**app.headers, "User-Agent": "Nucleotide-iOS/3.0"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2
    assert body["max_sessions"] == 4
    assert {s["id"] for s in body["sessions"]} == {session_id(web), session_id(app)}
    for entry in body["sessions"]:
        assert set(entry) == {
            "id",
            "device_name",
            "device_platform",
            "ip_address",
            "user_agent",
            "created_at",
            "last_active",
            "is_current",
        }
        assert entry["ip_address"] == "testclient"
        assert entry["user_agent"] == "testclient"
        assert entry["created_at"].endswith(("+00:00", "Z"))
    by_id = {s["id"]: s for s in body["sessions"]}
    assert by_id[session_id(app)]["is_current"] is True
    assert by_id[session_id(app)]["device_name"] == "iPhone"
    assert by_id[session_id(app)]["device_platform"] == "ios"
    assert by_id[session_id(web)]["is_current"] is False


def test_list_needs_a_token(client: TestClient) -> None:
    assert_error(client.get("/sessions"), 401, "not_authenticated")


def test_list_omits_revoked_sessions(client: TestClient) -> None:
    first = login(client, PHONE, device_id="a")
    second = login(client, PHONE, device_id="b")
    client.post("/auth/logout", headers=first.headers)
    body = client.get("/sessions", headers=second.headers).json()
    assert body["count"] == 1
    assert [s["id"] for s in body["sessions"]] == [session_id(second)]


def test_list_is_most_recently_active_first(client: TestClient, db: Session) -> None:
    users = [login(client, PHONE, device_id=f"d{n}") for n in range(3)]
    now = utcnow()
    for minutes, user in zip((30, 10, 20), users, strict=True):
        db.get(DeviceSession, session_id(user)).last_active = now - timedelta(minutes=minutes)
    db.commit()
    body = client.get("/sessions", headers=users[0].headers).json()
    # users[0] was just touched by this very request (its last activity was 30 minutes ago).
    assert [s["id"] for s in body["sessions"]] == [
        session_id(users[0]),
        session_id(users[1]),
        session_id(users[2]),
    ]


# --- the session cap and device replacement -------------------------------------------------


def test_fifth_login_revokes_the_least_recently_active_session(
    client: TestClient, db: Session
) -> None:
    users = [login(client, PHONE, device_id=f"device-{n}") for n in range(4)]
    # The oldest login is the one in use; device-1 is the one idle the longest.
    now = utcnow()
    for minutes, user in zip((1, 50, 40, 30), users, strict=True):
        db.get(DeviceSession, session_id(user)).last_active = now - timedelta(minutes=minutes)
    db.commit()
    fifth = login(client, PHONE, device_id="device-4")
    assert_error(client.get("/auth/me", headers=users[1].headers), 401, "session_revoked")
    for user in (users[0], users[2], users[3], fifth):
        assert me_status(client, user) == 200
    body = client.get("/sessions", headers=fifth.headers).json()
    assert body["count"] == 4
    db.expire_all()
    evicted = db.get(DeviceSession, session_id(users[1]))
    assert evicted.revoked_reason == "evicted"


def test_session_cap_follows_the_setting(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_ACTIVE_SESSIONS", 2)
    first, second, third = (login(client, PHONE) for _ in range(3))
    assert me_status(client, first) == 401
    assert me_status(client, second) == 200
    body = client.get("/sessions", headers=third.headers).json()
    assert (body["count"], body["max_sessions"]) == (2, 2)


def test_same_device_login_replaces_its_old_session(client: TestClient, db: Session) -> None:
    old = login(client, PHONE, device_id="pixel-8")
    other = login(client, PHONE, device_id="laptop")
    new = login(client, PHONE, device_id="pixel-8")
    assert_error(client.get("/auth/me", headers=old.headers), 401, "session_revoked")
    assert me_status(client, other) == 200
    assert me_status(client, new) == 200
    assert client.get("/sessions", headers=new.headers).json()["count"] == 2
    db.expire_all()
    assert db.get(DeviceSession, session_id(old)).revoked_reason == "replaced"


def test_device_ids_are_per_user(client: TestClient) -> None:
    alice = login(client, PHONE, device_id="shared-tablet")
    bob = login(client, OTHER_PHONE, device_id="shared-tablet")
    assert me_status(client, alice) == 200
    assert me_status(client, bob) == 200


def test_logins_without_device_id_do_not_replace_each_other(client: TestClient) -> None:
    first = login(client, PHONE)
    second = login(client, PHONE)
    assert me_status(client, first) == 200
    assert me_status(client, second) == 200


# --- DELETE /sessions/{id} and DELETE /sessions ---------------------------------------------


def test_revoking_one_of_my_sessions_is_immediate(client: TestClient, db: Session) -> None:
    current = login(client, PHONE, device_id="a")
    other = login(client, PHONE, device_id="b")
    response = client.delete(f"/sessions/{session_id(other)}", headers=current.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get("/auth/me", headers=other.headers), 401, "session_revoked")
    assert me_status(client, current) == 200
    [revoked] = audit_rows(db, "session.revoked")
    assert revoked.entity_id == str(session_id(other))
    assert revoked.changes == {"reason": "revoked_by_user", "user_id": current.user_id}


def test_revoking_my_current_session_logs_me_out(client: TestClient) -> None:
    current = login(client, PHONE)
    assert (
        client.delete(f"/sessions/{session_id(current)}", headers=current.headers).status_code
        == 204
    )
    assert me_status(client, current) == 401


def test_another_users_session_is_404(client: TestClient) -> None:
    alice = login(client, PHONE)
    bob = login(client, OTHER_PHONE)
    response = client.delete(f"/sessions/{session_id(bob)}", headers=alice.headers)
    assert_error(response, 404, "session_not_found")
    assert me_status(client, bob) == 200


def test_unknown_or_already_revoked_session_is_404(client: TestClient) -> None:
    current = login(client, PHONE, device_id="a")
    other = login(client, PHONE, device_id="b")
    assert_error(
        client.delete("/sessions/999999", headers=current.headers), 404, "session_not_found"
    )
    client.delete(f"/sessions/{session_id(other)}", headers=current.headers)
    assert_error(
        client.delete(f"/sessions/{session_id(other)}", headers=current.headers),
        404,
        "session_not_found",
    )
    assert_error(client.delete("/sessions/abc", headers=current.headers), 422, "validation_error")


def test_revoking_needs_a_token(client: TestClient) -> None:
    user = login(client, PHONE)
    assert_error(client.delete(f"/sessions/{session_id(user)}"), 401, "not_authenticated")
    assert_error(client.delete("/sessions"), 401, "not_authenticated")
    assert me_status(client, user) == 200


def test_revoke_all_others_keeps_only_the_current_session(client: TestClient) -> None:
    current = login(client, PHONE, device_id="a")
    others = [login(client, PHONE, device_id=d) for d in ("b", "c")]
    bob = login(client, OTHER_PHONE)
    response = client.delete("/sessions", headers=current.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}
    for other in others:
        assert me_status(client, other) == 401
    assert me_status(client, current) == 200
    assert me_status(client, bob) == 200
    body = client.get("/sessions", headers=current.headers).json()
    assert body["count"] == 1 and body["sessions"][0]["is_current"] is True
    assert client.delete("/sessions", headers=current.headers).json() == {"revoked": 0}


# --- the Redis cache of active sessions -----------------------------------------------------


def test_a_cached_session_vouches_only_for_its_own_user(
    client: TestClient, redis_client: redis.Redis
) -> None:
    """A token naming someone else's live session is refused, even with that session cached."""
    alice = login(client, PHONE)
    bob = login(client, OTHER_PHONE)
    assert me_status(client, alice) == 200  # alice's session is now cached as active
    assert redis_client.get(f"sess:{session_id(alice)}") == f"active:{alice.user_id}"
    crossed = encode_token(bob.user_id, session_id(alice), "user", "access")
    response = client.get("/auth/me", headers={"Authorization": f"Bearer {crossed}"})
    assert_error(response, 401, "session_revoked")
    # An entry of the older, user-less form is not trusted either: the database decides.
    redis_client.set(f"sess:{session_id(alice)}", "active")
    response = client.get("/auth/me", headers={"Authorization": f"Bearer {crossed}"})
    assert_error(response, 401, "session_revoked")
    assert me_status(client, alice) == 200


def test_revocation_beats_a_warm_active_cache(
    client: TestClient, redis_client: redis.Redis
) -> None:
    current = login(client, PHONE, device_id="a")
    other = login(client, PHONE, device_id="b")
    assert me_status(client, other) == 200  # warms the cache
    assert redis_client.get(f"sess:{session_id(other)}") == f"active:{other.user_id}"
    client.delete(f"/sessions/{session_id(other)}", headers=current.headers)
    assert redis_client.get(f"sess:{session_id(other)}") == "revoked"
    assert me_status(client, other) == 401


def test_logout_beats_a_warm_active_cache(client: TestClient) -> None:
    user = login(client, PHONE)
    assert me_status(client, user) == 200
    client.post("/auth/logout", headers=user.headers)
    assert me_status(client, user) == 401


def test_database_refuses_a_revoked_session_when_redis_has_no_entry(
    client: TestClient, redis_client: redis.Redis
) -> None:
    current = login(client, PHONE, device_id="a")
    other = login(client, PHONE, device_id="b")
    assert me_status(client, other) == 200
    client.delete(f"/sessions/{session_id(other)}", headers=current.headers)
    redis_client.flushdb()  # the tombstone is gone (evicted, Redis restarted, ...)
    assert_error(client.get("/auth/me", headers=other.headers), 401, "session_revoked")
    assert me_status(client, current) == 200


def test_revocation_written_straight_to_the_database_is_seen_once_the_cache_lapses(
    client: TestClient, db: Session, redis_client: redis.Redis
) -> None:
    user = login(client, PHONE)
    db.get(DeviceSession, session_id(user)).revoked_at = utcnow()
    db.commit()
    assert me_status(client, user) == 401


def test_expired_session_is_refused(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    db.get(DeviceSession, session_id(user)).expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert_error(client.get("/auth/me", headers=user.headers), 401, "session_revoked")
    assert_error(
        client.post("/auth/refresh", json={"refresh_token": user.refresh_token}),
        401,
        "session_revoked",
    )


def test_activity_is_recorded_at_most_once_a_minute(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.get(DeviceSession, session_id(user)).last_active = an_hour_ago
    db.commit()
    me_status(client, user)
    db.expire_all()
    touched = db.get(DeviceSession, session_id(user)).last_active
    assert touched > an_hour_ago + timedelta(minutes=59)
    db.get(DeviceSession, session_id(user)).last_active = an_hour_ago
    db.commit()
    me_status(client, user)  # within the minute: no second write
    db.expire_all()
    assert db.get(DeviceSession, session_id(user)).last_active == an_hour_ago


# --- the purge job and the once-per-tick guard ----------------------------------------------


def test_purge_job_deletes_revoked_and_expired_sessions_only(
    client: TestClient, db: Session
) -> None:
    live = login(client, PHONE, device_id="live")
    revoked = login(client, PHONE, device_id="revoked")
    expired = login(client, PHONE, device_id="expired")
    client.post("/auth/logout", headers=revoked.headers)
    db.get(DeviceSession, session_id(expired)).expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert purge_dead_sessions_job() == 2
    db.expire_all()
    remaining = db.scalars(select(DeviceSession.id)).all()
    assert remaining == [session_id(live)]
    assert me_status(client, live) == 200
    assert me_status(client, revoked) == 401
    assert me_status(client, expired) == 401
    assert purge_dead_sessions_job() == 0


def test_scheduled_job_runs_once_per_tick_across_replicas(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_800_000_000.0]
    monkeypatch.setattr(core.scheduler.time, "time", lambda: clock[0])
    runs: list[int] = []
    job = lambda: runs.append(1)  # noqa: E731
    # Two replicas fire at the same tick: one runs the job.
    assert run_once_per_tick(JOB_ID, 3600, job) is True
    assert run_once_per_tick(JOB_ID, 3600, job) is False
    assert runs == [1]
    assert redis_client.get(job_run_key(JOB_ID)) == "1"
    # The next tick runs again.
    clock[0] += 3600
    assert run_once_per_tick(JOB_ID, 3600, job) is True
    assert run_once_per_tick(JOB_ID, 3600, job) is False
    assert runs == [1, 1]


def test_purge_job_under_the_tick_guard_purges_once(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.scheduler.time, "time", lambda: 1_800_000_000.0)
    login(client, PHONE, device_id="live")
    dead = login(client, PHONE, device_id="dead")
    client.post("/auth/logout", headers=dead.headers)
    results: list[int] = []
    job = lambda: results.append(purge_dead_sessions_job())  # noqa: E731
    assert run_once_per_tick(JOB_ID, 3600, job) is True
    assert run_once_per_tick(JOB_ID, 3600, job) is False
    assert results == [1]
    db.expire_all()
    assert len(db.scalars(select(DeviceSession)).all()) == 1


# --- the session cap under concurrent logins (MariaDB) --------------------------------------

RACERS = 8


@pytest.mark.concurrency
@requires_mariadb
def test_session_cap_holds_under_concurrent_logins(committed_user: int) -> None:
    barrier = threading.Barrier(RACERS)

    def log_in(index: int) -> str:
        with Session(engine) as session:
            user = session.get(User, committed_user)
            barrier.wait()
            start_session(session, user, f"device-{index}", None, None)
            session.commit()
            return "ok"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(log_in, range(RACERS)))
    assert outcomes == ["ok"] * RACERS
    with Session(engine) as session:
        active = session.scalars(active_sessions_query(committed_user)).all()
    assert len(active) == 4


def test_an_authenticated_request_reads_no_user_row_and_writes_none(client: TestClient) -> None:
    """With the session and the user's snapshot cached and the session's activity recorded
    this minute, authenticating reads nothing from the database, whatever the route: /auth/me
    sends no statement, /member only its own read."""
    user = login(client, PHONE)
    assert me_status(client, user) == 200  # caches the snapshot, records the activity
    with counting_statements() as statements:
        assert me_status(client, user) == 200
    assert statements == []
    with counting_statements() as statements:
        assert client.get("/member", headers=user.headers).status_code == 200
    data = [s for s in statements if s.split()[0].upper() in {"SELECT", "UPDATE", "DELETE"}]
    assert len(data) == 1 and "FROM members" in data[0], data
