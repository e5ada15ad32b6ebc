"""A consent withdrawn after the order was paid stops that member's test: no fulfilment step
(409 consent_withdrawn), shown on the order, cancellable with a refund until a report is
issued; giving the consent again lifts it."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Orders_module.models import Order, OrderItem, OrderStatusHistory
from tests.fakes.razorpay import FakeRazorpay
from tests.support.consent import confirmed_by_member
from tests.support.http import assert_error
from tests.support.login import LoggedIn
from tests.support.orders import Shop, Shopper, checkout, make_shop, pay, shopper
from tests.support.report import upload

PHONE = "+919876530001"
PARTNER_PHONE = "+919876530002"


def give_consent(client: TestClient, buyer: Shopper, shop: Shop, member_index: int = 0) -> int:
    """The account holder's own consent, or the partner's confirmed from the partner's phone."""
    member = buyer.members[member_index]
    if member.relation != "self":
        updated = client.put(
            f"/member/{member.id}", json={"phone": PARTNER_PHONE}, headers=buyer.headers
        )
        assert updated.status_code == 200, updated.text
        [granted] = confirmed_by_member(
            client, buyer.headers, member.id, PARTNER_PHONE, [shop.consent.code]
        )
        return granted["id"]
    response = client.post(
        "/consent",
        json={"member_id": member.id, "code": shop.consent.code, "version": shop.consent.version},
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def withdraw(client: TestClient, buyer: Shopper, grant_id: int) -> None:
    response = client.post(f"/consent/{grant_id}/withdraw", headers=buyer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"


def paid_order(
    client: TestClient, db: Session, shop: Shop, members: int = 1
) -> tuple[Shopper, dict[str, Any], list[int]]:
    """Consents given through the API, the order placed and paid."""
    product = shop.couple if members == 2 else shop.single
    buyer = shopper(client, db, PHONE, product, members=members, consent=False)
    grants = [give_consent(client, buyer, shop, i) for i in range(members)]
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert pay(client, buyer, placed.json()).status_code == 200
    return buyer, placed.json()["order"], grants


def move_item(
    client: TestClient, admin: LoggedIn, order: dict, item_id: int, status: str, **extra: Any
) -> Any:
    return client.put(
        f"/orders/{order['id']}/items/{item_id}/status",
        json={"status": status, **extra},
        headers=admin.headers,
    )


def move_order(client: TestClient, admin: LoggedIn, order: dict, status: str) -> Any:
    return client.put(
        f"/orders/{order['id']}/status", json={"status": status}, headers=admin.headers
    )


def detail(client: TestClient, who: LoggedIn | Shopper, order: dict) -> dict[str, Any]:
    response = client.get(f"/orders/{order['id']}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def history_rows(db: Session, order_id: int) -> int:
    return db.scalar(
        select(func.count())
        .select_from(OrderStatusHistory)
        .where(OrderStatusHistory.order_id == order_id)
    )


def test_a_withdrawn_consent_stops_fulfilment_until_it_is_given_again(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin: LoggedIn
) -> None:
    shop = make_shop(db)
    buyer, order, [grant_id] = paid_order(client, db, shop)
    [item] = order["items"]
    scheduled = move_item(
        client, admin, order, item["id"], "sample_collection_scheduled", scheduled_date="2031-06-02"
    )
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["items"][0]["consent_withdrawn"] is False

    withdraw(client, buyer, grant_id)
    rows_before = history_rows(db, order["id"])
    body = assert_error(
        move_item(client, admin, order, item["id"], "sample_collected"), 409, "consent_withdrawn"
    )
    assert body["details"] == [
        {
            "item_id": item["id"],
            "member_id": buyer.members[0].id,
            "product_id": shop.single.id,
            "codes": [shop.consent.code],
        }
    ]
    # The whole-order move refuses the same way; nothing was written by either.
    assert_error(move_order(client, admin, order, "sample_collected"), 409, "consent_withdrawn")
    db.expire_all()
    stored = db.get(Order, order["id"])
    assert stored.status == "sample_collection_scheduled"
    item_statuses = db.scalars(select(OrderItem.status).where(OrderItem.order_id == order["id"]))
    assert list(item_statuses) == ["sample_collection_scheduled"]
    assert history_rows(db, order["id"]) == rows_before

    # The admin's order view (and the customer's) says which test is stopped and why.
    for who in (admin, buyer):
        [shown] = detail(client, who, order)["items"]
        assert shown["consent_withdrawn"] is True
        assert shown["withdrawn_consents"] == [shop.consent.code]

    # Given again (the current version): the test goes on.
    give_consent(client, buyer, shop)
    [shown] = detail(client, admin, order)["items"]
    assert (shown["consent_withdrawn"], shown["withdrawn_consents"]) == (False, [])
    collected = move_item(client, admin, order, item["id"], "sample_collected")
    assert collected.status_code == 200, collected.text
    assert collected.json()["status"] == "sample_collected"
    assert razorpay.refund_requests() == []


def test_only_the_member_who_withdrew_is_stopped(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin: LoggedIn
) -> None:
    shop = make_shop(db)
    buyer, order, [first_grant, _] = paid_order(client, db, shop, members=2)
    first, second = order["items"]
    withdraw(client, buyer, first_grant)
    assert move_item(client, admin, order, second["id"], "sample_collection_scheduled").is_success
    assert_error(
        move_item(client, admin, order, first["id"], "sample_collection_scheduled"),
        409,
        "consent_withdrawn",
    )
    items = {i["id"]: i for i in detail(client, admin, order)["items"]}
    assert items[first["id"]]["consent_withdrawn"] is True
    assert items[second["id"]]["consent_withdrawn"] is False


def test_the_customer_can_cancel_a_stopped_order_in_the_lab_and_is_refunded(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin: LoggedIn
) -> None:
    shop = make_shop(db)
    buyer, order, [grant_id] = paid_order(client, db, shop)
    [item] = order["items"]
    for status in ("sample_collection_scheduled", "sample_collected", "in_lab"):
        assert move_item(client, admin, order, item["id"], status).status_code == 200
    # Without a withdrawal, a sample in the lab can't be cancelled.
    refused = client.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
    assert_error(refused, 409, "order_not_cancellable")

    withdraw(client, buyer, grant_id)
    # The lab's report is refused too, and nothing is stored.
    assert_error(upload(client, admin, order["id"], item["id"]), 409, "consent_withdrawn")
    cancelled = client.post(
        f"/orders/{order['id']}/cancel", json={"reason": "withdrew consent"}, headers=buyer.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refund_pending"
    [refund] = razorpay.refund_requests()
    assert refund.json()["amount"] == order["total_paise"]


def test_support_can_cancel_a_stopped_order_with_a_refund(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin: LoggedIn
) -> None:
    shop = make_shop(db)
    buyer, order, [grant_id] = paid_order(client, db, shop)
    [item] = order["items"]
    for status in ("sample_collection_scheduled", "sample_collected"):
        assert move_item(client, admin, order, item["id"], status).status_code == 200
    assert_error(move_order(client, admin, order, "cancelled"), 409, "invalid_status_transition")

    withdraw(client, buyer, grant_id)
    cancelled = move_order(client, admin, order, "cancelled")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refund_pending"
    assert [i["status"] for i in cancelled.json()["items"]] == ["refund_pending"]
    assert len(razorpay.refund_requests()) == 1


def test_a_stopped_order_with_a_report_is_not_cancellable(
    client: TestClient, db: Session, razorpay: FakeRazorpay, admin: LoggedIn
) -> None:
    shop = make_shop(db)
    buyer, order, [grant_id] = paid_order(client, db, shop)
    [item] = order["items"]
    for status in ("sample_collection_scheduled", "sample_collected", "in_lab"):
        assert move_item(client, admin, order, item["id"], status).status_code == 200
    assert upload(client, admin, order["id"], item["id"]).status_code == 201
    withdraw(client, buyer, grant_id)
    assert_error(move_item(client, admin, order, item["id"], "completed"), 409, "consent_withdrawn")
    assert_error(
        client.post(f"/orders/{order['id']}/cancel", headers=buyer.headers),
        409,
        "order_not_cancellable",
    )
    assert_error(move_order(client, admin, order, "cancelled"), 409, "invalid_status_transition")
    assert razorpay.refund_requests() == []
