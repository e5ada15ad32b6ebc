"""Cancellation and refunds, admin status changes, tracking, listing, ownership, expiry."""

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Cart_module.models import CouponRedemption
from core.clock import utcnow
from Orders_module.jobs import expire_unpaid_orders_job, resend_refunds_job
from Orders_module.models import Order, Refund
from tests.fakes.razorpay import FakeRazorpay, error, new_payment_id
from tests.support.factories.cart import make_coupon
from tests.support.http import assert_error
from tests.support.login import login
from tests.support.orders import (
    captured_event,
    checkout,
    deliver_webhook,
    make_shop,
    pay,
    refund_event,
    shopper,
)
from tests.support.report import upload


def paid_order(client: TestClient, db: Session, phone: str, members: int = 1) -> tuple:
    shop = make_shop(db)
    product = shop.couple if members == 2 else shop.single
    buyer = shopper(client, db, phone, product, members=members)
    placed = checkout(client, buyer).json()
    payment_id = new_payment_id()
    assert pay(client, buyer, placed, payment_id).status_code == 200
    return buyer, placed, payment_id


def test_cancelling_an_unpaid_order_releases_the_coupon_hold(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    coupon = make_coupon(db, code="HOLDME")
    buyer = shopper(client, db, "+919876520001", shop.single)
    client.post("/cart/coupon", json={"code": "HOLDME"}, headers=buyer.headers)
    placed = checkout(client, buyer).json()
    response = client.post(
        f"/orders/{placed['order']['id']}/cancel",
        headers=buyer.headers,
        json={"reason": "changed my mind"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "changed my mind"
    db.expire_all()
    assert (
        db.scalar(select(CouponRedemption.status).where(CouponRedemption.coupon_id == coupon.id))
        == "released"
    )
    assert razorpay.refund_requests() == []


def test_cancelling_a_paid_order_refunds_it(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, payment_id = paid_order(client, db, "+919876520002")
    order_id = placed["order"]["id"]
    response = client.post(f"/orders/{order_id}/cancel", headers=buyer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refund_pending"
    [refund] = razorpay.refund_requests()
    assert refund.path == f"/v1/payments/{payment_id}/refund"
    assert refund.json()["amount"] == placed["order"]["total_paise"]
    assert refund.headers["x-refund-idempotency"]
    [ours] = response.json()["refunds"]
    assert ours["status"] == "pending" and ours["razorpay_refund_id"]

    done = deliver_webhook(
        client,
        refund_event(
            payment_id, placed["order"]["total_paise"], refund_id=ours["razorpay_refund_id"]
        ),
        "evt_refund",
    )
    assert done.json() == {"status": "processed"}
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refunded"
    assert order["refunds"][0]["status"] == "processed"
    assert [h["status"] for h in order["status_history"]][-3:] == [
        "cancelled",
        "refund_pending",
        "refunded",
    ]


def test_refund_provider_down_keeps_the_refund_recorded_and_the_retry_sends_the_same_one(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520003")
    order_id = placed["order"]["id"]
    razorpay.fail_next.append(error(502, "GATEWAY_ERROR", "upstream down"))
    assert_error(
        client.post(f"/orders/{order_id}/cancel", headers=buyer.headers),
        503,
        "payment_provider_unavailable",
    )
    # The intent was committed before Razorpay was called.
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refund_pending"
    assert [(r["status"], r["razorpay_refund_id"]) for r in order["refunds"]] == [
        ("requested", None)
    ]
    retried = client.post(f"/orders/{order_id}/cancel", headers=buyer.headers)
    assert retried.status_code == 200, retried.text
    assert [r["status"] for r in retried.json()["refunds"]] == ["pending"]
    keys = [r.headers["x-refund-idempotency"] for r in razorpay.refund_requests()]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert resend_refunds_job() == 0
    assert_error(
        client.post(f"/orders/{order_id}/cancel", headers=buyer.headers),
        409,
        "order_not_cancellable",
    )


def test_refund_job_finishes_a_refund_whose_call_failed(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, payment_id = paid_order(client, db, "+919876520015")
    order_id = placed["order"]["id"]
    razorpay.fail_next.append(error(500, "SERVER_ERROR", "Something went wrong"))
    assert_error(
        client.post(f"/orders/{order_id}/cancel", headers=buyer.headers),
        503,
        "payment_provider_unavailable",
    )
    db.expire_all()
    [refund] = db.scalars(select(Refund).where(Refund.order_id == order_id)).all()
    assert (refund.status, refund.razorpay_refund_id) == ("requested", None)
    assert db.get(Order, order_id).status == "refund_pending"

    razorpay.fail_next.append(error(502, "GATEWAY_ERROR", "still down"))
    assert resend_refunds_job() == 0  # still failing: left as it was
    assert resend_refunds_job() == 1
    db.expire_all()
    refund = db.get(Refund, refund.id)
    assert refund.status == "pending" and refund.razorpay_refund_id
    assert resend_refunds_job() == 0
    requests = razorpay.refund_requests()
    assert [r.path for r in requests] == [f"/v1/payments/{payment_id}/refund"] * 3
    assert len({r.headers["x-refund-idempotency"] for r in requests}) == 1

    done = deliver_webhook(
        client,
        refund_event(
            payment_id, placed["order"]["total_paise"], refund_id=refund.razorpay_refund_id
        ),
        "evt_refund_job",
    )
    assert done.json() == {"status": "processed"}
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refunded"
    assert [r["status"] for r in order["refunds"]] == ["processed"]


def test_refund_webhook_completes_a_refund_whose_answer_was_lost(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    """Razorpay refunded, our call never heard back (a crash or timeout): its webhook settles it."""
    buyer, placed, payment_id = paid_order(client, db, "+919876520016")
    order_id = placed["order"]["id"]
    razorpay.fail_next.append(error(502, "GATEWAY_ERROR", "upstream down"))
    client.post(f"/orders/{order_id}/cancel", headers=buyer.headers)
    created = deliver_webhook(
        client,
        refund_event(payment_id, placed["order"]["total_paise"], "refund.created", "rfnd_lost1"),
        "evt_created_lost",
    )
    assert created.json() == {"status": "processed"}
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refund_pending"
    assert [(r["status"], r["razorpay_refund_id"]) for r in order["refunds"]] == [
        ("pending", "rfnd_lost1")
    ]
    assert resend_refunds_job() == 0  # no longer waiting for Razorpay's answer
    processed = deliver_webhook(
        client,
        refund_event(payment_id, placed["order"]["total_paise"], refund_id="rfnd_lost1"),
        "evt_processed_lost",
    )
    assert processed.json() == {"status": "processed"}
    assert client.get(f"/orders/{order_id}", headers=buyer.headers).json()["status"] == "refunded"


def test_refund_made_in_the_dashboard_moves_a_paid_order_to_refunded(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, payment_id = paid_order(client, db, "+919876520017")
    order_id = placed["order"]["id"]
    total = placed["order"]["total_paise"]
    done = deliver_webhook(
        client, refund_event(payment_id, total, refund_id="rfnd_dashboard1"), "evt_dash"
    )
    assert done.json() == {"status": "processed"}
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert order["status"] == "refunded"
    assert {item["status"] for item in order["items"]} == {"refunded"}
    assert [
        (r["razorpay_refund_id"], r["amount_paise"], r["status"]) for r in order["refunds"]
    ] == [("rfnd_dashboard1", total, "processed")]
    assert order["cancel_reason"] == "refunded through Razorpay"
    assert razorpay.refund_requests() == []
    db.expire_all()
    assert db.scalar(select(AuditLog).where(AuditLog.action == "refund.recorded"))
    # refund.created arriving late, and redeliveries, change nothing.
    late = deliver_webhook(
        client,
        refund_event(payment_id, total, "refund.created", "rfnd_dashboard1"),
        "evt_dash_created",
    )
    assert late.json() == {"status": "already_known"}
    assert client.get(f"/orders/{order_id}", headers=buyer.headers).json()["status"] == "refunded"


def test_dashboard_refund_started_on_a_paid_order_makes_it_refund_pending(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, payment_id = paid_order(client, db, "+919876520018")
    total = placed["order"]["total_paise"]
    created = deliver_webhook(
        client, refund_event(payment_id, total, "refund.created", "rfnd_dash2"), "evt_dash2"
    )
    assert created.json() == {"status": "processed"}
    order = client.get(f"/orders/{placed['order']['id']}", headers=buyer.headers).json()
    assert order["status"] == "refund_pending"
    assert [r["status"] for r in order["refunds"]] == ["pending"]
    assert_error(
        client.post(f"/orders/{placed['order']['id']}/cancel", headers=buyer.headers),
        409,
        "order_not_cancellable",
    )


def test_refund_of_a_stray_payment_leaves_the_order_paid(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520019")
    stray_id = new_payment_id()
    total = placed["order"]["total_paise"]
    body = captured_event(placed["payment"]["razorpay_order_id"], stray_id, total)
    assert deliver_webhook(client, body, "evt_stray").json() == {"status": "processed"}
    [ours] = client.get(f"/orders/{placed['order']['id']}", headers=buyer.headers).json()["refunds"]
    done = deliver_webhook(
        client, refund_event(stray_id, total, refund_id=ours["razorpay_refund_id"]), "evt_sr"
    )
    assert done.json() == {"status": "processed"}
    order = client.get(f"/orders/{placed['order']['id']}", headers=buyer.headers).json()
    assert order["status"] == "paid"
    assert [r["status"] for r in order["refunds"]] == ["processed"]


def test_refund_event_for_an_unknown_payment_is_ignored(
    client: TestClient, razorpay: FakeRazorpay
) -> None:
    body = refund_event("pay_unknown000001", 100)
    assert deliver_webhook(client, body, "evt_refund_unknown").json() == {"status": "ignored"}


def test_no_cancelling_after_the_sample_is_collected(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520004")
    order_id = placed["order"]["id"]
    item_id = placed["order"]["items"][0]["id"]
    for status in ("sample_collection_scheduled", "sample_collected"):
        r = client.put(
            f"/orders/{order_id}/items/{item_id}/status",
            headers=admin.headers,
            json={"status": status},
        )
        assert r.status_code == 200, r.text
    assert_error(
        client.post(f"/orders/{order_id}/cancel", headers=buyer.headers),
        409,
        "order_not_cancellable",
    )


def test_users_cannot_set_statuses_and_other_users_orders_are_404(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520005")
    order_id = placed["order"]["id"]
    item_id = placed["order"]["items"][0]["id"]
    assert_error(
        client.put(
            f"/orders/{order_id}/status", headers=buyer.headers, json={"status": "completed"}
        ),
        403,
        "admin_required",
    )
    assert_error(
        client.put(
            f"/orders/{order_id}/items/{item_id}/status",
            headers=buyer.headers,
            json={"status": "in_lab"},
        ),
        403,
        "admin_required",
    )
    stranger = login(client, "+919876520006")
    for path in (f"/orders/{order_id}", f"/orders/{order_id}/tracking"):
        assert_error(client.get(path, headers=stranger.headers), 404, "order_not_found")
    assert_error(
        client.post(f"/orders/{order_id}/cancel", headers=stranger.headers), 404, "order_not_found"
    )
    assert client.get("/orders", headers=stranger.headers).json()["total"] == 0
    assert_error(client.get("/orders/admin", headers=buyer.headers), 403, "admin_required")
    assert_error(client.get("/orders"), 401, "not_authenticated")


def test_admin_moves_items_and_the_order_follows(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520007", members=2)
    order_id = placed["order"]["id"]
    first, second = (item["id"] for item in placed["order"]["items"])
    scheduled = (date.today() + timedelta(days=2)).isoformat()
    r = client.put(
        f"/orders/{order_id}/items/{first}/status",
        headers=admin.headers,
        json={
            "status": "sample_collection_scheduled",
            "scheduled_date": scheduled,
            "technician_name": "Suresh",
            "technician_phone": "9876543211",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"  # the other member is not scheduled yet
    r = client.put(
        f"/orders/{order_id}/items/{second}/status",
        headers=admin.headers,
        json={"status": "sample_collection_scheduled", "scheduled_date": scheduled},
    )
    assert r.json()["status"] == "sample_collection_scheduled"
    tracking = client.get(f"/orders/{order_id}/tracking", headers=buyer.headers).json()
    assert tracking["items"][0]["technician_name"] == "Suresh"
    # The customer sees the technician's phone masked; staff see it whole.
    assert tracking["items"][0]["technician_phone"] == "+91******3211"
    staff_view = client.get(f"/orders/{order_id}/tracking", headers=admin.headers).json()
    assert staff_view["items"][0]["technician_phone"] == "+919876543211"
    assert tracking["items"][0]["scheduled_date"] == scheduled
    assert_error(
        client.put(
            f"/orders/{order_id}/items/{first}/status",
            headers=admin.headers,
            json={"status": "report_ready"},
        ),
        409,
        "invalid_status_transition",
    )
    for status in ("sample_collected", "in_lab"):
        r = client.put(
            f"/orders/{order_id}/status",
            headers=admin.headers,
            json={"status": status, "note": f"now {status}"},
        )
        assert r.status_code == 200, r.text
    # The lab's reports move the items, then the order, to report_ready.
    for item_id in (first, second):
        assert upload(client, admin, order_id, item_id).status_code == 201
    assert client.get(f"/orders/{order_id}", headers=buyer.headers).json()["status"] == (
        "report_ready"
    )
    r = client.put(
        f"/orders/{order_id}/status",
        headers=admin.headers,
        json={"status": "completed", "note": "now completed"},
    )
    assert r.status_code == 200, r.text
    final = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    assert final["status"] == "completed"
    assert {item["status"] for item in final["items"]} == {"completed"}
    assert final["status_history"][-1] == {
        "status": "completed",
        "at": final["status_history"][-1]["at"],
        "note": "now completed",
        "item_id": None,
    }


@pytest.mark.parametrize(
    ("target", "start_paid"),
    [
        ("paid", False),
        ("in_lab", True),
        ("refunded", True),
        ("completed", True),
        ("refund_pending", True),
    ],
)
def test_invalid_transitions_are_409(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin, target: str, start_paid: bool
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876520008", shop.single)
    placed = checkout(client, buyer).json()
    if start_paid:
        pay(client, buyer, placed)
    response = client.put(
        f"/orders/{placed['order']['id']}/status", headers=admin.headers, json={"status": target}
    )
    assert_error(response, 409, "invalid_status_transition")


def test_unknown_status_value_is_422(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    _buyer, placed, _ = paid_order(client, db, "+919876520009")
    response = client.put(
        f"/orders/{placed['order']['id']}/status", headers=admin.headers, json={"status": "shipped"}
    )
    assert_error(response, 422, "validation_error")


def test_admin_cancel_of_a_paid_order_refunds(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    _buyer, placed, _ = paid_order(client, db, "+919876520010")
    response = client.put(
        f"/orders/{placed['order']['id']}/status",
        headers=admin.headers,
        json={"status": "cancelled", "note": "lab closed"},
    )
    assert response.json()["status"] == "refund_pending"
    assert len(razorpay.refund_requests()) == 1


def test_listing_and_admin_filters(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520011")
    mine = client.get("/orders", headers=buyer.headers).json()
    assert mine["total"] == 1
    assert mine["items"][0]["order_number"] == placed["order"]["order_number"]
    assert mine["items"][0]["item_count"] == 1
    assert (
        client.get("/orders", params={"status": "cancelled"}, headers=buyer.headers).json()["total"]
        == 0
    )
    everyone = client.get(
        "/orders/admin",
        params={"user_id": buyer.me.user_id, "status": "paid"},
        headers=admin.headers,
    ).json()
    assert [o["id"] for o in everyone["items"]] == [placed["order"]["id"]]
    assert client.get(f"/orders/{placed['order']['id']}", headers=admin.headers).status_code == 200


def test_expiry_job_cancels_unpaid_orders_and_releases_holds(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    coupon = make_coupon(db, code="EXPIRING")
    buyer = shopper(client, db, "+919876520012", shop.single)
    client.post("/cart/coupon", json={"code": "EXPIRING"}, headers=buyer.headers)
    stale = checkout(client, buyer).json()["order"]
    _, fresh, _ = paid_order(client, db, "+919876520013")
    order = db.get(Order, stale["id"])
    order.payment_due_at = utcnow() - timedelta(minutes=1)
    db.flush()
    assert expire_unpaid_orders_job() == 1
    db.expire_all()
    assert db.get(Order, stale["id"]).status == "cancelled"
    assert db.get(Order, fresh["order"]["id"]).status == "paid"
    assert (
        db.scalar(select(CouponRedemption.status).where(CouponRedemption.coupon_id == coupon.id))
        == "released"
    )
    assert expire_unpaid_orders_job() == 0


def test_member_can_be_deleted_once_the_order_is_finished(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin
) -> None:
    buyer, placed, _ = paid_order(client, db, "+919876520014")
    member_id = buyer.members[0].id
    client.delete("/cart", headers=buyer.headers)
    assert_error(client.delete(f"/member/{member_id}", headers=buyer.headers), 409, "member_in_use")
    client.put(
        f"/orders/{placed['order']['id']}/status",
        headers=admin.headers,
        json={"status": "cancelled"},
    )
    assert client.delete(f"/member/{member_id}", headers=buyer.headers).status_code == 204
