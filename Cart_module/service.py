"""The cart's writes: items (a product for a group of members), the coupon, emptying it.

Writes take the user row, then the cart row (`_lock_cart`; `empty_cart` locks only the cart),
and most answer with the cart priced again (Cart_module.pricing). Other modules reach the cart
through Cart_module.checkout.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from Address_module.errors import LocationNotServiceable
from Address_module.service import get_address, serviceability_for
from Audit_module.service import record_audit, record_rejection
from Cart_module.answers import UsableCoupon
from Cart_module.coupon_rules import (
    coupon_discount,
    find_coupon,
    normalize_code,
    usable_coupons,
)
from Cart_module.errors import (
    AlreadyInCart,
    CartItemNotFound,
    CouponError,
    CouponNotApplicable,
    InvalidMemberCount,
)
from Cart_module.models import Cart, CartItem, CartItemMember, Coupon
from Cart_module.pricing import CART, ITEM, CartView, has_paid_order, load_cart, price_cart
from config import get_settings
from core.clock import utcnow
from core.rate_limit import hit_sliding_window
from database import locked
from Login_module.locks import lock_user
from Member_module.errors import MemberNotFound
from Member_module.service import (
    lock_live_members,
)
from Product_module.models import Product
from Product_module.service import get_product_for_sale


@dataclass(frozen=True)
class MemberChoice:
    """Who an item is for and where their sample is collected (a request's `members` entry)."""

    member_id: int
    address_id: int


# --- members held by carts ---------------------------------------------------------------------


def member_in_cart(db: Session, member_id: int) -> bool:
    """Whether any cart holds the member. A locking read, so a cart row committed after this
    transaction's snapshot still counts, and no cart can take the member until we commit."""
    statement = (
        select(CartItemMember.id)
        .where(CartItemMember.member_id == member_id)
        .limit(1)
        .with_for_update(read=True)
    )
    return db.scalar(statement) is not None


# --- writes ------------------------------------------------------------------------------------


def _lock_cart(db: Session, user_id: int) -> Cart | None:
    """Lock the user row, then the user's cart row if there is one, until commit.

    Every cart write takes the user first, as Member_module does before the members: one lock
    order, so cart writes, member writes and deletes never deadlock, and two first adds cannot
    both create a cart (without it their gap locks on the missing row deadlock on insert).
    Checkout takes the user first as well; `empty_cart` locks only the cart and never then waits
    for the user.
    """
    lock_user(db, user_id)
    cart = db.scalar(locked(select(Cart).where(Cart.user_id == user_id)))
    return cart


def _lock_or_create_cart(db: Session, user_id: int) -> Cart:
    cart = _lock_cart(db, user_id)
    if cart is None:
        cart = Cart(user_id=user_id)
        db.add(cart)
        db.flush()
    return cart


def _check_member_count(product: Product, choices: Sequence[MemberChoice]) -> None:
    member_ids = [choice.member_id for choice in choices]
    if len(set(member_ids)) != len(member_ids):
        raise InvalidMemberCount()
    if not product.min_members <= len(member_ids) <= product.max_members:
        raise InvalidMemberCount(
            f"{product.name} is for {_members_range(product)}; you chose {len(member_ids)}."
        )


def _members_range(product: Product) -> str:
    if product.min_members == product.max_members:
        plural = "" if product.min_members == 1 else "s"
        return f"{product.min_members} member{plural}"
    return f"{product.min_members} to {product.max_members} members"


def _check_choices(db: Session, user_id: int, choices: Sequence[MemberChoice]) -> None:
    """Each member mine and not deleted, each address mine and in a city where we collect or
    pick up samples.

    The members are locked (user row, then members, the order Member_module's delete uses) so
    none can be deleted between this check and our commit; delete_member's in-use check then
    waits for us and sees the cart row.
    """
    live = {member.id for member in lock_live_members(db, user_id)}
    if any(choice.member_id not in live for choice in choices):
        raise MemberNotFound()
    checked_addresses: set[int] = set()
    for choice in choices:
        if choice.address_id in checked_addresses:
            continue
        address = get_address(db, user_id, choice.address_id)
        location = serviceability_for(db, address.city)
        if location is None or not (location.home_collection or location.sample_pickup):
            raise LocationNotServiceable()
        checked_addresses.add(choice.address_id)


def _check_not_in_cart(
    db: Session,
    cart_id: int,
    product_id: int,
    member_ids: Sequence[int],
    except_item_id: int | None = None,
) -> None:
    statement = (
        select(CartItemMember.id)
        .join(CartItem, CartItem.id == CartItemMember.cart_item_id)
        .where(
            CartItem.cart_id == cart_id,
            CartItem.product_id == product_id,
            CartItemMember.member_id.in_(member_ids),
        )
        .limit(1)
    )
    if except_item_id is not None:
        statement = statement.where(CartItem.id != except_item_id)
    if db.scalar(statement) is not None:
        raise AlreadyInCart()


def _item_snapshot(item: CartItem) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "quantity": item.quantity,
        "members": [{"member_id": m.member_id, "address_id": m.address_id} for m in item.members],
    }


