"""The database goes away under a running replica (a TCP proxy in between is cut) and returns.

Run with `pytest -s` to see the measured figures."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from core.health import DATABASE_PROBE_SECONDS
from Orders_module.models import Order, OrderStatusHistory, Payment, WebhookEvent
from tests.fakes.razorpay import FakeRazorpay, new_payment_id
from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import (
    Buyer,
    Replica,
    TcpProxy,
    make_catalogue,
    prepared_database,
    razorpay_env,
    ready_buyer,
    replica_env,
    slow_razorpay_order,
    sms_env,
    start_replica,
    wait_for,
)
from tests.support.database import IS_MARIADB
from tests.support.http import assert_error
from tests.support.login import login_by_otp
from tests.support.orders import captured_event, deliver_webhook, pay

pytestmark = pytest.mark.skipif(
    not IS_MARIADB,
    reason="cuts the network path to a database server: set TEST_DATABASE_URL (MariaDB)",
)

POOL_TIMEOUT = 2
CONNECT_TIMEOUT = 2
READ_TIMEOUT = 2
LOCK_WAIT_TIMEOUT = 1  # below READ_TIMEOUT, as the settings require
MARGIN = 1.5  # seconds of slack on top of DB_POOL_TIMEOUT for a refused request


def _rows(engine: Engine, model: Any, user_id: int) -> int:
    with Session(engine) as session:
        statement = select(func.count()).select_from(model)
        if model is Order:
            statement = statement.where(Order.user_id == user_id)
        else:
            statement = statement.join(Order, Order.id == model.order_id).where(
                Order.user_id == user_id
            )
        return session.scalar(statement) or 0


def _refused_while_down(http: httpx.Client, buyer: Buyer, placed: dict[str, Any]) -> float:
    """Every kind of request that needs the database answers 503 quickly and says nothing
    internal; the slowest. Who is logged in needs no database: /auth/me answers from the
    user's snapshot in Redis."""
    webhook = captured_event(
        placed["payment"]["razorpay_order_id"], new_payment_id(), placed["order"]["total_paise"]
    )
    me = http.get("/auth/me", headers=buyer.headers)
    assert me.status_code == 200 and me.json()["id"] == buyer.me.user_id
    attempts = [
        lambda: http.get("/member", headers=buyer.headers),
        lambda: http.get("/cart", headers=buyer.headers),
        lambda: http.put("/profile", json={"name": "Never Saved"}, headers=buyer.headers),
        lambda: http.post("/orders", headers=buyer.headers),
        lambda: pay(http, buyer, placed),  # type: ignore[arg-type]
        lambda: deliver_webhook(http, webhook, "evt_while_down"),  # type: ignore[arg-type]
        lambda: http.get("/products"),
    ]
    slowest = 0.0
    for attempt in attempts:
        started = time.monotonic()
        response = attempt()
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        body = assert_error(response, 503, "service_unavailable")
        assert "Traceback" not in response.text and "pymysql" not in response.text.lower()
        assert body["details"] == []
        assert elapsed < POOL_TIMEOUT + MARGIN, (response.request.url, elapsed)
    health = http.get("/health")
    assert health.status_code == 200 and health.json()["checks"]["database"] == "unavailable"
    assert http.get("/health/ready").status_code == 503
    return slowest


def _recover(http: httpx.Client, buyer: Buyer) -> float:
    """Seconds from the database's return until the replica serves a logged-in request that
    reads the database."""
    started = time.monotonic()
    wait_for(lambda: http.get("/health/ready").status_code == 200, 15)
    wait_for(lambda: http.get("/member", headers=buyer.headers).status_code == 200, 15)
    return time.monotonic() - started


