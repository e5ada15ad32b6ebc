"""Razorpay and the SMS gateway slow or failing: bounded waits, a clear 503 with the provider's
code, nothing half-written, and retries that do the work once.

(Failures of checkout's order creation and of SMS sends are covered in tests/orders and
tests/login; these are the remaining outbound calls and the retry paths.)"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Settings
from Orders_module.jobs import resend_refunds_job
from Orders_module.models import Order, Payment, Refund, WebhookEvent
from tests.fakes.razorpay import FakeRazorpay, error, new_payment_id
from tests.fakes.server import FakeResponse, RecordedRequest
from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import slow_razorpay_order
from tests.support.http import assert_error
from tests.support.orders import captured_event, checkout, deliver_webhook, make_shop, pay, shopper

TIMEOUT = 0.5
SLOW = 1.5
MARGIN = 1.0


@pytest.fixture
def short_timeouts(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "RAZORPAY_TIMEOUT_SECONDS", TIMEOUT)
    monkeypatch.setattr(settings, "SMS_TIMEOUT_SECONDS", TIMEOUT)


@pytest.fixture
def slow_refunds(razorpay: FakeRazorpay, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Razorpay makes the refund but its answer arrives too late, while the switch is on."""
    switch = [True]
    respond = razorpay.respond

    def slow_when_on(request: RecordedRequest) -> FakeResponse:
        response = respond(request)
        if switch[0] and request.path.endswith("/refund"):
            response.delay_seconds = SLOW
        return response

    monkeypatch.setattr(razorpay, "respond", slow_when_on)
    yield switch


