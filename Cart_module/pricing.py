"""The cart read and priced now: what GET /cart shows, and what checkout starts from.

Every read re-prices the cart from current prices, and drops what can no longer be bought (an
inactive product, a deleted member, a member count the product no longer covers) and a coupon
that no longer applies, each with a notice.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload, selectinload

from Address_module.models import Address
from Audit_module.service import record_audit
from Cart_module.coupon_rules import coupon_discount
from Cart_module.errors import CouponError
from Cart_module.models import Cart, CartItem, CartItemMember, Coupon
from core.clock import utcnow
from database import read_rows
from Member_module.models import Member
from Product_module.models import Product

CART = "cart"
ITEM = "cart_item"
# What pricing, the drop rules, coupons and GET /cart's answer read of a product and a member.
PRICED_PRODUCT = (
    Product.id,
    Product.name,
    Product.plan_type,
    Product.price_paise,
    Product.is_active,
    Product.min_members,
    Product.max_members,
    Product.category_id,
)
PRICED_MEMBER = (Member.id, Member.user_id, Member.name, Member.is_deleted)


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
    def id(self) -> int:
        return self.item.id

    @property
    def product_id(self) -> int:
        return self.product.id

    @property
    def category_id(self) -> int:
        return self.product.category_id

    @property
    def plan_type(self) -> str:
        return self.product.plan_type


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

    @property
    def applied_coupon(self) -> "AppliedCoupon | None":
        if self.coupon is None:
            return None
        return AppliedCoupon(self.coupon.code, self.discount_paise)


@dataclass(frozen=True)
class AppliedCoupon:
    code: str
    discount_paise: int


def load_cart(db: Session, user_id: int, *, for_update: bool = False) -> Cart | None:
    """The user's cart with items -> product -> category, items -> members -> member and the
    coupon loaded; None if they never had one. One query whatever the size; `for_update`
    locks the cart row (only it) until commit, serialising the user's cart writes and
    checkout, and then reads the items, with each member's address too, in a second query
    (MariaDB has no `FOR UPDATE OF`: a joined read would lock the products and members too)."""
    links = joinedload(CartItem.members)
    statement = select(Cart).where(Cart.user_id == user_id)
    if for_update:
        statement = statement.options(
            selectinload(Cart.items).options(
                joinedload(CartItem.product).joinedload(Product.category),
                links.joinedload(CartItemMember.member),
                links.joinedload(CartItemMember.address),
            ),
            selectinload(Cart.coupon),
        ).with_for_update()
    else:
        # Only the columns pricing and the answer read: the rest of a product (descriptions,
        # images, tags) and of a member would be decoded and hydrated for nothing.
        statement = statement.options(
            joinedload(Cart.items).options(
                joinedload(CartItem.product).load_only(*PRICED_PRODUCT),
                links.joinedload(CartItemMember.member).load_only(*PRICED_MEMBER),
            ),
            joinedload(Cart.coupon),
        )
    statement = statement.execution_options(populate_existing=True)
    return db.scalars(statement).unique().first()


def cart_rows_statement(
    product: Sequence[InstrumentedAttribute[Any]],
    member: Sequence[InstrumentedAttribute[Any]],
    address: Sequence[InstrumentedAttribute[Any]] = (),
) -> Select[Any]:
    """A read of the user's cart as rows (`cart_rows`; built once by its reader, the user bound
    as `user_id`): the cart, its items with these columns of their products, and their member
    links with these columns of the member and of the address named; one row per item and
    member."""
    statement = (
        select(
            Cart.id.label("cart_id"),
            Cart.coupon_id,
            Cart.first_order_paid_at,
            CartItem.id.label("item_id"),
            CartItem.quantity,
            *(column.label(f"product_{column.key}") for column in product),
            CartItemMember.member_id,
            CartItemMember.address_id,
            *(column.label(f"member_{column.key}") for column in member),
            *(column.label(f"address_{column.key}") for column in address),
        )
        .outerjoin(CartItem, CartItem.cart_id == Cart.id)
        .outerjoin(Product, Product.id == CartItem.product_id)
        .outerjoin(CartItemMember, CartItemMember.cart_item_id == CartItem.id)
        .outerjoin(Member, Member.id == CartItemMember.member_id)
    )
    if address:
        statement = statement.outerjoin(Address, Address.id == CartItemMember.address_id)
    return statement.where(Cart.user_id == bindparam("user_id")).order_by(
        CartItem.id, CartItemMember.id
    )


# GET /cart's read: the columns of products and members pricing and the answer read.
CART_ROWS = cart_rows_statement(PRICED_PRODUCT, (Member.name, Member.is_deleted))


def _columns(fields: Sequence[str], prefix: str) -> list[tuple[str, str]]:
    """(field, attribute) of the columns read of one table (the link's own `member_id` and
    `address_id` name the rows, and give the objects their ids)."""
    return [
        (name, name[len(prefix) :])
        for name in fields
        if name.startswith(prefix) and name not in ("member_id", "address_id")
    ]


def cart_rows(db: Session, statement: Select[Any], user_id: int) -> SimpleNamespace | None:
    """The user's cart read by a `cart_rows_statement` (database.read_rows), as objects read
    like Cart -> CartItem -> Product and CartItemMember -> Member and Address (the coupon, when
    there is one, is the entity); None without a cart. For reading and pricing, not for
    changing (`price_locked_rows` turns to the entities when something must drop)."""
    rows = read_rows(db, statement, user_id=user_id)
    if not rows:
        return None
    first = rows[0]
    fields = first._fields
    product_columns = _columns(fields, "product_")
    member_columns = _columns(fields, "member_")
    address_columns = _columns(fields, "address_")
    items: dict[int, SimpleNamespace] = {}
    for row in rows:
        if row.item_id is None:
            continue
        item = items.get(row.item_id)
        if item is None:
            product = SimpleNamespace(**{key: getattr(row, name) for name, key in product_columns})
            item = items[row.item_id] = SimpleNamespace(
                id=row.item_id,
                product_id=product.id,
                product=product,
                quantity=row.quantity,
                members=[],
            )
        if row.member_id is not None:
            member = SimpleNamespace(
                id=row.member_id, **{key: getattr(row, name) for name, key in member_columns}
            )
            address = SimpleNamespace(
                id=row.address_id, **{key: getattr(row, name) for name, key in address_columns}
            )
            item.members.append(
                SimpleNamespace(
                    member_id=row.member_id,
                    address_id=row.address_id,
                    member=member,
                    address=address,
                )
            )
    coupon = db.get(Coupon, first.coupon_id) if first.coupon_id is not None else None
    return SimpleNamespace(
        id=first.cart_id,
        items=list(items.values()),
        coupon=coupon,
        first_order_paid_at=first.first_order_paid_at,
    )


def has_paid_order(cart: Cart | None) -> bool:
    """Whether the cart's account has had an order paid (no longer a first order)."""
    return cart is not None and cart.first_order_paid_at is not None


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


