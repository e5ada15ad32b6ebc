"""Checkout: the cart checked and priced under its lock, the order placed with its coupon hold,
the Razorpay order attached after the commit, payment completing it.

Razorpay is never called inside a transaction: checkout records its intent (the pending order
with its coupon hold), the router commits it, then the provider is called with no lock held and
its answer recorded in a fresh transaction.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.attributes import set_committed_value

from Address_module.models import ADDRESS_FIELDS, Address
from Address_module.service import serviceability_by_city
from Audit_module.service import record_audit
from Cart_module.checkout import (
    PRICED_PRODUCT,
    Cart,
    CartView,
    cart_rows,
    cart_rows_statement,
    empty_cart,
    hold_coupon,
    lock_applied_coupon,
    mark_coupon_used,
    price_locked_rows,
)
from config import get_settings
from Consent_module.errors import ConsentRequired
from Consent_module.service import CheckoutLine, missing_consents
from core.clock import utcnow
from core.hooks import Hook
from database import call_outside_transaction, on_commit, on_rollback, rows_changed
from Login_module.locks import lock_user_reading
from Login_module.models import User
from Login_module.snapshot import UserSnapshot
from Member_module.models import Member
from Member_module.service import confirms_own_consent
from Notification_module.models import NotificationEvent
from Orders_module import idempotency
from Orders_module.cancellation import cancel_unpaid
from Orders_module.errors import (
    AddressNotServiceable,
    CartChanged,
    CartEmpty,
    IdempotencyKeyReused,
    ProductUnavailable,
    RequestInProgress,
)
from Orders_module.models import Order, OrderItem, OrderStatus
from Orders_module.notices import rupees, tell_customer
from Orders_module.razorpay_client import create_razorpay_order
from Orders_module.service import (
    add_history,
    get_order,
    set_order_status,
    with_details,
)
from Product_module.models import Product

if TYPE_CHECKING:  # the schemas import the payments, which import this module
    from Orders_module.schemas import CheckoutIn

ORDER_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

# What modules above Orders do when an order becomes paid, in the same transaction (its
# invoice): `handler(db, order)`, connected in main.wire_hooks.
order_paid: Hook[[Session, Order]] = Hook("order_paid", required=True)


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    created: bool

    @property
    def needs_razorpay_order(self) -> bool:
        return needs_razorpay_order(self.order)


def needs_razorpay_order(order: Order) -> bool:
    """Placed and committed, but its Razorpay order was never attached (the call failed or the
    request died during it): attach_razorpay_order completes it."""
    return (
        order.status == OrderStatus.PENDING_PAYMENT
        and order.razorpay_order_id is None
        and order.total_paise > 0
    )


def new_order_number() -> str:
    """`NUC-261125-7K3M9Q`: readable on the phone, unique, well under Razorpay's 40-char receipt."""
    suffix = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))
    return f"NUC-{utcnow():%y%m%d}-{suffix}"


def request_fingerprint(body: "CheckoutIn | None") -> str:
    sent = body.model_dump() if body is not None else {}
    return hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()


def _snapshot_product(item: Any) -> dict[str, Any]:
    product = item.product
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "plan_type": product.plan_type,
        "price_paise": product.price_paise,
        "mrp_paise": product.mrp_paise,
        "sample_type": product.sample_type,
        "turnaround_days": product.turnaround_days,
        "sac_code": product.sac_code,
        "gst_rate_percent": product.gst_rate_percent,
    }


def _snapshot_member(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "relation": member.relation,
        "date_of_birth": member.date_of_birth.isoformat(),
        "gender": member.gender,
    }


def _snapshot_address(address: Address) -> dict[str, Any]:
    return {"id": address.id, **{field: getattr(address, field) for field in ADDRESS_FIELDS}}


