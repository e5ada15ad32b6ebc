"""A shopper with a checkout-ready cart, and the client side of Razorpay Checkout."""

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from Address_module.models import Address
from Category_module.models import Category
from Consent_module.models import ConsentType
from Member_module.models import Member
from Product_module.models import Product
from tests.fakes.razorpay import new_payment_id, sign_payment, sign_webhook, webhook_body
from tests.support.factories.address import make_address
from tests.support.factories.cart import add_to_cart, make_coupon
from tests.support.factories.category import make_category
from tests.support.factories.consent import grant_all_required, link_consent, make_consent_type
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.login import LoggedIn, login


@dataclass
class Shop:
    category: Category
    single: Product
    couple: Product
    consent: ConsentType


@dataclass
class Shopper:
    me: LoggedIn
    members: list[Member]
    address: Address
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return self.me.headers


def make_shop(db: Session) -> Shop:
    category = make_category(db)
    single = make_product(db, category, name="My genes", price_paise=14_999_00, mrp_paise=24_999_00)
    couple = make_product(
        db,
        category,
        name="Family planning",
        plan_type="couple",
        price_paise=24_999_00,
        mrp_paise=34_999_00,
    )
    consent = make_consent_type(db)
    link_consent(db, single, consent)
    link_consent(db, couple, consent)
    return Shop(category, single, couple, consent)


def shopper(
    client: TestClient,
    db: Session,
    phone: str,
    product: Product,
    *,
    members: int = 1,
    consent: bool = True,
) -> Shopper:
    """Logged in, with members and an address, consents given, `product` in the cart."""
    me = login(client, phone)
    address = make_address(db, me.user_id)
    people = [
        make_member(db, me.user_id, name=f"Member {i}", relation="self" if i == 0 else "spouse")
        for i in range(members)
    ]
    if consent:
        for person in people:
            grant_all_required(db, me.user_id, person, product)
    add_to_cart(client, me.headers, product.id, [(p.id, address.id) for p in people])
    return Shopper(me, people, address)


def checkout(client: TestClient, who: Shopper, key: str | None = None, **body: Any) -> Any:
    headers = dict(who.headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/orders", headers=headers, json=body or None)


def pay(
    client: TestClient, who: Shopper, placed: dict[str, Any], payment_id: str | None = None
) -> Any:
    """What the app does after Razorpay Checkout succeeds: post the signed ids back."""
    razorpay_order_id = placed["payment"]["razorpay_order_id"]
    payment_id = payment_id or new_payment_id()
    return client.post(
        f"/orders/{placed['order']['id']}/verify-payment",
        headers=who.headers,
        json={
            "razorpay_order_id": razorpay_order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": sign_payment(razorpay_order_id, payment_id),
        },
    )


def deliver_webhook(
    client: TestClient, body: bytes, event_id: str, signature: str | None = None
) -> Any:
    return client.post(
        "/orders/webhook/razorpay",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": signature if signature is not None else sign_webhook(body),
            "X-Razorpay-Event-Id": event_id,
        },
    )


def captured_event(
    razorpay_order_id: str, payment_id: str, amount: int, currency: str = "INR"
) -> bytes:
    return webhook_body(
        "payment.captured",
        payment={
            "id": payment_id,
            "entity": "payment",
            "order_id": razorpay_order_id,
            "amount": amount,
            "currency": currency,
            "status": "captured",
            "method": "upi",
        },
    )


def ready_shopper(client: TestClient, engine: Engine, phone: str, product_id: int) -> Shopper:
    """Like `shopper`, for races: the member, address and consents committed in `engine`."""
    me: LoggedIn = login(client, phone)
    with Session(engine, expire_on_commit=False) as session:
        member = make_member(session, me.user_id, relation="self")
        address = make_address(session, me.user_id)
        grant_all_required(session, me.user_id, member, session.get(Product, product_id))
        session.commit()
        buyer = Shopper(me, [member], address)
    add_to_cart(client, me.headers, product_id, [(buyer.members[0].id, buyer.address.id)])
    return buyer


def refund_event(
    payment_id: str, amount: int, event: str = "refund.processed", refund_id: str = "rfnd_fake123"
) -> bytes:
    """A Razorpay refund webhook body for `payment_id`."""
    return webhook_body(
        event,
        refund={
            "id": refund_id,
            "entity": "refund",
            "payment_id": payment_id,
            "amount": amount,
            "status": "processed" if event == "refund.processed" else "pending",
        },
    )


def make_catalogue(engine: Engine, **coupon: Any) -> tuple[int, int | None]:
    """A product that needs one consent (and a coupon made with `coupon`, if any), committed;
    their ids."""
    with Session(engine) as session:
        product = make_product(session, make_category(session), price_paise=2_000_00)
        link_consent(session, product, make_consent_type(session))
        coupon_id = make_coupon(session, code="RACE5", **coupon).id if coupon else None
        session.commit()
        return product.id, coupon_id
