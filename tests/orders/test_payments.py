"""verify-payment and the Razorpay webhook: signatures, replays, order of arrival, paid once."""

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Orders_module.models import Payment, WebhookEvent
from tests.fakes.razorpay import FakeRazorpay, new_payment_id, sign_payment, webhook_body
from tests.support.http import assert_error
from tests.support.orders import captured_event, checkout, deliver_webhook, make_shop, pay, shopper


def placed_order(client: TestClient, db: Session, phone: str) -> tuple:
    shop = make_shop(db)
    buyer = shopper(client, db, phone, shop.single)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    return buyer, placed.json()


def order_of(client: TestClient, buyer, placed: dict) -> dict:
    return client.get(f"/orders/{placed['order']['id']}", headers=buyer.headers).json()


def paid_transitions(order: dict) -> int:
    return sum(1 for h in order["status_history"] if h["status"] == "paid")


def test_forged_signature_is_refused_and_audited(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510001")
    response = client.post(
        f"/orders/{placed['order']['id']}/verify-payment",
        headers=buyer.headers,
        json={
            "razorpay_order_id": placed["payment"]["razorpay_order_id"],
            "razorpay_payment_id": "pay_forged",
            "razorpay_signature": "0" * 64,
        },
    )
    assert_error(response, 400, "payment_signature_invalid")
    assert order_of(client, buyer, placed)["status"] == "pending_payment"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.scalar(select(AuditLog).where(AuditLog.action == "payment.signature_invalid"))


def test_signature_signed_with_another_secret_is_refused(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510002")
    rzp = placed["payment"]["razorpay_order_id"]
    response = client.post(
        f"/orders/{placed['order']['id']}/verify-payment",
        headers=buyer.headers,
        json={
            "razorpay_order_id": rzp,
            "razorpay_payment_id": "pay_x",
            "razorpay_signature": sign_payment(rzp, "pay_x", secret="not-our-secret"),
        },
    )
    assert_error(response, 400, "payment_signature_invalid")


def test_signature_for_another_order_is_refused(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510003")
    other_buyer, other = placed_order(client, db, "+919876510004")
    other_rzp = other["payment"]["razorpay_order_id"]
    payment_id = new_payment_id()
    # A genuine signature, but for the other order's Razorpay order.
    for claimed in (other_rzp, placed["payment"]["razorpay_order_id"]):
        response = client.post(
            f"/orders/{placed['order']['id']}/verify-payment",
            headers=buyer.headers,
            json={
                "razorpay_order_id": claimed,
                "razorpay_payment_id": payment_id,
                "razorpay_signature": sign_payment(other_rzp, payment_id),
            },
        )
        assert_error(response, 400, "payment_signature_invalid")
    assert order_of(client, buyer, placed)["status"] == "pending_payment"
    assert order_of(client, other_buyer, other)["status"] == "pending_payment"


def test_verifying_twice_changes_nothing(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510005")
    payment_id = new_payment_id()
    first = pay(client, buyer, placed, payment_id)
    second = pay(client, buyer, placed, payment_id)
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "paid"
    assert len(second.json()["payments"]) == 1
    assert paid_transitions(second.json()) == 1


def test_another_users_order_cannot_be_verified(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    _, placed = placed_order(client, db, "+919876510006")
    intruder, _ = placed_order(client, db, "+919876510007")
    assert_error(pay(client, intruder, placed), 404, "order_not_found")


def test_webhook_pays_the_order_and_replays_are_no_ops(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510008")
    body = captured_event(
        placed["payment"]["razorpay_order_id"], new_payment_id(), placed["order"]["total_paise"]
    )
    first = deliver_webhook(client, body, "evt_1")
    assert first.status_code == 200 and first.json() == {"status": "processed"}
    assert order_of(client, buyer, placed)["status"] == "paid"
    replay = deliver_webhook(client, body, "evt_1")
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    # The same payment under a new event id is recognised too.
    assert deliver_webhook(client, body, "evt_2").json() == {"status": "already_known"}
    order = order_of(client, buyer, placed)
    assert len(order["payments"]) == 1 and paid_transitions(order) == 1
    assert client.get("/cart", headers=buyer.headers).json()["items"] == []


def test_tampered_or_unsigned_webhook_changes_nothing(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510009")
    body = captured_event(placed["payment"]["razorpay_order_id"], new_payment_id(), 100)
    tampered = body.replace(b'"amount": 100', b'"amount": 1')
    from tests.fakes.razorpay import sign_webhook

    assert_error(
        deliver_webhook(client, tampered, "evt_t", signature=sign_webhook(body)),
        400,
        "webhook_signature_invalid",
    )
    assert_error(
        deliver_webhook(client, body, "evt_u", signature=""), 400, "webhook_signature_invalid"
    )
    assert_error(
        deliver_webhook(client, body, "evt_w", signature=sign_webhook(body, "wrong")),
        400,
        "webhook_signature_invalid",
    )
    assert order_of(client, buyer, placed)["status"] == "pending_payment"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_webhook_before_verify(client: TestClient, db: Session, razorpay: FakeRazorpay) -> None:
    buyer, placed = placed_order(client, db, "+919876510010")
    payment_id = new_payment_id()
    body = captured_event(
        placed["payment"]["razorpay_order_id"], payment_id, placed["order"]["total_paise"]
    )
    assert deliver_webhook(client, body, "evt_before").status_code == 200
    verified = pay(client, buyer, placed, payment_id)
    assert verified.status_code == 200
    assert len(verified.json()["payments"]) == 1
    assert paid_transitions(verified.json()) == 1


def test_webhook_after_verify(client: TestClient, db: Session, razorpay: FakeRazorpay) -> None:
    buyer, placed = placed_order(client, db, "+919876510011")
    payment_id = new_payment_id()
    assert pay(client, buyer, placed, payment_id).status_code == 200
    body = captured_event(
        placed["payment"]["razorpay_order_id"], payment_id, placed["order"]["total_paise"]
    )
    assert deliver_webhook(client, body, "evt_after").json() == {"status": "already_known"}
    order = order_of(client, buyer, placed)
    assert len(order["payments"]) == 1 and paid_transitions(order) == 1


def test_order_paid_event_pays_the_order(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510012")
    rzp = placed["payment"]["razorpay_order_id"]
    body = webhook_body(
        "order.paid",
        order={
            "id": rzp,
            "entity": "order",
            "status": "paid",
            "amount": placed["order"]["total_paise"],
        },
        payment={
            "id": new_payment_id(),
            "order_id": rzp,
            "status": "captured",
            "amount": placed["order"]["total_paise"],
            "currency": "INR",
            "method": "card",
        },
    )
    assert deliver_webhook(client, body, "evt_op").json() == {"status": "processed"}
    assert order_of(client, buyer, placed)["status"] == "paid"


def test_failed_payment_is_recorded_and_the_order_stays_payable(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510013")
    rzp = placed["payment"]["razorpay_order_id"]
    body = webhook_body(
        "payment.failed",
        payment={
            "id": new_payment_id(),
            "order_id": rzp,
            "status": "failed",
            "amount": 100,
            "error_code": "BAD_REQUEST_ERROR",
            "error_description": "Card declined",
        },
    )
    assert deliver_webhook(client, body, "evt_f").json() == {"status": "processed"}
    order = order_of(client, buyer, placed)
    assert order["status"] == "pending_payment"
    assert [p["status"] for p in order["payments"]] == ["failed"]
    assert pay(client, buyer, placed).json()["status"] == "paid"


def test_webhook_for_an_unknown_order_is_acknowledged(
    client: TestClient, razorpay: FakeRazorpay
) -> None:
    body = captured_event("order_unknown123", new_payment_id(), 100)
    response = deliver_webhook(client, body, "evt_unknown")
    assert response.status_code == 200 and response.json() == {"status": "ignored"}


def test_unknown_event_types_are_acknowledged(client: TestClient, razorpay: FakeRazorpay) -> None:
    body = json.dumps({"event": "settlement.processed", "payload": {}}).encode()
    assert deliver_webhook(client, body, "evt_s").json() == {"status": "ignored"}


def test_payment_arriving_after_expiry_is_refunded(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510014")
    cancelled = client.post(f"/orders/{placed['order']['id']}/cancel", headers=buyer.headers)
    assert cancelled.json()["status"] == "cancelled"
    payment_id = new_payment_id()
    body = captured_event(
        placed["payment"]["razorpay_order_id"], payment_id, placed["order"]["total_paise"]
    )
    assert deliver_webhook(client, body, "evt_late").json() == {"status": "processed"}
    order = order_of(client, buyer, placed)
    assert order["status"] == "refund_pending"
    [refund] = razorpay.refund_requests()
    assert refund.path == f"/v1/payments/{payment_id}/refund"
    assert refund.json()["amount"] == placed["order"]["total_paise"]


def audited(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_underpaying_capture_is_refunded_and_the_order_stays_payable(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510015")
    stray_id = new_payment_id()
    body = captured_event(placed["payment"]["razorpay_order_id"], stray_id, 100)
    assert deliver_webhook(client, body, "evt_under").json() == {"status": "processed"}
    order = order_of(client, buyer, placed)
    assert order["status"] == "pending_payment" and paid_transitions(order) == 0
    [stray] = order["payments"]
    assert (stray["amount_paise"], stray["stray_reason"]) == (100, "amount_mismatch")
    [refund] = razorpay.refund_requests()
    assert refund.path == f"/v1/payments/{stray_id}/refund"
    assert refund.json()["amount"] == 100
    assert [(r["amount_paise"], r["status"]) for r in order["refunds"]] == [(100, "pending")]
    [entry] = audited(db, "payment.refused")
    assert entry.changes["reason"] == "amount_mismatch"
    assert entry.changes["amount_paise"] == {
        "expected": placed["order"]["total_paise"],
        "received": 100,
    }
    # Still payable, by the right payment, and the cart is kept until then.
    assert client.get("/cart", headers=buyer.headers).json()["items"]
    paid = pay(client, buyer, placed)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert len(razorpay.refund_requests()) == 1


def test_capture_in_another_currency_is_refunded(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510016")
    stray_id = new_payment_id()
    body = captured_event(
        placed["payment"]["razorpay_order_id"], stray_id, placed["order"]["total_paise"], "USD"
    )
    assert deliver_webhook(client, body, "evt_usd").json() == {"status": "processed"}
    order = order_of(client, buyer, placed)
    assert order["status"] == "pending_payment"
    assert [(p["currency"], p["stray_reason"]) for p in order["payments"]] == [
        ("USD", "currency_mismatch")
    ]
    assert [r.path for r in razorpay.refund_requests()] == [f"/v1/payments/{stray_id}/refund"]


def test_second_capture_of_a_paid_order_is_refunded_and_the_order_stays_paid(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510017")
    first_id, second_id = new_payment_id(), new_payment_id()
    assert pay(client, buyer, placed, first_id).status_code == 200
    body = captured_event(
        placed["payment"]["razorpay_order_id"], second_id, placed["order"]["total_paise"]
    )
    assert deliver_webhook(client, body, "evt_twice").json() == {"status": "processed"}
    order = order_of(client, buyer, placed)
    assert order["status"] == "paid" and paid_transitions(order) == 1
    assert [p["stray_reason"] for p in order["payments"]] == [None, "already_paid"]
    assert [r.path for r in razorpay.refund_requests()] == [f"/v1/payments/{second_id}/refund"]
    assert [h["status"] for h in order["status_history"]] == ["pending_payment", "paid"]
    assert [e.changes["reason"] for e in audited(db, "payment.refused")] == ["already_paid"]

    # Cancelling the order later refunds the payment that paid it, not the stray one again.
    cancelled = client.post(f"/orders/{placed['order']['id']}/cancel", headers=buyer.headers)
    assert cancelled.json()["status"] == "refund_pending"
    assert [r.path for r in razorpay.refund_requests()] == [
        f"/v1/payments/{second_id}/refund",
        f"/v1/payments/{first_id}/refund",
    ]
    assert len(cancelled.json()["refunds"]) == 2


def test_second_capture_through_verify_is_refunded_too(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510018")
    assert pay(client, buyer, placed).status_code == 200
    second_id = new_payment_id()
    again = pay(client, buyer, placed, second_id)
    assert again.status_code == 200 and again.json()["status"] == "paid"
    assert [p["stray_reason"] for p in again.json()["payments"]] == [None, "already_paid"]
    assert [r["status"] for r in again.json()["refunds"]] == ["pending"]
    assert [r.path for r in razorpay.refund_requests()] == [f"/v1/payments/{second_id}/refund"]


def test_capture_without_an_amount_is_not_taken_as_payment(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed = placed_order(client, db, "+919876510019")
    body = webhook_body(
        "payment.captured",
        payment={
            "id": new_payment_id(),
            "order_id": placed["payment"]["razorpay_order_id"],
            "currency": "INR",
            "status": "captured",
        },
    )
    assert deliver_webhook(client, body, "evt_no_amount").json() == {"status": "ignored"}
    assert order_of(client, buyer, placed)["status"] == "pending_payment"