def _check_cart(
    db: Session, user_id: int, cart: Cart | SimpleNamespace, view: CartView
) -> tuple[dict, dict]:
    """Consents, members and serviceable addresses, all at once; returns members and addresses."""
    if any(not item.product.is_active for item in cart.items):
        raise ProductUnavailable(
            details=[
                {"product_id": item.product_id} for item in cart.items if not item.product.is_active
            ]
        )
    member_ids = {m.member_id for item in cart.items for m in item.members}
    members = {
        m.id: m
        for m in view.members.values()
        if m.id in member_ids and m.user_id == user_id and not m.is_deleted
    }
    # Read with the locked cart (CHECKOUT_CART).
    addresses = {
        link.address.id: link.address
        for item in cart.items
        for link in item.members
        if link.address.user_id == user_id and not link.address.is_deleted
    }
    if set(members) != member_ids:
        raise ProductUnavailable("Some members in your cart no longer exist; review your cart.")
    locations = serviceability_by_city(db, {a.city for a in addresses.values()})
    unserviceable = []
    for item in cart.items:
        for link in item.members:
            address = addresses.get(link.address_id)
            location = locations.get(address.city) if address else None
            if location is None or not (location.home_collection or location.sample_pickup):
                unserviceable.append({"member_id": link.member_id, "address_id": link.address_id})
    if unserviceable:
        raise AddressNotServiceable(details=unserviceable)
    missing = missing_consents(
        db,
        user_id,
        [
            CheckoutLine(item.product_id, tuple(m.member_id for m in item.members))
            for item in cart.items
        ],
        confirming={m.id for m in members.values() if confirms_own_consent(m)},
    )
    if missing:
        raise ConsentRequired(details=missing)
    return members, addresses


