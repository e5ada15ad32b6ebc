"""POST /orders: checks, snapshots, Razorpay order, idempotency, provider failures."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Address_module.models import ServiceableLocation
from Audit_module.models import AuditLog
from Cart_module.models import CouponRedemption
from Consent_module.models import ConsentGrant
from Orders_module.idempotency import claim
from Orders_module.models import Order, OrderItem
from tests.fakes.razorpay import FakeRazorpay, error
from tests.fakes.server import FakeResponse
from tests.support.database import IS_MARIADB, counting_statements
from tests.support.factories.address import make_address
from tests.support.factories.cart import add_to_cart, make_coupon
from tests.support.factories.consent import grant_all_required, link_consent
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, login
from tests.support.orders import Shopper, checkout, make_shop, pay, shopper


def count_orders(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Order)) or 0


def payable_orders(db: Session) -> int:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Order).where(Order.status == "pending_payment"))
        or 0
    )


def test_happy_path_from_login_to_paid(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    coupon = make_coupon(db, code="WELCOME10", percent_off=10)
    buyer = shopper(client, db, "+919876500001", shop.single)
    applied = client.post("/cart/coupon", json={"code": "welcome10"}, headers=buyer.headers)
    assert applied.status_code == 200, applied.text
    assert applied.json()["discount_paise"] == 1_499_90

    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    body = placed.json()
    order = body["order"]
    assert order["status"] == "pending_payment"
    assert order["subtotal_paise"] == 14_999_00
    assert order["discount_paise"] == 1_499_90
    assert order["total_paise"] == 13_499_10
    assert order["coupon_code"] == "WELCOME10"
    assert body["payment"] == {
        "razorpay_order_id": order["razorpay_order_id"],
        "key_id": "rzp_test_fake",
        "amount_paise": 13_499_10,
        "currency": "INR",
    }
    [sent] = razorpay.order_requests()
    assert sent.json()["amount"] == 13_499_10
    assert sent.json()["currency"] == "INR"
    assert sent.json()["receipt"] == order["order_number"]
    assert len(order["order_number"]) <= 40

    paid = pay(client, buyer, body)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert [p["status"] for p in paid.json()["payments"]] == ["captured"]
    assert [h["status"] for h in paid.json()["status_history"]] == ["pending_payment", "paid"]
    assert client.get("/cart", headers=buyer.headers).json()["items"] == []
    db.expire_all()
    redemption = db.scalar(select(CouponRedemption).where(CouponRedemption.coupon_id == coupon.id))
    assert redemption.status == "used"
    actions = set(db.scalars(select(AuditLog.action).where(AuditLog.entity_type == "order")))
    assert {"order.created", "payment.captured", "order.status_changed"} <= actions


def test_one_item_per_member_with_snapshots(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500002", shop.couple, members=2)
    order = checkout(client, buyer).json()["order"]
    assert [item["member"]["name"] for item in order["items"]] == ["Member 0", "Member 1"]
    assert {item["line_group"] for item in order["items"]} == {1}
    assert order["items"][0]["address"]["city"] == buyer.address.city
    assert order["items"][0]["product"] == {
        "id": shop.couple.id,
        "name": "Family planning",
        "plan_type": "couple",
    }
    # Later catalogue and member edits don't rewrite history.
    shop.couple.name = "Renamed"
    shop.couple.price_paise = 1_00
    buyer.members[0].name = "Someone Else"
    db.flush()
    again = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert again["items"][0]["product"]["name"] == "Family planning"
    assert again["items"][0]["member"]["name"] == "Member 0"
    assert again["total_paise"] == 24_999_00


def test_empty_cart_is_refused(client: TestClient, db: Session, razorpay: FakeRazorpay) -> None:
    me = login(client, "+919876500003")
    assert_error(client.post("/orders", headers=me.headers), 409, "cart_empty")
    assert razorpay.order_requests() == []


def test_missing_consents_are_listed(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500004", shop.couple, members=2, consent=False)
    partner = buyer.members[1]
    db.add(
        ConsentGrant(
            user_id=buyer.me.user_id,
            member_id=buyer.members[0].id,
            consent_type_id=shop.consent.id,
            code="genetic_testing",
            version=1,
        )
    )
    db.flush()
    body = assert_error(checkout(client, buyer), 409, "consent_required")
    # The partner is an adult: the consent must come from them (a consent request).
    assert body["details"] == [
        {
            "member_id": partner.id,
            "product_id": shop.couple.id,
            "code": shop.consent.code,
            "reason": "member_confirmation_required",
        }
    ]
    assert count_orders(db) == 0
    assert razorpay.order_requests() == []


def test_a_location_an_admin_turns_off_is_refused_by_the_next_checkout(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    """Checkout reads the serviceable cities from memory (per catalogue version); the admin's
    change is seen by the very next checkout."""
    shop = make_shop(db)
    first = shopper(client, db, "+919876500041", shop.single)
    second = shopper(client, db, "+919876500042", shop.single)
    assert checkout(client, first).status_code == 201
    location = db.scalar(
        select(ServiceableLocation).where(ServiceableLocation.city == second.address.city)
    )
    admin = login(client, ADMIN_PHONE)
    turned_off = client.put(
        f"/address/admin/locations/{location.id}", json={"is_active": False}, headers=admin.headers
    )
    assert turned_off.status_code == 200, turned_off.text
    assert_error(checkout(client, second), 422, "location_not_serviceable")


def test_address_no_longer_serviceable_is_refused(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500005", shop.single)
    location = db.scalar(
        select(ServiceableLocation).where(ServiceableLocation.city == buyer.address.city)
    )
    location.is_active = False
    db.flush()
    body = assert_error(checkout(client, buyer), 422, "location_not_serviceable")
    assert body["details"] == [{"member_id": buyer.members[0].id, "address_id": buyer.address.id}]
    assert count_orders(db) == 0


def test_deactivated_product_stops_checkout(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500006", shop.single)
    shop.single.is_active = False
    db.flush()
    assert checkout(client, buyer).status_code == 409
    assert count_orders(db) == 0


def test_coupon_that_expired_since_it_was_applied_is_refused(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    from datetime import timedelta

    from database import utcnow

    shop = make_shop(db)
    coupon = make_coupon(db, code="SHORTLIVED")
    buyer = shopper(client, db, "+919876500007", shop.single)
    assert (
        client.post("/cart/coupon", json={"code": "SHORTLIVED"}, headers=buyer.headers).status_code
        == 200
    )
    coupon.valid_to = utcnow() - timedelta(minutes=1)
    db.flush()
    assert_error(checkout(client, buyer), 400, "coupon_expired")
    assert count_orders(db) == 0


def test_zero_total_is_paid_without_razorpay(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    make_coupon(db, code="FREE100", percent_off=100)
    buyer = shopper(client, db, "+919876500008", shop.single)
    client.post("/cart/coupon", json={"code": "FREE100"}, headers=buyer.headers)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert placed.json()["order"]["status"] == "paid"
    assert placed.json()["order"]["total_paise"] == 0
    assert placed.json()["payment"] is None
    assert razorpay.order_requests() == []
    assert client.get("/cart", headers=buyer.headers).json()["items"] == []


def test_razorpay_down_cancels_the_order_releases_its_coupon_and_keeps_the_cart(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    make_coupon(db, code="HELD10", usage_limit_total=1)
    buyer = shopper(client, db, "+919876500009", shop.single)
    client.post("/cart/coupon", json={"code": "HELD10"}, headers=buyer.headers)
    razorpay.fail_next.append(error(500, "SERVER_ERROR", "Something went wrong"))
    response = checkout(client, buyer, key="tap-0009")
    assert_error(response, 503, "payment_provider_unavailable")
    assert "SERVER_ERROR" not in response.text
    # The order was committed before Razorpay was called; the failure cancelled it again.
    assert payable_orders(db) == 0
    [failed] = db.scalars(select(Order)).all()
    assert failed.status == "cancelled" and failed.razorpay_order_id is None
    assert failed.cancel_reason == "payment provider unavailable"
    assert db.scalar(select(CouponRedemption.status)) == "released"
    cart = client.get("/cart", headers=buyer.headers).json()
    assert len(cart["items"]) == 1 and cart["coupon"]["code"] == "HELD10"
    # Retrying once Razorpay is back works, with the same key, and the single-use coupon.
    retried = checkout(client, buyer, key="tap-0009")
    assert retried.status_code == 201, retried.text
    assert retried.json()["order"]["id"] != failed.id
    assert retried.json()["order"]["coupon_code"] == "HELD10"
    assert retried.json()["payment"]["razorpay_order_id"]
    assert checkout(client, buyer, key="tap-0009").json()["order"] == retried.json()["order"]


def test_razorpay_timeout_is_bounded(
    client: TestClient, db: Session, razorpay: FakeRazorpay, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "RAZORPAY_TIMEOUT_SECONDS", 0.3)
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500010", shop.single)
    razorpay.fail_next.append(FakeResponse(200, {}, delay_seconds=1.5))
    assert_error(checkout(client, buyer), 503, "payment_provider_unavailable")
    assert payable_orders(db) == 0


def test_razorpay_unreachable_is_a_503(
    client: TestClient, db: Session, razorpay: FakeRazorpay, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "RAZORPAY_BASE_URL", "http://127.0.0.1:1")
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500011", shop.single)
    assert_error(checkout(client, buyer), 503, "payment_provider_unavailable")
    assert payable_orders(db) == 0


def test_same_idempotency_key_returns_the_same_order(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500012", shop.single)
    first = checkout(client, buyer, key="checkout-abc-1")
    second = checkout(client, buyer, key="checkout-abc-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["order"]["id"] == second.json()["order"]["id"]
    assert first.json()["payment"] == second.json()["payment"]
    assert len(razorpay.order_requests()) == 1
    assert count_orders(db) == 1


def test_same_key_with_another_body_is_refused(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500013", shop.single)
    assert checkout(client, buyer, key="checkout-abc-2", note="ring the bell").status_code == 201
    assert_error(
        checkout(client, buyer, key="checkout-abc-2", note="knock"), 422, "idempotency_key_reused"
    )


def test_key_still_running_is_409(client: TestClient, db: Session, razorpay: FakeRazorpay) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500014", shop.single)
    assert claim(buyer.me.user_id, "checkout-abc-3")  # another request holds it
    assert_error(checkout(client, buyer, key="checkout-abc-3"), 409, "request_in_progress")
    assert count_orders(db) == 0


def test_keys_are_per_user(client: TestClient, db: Session, razorpay: FakeRazorpay) -> None:
    shop = make_shop(db)
    one = shopper(client, db, "+919876500015", shop.single)
    two = shopper(client, db, "+919876500016", shop.single)
    a = checkout(client, one, key="shared-key-1").json()["order"]["id"]
    b = checkout(client, two, key="shared-key-1").json()["order"]["id"]
    assert a != b


def test_a_new_checkout_replaces_an_unpaid_one(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    make_coupon(db, code="ONCEONLY", usage_limit_per_user=1)
    buyer = shopper(client, db, "+919876500017", shop.single)
    client.post("/cart/coupon", json={"code": "ONCEONLY"}, headers=buyer.headers)
    first = checkout(client, buyer).json()["order"]
    second = checkout(client, buyer)
    assert second.status_code == 201, second.text
    old = client.get(f"/orders/{first['id']}", headers=buyer.headers).json()
    assert old["status"] == "cancelled"
    assert second.json()["order"]["coupon_code"] == "ONCEONLY"


@pytest.mark.parametrize("with_coupon", [False, True])
def test_a_replaced_order_ends_with_its_items_history_and_audit_entry(
    client: TestClient, db: Session, razorpay: FakeRazorpay, with_coupon: bool
) -> None:
    """Ended after the new order is written, or before the cart is priced when it holds a
    coupon: either way it is cancelled with all its items, in its history and the audit."""
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500027", shop.single)
    second_product = make_product(db, shop.category, name="Second replaced test")
    link_consent(db, second_product, shop.consent)
    grant_all_required(db, buyer.me.user_id, buyer.members[0], second_product)
    add_to_cart(client, buyer.headers, second_product.id, [(buyer.members[0].id, buyer.address.id)])
    if with_coupon:
        make_coupon(db, code="REPLACED10")
        client.post("/cart/coupon", json={"code": "REPLACED10"}, headers=buyer.headers)
    first = checkout(client, buyer).json()["order"]
    second = checkout(client, buyer)
    assert second.status_code == 201, second.text
    old = client.get(f"/orders/{first['id']}", headers=buyer.headers).json()
    assert old["status"] == "cancelled"
    assert old["cancel_reason"] == "superseded by a newer checkout"
    assert [item["status"] for item in old["items"]] == ["cancelled", "cancelled"]
    assert [(h["status"], h["note"]) for h in old["status_history"]][-1] == (
        "cancelled",
        "superseded by a newer checkout",
    )
    assert [item["status"] for item in second.json()["order"]["items"]] == [
        "pending_payment",
        "pending_payment",
    ]
    ended = db.scalars(
        select(AuditLog).where(
            AuditLog.action == "order.status_changed", AuditLog.entity_id == str(first["id"])
        )
    ).all()
    assert [entry.changes["status"]["new"] for entry in ended] == ["cancelled"]
    if with_coupon:
        held = db.scalars(select(CouponRedemption.status).order_by(CouponRedemption.id)).all()
        assert held == ["released", "held"]


def test_bad_idempotency_key_header_is_422(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    me = login(client, "+919876500018")
    response = client.post("/orders", headers={**me.headers, "Idempotency-Key": "x" * 200})
    assert_error(response, 422, "validation_error")


def test_checkout_needs_login(client: TestClient) -> None:
    assert_error(client.post("/orders"), 401, "not_authenticated")


def test_items_reference_members_for_in_use_checks(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876500019", shop.single)
    placed = checkout(client, buyer).json()
    pay(client, buyer, placed)
    member_id = buyer.members[0].id
    assert db.scalar(select(OrderItem.member_id)) == member_id
    assert_error(client.delete(f"/member/{member_id}", headers=buyer.headers), 409, "member_in_use")


@pytest.mark.skipif(
    not IS_MARIADB,
    reason="SQLite's driver inserts the order's items one by one; MySQL batches them, and its "
    "count is the one that matters",
)
def test_checkout_statements_do_not_grow_with_the_cart(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    """Members, addresses, their cities, consents and the new rows are read and written per
    checkout, not per item."""

    def statements_for(phone: str, extra_items: int) -> int:
        shop = make_shop(db)
        who = shopper(client, db, phone, shop.single)
        for n in range(extra_items):
            product = make_product(db, shop.category, name=f"Extra test {phone} {n}")
            link_consent(db, product, shop.consent)
            member = make_member(db, who.me.user_id, name=f"Relative {n}", relation="sibling")
            address = make_address(db, who.me.user_id, city="MUMBAI" if n % 2 else "BANGALORE")
            grant_all_required(db, who.me.user_id, member, product)
            add_to_cart(client, who.headers, product.id, [(member.id, address.id)])
        with counting_statements() as statements:
            assert checkout(client, who).status_code == 201
        kept = [s for s in statements if not s.split()[0].upper().endswith("SAVEPOINT")]
        return len(kept)

    assert statements_for("+919876571001", 0) == statements_for("+919876571002", 3)


@pytest.mark.skipif(
    not IS_MARIADB,
    reason="SQLite's driver inserts the order's items one by one; MySQL batches them",
)
def test_a_two_item_checkout_runs_10_statements(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    """Lock the user, cart and unpaid orders in one read, read the cart's items once, price
    them once, check the consents, write the order, its items, history and audit entry,
    commit, attach the Razorpay order, commit. Each test's commit is a savepoint release here; it
    counts as the COMMIT it stands for."""
    shop = make_shop(db)

    def two_item_shopper(phone: str) -> Shopper:
        who = shopper(client, db, phone, shop.single)
        product = make_product(db, shop.category, name=f"Second test {phone}")
        link_consent(db, product, shop.consent)
        grant_all_required(db, who.me.user_id, who.members[0], product)
        add_to_cart(client, who.headers, product.id, [(who.members[0].id, who.address.id)])
        return who

    first, second = two_item_shopper("+919876571011"), two_item_shopper("+919876571012")
    assert checkout(client, first).status_code == 201  # the first one reads the locations
    with counting_statements() as statements:
        placed = checkout(client, second)
    assert placed.status_code == 201, placed.text
    assert len(placed.json()["order"]["items"]) == 2
    sent = [s for s in statements if not s.upper().startswith("SAVEPOINT")]
    assert len(sent) == 10, "\n".join(s.split(" FROM ")[0][:80] for s in sent)
    assert not any("serviceable_locations" in s for s in sent)