def add_item(
    db: Session,
    user_id: int,
    product_id: int,
    choices: Sequence[MemberChoice],
    quantity: int = 1,
) -> CartView:
    """Put a product in my cart for these members; returns the priced cart.

    404 product_not_found / member_not_found / address_not_found, 422 invalid_member_count /
    location_not_serviceable, 409 already_in_cart (the product already there for a member).
    """
    product = get_product_for_sale(db, product_id)
    _check_member_count(product, choices)
    cart = _lock_or_create_cart(db, user_id)
    _check_choices(db, user_id, choices)
    _check_not_in_cart(db, cart.id, product.id, [c.member_id for c in choices])
    item = CartItem(
        cart_id=cart.id,
        product_id=product.id,
        quantity=quantity,
        members=[CartItemMember(member_id=c.member_id, address_id=c.address_id) for c in choices],
    )
    db.add(item)
    db.flush()
    record_audit(
        db,
        action="cart.item_added",
        entity_type=ITEM,
        entity_id=item.id,
        actor_user_id=user_id,
        changes=_item_snapshot(item),
    )
    return price_cart(db, user_id)


def _owned_item(db: Session, user_id: int, item_id: int) -> tuple[Cart, CartItem]:
    """My cart (locked) and one of its items with members loaded; else CartItemNotFound."""
    cart = _lock_cart(db, user_id)
    item = None
    if cart is not None:
        item = db.scalar(
            select(CartItem)
            .where(CartItem.id == item_id, CartItem.cart_id == cart.id)
            .options(selectinload(CartItem.members))
            .execution_options(populate_existing=True)
        )
    if cart is None or item is None:
        raise CartItemNotFound()
    return cart, item


def update_item(
    db: Session,
    user_id: int,
    item_id: int,
    *,
    quantity: int | None = None,
    choices: Sequence[MemberChoice] | None = None,
) -> CartView:
    """Change an item's quantity and/or members (checked as when adding); the priced cart."""
    _cart, item = _owned_item(db, user_id, item_id)
    product = get_product_for_sale(db, item.product_id)
    old = _item_snapshot(item)
    if choices is not None:
        _check_member_count(product, choices)
        _check_choices(db, user_id, choices)
        _check_not_in_cart(
            db, item.cart_id, product.id, [c.member_id for c in choices], except_item_id=item.id
        )
        wanted = {c.member_id: c.address_id for c in choices}
        # Removed members go first, so the (item, member) unique key never sees a duplicate.
        for entry in list(item.members):
            if entry.member_id not in wanted:
                item.members.remove(entry)
        db.flush()
        kept = {entry.member_id: entry for entry in item.members}
        for choice in choices:
            if choice.member_id in kept:
                kept[choice.member_id].address_id = choice.address_id
            else:
                item.members.append(
                    CartItemMember(member_id=choice.member_id, address_id=choice.address_id)
                )
    if quantity is not None:
        item.quantity = quantity
    db.flush()
    new = _item_snapshot(item)
    changed = {key: {"old": old[key], "new": new[key]} for key in new if old[key] != new[key]}
    if changed:
        record_audit(
            db,
            action="cart.item_updated",
            entity_type=ITEM,
            entity_id=item.id,
            actor_user_id=user_id,
            changes=changed,
        )
    return price_cart(db, user_id)


