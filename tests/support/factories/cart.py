"""Coupons, orders and cart contents for cart and checkout tests."""

from collections.abc import Iterable
from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Cart_module.models import Coupon, CouponRedemption, RedemptionStatus
from Orders_module.models import Order

_sequence = count(1)

Members = Iterable[tuple[int, int] | dict[str, int]]


def make_coupon(db: Session, **overrides: Any) -> Coupon:
    """An active, public (listed), unrestricted, unlimited 10 % coupon with a unique code;
    flushed."""
    n = next(_sequence)
    values: dict[str, Any] = {
        "code": f"SAVE{n}",
        "description": f"Coupon {n}",
        "discount_type": "percent",
        "percent_off": 10,
        "min_order_paise": 0,
        "product_ids": [],
        "category_ids": [],
        "active": True,
        "public": True,
        **overrides,
    }
    if values["discount_type"] == "flat" and "percent_off" not in overrides:
        values["percent_off"] = None
    coupon = Coupon(**values)
    db.add(coupon)
    db.flush()
    return coupon


def make_order(db: Session, user_id: int, **overrides: Any) -> Order:
    """A bare order awaiting payment (what a coupon hold hangs on); flushed."""
    n = next(_sequence)
    values: dict[str, Any] = {
        "order_number": f"NT-TEST-{n:06d}",
        "user_id": user_id,
        "status": "pending_payment",
        "subtotal_paise": 499_900,
        "discount_paise": 0,
        "total_paise": 499_900,
        **overrides,
    }
    order = Order(**values)
    db.add(order)
    db.flush()
    return order


def make_redemption(
    db: Session,
    coupon: Coupon,
    user_id: int,
    status: RedemptionStatus = RedemptionStatus.USED,
    **overrides: Any,
) -> CouponRedemption:
    """A use of `coupon` by `user_id` on a fresh order, in the given status; flushed."""
    order = make_order(db, user_id)
    redemption = CouponRedemption(
        coupon_id=coupon.id,
        user_id=user_id,
        order_id=order.id,
        discount_paise=overrides.pop("discount_paise", 10_000),
        status=status,
        **overrides,
    )
    db.add(redemption)
    db.flush()
    return redemption


def member_choices(members: Members) -> list[dict[str, int]]:
    return [m if isinstance(m, dict) else {"member_id": m[0], "address_id": m[1]} for m in members]


def add_to_cart(
    client: TestClient,
    headers: dict[str, str],
    product_id: int,
    members: Members,
    quantity: int = 1,
) -> dict[str, Any]:
    """POST /cart/add (members as (member_id, address_id) pairs or dicts); the cart it returns."""
    response = client.post(
        "/cart/add",
        headers=headers,
        json={"product_id": product_id, "members": member_choices(members), "quantity": quantity},
    )
    assert response.status_code == 200, response.text
    return response.json()