def test_database_outage_is_a_quick_503_then_recovers_without_half_written_orders(
    tmp_path: Path, sms_gateway: FakeSmsGateway, razorpay_server: FakeRazorpay
) -> None:
    razorpay_server.reset()
    with prepared_database(tmp_path, "dbdown") as (database_url, engine):
        real = make_url(database_url)
        proxy = TcpProxy(real.host or "127.0.0.1", real.port or 3306).start()
        through_proxy = real.set(host="127.0.0.1", port=proxy.port)
        replica = start_replica(
            "replica",
            replica_env(
                through_proxy.render_as_string(hide_password=False),
                tmp_path,
                DB_POOL_TIMEOUT=str(POOL_TIMEOUT),
                DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
                DB_READ_TIMEOUT=str(READ_TIMEOUT),
                DB_LOCK_WAIT_TIMEOUT=str(LOCK_WAIT_TIMEOUT),
                **sms_env(sms_gateway.webhook_url),
                **razorpay_env(razorpay_server.url),
            ),
            tmp_path,
        )
        try:
            replica.wait_until_up()
            product_id = make_catalogue(engine)
            with replica.http() as http:
                buyer = ready_buyer(http, engine, "+919876590001", product_id)
                _scenario(http, buyer, engine, proxy, razorpay_server, replica)
        finally:
            proxy.stop()
            code = replica.stop()
        assert code in (0, -15), replica.log()


def _scenario(
    http: httpx.Client,
    buyer: Buyer,
    engine: Engine,
    proxy: TcpProxy,
    razorpay_server: FakeRazorpay,
    replica: Replica,
) -> None:
    user_id = buyer.me.user_id
    # 1. The database goes away while a checkout waits for Razorpay.
    razorpay_server.fail_next.append(slow_razorpay_order(2_000_00, delay_seconds=1.0))
    with ThreadPoolExecutor(max_workers=1) as pool, replica.http() as other:
        in_flight = pool.submit(other.post, "/orders", headers=buyer.headers)
        wait_for(lambda: razorpay_server.order_requests(), 10)
        proxy.cut()
        response = in_flight.result()
    assert_error(response, 503, "service_unavailable")
    assert "Traceback" not in response.text

    # 2. While it is away every request is a quick 503.
    fake_placed = {
        "order": {"id": 1, "total_paise": 2_000_00},
        "payment": {"razorpay_order_id": "order_unknown0001"},
    }
    slowest_down = _refused_while_down(http, buyer, fake_placed)

    # 3. It returns: the pool reconnects (pre-ping), no restart.
    proxy.restore()
    recovery = _recover(http, buyer)

    # 4. The interrupted checkout's order was committed before Razorpay was called, but its
    # Razorpay order never attached: nobody can pay it. The cart is intact, and the next checkout
    # replaces that order (releasing whatever it held).
    with Session(engine) as session:
        [interrupted] = session.scalars(select(Order).where(Order.user_id == user_id)).all()
        assert (interrupted.status, interrupted.razorpay_order_id) == ("pending_payment", None)
    cart = http.get("/cart", headers=buyer.headers).json()
    assert len(cart["items"]) == 1
    placed = http.post("/orders", headers=buyer.headers)
    assert placed.status_code == 201, placed.text
    placed_body = placed.json()
    assert len(placed_body["order"]["items"]) == 1
    with Session(engine) as session:
        assert session.get(Order, interrupted.id).status == "cancelled"

    # 5. Paying while the database is away: both the app's verify and Razorpay's webhook get a
    # 503 (Razorpay redelivers); after the return, the redelivery and the retry pay once.
    payment_id = new_payment_id()
    event = captured_event(
        placed_body["payment"]["razorpay_order_id"], payment_id, placed_body["order"]["total_paise"]
    )
    proxy.cut()
    assert_error(pay(http, buyer, placed_body, payment_id), 503, "service_unavailable")  # type: ignore[arg-type]
    assert_error(deliver_webhook(http, event, "evt_outage_1"), 503, "service_unavailable")  # type: ignore[arg-type]
    proxy.restore()
    second_recovery = _recover(http, buyer)
    assert [_rows(engine, m, user_id) for m in (Payment,)] == [0]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    delivered = deliver_webhook(http, event, "evt_outage_1")  # type: ignore[arg-type]
    assert delivered.status_code == 200 and delivered.json()["status"] == "processed"
    assert pay(http, buyer, placed_body, payment_id).status_code == 200  # type: ignore[arg-type]
    order_id = placed_body["order"]["id"]
    with Session(engine) as session:
        assert session.get(Order, order_id).status == "paid"
        paid = session.scalar(
            select(func.count())
            .select_from(OrderStatusHistory)
            .where(
                OrderStatusHistory.order_id == order_id,
                OrderStatusHistory.status == "paid",
                OrderStatusHistory.order_item_id.is_(None),
            )
        )
    assert (_rows(engine, Payment, user_id), paid) == (1, 1)
    assert "Traceback" not in replica.log(), replica.log()[-4000:]
    print(
        f"\n[database outage] in-flight checkout answered 503; slowest 503 while down "
        f"{slowest_down * 1000:.0f} ms (DB_POOL_TIMEOUT={POOL_TIMEOUT} s); serving again "
        f"{recovery:.2f} s and {second_recovery:.2f} s after the database returned (no restart)"
    )


