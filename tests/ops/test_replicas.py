"""Two real `uvicorn main:app` replicas on one MariaDB database and one Redis, started together.

Run with `pytest -s` to see the measured figures."""

import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from alembic_runner import alembic_config
from core.scheduler import TICK_EPOCH, job_run_key
from Login_module.Device.jobs import JOB_ID as SESSION_JOB
from Notification_module.models import Channel, DeliveryStatus, Notification, NotificationEvent
from Notification_module.service import notify
from Orders_module.jobs import JOB_ID as ORDER_JOB
from Orders_module.models import Order, OrderStatusHistory, Payment
from tests.fakes.razorpay import FakeRazorpay, new_payment_id
from tests.fakes.server import FakeResponse
from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import (
    RedisServer,
    Replica,
    complete_schema,
    engine_for,
    fresh_database,
    make_catalogue,
    razorpay_env,
    ready_buyer,
    replica_env,
    requires_redis_server,
    sms_env,
    start_replica,
    wait_for,
)
from tests.support.database import IS_MARIADB
from tests.support.factories.user import make_user
from tests.support.http import assert_error
from tests.support.images import PNG
from tests.support.login import ADMIN_PHONE, login_by_otp
from tests.support.notification import texts_to
from tests.support.orders import captured_event, deliver_webhook, pay
from tests.support.races import all_at_once

pytestmark = [
    pytest.mark.skipif(
        not IS_MARIADB, reason="replicas share one real database: set TEST_DATABASE_URL (MariaDB)"
    ),
    requires_redis_server,
]

JOB_INTERVAL_MINUTES = "0.05"  # 3 s ticks
JOB_INTERVAL_SECONDS = 3
OTP_PER_HOUR = 3


@dataclass
class Pair:
    a: Replica
    b: Replica
    engine: Engine
    redis: redis.Redis
    schema_tick: int  # the job tick during which the fixture completed the schema

    @property
    def both(self) -> tuple[Replica, Replica]:
        return self.a, self.b


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    sms_gateway: FakeSmsGateway,
    razorpay_server: FakeRazorpay,
) -> Iterator[Pair]:
    tmp_path = tmp_path_factory.mktemp("replicas")
    redis_server = RedisServer(tmp_path / "redis").start()
    with fresh_database(tmp_path, "replicas") as database_url:
        env = replica_env(
            database_url,
            tmp_path,
            REDIS_URL=redis_server.url,
            SCHEDULER_ENABLED="true",
            SESSION_CLEANUP_INTERVAL_MINUTES=JOB_INTERVAL_MINUTES,
            ORDER_EXPIRY_INTERVAL_MINUTES=JOB_INTERVAL_MINUTES,
            NOTIFY_INTERVAL_SECONDS="1",
            NOTIFY_BATCH_SIZE="4",
            # The delivery test queues 24 SMS to one phone within the hour.
            SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR="24",
            OTP_MAX_REQUESTS_PER_HOUR=str(OTP_PER_HOUR),
            OTP_RESEND_COOLDOWN_SECONDS="0",
            ADMIN_PHONES=ADMIN_PHONE,
            **sms_env(sms_gateway.webhook_url),
            **razorpay_env(razorpay_server.url),
        )
        a = start_replica("replica-a", env, tmp_path)
        b = start_replica("replica-b", env, tmp_path)
        engine = engine_for(database_url)
        try:
            up = [a.wait_until_up(), b.wait_until_up()]
            print(f"\n[replicas] both up against an empty database in {max(up):.2f} s")
            created = complete_schema(engine)
            if created:
                print(f"[replicas] {len(created)} model tables not in the migrations yet: created")
            yield Pair(a, b, engine, redis_server.client(), _current_tick())
        finally:
            codes = [a.stop(), b.stop()]
            engine.dispose()
            redis_server.kill()
            for replica, code in zip((a, b), codes, strict=True):
                # uvicorn re-raises the SIGTERM it handled once the graceful stop is done.
                assert code in (0, -signal.SIGTERM), replica.log()
                assert "Application shutdown complete" in replica.log()


@pytest.fixture(autouse=True)
def fresh_fakes(razorpay_server: FakeRazorpay) -> None:
    razorpay_server.reset()


def test_replicas_starting_together_migrate_once_and_both_serve(pair: Pair) -> None:
    logs = [replica.log() for replica in pair.both]
    migrated = [log.count("database schema migrated from empty to head") for log in logs]
    at_head = [log.count("nothing to migrate") for log in logs]
    assert sorted(migrated) == [0, 1], logs
    assert sorted(at_head) == [0, 1], logs
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with pair.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == [head]
    for replica in pair.both:
        health = httpx.get(replica.url + "/health").json()
        assert health["status"] == "ok", health


