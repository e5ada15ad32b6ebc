"""Refund webhooks racing on MariaDB (real threads, real commits): refunds of one payment
delivered at once are each recorded, credited and told once; the same refund delivered twice at
once is one refund."""

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from Invoice_module.models import CreditNote
from Notification_module.models import Channel, Notification, NotificationEvent
from Orders_module.models import Refund
from tests.fakes.razorpay import FakeRazorpay, new_payment_id
from tests.support.http import new_client
from tests.support.orders import (
    Shopper,
    deliver_webhook,
    make_catalogue,
    pay,
    ready_shopper,
    refund_event,
)
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

TOTAL = 2_000_00  # make_catalogue's product
PART = 60_000  # 30 %
REST = TOTAL - PART


def paid(committing: Engine, phone: str) -> tuple[Shopper, dict[str, Any], str]:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, phone, product_id)
    placed = client.post("/orders", headers=buyer.headers)
    assert placed.status_code == 201, placed.text
    payment_id = new_payment_id()
    assert pay(client, buyer, placed.json(), payment_id).status_code == 200
    return buyer, placed.json()["order"], payment_id


def deliver_at_once(payment_id: str, deliveries: list[tuple[int, str, str]]) -> list[Any]:
    """Each (amount, refund id, event id) as refund.processed, all at once from its own client."""
    calls = []
    for amount, refund_id, event_id in deliveries:
        body = refund_event(payment_id, amount, refund_id=refund_id)
        client = new_client()
        calls.append(lambda c=client, b=body, e=event_id: deliver_webhook(c, b, e))
    results = all_at_once(calls)
    assert [r.status_code for r in results] == [200] * len(results), [r.text for r in results]
    return results


def settled(committing: Engine, order_id: int) -> tuple[list[tuple], list[int], int]:
    """The order's refunds (Razorpay id, amount, status), its credit notes' amounts, and how
    many refund messages reached its customer's inbox."""
    with Session(committing) as session:
        refunds = session.execute(
            select(Refund.razorpay_refund_id, Refund.amount_paise, Refund.status)
            .where(Refund.order_id == order_id)
            .order_by(Refund.amount_paise)
        ).all()
        notes = session.scalars(
            select(CreditNote.amount_paise)
            .where(CreditNote.order_id == order_id)
            .order_by(CreditNote.amount_paise)
        ).all()
        told = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.order_id == order_id,
                Notification.event == NotificationEvent.REFUND_PROCESSED,
                Notification.channel == Channel.INBOX,
            )
        )
    return [tuple(row) for row in refunds], list(notes), int(told or 0)


@pytest.mark.parametrize("attempt", range(3))
def test_two_dashboard_refunds_of_one_payment_at_once_are_both_kept(
    committing: Engine, razorpay: FakeRazorpay, attempt: int
) -> None:
    buyer, order, payment_id = paid(committing, f"+91987656{attempt:04d}")
    results = deliver_at_once(
        payment_id,
        [
            (PART, f"rfnd_race_a{attempt}", f"evt_race_a{attempt}"),
            (REST, f"rfnd_race_b{attempt}", f"evt_race_b{attempt}"),
            # The second refund twice more: another delivery, and the same delivery again.
            (REST, f"rfnd_race_b{attempt}", f"evt_race_b{attempt}_again"),
            (REST, f"rfnd_race_b{attempt}", f"evt_race_b{attempt}"),
        ],
    )
    assert sorted(r.json()["status"] for r in results) == [
        "already_known",
        "duplicate",
        "processed",
        "processed",
    ]
    refunds, notes, told = settled(committing, order["id"])
    assert refunds == [
        (f"rfnd_race_a{attempt}", PART, "processed"),
        (f"rfnd_race_b{attempt}", REST, "processed"),
    ]
    assert notes == [PART, REST]
    assert told == 2
    answer = new_client().get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert (answer["status"], answer["refunded_paise"]) == ("refunded", TOTAL)


@pytest.mark.parametrize("attempt", range(3))
def test_our_pending_refund_and_a_dashboard_refund_processed_at_once(
    committing: Engine, razorpay: FakeRazorpay, attempt: int
) -> None:
    buyer, order, payment_id = paid(committing, f"+91987657{attempt:04d}")
    client = new_client()
    dashboard = f"rfnd_dash_{attempt}"
    started = deliver_webhook(
        client,
        refund_event(payment_id, PART, "refund.created", dashboard),
        f"evt_dash_created_{attempt}",
    )
    assert started.json() == {"status": "processed"}
    cancelled = client.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert [r.json()["amount"] for r in razorpay.refund_requests()] == [REST]
    ours = next(r for r in cancelled.json()["refunds"] if r["razorpay_refund_id"] != dashboard)
    assert (ours["amount_paise"], ours["status"]) == (REST, "pending")

    deliver_at_once(
        payment_id,
        [
            (PART, dashboard, f"evt_dash_{attempt}"),
            (REST, ours["razorpay_refund_id"], f"evt_ours_{attempt}"),
            (REST, ours["razorpay_refund_id"], f"evt_ours_{attempt}_again"),
        ],
    )
    refunds, notes, told = settled(committing, order["id"])
    assert refunds == [
        (dashboard, PART, "processed"),
        (ours["razorpay_refund_id"], REST, "processed"),
    ]
    assert notes == [PART, REST]
    assert told == 2
    answer = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert (answer["status"], answer["refunded_paise"]) == ("refunded", TOTAL)
