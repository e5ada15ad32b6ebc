"""The cart: items (a product for a group of members), re-priced on every read, and its coupon.

Other modules reach the cart through Cart_module.checkout.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from Address_module.errors import LocationNotServiceable
from Address_module.service import get_address, serviceability_for
from Audit_module.service import record_audit, record_rejection
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
from config import get_settings
from core.rate_limit import hit_sliding_window
from database import utcnow
from Login_module.locks import lock_user
from Member_module.errors import MemberNotFound
from Member_module.models import Member
from Member_module.service import (
    lock_live_members,
    register_member_in_use_check,
)
from Product_module.models import Product
from Product_module.service import get_product_for_sale

CART = "cart"
ITEM = "cart_item"


@dataclass(frozen=True)
class MemberChoice:
    """Who an item is for and where their sample is collected (a request's `members` entry)."""

    member_id: int
    address_id: int


@dataclass(frozen=True)
class LineMember:
    member_id: int
    name: str
    address_id: int


@dataclass
class CartLine:
    """One cart item priced now. Also a CouponLine (product_id, category_id, line_total_paise)."""

    item: CartItem
    product: Product
    members: list[LineMember]
    quantity: int
    unit_price_paise: int
    line_total_paise: int

    @property
    def item_id(self) -> int:
        return self.item.id

    @property
    def product_id(self) -> int:
        return self.product.id

    @property
    def category_id(self) -> int:
        return self.product.category_id


@dataclass
class CartView:
    """The cart as GET /cart shows it, computed from current prices."""

    cart: Cart | None
    lines: list[CartLine] = field(default_factory=list)
    coupon: Coupon | None = None
    subtotal_paise: int = 0
    discount_paise: int = 0
    total_paise: int = 0
    notices: list[str] = field(default_factory=list)
    # Why the cart's coupon stopped applying, when it did (its notice is in `notices`).
    coupon_refusal: CouponError | None = None
    # The rows of the members named in the cart, deleted ones included.
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def coupon_code(self) -> str | None:
        return self.coupon.code if self.coupon is not None else None

    def as_response(self) -> dict[str, Any]:
        return {
            "items": [
                {
                    "id": line.item_id,
                    "product": {
                        "id": line.product.id,
                        "name": line.product.name,
                        "plan_type": line.product.plan_type,
                        "price_paise": line.product.price_paise,
                    },
                    "members": [
                        {"member_id": m.member_id, "name": m.name, "address_id": m.address_id}
                        for m in line.members
                    ],
                    "quantity": line.quantity,
                    "unit_price_paise": line.unit_price_paise,
                    "line_total_paise": line.line_total_paise,
                }
                for line in self.lines
            ],
            "coupon": (
                {"code": self.coupon.code, "discount_paise": self.discount_paise}
                if self.coupon is not None
                else None
            ),
            "subtotal_paise": self.subtotal_paise,
            "discount_paise": self.discount_paise,
            "total_paise": self.total_paise,
            "notices": list(self.notices),
        }


# --- members held by carts ---------------------------------------------------------------------


@register_member_in_use_check
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


# --- reading and pricing -----------------------------------------------------------------------


def load_cart(db: Session, user_id: int, *, for_update: bool = False) -> Cart | None:
    """The user's cart with items -> product -> category, items -> members -> member and the
    coupon loaded; None if they never had one. One query whatever the size; `for_update`
    locks the cart row (only it) until commit, serialising the user's cart writes and
    checkout, and then reads the items, with each member's address too, in a second query
    (MariaDB has no `FOR UPDATE OF`: a joined read would lock the products and members too)."""
    product = joinedload(CartItem.product).joinedload(Product.category)
    links = joinedload(CartItem.members)
    statement = select(Cart).where(Cart.user_id == user_id)
    if for_update:
        statement = statement.options(
            selectinload(Cart.items).options(
                product,
                links.joinedload(CartItemMember.member),
                links.joinedload(CartItemMember.address),
            ),
            selectinload(Cart.coupon),
        ).with_for_update()
    else:
        statement = statement.options(
            joinedload(Cart.items).options(product, links.joinedload(CartItemMember.member)),
            joinedload(Cart.coupon),
        )
    statement = statement.execution_options(populate_existing=True)
    return db.scalars(statement).unique().first()


def _members(cart: Cart) -> dict[int, Member]:
    """{member_id: Member} of everyone the cart names (checkout snapshots the same rows)."""
    return {link.member_id: link.member for item in cart.items for link in item.members}


def _drop_reason(item: CartItem, members: dict[int, Member]) -> tuple[str, str] | None:
    """Why an item can no longer be bought (an audit reason and the user's notice), or None."""
    product = item.product
    deleted = [
        members[m.member_id].name if m.member_id in members else "a member"
        for m in item.members
        if m.member_id not in members or members[m.member_id].is_deleted
    ]
    if not product.is_active:
        return (
            "product_unavailable",
            f"{product.name} is no longer available and was removed from your cart.",
        )
    if deleted:
        return (
            "member_deleted",
            f"{product.name} for {', '.join(deleted)} was removed from your cart because the "
            "member was deleted.",
        )
    if not product.min_members <= len(item.members) <= product.max_members:
        return (
            "member_count_changed",
            f"{product.name} was removed from your cart because it now covers a different "
            "number of members.",
        )
    return None


def _compute(db: Session, cart: Cart, user_id: int, *, apply_drops: bool) -> tuple[CartView, bool]:
    """Price `cart`; returns the view and whether anything had to be dropped. Drops are only
    written (deleted, audited, noticed) with `apply_drops`."""
    members = _members(cart)
    view = CartView(cart=cart, members=members)
    dropped = False
    for item in list(cart.items):
        reason = _drop_reason(item, members)
        if reason is not None:
            dropped = True
            if apply_drops:
                cart.items.remove(item)
                record_audit(
                    db,
                    action="cart.item_removed",
                    entity_type=ITEM,
                    entity_id=item.id,
                    actor_user_id=user_id,
                    changes={"product_id": item.product_id, "reason": reason[0]},
                )
                view.notices.append(reason[1])
            continue
        product = item.product
        view.lines.append(
            CartLine(
                item=item,
                product=product,
                members=[
                    LineMember(m.member_id, members[m.member_id].name, m.address_id)
                    for m in item.members
                ],
                quantity=item.quantity,
                unit_price_paise=product.price_paise,
                line_total_paise=product.price_paise * item.quantity,
            )
        )
    view.subtotal_paise = sum(line.line_total_paise for line in view.lines)
    if cart.coupon is not None:
        coupon = cart.coupon
        try:
            view.discount_paise = coupon_discount(db, coupon, user_id, view.lines, utcnow())
            view.coupon = coupon
        except CouponError as refusal:
            dropped = True
            view.coupon_refusal = refusal
            if apply_drops:
                cart.coupon = None
                record_audit(
                    db,
                    action="cart.coupon_removed",
                    entity_type=CART,
                    entity_id=cart.id,
                    actor_user_id=user_id,
                    changes={"code": coupon.code, "reason": refusal.code},
                )
                view.notices.append(
                    f"The coupon {coupon.code} no longer applies and was removed: {refusal.message}"
                )
    view.total_paise = view.subtotal_paise - view.discount_paise
    return view, dropped


def price_cart(db: Session, user_id: int) -> CartView:
    """The cart priced now (GET /cart, and checkout's starting point).

    Drops (deletes) items whose product was deactivated, whose member was deleted or whose
    member count no longer fits the product, and a coupon that no longer applies, each with a
    notice. Lines are `CartLine`s (each usable as a coupon line); totals are from current
    prices: subtotal - discount = total.

    Reading takes no lock. Only when something must drop is the cart row locked and the cart
    read and priced again, so two requests dropping the same item at once (a cart screen
    loading /cart and /cart/coupons together) remove and report it once.
    """
    cart = load_cart(db, user_id)
    if cart is None:
        return CartView(cart=None)
    view, dropped = _compute(db, cart, user_id, apply_drops=False)
    if not dropped:
        return view
    cart = load_cart(db, user_id, for_update=True)
    if cart is None:
        return CartView(cart=None)
    view, _ = _compute(db, cart, user_id, apply_drops=True)
    db.flush()
    return view


def price_locked_cart(db: Session, cart: Cart, user_id: int) -> CartView:
    """`price_cart` for a cart the caller already holds locked (checkout: `load_cart(...,
    for_update=True)`): priced once, from the rows already loaded, and what must drop is
    dropped at once."""
    view, dropped = _compute(db, cart, user_id, apply_drops=True)
    if dropped:
        db.flush()
    return view


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
    cart = db.scalar(
        select(Cart)
        .where(Cart.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
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


def empty_cart(db: Session, user_id: int) -> None:
    """Remove every item and the coupon (DELETE /cart, and checkout once an order is paid).
    Audited as `cart.cleared` when there was something to remove."""
    cart = load_cart(db, user_id, for_update=True)
    if cart is None or (not cart.items and cart.coupon is None):
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


def apply_coupon(db: Session, user_id: int, code: str) -> CartView:
    """Put a coupon on my cart (code in any case); the cart priced with it.

    400 coupon_invalid / coupon_expired / coupon_usage_exceeded / coupon_not_applicable /
    coupon_min_order; a refusal is audited (it survives the rollback). Attempts are capped per
    user (COUPON_ATTEMPTS_PER_HOUR, 429 rate_limited) so codes can't be guessed by brute force.
    """
    hit_sliding_window(f"rl:coupon:{user_id}", get_settings().COUPON_ATTEMPTS_PER_HOUR, 3600)
    _lock_cart(db, user_id)
    try:
        coupon = find_coupon(db, code)
        before = price_cart(db, user_id)
        if not before.lines or before.cart is None:
            raise CouponNotApplicable()
        coupon_discount(db, coupon, user_id, before.lines, utcnow())
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


def list_usable_coupons(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Coupons I can use now, each evaluated on my current cart."""
    view = price_cart(db, user_id)
    return usable_coupons(db, user_id, view.lines, utcnow())
