"""Refunds matched by their Razorpay refund id: each refund made in the Razorpay Dashboard,
partial or full, is its own row with its own credit note and message, beside our own refund; the
order is refunded once its processed refunds reach what was paid."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Notification_module.models import Channel, NotificationEvent
from tests.fakes.razorpay import FakeRazorpay
from tests.support.invoice import Bought, buy
from tests.support.notification import outbox
from tests.support.orders import deliver_webhook, make_shop, refund_event

pytestmark = pytest.mark.usefixtures("razorpay")

TOTAL = 14_999_00  # the single test of make_shop
PART = 4_499_70  # 30 %
REST = TOTAL - PART  # 70 %


def bought(client: TestClient, db: Session, phone: str) -> Bought:
    done = buy(client, db, phone, make_shop(db).single)
    assert done.order["total_paise"] == TOTAL
    return done


def order_of(client: TestClient, order: Bought) -> dict[str, Any]:
    response = client.get(f"/orders/{order.order['id']}", headers=order.buyer.headers)
    assert response.status_code == 200, response.text
    return response.json()


def refunds_of(answer: dict[str, Any]) -> list[tuple[str | None, int, str]]:
    return [(r["razorpay_refund_id"], r["amount_paise"], r["status"]) for r in answer["refunds"]]


def credited(client: TestClient, order: Bought) -> list[int]:
    response = client.get(f"/orders/{order.order['id']}/credit-notes", headers=order.buyer.headers)
    assert response.status_code == 200, response.text
    return [note["amount_paise"] for note in response.json()]


def refund_texts(db: Session) -> list[str]:
    return [
        row.body
        for row in outbox(db, NotificationEvent.REFUND_PROCESSED)
        if row.channel == Channel.INBOX
    ]


def refund(
    client: TestClient,
    order: Bought,
    amount: int,
    refund_id: str,
    event_id: str,
    event: str = "refund.processed",
) -> Any:
    """Razorpay reports refund `refund_id` of the order's payment."""
    body = refund_event(order.payment_id, amount, event, refund_id)
    return deliver_webhook(client, body, event_id)


def test_partial_dashboard_refunds_are_each_recorded_credited_and_told(
    client: TestClient, db: Session
) -> None:
    order = bought(client, db, "+919876580001")
    first = refund(client, order, PART, "rfnd_part_a", "evt_part_a")
    assert first.json() == {"status": "processed"}
    answer = order_of(client, order)
    assert answer["status"] == "paid"  # 30 % back: the order goes on
    assert refunds_of(answer) == [("rfnd_part_a", PART, "processed")]
    assert answer["refunded_paise"] == PART

    second = refund(client, order, REST, "rfnd_part_b", "evt_part_b")
    assert second.json() == {"status": "processed"}
    answer = order_of(client, order)
    assert answer["status"] == "refunded"
    assert {item["status"] for item in answer["items"]} == {"refunded"}
    assert refunds_of(answer) == [
        ("rfnd_part_a", PART, "processed"),
        ("rfnd_part_b", REST, "processed"),
    ]
    assert answer["refunded_paise"] == TOTAL

    # The same refund again (another delivery, a late refund.created): nothing more.
    again = refund(client, order, REST, "rfnd_part_b", "evt_part_b_again")
    late = refund(client, order, PART, "rfnd_part_a", "evt_a_created", event="refund.created")
    assert again.json() == late.json() == {"status": "already_known"}
    assert refunds_of(order_of(client, order))[1] == ("rfnd_part_b", REST, "processed")
    assert credited(client, order) == [PART, REST]
    texts = refund_texts(db)
    assert len(texts) == 2
    assert "Your refund of ₹4,499.70" in texts[0] and "Your refund of ₹10,499.30" in texts[1]


def test_a_dashboard_refund_does_not_settle_our_pending_refund(
    client: TestClient, db: Session
) -> None:
    order = bought(client, db, "+919876580002")
    cancelled = client.post(f"/orders/{order.order['id']}/cancel", headers=order.buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    [ours] = cancelled.json()["refunds"]
    assert (ours["amount_paise"], ours["status"]) == (TOTAL, "pending")

    other = refund(client, order, 100, "rfnd_someone_else", "evt_other")
    assert other.json() == {"status": "processed"}
    answer = order_of(client, order)
    assert answer["status"] == "refund_pending"
    assert refunds_of(answer) == [
        (ours["razorpay_refund_id"], TOTAL, "pending"),
        ("rfnd_someone_else", 100, "processed"),
    ]
    assert answer["refunded_paise"] == 100
    assert credited(client, order) == [100]
    [text] = refund_texts(db)
    assert "Your refund of ₹1.00 " in text and "14,999.00" not in text

    done = refund(client, order, TOTAL, ours["razorpay_refund_id"], "evt_ours")
    assert done.json() == {"status": "processed"}
    answer = order_of(client, order)
    assert answer["status"] == "refunded"
    assert [r["status"] for r in answer["refunds"]] == ["processed", "processed"]
    assert len(refund_texts(db)) == 2


def test_cancelling_after_a_partial_dashboard_refund_refunds_the_rest(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    order = bought(client, db, "+919876580003")
    assert refund(client, order, PART, "rfnd_part_c", "evt_part_c").json() == {
        "status": "processed"
    }
    cancelled = client.post(f"/orders/{order.order['id']}/cancel", headers=order.buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refund_pending"
    [sent] = razorpay.refund_requests()
    assert sent.path == f"/v1/payments/{order.payment_id}/refund"
    assert sent.json()["amount"] == REST
    ours = cancelled.json()["refunds"][1]
    assert (ours["amount_paise"], ours["status"]) == (REST, "pending")

    done = refund(client, order, REST, ours["razorpay_refund_id"], "evt_rest")
    assert done.json() == {"status": "processed"}
    answer = order_of(client, order)
    assert answer["status"] == "refunded"
    assert answer["refunded_paise"] == TOTAL
    assert credited(client, order) == [PART, REST]