def test_code_sent_through_one_replica_verifies_through_the_other(
    pair: Pair, sms_gateway: FakeSmsGateway
) -> None:
    phone = "+919876560001"
    with pair.a.http() as a, pair.b.http() as b:
        assert a.post("/auth/send-otp", json={"phone": phone}).status_code == 200
        code = sms_gateway.last_code_for(phone)
        verified = b.post("/auth/verify-otp", json={"phone": phone, "otp": code})
        assert verified.status_code == 200, verified.text
        token = verified.json()["access_token"]
        # The code worked once, on either replica.
        assert_error(
            a.post("/auth/verify-otp", json={"phone": phone, "otp": code}), 400, "otp_expired"
        )
        me = a.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["phone"] == phone


def test_otp_send_limit_counts_sends_on_both_replicas(pair: Pair) -> None:
    phone = "+919876560002"
    with pair.a.http() as a, pair.b.http() as b:
        sends = [(a, b)[i % 2].post("/auth/send-otp", json={"phone": phone}) for i in range(4)]
        assert [r.status_code for r in sends[:OTP_PER_HOUR]] == [200] * OTP_PER_HOUR
        refused = sends[OTP_PER_HOUR]
        assert_error(refused, 429, "rate_limited")
        assert int(refused.headers["Retry-After"]) > 0
        assert_error(a.post("/auth/send-otp", json={"phone": phone}), 429, "rate_limited")


def test_session_revoked_on_one_replica_is_refused_on_the_other_at_once(pair: Pair) -> None:
    with pair.a.http() as a, pair.b.http() as b:
        me = login_by_otp(a, "+919876560003")  # type: ignore[arg-type]
        assert b.get("/auth/me", headers=me.headers).status_code == 200
        session_id = a.get("/sessions", headers=me.headers).json()["sessions"][0]["id"]
        assert pair.redis.get(f"sess:{session_id}") == f"active:{me.user_id}"  # B's check is cached

        assert a.post("/auth/logout", headers=me.headers).status_code == 204
        started = time.monotonic()
        refused = b.get("/auth/me", headers=me.headers)
        elapsed = time.monotonic() - started
    assert_error(refused, 401, refused.json()["code"])
    print(
        f"\n[replicas] logout on A refused on B by the very next request ({elapsed * 1000:.0f} ms)"
    )


def test_a_banner_changed_through_one_replica_shows_on_the_other_within_a_second(
    pair: Pair,
) -> None:
    with pair.a.http() as a, pair.b.http() as b:
        admin = login_by_otp(a, ADMIN_PHONE)  # type: ignore[arg-type]
        before = b.get("/banners")
        assert before.status_code == 200 and b.get("/banners").content == before.content
        created = a.post("/banners/admin", headers=admin.headers, json={"title": "Replica sale"})
        assert created.status_code == 201, created.text
        banner_id = created.json()["id"]
        uploaded = a.post(
            f"/banners/admin/{banner_id}/image",
            headers=admin.headers,
            files={"file": ("b.png", PNG, "image/png")},
        )
        assert uploaded.status_code == 200, uploaded.text
        started = time.monotonic()
        while True:
            seen = b.get("/banners")
            if banner_id in [item["id"] for item in seen.json()["items"]]:
                break
            assert time.monotonic() - started < 1.0, "replica B still serves the old list"
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        assert seen.headers["etag"] != before.headers["etag"]
        assert b.delete(f"/banners/admin/{banner_id}", headers=admin.headers).status_code == 204
    print(f"\n[replicas] a banner added on A was listed by B after {elapsed * 1000:.0f} ms")