def _line(item: CartItem, members: dict[int, Member]) -> CartLine:
    """An item that can still be bought, priced now."""
    product = item.product
    return CartLine(
        item=item,
        product=product,
        members=[
            LineMember(m.member_id, members[m.member_id].name, m.address_id) for m in item.members
        ],
        quantity=item.quantity,
        unit_price_paise=product.price_paise,
        line_total_paise=product.price_paise * item.quantity,
    )


def _drop_item(
    db: Session, cart: Cart, view: CartView, item: CartItem, reason: tuple[str, str], user_id: int
) -> None:
    """Delete an item that can no longer be bought, audited, with the user's notice."""
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


def _price_coupon(
    db: Session, cart: Cart, view: CartView, user_id: int, *, apply_drops: bool
) -> bool:
    """The cart's coupon priced on the view's lines; returns whether it had to be dropped (and
    with `apply_drops` drops it, audited, with a notice)."""
    coupon = cart.coupon
    if coupon is None:
        return False
    try:
        view.discount_paise = coupon_discount(
            db, coupon, user_id, view.lines, utcnow(), has_paid_order=has_paid_order(cart)
        )
    except CouponError as refusal:
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
        return True
    view.coupon = coupon
    return False


def _compute(db: Session, cart: Cart, user_id: int, *, apply_drops: bool) -> tuple[CartView, bool]:
    """Price `cart`; returns the view and whether anything had to be dropped. Drops are only
    written (deleted, audited, noticed) with `apply_drops`."""
    members = _members(cart)
    view = CartView(cart=cart, members=members)
    dropped = False
    for item in list(cart.items):
        reason = _drop_reason(item, members)
        if reason is None:
            view.lines.append(_line(item, members))
            continue
        dropped = True
        if apply_drops:
            _drop_item(db, cart, view, item, reason, user_id)
    view.subtotal_paise = sum(line.line_total_paise for line in view.lines)
    if _price_coupon(db, cart, view, user_id, apply_drops=apply_drops):
        dropped = True
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


def price_cart_rows(db: Session, user_id: int) -> CartView:
    """`price_cart` for GET /cart: read as rows (CART_ROWS), the entities only when something
    must drop. Its view's `cart` is those rows, not a Cart: for answering, not for changing."""
    rows = cart_rows(db, CART_ROWS, user_id)
    if rows is None:
        return CartView(cart=None)
    view, dropped = _compute(db, rows, user_id, apply_drops=False)  # type: ignore[arg-type]
    return price_cart(db, user_id) if dropped else view


def price_locked_cart(db: Session, cart: Cart, user_id: int) -> CartView:
    """`price_cart` for a cart the caller already holds locked (checkout: `load_cart(...,
    for_update=True)`): priced once, from the rows already loaded, and what must drop is
    dropped at once."""
    view, dropped = _compute(db, cart, user_id, apply_drops=True)
    if dropped:
        db.flush()
    return view


def price_locked_rows(db: Session, rows: SimpleNamespace, user_id: int) -> CartView:
    """`price_locked_cart` for a locked cart read as rows (`cart_rows`): priced from them, and
    only when something must drop are the entities read and priced, dropping it at once. The
    view's `cart` is the rows, or then the Cart."""
    view, dropped = _compute(db, rows, user_id, apply_drops=False)  # type: ignore[arg-type]
    if not dropped:
        return view
    cart = load_cart(db, user_id, for_update=True)
    assert cart is not None  # the caller holds its lock
    return price_locked_cart(db, cart, user_id)
