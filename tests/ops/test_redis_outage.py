"""Redis stops under a running replica and comes back: degraded, not down; no restart needed.

Run with `pytest -s` to see the measured figures."""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.scheduler import job_run_key
from Login_module.Device.jobs import JOB_ID as SESSION_JOB
from Login_module.Device.service import REDIS_RETRY_SECONDS
from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import (
    RedisServer,
    Replica,
    TcpProxy,
    prepared_database,
    replica_env,
    requires_redis_server,
    sms_env,
    start_replica,
    wait_for,
)
from tests.support.database import IS_MARIADB
from tests.support.http import assert_error
from tests.support.login import login_by_otp

pytestmark = requires_redis_server

PHONE = "+919876580001"
REDIS_TIMEOUT_SECONDS = 1.0


class Timed:
    """Calls through an HTTP client, keeping the slowest answer."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.slowest = 0.0

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        response = self.http.request(method, path, **kwargs)
        self.slowest = max(self.slowest, time.monotonic() - started)
        return response


def test_redis_outage_degrades_then_recovers_without_a_restart(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    # Persistent: the restarted Redis still holds the cache entries written before the outage.
    redis_server = RedisServer(tmp_path / "redis", persistent=True).start()
    with prepared_database(tmp_path, "redisdown") as (database_url, _engine):
        replica = start_replica(
            "replica",
            replica_env(
                database_url,
                tmp_path,
                REDIS_URL=redis_server.url,
                REDIS_SOCKET_TIMEOUT=str(REDIS_TIMEOUT_SECONDS),
                OTP_RESEND_COOLDOWN_SECONDS="0",
                SCHEDULER_ENABLED="true",
                SESSION_CLEANUP_INTERVAL_MINUTES="0.02",  # 1 s ticks
                ORDER_EXPIRY_INTERVAL_MINUTES="0.02",
                **sms_env(sms_gateway.webhook_url),
            ),
            tmp_path,
        )
        try:
            replica.wait_until_up()
            with replica.http() as http:
                _outage_and_recovery(http, redis_server, replica)
        finally:
            code = replica.stop()
            redis_server.kill()
        log = replica.log()
        assert code in (0, -15), log
        assert "Traceback" not in log, log[-4000:]


def _outage_and_recovery(http: httpx.Client, redis_server: RedisServer, replica: Replica) -> None:
    call = Timed(http)
    kept = login_by_otp(http, PHONE)  # type: ignore[arg-type]
    other = login_by_otp(http, PHONE)  # type: ignore[arg-type]
    for session in (kept, other):  # both sessions now cached as active in Redis
        assert call("GET", "/auth/me", headers=session.headers).status_code == 200
    sessions = call("GET", "/sessions", headers=kept.headers).json()["sessions"]
    other_id = next(s["id"] for s in sessions if not s["is_current"])

    redis_server.kill()
    to_degraded = wait_for(lambda: http.get("/health").json()["status"] == "degraded", 10)
    call.slowest = 0.0
    health = call("GET", "/health")
    assert health.status_code == 200
    assert health.json()["checks"] == {"database": "ok", "redis": "unavailable"}
    assert call("GET", "/health/ready").status_code == 503

    sent = call("POST", "/auth/send-otp", json={"phone": "+919876580002"})
    assert_error(sent, 503, "service_unavailable")
    assert "Traceback" not in sent.text and "redis" not in sent.text.lower()
    verify = call("POST", "/auth/verify-otp", json={"phone": PHONE, "otp": "123456"})
    assert_error(verify, 503, "service_unavailable")

    # A valid token keeps working: sessions are checked in the database.
    assert call("GET", "/auth/me", headers=kept.headers).status_code == 200
    renamed = call("PUT", "/profile", json={"name": "Asha"}, headers=kept.headers)
    assert renamed.status_code == 200, renamed.text
    # Revoking still works, and the revoked token is refused from the database at once.
    assert call("DELETE", f"/sessions/{other_id}", headers=kept.headers).status_code == 204
    assert call("GET", "/auth/me", headers=other.headers).status_code == 401
    slowest_while_down = call.slowest
    # Scheduled ticks are skipped (no claim possible), not crashed.
    wait_for(lambda: f"job {SESSION_JOB} skipped" in replica.log(), 5)

    redis_server.start()  # same port, same data
    runs_before = int(redis_server.client().get(job_run_key(SESSION_JOB)) or 0)
    recovered = wait_for(lambda: http.get("/health/ready").status_code == 200, 10)
    # The "active" entry cached before the outage came back with Redis; the revocation made
    # while Redis was away must still win.
    assert call("GET", "/auth/me", headers=other.headers).status_code == 401
    assert call("GET", "/auth/me", headers=kept.headers).status_code == 200
    # Once the session cache stops resting, the revocation is re-sent to Redis.
    resent = wait_for(
        lambda: (
            call("GET", "/auth/me", headers=kept.headers).status_code == 200
            and redis_server.client().get(f"sess:{other_id}") == "revoked"
        ),
        REDIS_RETRY_SECONDS + 5,
        interval=0.25,
    )
    assert call("GET", "/auth/me", headers=other.headers).status_code == 401
    again = login_by_otp(http, "+919876580002")  # type: ignore[arg-type]
    assert call("GET", "/auth/me", headers=again.headers).status_code == 200
    # The scheduler claims its ticks in Redis again.
    wait_for(
        lambda: int(redis_server.client().get(job_run_key(SESSION_JOB)) or 0) > runs_before, 10
    )
    print(
        f"\n[redis outage] degraded reported {to_degraded:.2f} s after the kill; slowest answer "
        f"while down {slowest_while_down * 1000:.0f} ms; ready {recovered:.2f} s after Redis "
        f"returned (no restart); revocation re-sent to Redis after {recovered + resent:.2f} s"
    )


def test_redis_partition_costs_one_socket_timeout_not_one_per_call(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    """Packets to Redis dropped: logged-in requests stay quick (the session cache rests and the
    database answers), OTP routes are a 503 after one socket timeout."""
    redis_server = RedisServer(tmp_path / "redis").start()
    proxy = TcpProxy("127.0.0.1", redis_server.port).start()
    with prepared_database(tmp_path, "redisstall") as (database_url, _engine):
        replica = start_replica(
            "replica",
            replica_env(
                database_url,
                tmp_path,
                REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0",
                REDIS_SOCKET_TIMEOUT=str(REDIS_TIMEOUT_SECONDS),
                **sms_env(sms_gateway.webhook_url),
            ),
            tmp_path,
        )
        try:
            replica.wait_until_up()
            with replica.http() as http:
                call = Timed(http)
                me = login_by_otp(http, PHONE)  # type: ignore[arg-type]
                assert call("GET", "/auth/me", headers=me.headers).status_code == 200
                proxy.stall()
                # The first call meets the dead socket once; the next ones skip Redis.
                first = call("GET", "/auth/me", headers=me.headers)
                assert first.status_code == 200
                first_seconds, call.slowest = call.slowest, 0.0
                for _ in range(5):
                    assert call("GET", "/auth/me", headers=me.headers).status_code == 200
                resting_seconds, call.slowest = call.slowest, 0.0
                health = call("GET", "/health")
                assert health.json()["checks"]["redis"] == "unavailable"
                sent = call("POST", "/auth/send-otp", json={"phone": "+919876580003"})
                assert_error(sent, 503, "service_unavailable")
                refused_seconds = call.slowest
                proxy.restore()
                recovered = wait_for(lambda: http.get("/health/ready").status_code == 200, 10)
                assert call("GET", "/auth/me", headers=me.headers).status_code == 200
        finally:
            code = replica.stop()
            proxy.stop()
            redis_server.kill()
        assert code in (0, -15), replica.log()
        assert "Traceback" not in replica.log(), replica.log()[-4000:]
    assert first_seconds < REDIS_TIMEOUT_SECONDS + 0.5
    assert resting_seconds < 0.5
    assert refused_seconds < REDIS_TIMEOUT_SECONDS + 0.5
    print(
        f"\n[redis partition] first logged-in request {first_seconds:.2f} s (one "
        f"REDIS_SOCKET_TIMEOUT={REDIS_TIMEOUT_SECONDS} s), next ones {resting_seconds * 1000:.0f} "
        f"ms at worst; health/OTP answered within {refused_seconds:.2f} s; ready {recovered:.2f} s "
        "after the network returned"
    )


@pytest.mark.skipif(
    not IS_MARIADB, reason="two replicas share one real database: set TEST_DATABASE_URL (MariaDB)"
)
def test_logout_on_a_replica_cut_off_from_redis_is_refused_by_the_others(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    """Replica A cannot reach Redis, replica B can and has the session cached as active. A's
    logout writes the database only; the revocation sync on B's side of the partition puts
    the tombstone in Redis, so B refuses the token within about one sync interval, not after
    SESSION_CACHE_SECONDS."""
    redis_server = RedisServer(tmp_path / "redis").start()
    proxy = TcpProxy("127.0.0.1", redis_server.port).start()
    with prepared_database(tmp_path, "partial") as (database_url, _engine):
        common = {
            "REDIS_SOCKET_TIMEOUT": str(REDIS_TIMEOUT_SECONDS),
            "SCHEDULER_ENABLED": "true",
            "SESSION_REVOCATION_SYNC_SECONDS": "1",
            "SESSION_CACHE_SECONDS": "300",
            **sms_env(sms_gateway.webhook_url),
        }
        a = start_replica(
            "replica-a",
            replica_env(
                database_url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0", **common
            ),
            tmp_path,
        )
        b = start_replica(
            "replica-b",
            replica_env(database_url, tmp_path, REDIS_URL=redis_server.url, **common),
            tmp_path,
        )
        try:
            a.wait_until_up()
            b.wait_until_up()
            with a.http() as on_a, b.http() as on_b:
                me = login_by_otp(on_b, "+919876580009")  # type: ignore[arg-type]
                assert on_b.get("/auth/me", headers=me.headers).status_code == 200
                session_id = on_b.get("/sessions", headers=me.headers).json()["sessions"][0]["id"]
                cache = redis_server.client()
                assert cache.get(f"sess:{session_id}") == f"active:{me.user_id}"

                proxy.stall()  # A's side of the partition
                assert on_a.post("/auth/logout", headers=me.headers).status_code == 204
                assert on_a.get("/auth/me", headers=me.headers).status_code == 401
                # B sees the revocation once the sync has written the tombstone.
                seen_after = wait_for(
                    lambda: on_b.get("/auth/me", headers=me.headers).status_code == 401, 15
                )
                assert cache.get(f"sess:{session_id}") == "revoked"
                proxy.restore()
        finally:
            codes = [a.stop(), b.stop()]
            proxy.stop()
            redis_server.kill()
        for replica, code in zip((a, b), codes, strict=True):
            assert code in (0, -15), replica.log()
            assert "Traceback" not in replica.log(), replica.log()[-4000:]
    print(
        f"\n[partial Redis outage] logout on the cut-off replica refused on the other after "
        f"{seen_after:.2f} s (sync every 1 s; the cache would have vouched for 300 s)"
    )