def remove_item(db: Session, user_id: int, item_id: int) -> None:
    """Take an item out of my cart (404 cart_item_not_found if it is not in it)."""
    _cart, item = _owned_item(db, user_id, item_id)
    snapshot = _item_snapshot(item)
    db.delete(item)
    db.flush()
    record_audit(
        db,
        action="cart.item_removed",
        entity_type=ITEM,
        entity_id=item_id,
        actor_user_id=user_id,
        changes={**snapshot, "reason": "removed"},
    )


def empty_cart(db: Session, user_id: int, *, order_paid_at: datetime | None = None) -> None:
    """Remove every item and the coupon (DELETE /cart, and checkout once an order is paid).
    Audited as `cart.cleared` when there was something to remove.

    `order_paid_at`: an order of the user's was paid then; the first one is kept on the cart
    row (written with the clearing's own UPDATE), so `first_order_only` coupons stop applying.
    """
    cart = load_cart(db, user_id, for_update=True)
    if order_paid_at is not None:
        cart = _record_paid_order(db, user_id, cart, order_paid_at)
    if cart is None or (not cart.items and cart.coupon is None):
        db.flush()
        return
    changes = {
        "items": [_item_snapshot(item) for item in cart.items],
        "coupon": cart.coupon.code if cart.coupon is not None else None,
    }
    cart.items.clear()
    cart.coupon = None
    db.flush()
    record_audit(
        db,
        action="cart.cleared",
        entity_type=CART,
        entity_id=cart.id,
        actor_user_id=user_id,
        changes=changes,
    )


def _record_paid_order(db: Session, user_id: int, cart: Cart | None, paid_at: datetime) -> Cart:
    """The cart row (created if the account had none) knows its first paid order."""
    if cart is None:
        cart = Cart(user_id=user_id, items=[], coupon=None)
        db.add(cart)
    if cart.first_order_paid_at is None:
        cart.first_order_paid_at = paid_at
    return cart


def apply_coupon(db: Session, user_id: int, code: str) -> CartView:
    """Put a coupon on my cart (code in any case); the cart priced with it.

    400 coupon_invalid / coupon_expired / coupon_usage_exceeded / coupon_not_applicable /
    coupon_min_order; a refusal is audited (it survives the rollback). Attempts are capped per
    user (COUPON_ATTEMPTS_PER_HOUR, 429 rate_limited) so codes can't be guessed by brute force.
    """
    hit_sliding_window(f"rl:coupon:{user_id}", get_settings().COUPON_ATTEMPTS_PER_HOUR, 3600)
    _lock_cart(db, user_id)
    try:
        coupon = find_coupon(db, code, user_id)
        before = price_cart(db, user_id)
        if not before.lines or before.cart is None:
            raise CouponNotApplicable()
        coupon_discount(
            db, coupon, user_id, before.lines, utcnow(), has_paid_order=has_paid_order(before.cart)
        )
    except CouponError as refusal:
        record_rejection(
            db,
            action="cart.coupon_rejected",
            entity_type=CART,
            actor_user_id=user_id,
            changes={"code": normalize_code(code)[:64], "reason": refusal.code},
        )
        raise
    cart = before.cart
    previous = cart.coupon.code if cart.coupon is not None else None
    cart.coupon = coupon
    db.flush()
    record_audit(
        db,
        action="cart.coupon_applied",
        entity_type=CART,
        entity_id=cart.id,
        actor_user_id=user_id,
        changes={"code": {"old": previous, "new": coupon.code}},
    )
    after = price_cart(db, user_id)
    after.notices = before.notices + after.notices
    return after


def remove_coupon(db: Session, user_id: int) -> CartView:
    """Take the coupon off my cart (nothing to do without one); the priced cart."""
    cart = _lock_cart(db, user_id)
    if cart is not None and cart.coupon_id is not None:
        code = db.scalar(select(Coupon.code).where(Coupon.id == cart.coupon_id))
        cart.coupon_id = None
        db.flush()
        record_audit(
            db,
            action="cart.coupon_removed",
            entity_type=CART,
            entity_id=cart.id,
            actor_user_id=user_id,
            changes={"code": code, "reason": "removed"},
        )
    return price_cart(db, user_id)


def list_usable_coupons(db: Session, user_id: int) -> list[UsableCoupon]:
    """Coupons I can use now, each evaluated on my current cart."""
    view = price_cart(db, user_id)
    return usable_coupons(
        db, user_id, view.lines, utcnow(), has_paid_order=has_paid_order(view.cart)
    )
