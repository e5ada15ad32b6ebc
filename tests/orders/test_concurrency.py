"""Races with real threads and real commits on MariaDB: coupon limits, idempotency, paid once,
no lock held while Razorpay is called, lock waits answered as a retryable 503."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from Cart_module.models import CouponAllowedEntry, CouponRedemption
from config import Settings
from database import engine
from Login_module.models import User
from Orders_module.models import Order, OrderStatusHistory, Payment
from tests.fakes.razorpay import GATE_LIMIT_SECONDS, FakeRazorpay, new_payment_id
from tests.support.http import assert_error, new_client
from tests.support.orders import captured_event, deliver_webhook, make_catalogue, pay, ready_shopper
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency


def test_coupon_limited_to_5_is_carried_by_exactly_5_paid_orders(
    committing: Engine, razorpay: FakeRazorpay, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 1000)
    product_id, coupon_id = make_catalogue(committing, usage_limit_total=5)
    client = new_client()
    buyers = [ready_shopper(client, committing, f"+91987653{i:04d}", product_id) for i in range(30)]
    for buyer in buyers:
        assert (
            client.post("/cart/coupon", json={"code": "race5"}, headers=buyer.headers).status_code
            == 200
        )

    clients = [new_client() for _ in buyers]
    results = all_at_once(
        [
            (lambda c=c, b=b: c.post("/orders", headers=b.headers))
            for c, b in zip(clients, buyers, strict=True)
        ]
    )
    created = [(b, r.json()) for b, r in zip(buyers, results, strict=True) if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert len(created) == 5, [r.text for r in refused[:3]]
    assert {r.json()["code"] for r in refused} == {"coupon_usage_exceeded"}

    paid = all_at_once(
        [
            (lambda c=c, b=b, placed=placed: pay(c, b, placed))
            for c, (b, placed) in zip(clients, created, strict=False)
        ]
    )
    assert [r.status_code for r in paid] == [200] * 5
    with Session(committing) as session:
        carrying = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.coupon_id == coupon_id, Order.status == "paid")
        )
        used = session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .where(CouponRedemption.coupon_id == coupon_id, CouponRedemption.status == "used")
        )
    assert carrying == 5
    assert used == 5


def test_an_allow_listed_coupon_limited_to_4_is_carried_by_4_paid_orders_of_listed_buyers(
    committing: Engine, razorpay: FakeRazorpay, settings, monkeypatch
) -> None:
    """Phones listed before they sign up (and accounts listed by id) race for the last uses;
    buyers who are not listed cannot even put the code on their cart."""
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 1000)
    product_id, coupon_id = make_catalogue(committing, usage_limit_total=4, targeted=True)
    listed_phones = [f"+91987656{i:04d}" for i in range(12)]
    with Session(committing) as session:
        for phone in listed_phones[:6]:
            session.add(CouponAllowedEntry(coupon_id=coupon_id, phone=phone))
        session.commit()
    client = new_client()
    buyers = [ready_shopper(client, committing, phone, product_id) for phone in listed_phones]
    with Session(committing) as session:
        for buyer in buyers[6:]:
            session.add(CouponAllowedEntry(coupon_id=coupon_id, user_id=buyer.me.user_id))
        session.commit()
    outsiders = [
        ready_shopper(client, committing, f"+91987657{i:04d}", product_id) for i in range(3)
    ]
    for outsider in outsiders:
        refused = client.post("/cart/coupon", json={"code": "race5"}, headers=outsider.headers)
        assert_error(refused, 400, "coupon_invalid")
    for buyer in buyers:
        applied = client.post("/cart/coupon", json={"code": "race5"}, headers=buyer.headers)
        assert applied.status_code == 200, applied.text

    racers = buyers + outsiders
    clients = [new_client() for _ in racers]
    results = all_at_once(
        [
            (lambda c=c, b=b: c.post("/orders", headers=b.headers))
            for c, b in zip(clients, racers, strict=True)
        ]
    )
    created = [(b, r.json()) for b, r in zip(racers, results, strict=True) if r.status_code == 201]
    with_coupon = [(b, placed) for b, placed in created if placed["order"]["coupon_code"]]
    refused = [r for r in results if r.status_code != 201]
    assert len(with_coupon) == 4, [r.text for r in refused[:3]]
    assert {b.me.user_id for b, _ in with_coupon} <= {b.me.user_id for b in buyers}
    assert len(created) == 4 + len(outsiders)  # the outsiders' carts never had the coupon
    assert {r.json()["code"] for r in refused} == {"coupon_usage_exceeded"}

    paid = all_at_once(
        [
            (lambda c=c, b=b, placed=placed: pay(c, b, placed))
            for c, (b, placed) in zip(clients, with_coupon, strict=False)
        ]
    )
    assert [r.status_code for r in paid] == [200] * 4
    with Session(committing) as session:
        carrying = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.coupon_id == coupon_id, Order.status == "paid")
        )
        used = session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .where(CouponRedemption.coupon_id == coupon_id, CouponRedemption.status == "used")
        )
    assert (carrying, used) == (4, 4)


def test_same_idempotency_key_ten_times_at_once_makes_one_order(
    committing: Engine, razorpay: FakeRazorpay
) -> None:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, "+919876540001", product_id)
    headers = {**buyer.headers, "Idempotency-Key": "double-tap-0001"}
    clients = [new_client() for _ in range(10)]
    results = all_at_once([(lambda c=c: c.post("/orders", headers=headers)) for c in clients])
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {201, 409}, [r.text for r in results]
    assert 201 in statuses
    ids = {r.json()["order"]["id"] for r in results if r.status_code == 201}
    assert len(ids) == 1
    assert {r.json()["code"] for r in results if r.status_code == 409} <= {"request_in_progress"}
    with Session(committing) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
    assert len(razorpay.order_requests()) == 1
    # Once settled, the key answers with the same order.
    again = client.post("/orders", headers=headers)
    assert again.status_code == 201 and again.json()["order"]["id"] in ids


@pytest.mark.parametrize("attempt", range(3))
def test_verify_and_webhook_racing_pay_the_order_once(
    committing: Engine, razorpay: FakeRazorpay, attempt: int
) -> None:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, f"+91987655{attempt:04d}", product_id)
    placed = client.post("/orders", headers=buyer.headers).json()
    payment_id = new_payment_id()
    body = captured_event(
        placed["payment"]["razorpay_order_id"], payment_id, placed["order"]["total_paise"]
    )
    app_client, razorpay_client = new_client(), new_client()
    verified, delivered = all_at_once(
        [
            lambda: pay(app_client, buyer, placed, payment_id),
            lambda: deliver_webhook(razorpay_client, body, f"evt_race_{attempt}"),
        ]
    )
    assert verified.status_code == 200, verified.text
    assert delivered.status_code == 200, delivered.text
    assert {delivered.json()["status"]} <= {"processed", "already_known"}
    with Session(committing) as session:
        order_id = placed["order"]["id"]
        assert (
            session.scalar(
                select(func.count()).select_from(Payment).where(Payment.order_id == order_id)
            )
            == 1
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(OrderStatusHistory)
                .where(
                    OrderStatusHistory.order_id == order_id,
                    OrderStatusHistory.status == "paid",
                    OrderStatusHistory.order_item_id.is_(None),
                )
            )
            == 1
        )
        assert session.get(Order, order_id).status == "paid"


@pytest.fixture
def short_lock_waits(settings: Settings) -> Iterator[None]:
    """Row-lock waits give up after 1 s; connections read the setting when they open, so the
    pool is emptied before and after."""
    before = settings.DB_LOCK_WAIT_TIMEOUT
    settings.DB_LOCK_WAIT_TIMEOUT = 1
    engine.dispose()
    try:
        yield
    finally:
        settings.DB_LOCK_WAIT_TIMEOUT = before
        engine.dispose()


def test_a_row_lock_wait_that_runs_out_is_a_retryable_503_try_again(
    committing: Engine, razorpay: FakeRazorpay, short_lock_waits: None
) -> None:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, "+919876556001", product_id)
    with committing.connect() as holder:
        holder.execute(
            select(User.id).where(User.id == buyer.me.user_id).with_for_update()
        )  # another transaction holds the user's lock, which checkout takes first
        waited = client.post("/orders", headers=buyer.headers)
        holder.rollback()
    # MariaDB's error 1205, not the read timeout's lost connection ("service_unavailable").
    assert_error(waited, 503, "try_again")
    assert waited.headers["Retry-After"] == "1"
    with Session(committing) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert client.post("/orders", headers=buyer.headers).status_code == 201


def test_a_checkout_waiting_for_razorpay_holds_no_lock_on_its_coupon(
    committing: Engine,
    razorpay: FakeRazorpay,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    short_lock_waits: None,
) -> None:
    monkeypatch.setattr(settings, "RAZORPAY_TIMEOUT_SECONDS", GATE_LIMIT_SECONDS + 5)
    product_id, coupon_id = make_catalogue(committing, usage_limit_total=100)
    client = new_client()
    first, second, third = (
        ready_shopper(client, committing, f"+91987655700{i}", product_id) for i in range(3)
    )
    for buyer in (first, second, third):
        applied = client.post("/cart/coupon", json={"code": "race5"}, headers=buyer.headers)
        assert applied.status_code == 200, applied.text
    awaiting = client.post("/orders", headers=third.headers).json()  # the same coupon, unpaid
    paid_event = captured_event(
        awaiting["payment"]["razorpay_order_id"], new_payment_id(), awaiting["order"]["total_paise"]
    )
    first_headers = {**first.headers, "Idempotency-Key": "slow-provider-1"}

    gate = razorpay.hold_next_order()
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_call = pool.submit(new_client().post, "/orders", headers=first_headers)
        assert gate.entered.wait(10), "the first checkout never reached Razorpay"
        try:
            # While the first checkout is inside Razorpay's order call (held by the gate):
            other = client.post("/orders", headers=second.headers)
            webhook = deliver_webhook(client, paid_event, "evt_during_slow_checkout")
            copy = client.post("/orders", headers=first_headers)
            finished_while_held = not in_call.done()
        finally:
            gate.release.set()
        held = in_call.result()

    assert finished_while_held
    assert other.status_code == 201, other.text
    assert webhook.status_code == 200 and webhook.json() == {"status": "processed"}, webhook.text
    # The Idempotency-Key stays claimed until the whole checkout is done, Razorpay included.
    assert_error(copy, 409, "request_in_progress")
    assert held.status_code == 201, held.text
    assert held.json()["payment"]["razorpay_order_id"]
    assert held.json()["order"]["coupon_code"] == "RACE5"
    assert len(razorpay.order_requests()) == 3
    with Session(committing) as session:
        redemptions = dict(
            session.execute(
                select(CouponRedemption.order_id, CouponRedemption.status).where(
                    CouponRedemption.coupon_id == coupon_id
                )
            ).all()
        )
    assert redemptions == {
        held.json()["order"]["id"]: "held",
        other.json()["order"]["id"]: "held",
        awaiting["order"]["id"]: "used",
    }
    again = client.post("/orders", headers=first_headers)
    assert again.json()["order"] == held.json()["order"]


def test_a_checkout_superseded_while_in_razorpay_answers_with_the_order_as_it_now_is(
    committing: Engine,
    razorpay: FakeRazorpay,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Razorpay id is attached only to an order still as the first step left it; one that
    moved meanwhile (here: the same user checked out again) is re-read and answered as it is."""
    monkeypatch.setattr(settings, "RAZORPAY_TIMEOUT_SECONDS", GATE_LIMIT_SECONDS + 5)
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, "+919876557101", product_id)
    gate = razorpay.hold_next_order()
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_call = pool.submit(new_client().post, "/orders", headers=buyer.headers)
        assert gate.entered.wait(10), "the first checkout never reached Razorpay"
        try:
            newer = client.post("/orders", headers=buyer.headers)
        finally:
            gate.release.set()
        held = in_call.result()

    assert newer.status_code == 201, newer.text
    assert held.status_code == 201, held.text
    assert held.json()["order"]["status"] == "cancelled"
    assert held.json()["payment"] is None
    with Session(committing) as session:
        statuses = dict(
            session.execute(
                select(Order.id, Order.status).where(Order.user_id == buyer.me.user_id)
            ).all()
        )
    assert statuses == {
        held.json()["order"]["id"]: "cancelled",
        newer.json()["order"]["id"]: "pending_payment",
    }