def refunds_made(razorpay: FakeRazorpay, payment_id: str) -> list[dict[str, Any]]:
    """The refunds the fake Razorpay made of one payment (it keeps them across tests)."""
    return [r for r in razorpay.refunds_by_key.values() if r["payment_id"] == payment_id]


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def count(db: Session, model: Any, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_refund_timing_out_keeps_the_refund_recorded_and_the_retry_gets_the_same_refund(
    client: TestClient,
    db: Session,
    razorpay: FakeRazorpay,
    short_timeouts: None,
    slow_refunds: list[bool],
) -> None:
    buyer = shopper(client, db, "+919876596001", make_shop(db).single)
    placed = checkout(client, buyer).json()
    payment_id = new_payment_id()
    assert pay(client, buyer, placed, payment_id).status_code == 200
    order_id = placed["order"]["id"]
    history = client.get(f"/orders/{order_id}", headers=buyer.headers).json()["status_history"]

    response, elapsed = timed(
        lambda: client.post(f"/orders/{order_id}/cancel", headers=buyer.headers)
    )
    assert_error(response, 503, "payment_provider_unavailable")
    assert "Timeout" not in response.text and "Traceback" not in response.text
    assert elapsed < TIMEOUT + MARGIN
    # The cancellation and the refund were committed before the call: nothing is lost.
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refund_pending"
    assert [(r["status"], r["razorpay_refund_id"]) for r in order["refunds"]] == [
        ("requested", None)
    ]
    assert [h["status"] for h in order["status_history"][len(history) :]] == [
        "cancelled",
        "refund_pending",
    ]
    # Razorpay did refund; we never heard.
    [made_by_razorpay] = refunds_made(razorpay, payment_id)

    slow_refunds[0] = False
    retried = client.post(f"/orders/{order_id}/cancel", headers=buyer.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "refund_pending"
    keys = {r.headers["x-refund-idempotency"] for r in razorpay.refund_requests()}
    assert len(keys) == 1
    assert refunds_made(razorpay, payment_id) == [made_by_razorpay]
    db.expire_all()
    refund = db.scalar(select(Refund).where(Refund.order_id == order_id))
    assert refund is not None and refund.razorpay_refund_id == made_by_razorpay["id"]
    print(f"\n[providers] refund call gave up after {elapsed:.2f} s (timeout {TIMEOUT} s)")


def test_checkout_retried_with_its_key_after_a_razorpay_timeout_makes_one_order(
    client: TestClient, db: Session, razorpay: FakeRazorpay, short_timeouts: None
) -> None:
    buyer = shopper(client, db, "+919876596002", make_shop(db).single)
    razorpay.fail_next.append(slow_razorpay_order(2_000_00, delay_seconds=SLOW))
    response, elapsed = timed(lambda: checkout(client, buyer, key="tap-once-0001"))
    assert_error(response, 503, "payment_provider_unavailable")
    assert elapsed < TIMEOUT + MARGIN
    pending = (Order.user_id == buyer.me.user_id, Order.status == "pending_payment")
    assert count(db, Order, *pending) == 0  # placed, then cancelled when the call failed

    first = checkout(client, buyer, key="tap-once-0001")
    again = checkout(client, buyer, key="tap-once-0001")
    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["order"]["id"] == again.json()["order"]["id"]
    assert count(db, Order, *pending) == 1
    cart = client.get("/cart", headers=buyer.headers).json()
    assert len(cart["items"]) == 1  # kept until the order is paid


def test_late_payment_whose_refund_fails_is_kept_and_the_refund_job_refunds_it_once(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer = shopper(client, db, "+919876596003", make_shop(db).single)
    placed = checkout(client, buyer).json()
    order_id = placed["order"]["id"]
    assert client.post(f"/orders/{order_id}/cancel", headers=buyer.headers).status_code == 200
    payment_id = new_payment_id()
    event = captured_event(
        placed["payment"]["razorpay_order_id"], payment_id, placed["order"]["total_paise"]
    )

    razorpay.fail_next.append(error(502, "GATEWAY_ERROR", "upstream down"))
    delivered = deliver_webhook(client, event, "evt_late_refund")
    # The payment and its refund were committed before Razorpay was asked: the event is done.
    assert delivered.json() == {"status": "processed"}
    assert count(db, Payment, Payment.order_id == order_id) == 1
    assert count(db, WebhookEvent, WebhookEvent.event_id == "evt_late_refund") == 1
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refund_pending"
    assert [r["status"] for r in order["refunds"]] == ["requested"]
    assert deliver_webhook(client, event, "evt_late_refund").json() == {"status": "duplicate"}

    assert resend_refunds_job() == 1
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert [r["status"] for r in order["refunds"]] == ["pending"]
    assert count(db, Payment, Payment.order_id == order_id) == 1
    assert count(db, Refund, Refund.order_id == order_id) == 1
    keys = {r.headers["x-refund-idempotency"] for r in razorpay.refund_requests()}
    assert len(keys) == 1
    assert len(refunds_made(razorpay, payment_id)) == 1


@pytest.mark.parametrize("backend", ["webhook", "msg91"])
def test_sms_gateway_timing_out_is_a_bounded_503_and_the_retry_sends_one_code(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    short_timeouts: None,
    backend: str,
) -> None:
    if backend == "msg91":
        monkeypatch.setattr(settings, "SMS_BACKEND", "msg91")
        monkeypatch.setattr(settings, "MSG91_BASE_URL", sms_gateway.url)
        monkeypatch.setattr(settings, "MSG91_AUTH_KEY", SecretStr("test-msg91-key"))
        monkeypatch.setattr(settings, "MSG91_TEMPLATE_ID", "tpl")
    phone = "+919876596004"
    sms_gateway.fail_next.append(FakeResponse(200, {"type": "success"}, delay_seconds=SLOW))
    response, elapsed = timed(lambda: client.post("/auth/send-otp", json={"phone": phone}))
    assert_error(response, 503, "sms_provider_unavailable")
    assert elapsed < TIMEOUT + MARGIN
    # No cooldown was started by the failed send: the user may retry at once.
    assert client.post("/auth/send-otp", json={"phone": phone}).status_code == 200
    code = sms_gateway.last_code_for(phone)
    verified = client.post("/auth/verify-otp", json={"phone": phone, "otp": code})
    assert verified.status_code == 200, verified.text
    print(f"\n[providers] SMS ({backend}) call gave up after {elapsed:.2f} s (timeout {TIMEOUT} s)")