def _existing_for_key(db: Session, user_id: int, key: str, fingerprint: str) -> Order | None:
    order = db.scalar(
        select(Order)
        .where(Order.user_id == user_id, Order.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    if order is None:
        return None
    window = timedelta(hours=get_settings().IDEMPOTENCY_KEY_HOURS)
    if order.created_at < utcnow() - window:
        order.idempotency_key = None  # expired: the key may name a new request now
        db.flush()
        return None
    if order.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return order


# Checkout's locking read, in the order every cart write and erasure takes the same locks: the
# user's row, then the cart's, then the unpaid orders the new one replaces (their items are
# moved by the statement that ends them, unread). Only what ending an order reads of it is
# read (the rest raises if touched). Built once, at first use (the mappers are complete then).
@cache
def checkout_locks() -> Select[int | None, Order | None]:
    return (
        select(Cart.id, Order)
        .select_from(User)
        .outerjoin(Cart, Cart.user_id == User.id)
        .outerjoin(
            Order, and_(Order.user_id == User.id, Order.status == OrderStatus.PENDING_PAYMENT)
        )
        .where(User.id == bindparam("user_id"))
        .order_by(Order.id)
        .options(
            load_only(
                Order.status,
                Order.coupon_id,
                Order.payment_due_at,
                Order.paid_at,
                Order.cancelled_at,
                Order.cancel_reason,
                Order.updated_at,
                raiseload=True,
            )
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# What checkout reads of the locked cart (its items, products, members and addresses: read
# after the lock, unlocked): pricing's columns and what the order's snapshots and checks read.
CHECKOUT_CART = cart_rows_statement(
    (
        *PRICED_PRODUCT,
        Product.slug,
        Product.mrp_paise,
        Product.sample_type,
        Product.turnaround_days,
        Product.sac_code,
        Product.gst_rate_percent,
    ),
    (
        Member.user_id,
        Member.name,
        Member.relation,
        Member.date_of_birth,
        Member.gender,
        Member.is_deleted,
    ),
    (Address.user_id, Address.is_deleted, *(getattr(Address, name) for name in ADDRESS_FIELDS)),
)


def _lock_for_checkout(db: Session, user_id: int) -> tuple[int | None, list[Order]]:
    """The id of the user's cart and their unpaid orders, locked (`checkout_locks`)."""
    rows = lock_user_reading(db, checkout_locks(), user_id).all()
    cart_id = rows[0][0] if rows else None
    return cart_id, [order for _, order in rows if order is not None]


def _supersede(db: Session, pending: list[Order], actor_user_id: int) -> None:
    """A new checkout replaces the user's unpaid orders, so their coupon holds don't block it."""
    for order in pending:
        cancel_unpaid(db, order, "superseded by a newer checkout", actor_user_id)


def create_order_from_cart(
    db: Session, user: UserSnapshot, idempotency_key: str | None, body: "CheckoutIn | None" = None
) -> CheckoutResult:
    """Checkout's first step: snapshot the cart into a pending order holding its coupon (or a
    paid one, if free). When `needs_razorpay_order`, the caller commits it and then calls
    attach_razorpay_order; the Idempotency-Key stays claimed until that is done too."""
    fingerprint = request_fingerprint(body)
    if not idempotency_key:
        return _place_order(db, user, None, fingerprint)
    existing = _existing_for_key(db, user.id, idempotency_key, fingerprint)
    if existing is not None and not needs_razorpay_order(existing):
        return CheckoutResult(get_order(db, existing.id), created=False)
    if not idempotency.claim(user.id, idempotency_key):
        raise RequestInProgress()

    def release() -> None:
        idempotency.release(user.id, idempotency_key)

    # Rollback actions belong to the request, so this one also covers a failure after the
    # first commit (in the Razorpay call or when attaching its answer).
    on_rollback(db, lambda _db: release())
    # Again under the claim: a copy holding it may have finished in the meantime.
    existing = _existing_for_key(db, user.id, idempotency_key, fingerprint)
    if existing is not None:
        result = CheckoutResult(get_order(db, existing.id), created=False)
    else:
        result = _place_order(db, user, idempotency_key, fingerprint)
    if not result.needs_razorpay_order:
        on_commit(db, release)
    return result


def _new_order(
    user_id: int,
    cart: Cart | SimpleNamespace,
    view: CartView,
    members: dict[int, Member],
    addresses: dict[int, Address],
    idempotency_key: str | None,
    fingerprint: str,
) -> Order:
    """The pending order and one item per cart line and member, with their snapshots."""
    settings = get_settings()
    order = Order(
        order_number=new_order_number(),
        user_id=user_id,
        status=OrderStatus.PENDING_PAYMENT,
        subtotal_paise=view.subtotal_paise,
        discount_paise=view.discount_paise,
        total_paise=view.total_paise,
        currency="INR",
        coupon_id=view.coupon.id if view.coupon is not None else None,
        coupon_code=view.coupon_code,
        idempotency_key=idempotency_key,
        request_hash=fingerprint if idempotency_key else None,
        payment_due_at=utcnow() + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES),
        # Empty collections count as loaded, so the new order never lazy-loads (lazy="raise").
        items=[],
        payments=[],
        refunds=[],
        history=[],
    )
    for group, item in enumerate(cart.items, start=1):
        for link in item.members:
            order.items.append(
                OrderItem(
                    line_group=group,
                    product_id=item.product_id,
                    product_snapshot=_snapshot_product(item),
                    member_id=link.member_id,
                    member_snapshot=_snapshot_member(members[link.member_id]),
                    address_id=link.address_id,
                    address_snapshot=_snapshot_address(addresses[link.address_id]),
                    quantity=item.quantity,
                    unit_price_paise=item.product.price_paise,
                    status=OrderStatus.PENDING_PAYMENT,
                )
            )
    return order


def _audit_created(db: Session, order: Order, actor_user_id: int) -> None:
    record_audit(
        db,
        action="order.created",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={
            "order_number": order.order_number,
            "total_paise": order.total_paise,
            "coupon_code": order.coupon_code,
            "items": len(order.items),
        },
    )


def _place_order(
    db: Session, user: UserSnapshot, idempotency_key: str | None, fingerprint: str
) -> CheckoutResult:
    cart_id, pending = _lock_for_checkout(db, user.id)
    cart = cart_rows(db, CHECKOUT_CART, user.id) if cart_id is not None else None
    if cart is None or not cart.items:
        raise CartEmpty()
    # An unpaid order holding a coupon ends before the cart is priced (its hold counts against
    # the coupon's limits); the others once the new order is written, so that their history
    # and audit entries are written with the new order's, in one statement each.
    _supersede(db, [order for order in pending if order.coupon_id is not None], user.id)
    view = price_locked_rows(db, cart, user.id)
    if view.coupon_refusal is not None:
        # The coupon stopped applying since it was added: refuse with its own reason.
        raise view.coupon_refusal
    if view.notices:
        raise CartChanged(details=[{"notice": notice} for notice in view.notices])
    members, addresses = _check_cart(db, user.id, cart, view)
    lock_applied_coupon(db, view)

    order = _new_order(user.id, cart, view, members, addresses, idempotency_key, fingerprint)
    db.add(order)
    try:
        db.flush()
    except IntegrityError as exc:
        # Same Idempotency-Key committed by a concurrent request in the meantime.
        raise RequestInProgress() from exc
    _supersede(db, [order for order in pending if order.coupon_id is None], user.id)
    add_history(db, order, OrderStatus.PENDING_PAYMENT, "order placed", user.id)
    if order.coupon_id is not None:
        hold_coupon(
            db,
            coupon_id=order.coupon_id,
            user_id=user.id,
            order_id=order.id,
            discount_paise=order.discount_paise,
        )
    _audit_created(db, order, user.id)
    if order.total_paise == 0:
        complete_payment(db, order, note="nothing to pay", actor_user_id=user.id)
    db.flush()
    # Everything the answer shows is in memory (collections set at creation, history appended).
    return CheckoutResult(order, created=True)


def checkout_cart(
    db: Session, user: UserSnapshot, idempotency_key: str | None, body: "CheckoutIn | None"
) -> Order:
    """Place an order from the cart. The order and its coupon hold are committed before
    Razorpay is called, so no lock is held during the call; a failed call cancels it again."""
    result = create_order_from_cart(db, user, idempotency_key, body)
    if not result.needs_razorpay_order:
        return result.order
    return call_outside_transaction(db, lambda: attach_razorpay_order(db, result.order))


# Attaching the Razorpay order, only to the order as the first step left it (built once).
ATTACH_RAZORPAY_ORDER = (
    update(Order)
    .where(
        Order.id == bindparam("order_id"),
        Order.status == bindparam("placed_status"),
        Order.razorpay_order_id.is_(None),
    )
    .values(razorpay_order_id=bindparam("razorpay_id"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def attach_razorpay_order(db: Session, order: Order) -> Order:
    """Checkout's second step, once the pending order is committed: create its Razorpay order
    (no transaction is open during the call, so no coupon or order row stays locked), then
    store the id in a fresh transaction.

    If the request fails from here on (PaymentProviderUnavailable, or the database), the order
    is cancelled after the rollback, its coupon hold released and its Idempotency-Key freed, so
    a retry starts afresh.
    """
    order_id, total_paise, order_number = order.id, order.total_paise, order.order_number
    on_rollback(db, lambda session: cancel_unfinished_checkout(session, order_id))
    razorpay_order = create_razorpay_order(
        total_paise, order_number, {"order_id": str(order_id), "order_number": order_number}
    )
    now = utcnow()
    attached = db.execute(
        ATTACH_RAZORPAY_ORDER,
        {
            "order_id": order_id,
            "placed_status": order.status,
            "razorpay_id": razorpay_order["id"],
            "now": now,
        },
    )
    if rows_changed(attached) == 1:
        # Unchanged since the first step: the loaded order is current, with its new id.
        set_committed_value(order, "razorpay_order_id", razorpay_order["id"])
        set_committed_value(order, "updated_at", now)
    else:
        # Moved meanwhile (superseded, expired, cancelled): answer with what it is now.
        order = get_order(db, order_id, for_update=True)
        if order.razorpay_order_id is None:
            order.razorpay_order_id = razorpay_order["id"]
    if order.idempotency_key:
        user_id, key = order.user_id, order.idempotency_key
        on_commit(db, lambda: idempotency.release(user_id, key))
    db.flush()
    return order


def cancel_unfinished_checkout(db: Session, order_id: int) -> None:
    """The checkout failed before its Razorpay order was attached: nobody can pay this order."""
    order = db.scalars(
        with_details(select(Order).where(Order.id == order_id)).with_for_update(of=Order)
    ).first()
    if order is None or not needs_razorpay_order(order):
        return
    order.idempotency_key = None  # the retry with the same key places a new order
    cancel_unpaid(db, order, "payment provider unavailable", order.user_id)


def complete_payment(db: Session, order: Order, *, note: str, actor_user_id: int | None) -> None:
    """pending_payment -> paid: coupon use counted, the cart emptied (and the account no
    longer on its first order)."""
    order.paid_at = utcnow()
    order.payment_due_at = None
    set_order_status(db, order, OrderStatus.PAID, note=note, actor_user_id=actor_user_id)
    if order.coupon_id is not None:
        mark_coupon_used(db, order.id)
    empty_cart(db, order.user_id, order_paid_at=order.paid_at)
    tell_customer(db, order, NotificationEvent.ORDER_PAID, amount=rupees(order.total_paise))
    order_paid(db, order)