def test_database_partition_is_a_bounded_503_and_health_stays_quick(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    """Packets dropped instead of connections closed: nothing answers, nothing fails fast."""
    with prepared_database(tmp_path, "dbstall") as (database_url, _engine):
        real = make_url(database_url)
        proxy = TcpProxy(real.host or "127.0.0.1", real.port or 3306).start()
        through_proxy = real.set(host="127.0.0.1", port=proxy.port)
        replica = start_replica(
            "replica",
            replica_env(
                through_proxy.render_as_string(hide_password=False),
                tmp_path,
                DB_POOL_TIMEOUT=str(POOL_TIMEOUT),
                DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
                DB_READ_TIMEOUT=str(READ_TIMEOUT),
                DB_LOCK_WAIT_TIMEOUT=str(LOCK_WAIT_TIMEOUT),
                **sms_env(sms_gateway.webhook_url),
            ),
            tmp_path,
        )
        try:
            replica.wait_until_up()
            with replica.http() as http:
                me = login_by_otp(http, "+919876590002")  # type: ignore[arg-type]
                assert http.get("/auth/me", headers=me.headers).status_code == 200
                proxy.stall()
                # Worst case: the pooled connection's ping waits DB_READ_TIMEOUT, the fresh one
                # it then tries waits DB_CONNECT_TIMEOUT.
                bound = READ_TIMEOUT + CONNECT_TIMEOUT + MARGIN
                timings = {}
                for path in ("/member", "/products"):
                    started = time.monotonic()
                    response = http.get(path, headers=me.headers)
                    timings[path] = time.monotonic() - started
                    assert_error(response, 503, "service_unavailable")
                    assert timings[path] < bound, (path, timings[path])
                started = time.monotonic()
                health = http.get("/health")
                health_seconds = time.monotonic() - started
                assert health.status_code == 200, health.text
                assert health.json()["checks"]["database"] == "unavailable"
                assert health_seconds < DATABASE_PROBE_SECONDS + MARGIN
                proxy.restore()
                recovery = _recover(http, Buyer(me, 0, 0))
        finally:
            proxy.stop()
            code = replica.stop()
        assert code in (0, -15), replica.log()
        assert "Traceback" not in replica.log(), replica.log()[-4000:]
    print(
        f"\n[database partition] 503 after {max(timings.values()):.2f} s at worst "
        f"(DB_READ_TIMEOUT={READ_TIMEOUT} s + DB_CONNECT_TIMEOUT={CONNECT_TIMEOUT} s); /health "
        f"answered degraded in {health_seconds:.2f} s; serving again {recovery:.2f} s after the "
        "network returned (no restart)"
    )