def _current_tick() -> int:
    return int((time.time() - TICK_EPOCH.timestamp()) // JOB_INTERVAL_SECONDS)


def _runs(pair: Pair) -> dict[str, int]:
    return {job: int(pair.redis.get(job_run_key(job)) or 0) for job in (SESSION_JOB, ORDER_JOB)}


def _logged_ticks(replica: Replica, job: str) -> list[int]:
    return [int(t) for t in re.findall(rf"job {job} ran \(tick (\d+)\)", replica.log())]


def test_each_scheduled_job_runs_once_per_tick_across_both_replicas(pair: Pair) -> None:
    # Start right after a tick has fired, so the window holds whole ticks.
    while time.time() % JOB_INTERVAL_SECONDS > 0.5:
        time.sleep(0.05)
    time.sleep(0.5)
    before, first_tick = _runs(pair), _current_tick()
    time.sleep(4 * JOB_INTERVAL_SECONDS)
    after, last_tick = _runs(pair), _current_tick()
    ticks = last_tick - first_tick
    for job in (SESSION_JOB, ORDER_JOB):
        ran = after[job] - before[job]
        per_replica = [_logged_ticks(replica, job) for replica in pair.both]
        print(
            f"\n[replicas] {job}: {ran} runs in {ticks} ticks with two replicas firing "
            f"(all runs so far: A {len(per_replica[0])}, B {len(per_replica[1])})"
        )
        assert abs(ran - ticks) <= 1, (job, ran, ticks)
        every_run = Counter(tick for ticks_run in per_replica for tick in ticks_run)
        assert every_run and max(every_run.values()) == 1, every_run
        assert sum(every_run.values()) == after[job]


@pytest.mark.parametrize("attempt", range(3))
def test_payment_verified_on_one_replica_and_its_webhook_on_the_other_pay_once(
    pair: Pair, razorpay_server: FakeRazorpay, attempt: int
) -> None:
    product_id = make_catalogue(pair.engine)
    with pair.a.http() as a, pair.b.http() as b:
        buyer = ready_buyer(a, pair.engine, f"+91987657{attempt:04d}", product_id)
        placed = b.post("/orders", headers=buyer.headers)
        assert placed.status_code == 201, placed.text
        placed_body = placed.json()
        payment_id = new_payment_id()
        body = captured_event(
            placed_body["payment"]["razorpay_order_id"],
            payment_id,
            placed_body["order"]["total_paise"],
        )
        verified, delivered = all_at_once(
            [
                lambda: pay(a, buyer, placed_body, payment_id),  # type: ignore[arg-type]
                lambda: deliver_webhook(b, body, f"evt_replicas_{attempt}"),  # type: ignore[arg-type]
            ]
        )
    assert verified.status_code == 200, verified.text
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["status"] in {"processed", "already_known"}
    order_id = placed_body["order"]["id"]
    with Session(pair.engine) as session:
        payments = session.scalar(
            select(func.count()).select_from(Payment).where(Payment.order_id == order_id)
        )
        paid_transitions = session.scalar(
            select(func.count())
            .select_from(OrderStatusHistory)
            .where(
                OrderStatusHistory.order_id == order_id,
                OrderStatusHistory.status == "paid",
                OrderStatusHistory.order_item_id.is_(None),
            )
        )
        status = session.get(Order, order_id).status
    assert (payments, paid_transitions, status) == (1, 1, "paid")


def test_replica_logs_hold_no_traceback(pair: Pair) -> None:
    for replica in pair.both:
        log = replica.log()
        # Only an expiry tick that fired before the fixture created the tables the migrations
        # lack yet may have failed.
        early = [
            tick
            for job, tick in re.findall(r"job (\S+) failed \(tick (\d+)\)", log)
            if job == ORDER_JOB and int(tick) <= pair.schema_tick
        ]
        assert log.count("Traceback") == len(early), log[-4000:]


def test_two_replicas_deliver_every_queued_message_exactly_once(
    pair: Pair, sms_gateway: FakeSmsGateway
) -> None:
    """Each replica's delivery job ticks every second; each SMS takes the gateway 0.2 s, so a
    run (batches of 4, until nothing is due) outlasts its tick and the other replica's run
    claims beside it: `SKIP LOCKED` is what keeps them apart."""
    with Session(pair.engine) as session:
        user = make_user(session)
        for n in range(24):
            notify(
                session,
                user.id,
                NotificationEvent.SAMPLE_COLLECTED,
                {"order_id": n, "order_number": f"NUC-RACE-{n:04d}"},
            )
        session.commit()
        phone = user.phone
    assert phone is not None
    sms_gateway.fail_next = [
        FakeResponse(200, {"status": "queued"}, delay_seconds=0.2) for _ in range(24)
    ]
    waited = wait_for(lambda: len(texts_to(sms_gateway, phone)) >= 24, timeout=60)
    time.sleep(2)  # a duplicate would arrive now
    texts = texts_to(sms_gateway, phone)
    assert len(texts) == 24 and len(set(texts)) == 24, Counter(texts).most_common(3)
    with Session(pair.engine) as session:
        rows = session.scalars(
            select(Notification).where(
                Notification.user_id == user.id, Notification.channel == Channel.SMS
            )
        ).all()
        assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.SENT, 1)}
    runs = [replica.log().count("job deliver_notifications ran") for replica in pair.both]
    print(f"\n[replicas] 24 SMS delivered once each in {waited:.1f} s; runs per replica {runs}")
    assert all(runs), runs
