"""Checkout, order reading, cancellation and refunds, admin status changes, and the jobs.

Razorpay is never called inside a transaction: checkout and refunds record their intent (the
pending order with its coupon hold; the refund as `requested`), the router commits it, then the
provider is called with no lock held and its answer recorded in a fresh transaction.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from Address_module.models import ADDRESS_FIELDS, Address
from Address_module.service import serviceability_by_city
from Audit_module.service import personal_changes, record_audit
from Cart_module.coupons import (
    hold_coupon,
    mark_coupon_used,
    release_coupon_hold,
)
from Cart_module.models import Cart, Coupon
from Cart_module.service import CartView, empty_cart, load_cart, price_locked_cart
from config import get_settings
from Consent_module.errors import ConsentRequired
from Consent_module.service import CheckoutLine, missing_consents
from database import on_commit, on_rollback, rows_changed, utcnow
from Login_module.locks import lock_user
from Login_module.snapshot import UserSnapshot
from Member_module.models import Member
from Member_module.service import register_member_in_use_check
from Orders_module import idempotency
from Orders_module.consent_holds import cancellable_after_withdrawal, ensure_consents_hold
from Orders_module.errors import (
    AddressNotServiceable,
    CartChanged,
    CartEmpty,
    IdempotencyKeyReused,
    InvalidStatusTransition,
    OrderItemNotFound,
    OrderNotCancellable,
    OrderNotFound,
    ProductUnavailable,
    RequestInProgress,
)
from Orders_module.models import Order, OrderItem, OrderStatusHistory, Payment, Refund
from Orders_module.razorpay_client import create_razorpay_order, refund_payment
from Orders_module.states import (
    CANCELLABLE,
    FINISHED,
    FULFILMENT,
    PAYMENT_DRIVEN,
    can_move,
    fulfilment_rank,
)

ORDER_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFUND_KEY_LENGTH = 64  # Refund.idempotency_key


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
        order.status == "pending_payment"
        and order.razorpay_order_id is None
        and order.total_paise > 0
    )


@dataclass(frozen=True)
class RefundRequest:
    """A recorded refund Razorpay has not confirmed, with what the call needs (read while the
    rows are at hand, so the call itself touches no session)."""

    refund_id: int
    order_id: int
    order_number: str
    razorpay_payment_id: str
    amount_paise: int
    idempotency_key: str


def new_order_number() -> str:
    """`NUC-261125-7K3M9Q`: readable on the phone, unique, well under Razorpay's 40-char receipt."""
    suffix = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))
    return f"NUC-{utcnow():%y%m%d}-{suffix}"


def request_fingerprint(body: dict[str, Any] | None) -> str:
    return hashlib.sha256(json.dumps(body or {}, sort_keys=True).encode()).hexdigest()


def orders_query(user_id: int | None = None) -> Select[Order]:
    statement = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if user_id is not None:
        statement = statement.where(Order.user_id == user_id)
    return statement


def with_details(statement: Select[Order]) -> Select[Order]:
    return statement.options(
        selectinload(Order.items),
        selectinload(Order.payments),
        selectinload(Order.refunds),
        selectinload(Order.history),
    )


def get_order(
    db: Session, order_id: int, *, user_id: int | None = None, for_update: bool = False
) -> Order:
    """An order with everything loaded; another user's is OrderNotFound."""
    statement = with_details(orders_query(user_id).where(Order.id == order_id))
    if for_update:
        # Locked reads refresh what this session already holds: another transaction may have
        # changed the order since (e.g. a refund webhook between a commit and the next step).
        statement = statement.with_for_update(of=Order).execution_options(populate_existing=True)
    order = db.scalars(statement).first()
    if order is None:
        raise OrderNotFound()
    return order


def add_history(
    db: Session,
    order: Order,
    status: str,
    note: str | None,
    actor_user_id: int | None,
    item: OrderItem | None = None,
) -> None:
    # Appended to the loaded collection so the response built from `order` includes it.
    order.history.append(
        OrderStatusHistory(
            order_id=order.id,
            order_item_id=item.id if item else None,
            status=status,
            note=note,
            actor_user_id=actor_user_id,
            at=utcnow(),
        )
    )


def set_order_status(
    db: Session,
    order: Order,
    status: str,
    *,
    note: str | None,
    actor_user_id: int | None,
    items_from: set[str] | None = None,
) -> None:
    """Move the order (and its items still at one of `items_from`) to `status`, with history."""
    old = order.status
    order.status = status
    for item in order.items:
        if items_from is None or item.status in items_from:
            item.status = status
    add_history(db, order, status, note, actor_user_id)
    record_audit(
        db,
        action="order.status_changed",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={"status": {"old": old, "new": status}, "note": note},
    )


# --- checkout --------------------------------------------------------------------------------


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


def _check_cart(db: Session, user_id: int, cart: Cart, view: CartView) -> tuple[dict, dict]:
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
    # Read with the locked cart (`load_cart(..., for_update=True)`).
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


def _supersede_pending_orders(db: Session, user_id: int, actor_user_id: int) -> None:
    """A new checkout replaces the user's unpaid ones, so their coupon holds don't block it."""
    pending = db.scalars(
        with_details(
            orders_query(user_id).where(Order.status == "pending_payment")
        ).with_for_update(of=Order)
    ).all()
    for order in pending:
        cancel_unpaid(db, order, "superseded by a newer checkout", actor_user_id)


def create_order_from_cart(
    db: Session, user: UserSnapshot, idempotency_key: str | None, body: dict[str, Any] | None = None
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


def _place_order(
    db: Session, user: UserSnapshot, idempotency_key: str | None, fingerprint: str
) -> CheckoutResult:
    # User row first, then the cart: the lock order every cart write and erasure uses.
    lock_user(db, user.id)
    cart = load_cart(db, user.id, for_update=True)
    if cart is None or not cart.items:
        raise CartEmpty()
    _supersede_pending_orders(db, user.id, user.id)
    view = price_locked_cart(db, cart, user.id)
    if view.coupon_refusal is not None:
        # The coupon stopped applying since it was added: refuse with its own reason.
        raise view.coupon_refusal
    if view.notices:
        raise CartChanged(details=[{"notice": notice} for notice in view.notices])
    members, addresses = _check_cart(db, user.id, cart, view)
    if view.coupon is not None:
        # Take the coupon row's lock before inserting rows that reference it: the order's
        # foreign key would take a shared lock first, and two checkouts upgrading it deadlock.
        db.execute(select(Coupon.id).where(Coupon.id == view.coupon.id).with_for_update())

    settings = get_settings()
    order = Order(
        order_number=new_order_number(),
        user_id=user.id,
        status="pending_payment",
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
                    status="pending_payment",
                )
            )
    db.add(order)
    try:
        db.flush()
    except IntegrityError as exc:
        # Same Idempotency-Key committed by a concurrent request in the meantime.
        raise RequestInProgress() from exc
    add_history(db, order, "pending_payment", "order placed", user.id)
    if order.coupon_id is not None:
        hold_coupon(
            db,
            coupon_id=order.coupon_id,
            user_id=user.id,
            order_id=order.id,
            discount_paise=order.discount_paise,
        )
    record_audit(
        db,
        action="order.created",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=user.id,
        changes={
            "order_number": order.order_number,
            "total_paise": order.total_paise,
            "coupon_code": order.coupon_code,
            "items": len(order.items),
        },
    )
    if order.total_paise == 0:
        complete_payment(db, order, note="nothing to pay", actor_user_id=user.id)
    db.flush()
    # Everything the answer shows is in memory (collections set at creation, history appended).
    return CheckoutResult(order, created=True)


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
        update(Order)
        .where(
            Order.id == order_id,
            Order.status == order.status,
            Order.razorpay_order_id.is_(None),
        )
        .values(razorpay_order_id=razorpay_order["id"], updated_at=now)
        .execution_options(synchronize_session=False)
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
    """pending_payment -> paid: coupon use counted, the cart emptied."""
    order.paid_at = utcnow()
    order.payment_due_at = None
    set_order_status(db, order, "paid", note=note, actor_user_id=actor_user_id)
    if order.coupon_id is not None:
        mark_coupon_used(db, order.id)
    empty_cart(db, order.user_id)


# --- cancellation and refunds ------------------------------------------------------------------


def cancel_unpaid(db: Session, order: Order, reason: str, actor_user_id: int | None) -> None:
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    order.payment_due_at = None
    set_order_status(db, order, "cancelled", note=reason, actor_user_id=actor_user_id)
    release_coupon_hold(db, order.id)


def captured_payment(order: Order) -> Payment | None:
    """The payment that paid the order (not a stray one that is refunded on its own)."""
    return next(
        (p for p in order.payments if p.status == "captured" and p.stray_reason is None), None
    )


def refund_idempotency_key(razorpay_payment_id: str) -> str:
    """Named after Razorpay's payment, not our row ids: a retry after a rollback (a webhook's
    refund failed, so its payment row was never kept and gets a new id) asks for the same
    refund instead of a second one."""
    key = f"refund-{razorpay_payment_id}"
    if len(key) <= REFUND_KEY_LENGTH:
        return key
    return "refund-" + hashlib.sha256(razorpay_payment_id.encode()).hexdigest()[:57]


def request_refund(
    db: Session, order: Order, payment: Payment, actor_user_id: int | None, *, reason: str
) -> Refund:
    """Record the refund of one payment as `requested` (one refund per payment); send_refund
    asks Razorpay once this is committed, and the refund job asks again until it answers."""
    refund = next((r for r in order.refunds if r.payment_id == payment.id), None)
    if refund is not None:
        return refund
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount_paise=payment.amount_paise,
        status="requested",
        idempotency_key=refund_idempotency_key(payment.razorpay_payment_id),
    )
    order.refunds.append(refund)
    db.flush()
    record_audit(
        db,
        action="refund.requested",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={
            "amount_paise": refund.amount_paise,
            "razorpay_payment_id": payment.razorpay_payment_id,
            "reason": reason,
        },
    )
    return refund


def start_refund(db: Session, order: Order, actor_user_id: int | None) -> Refund | None:
    """cancelled -> refund_pending, with the refund of the order's payment recorded."""
    payment = captured_payment(order)
    if payment is None:
        return None
    refund = request_refund(db, order, payment, actor_user_id, reason="order cancelled")
    if order.status == "cancelled":
        set_order_status(
            db,
            order,
            "refund_pending",
            note="refund requested",
            actor_user_id=actor_user_id,
            items_from={"cancelled"},
        )
    return refund


def refund_requests(order: Order) -> list[RefundRequest]:
    """The order's refunds that Razorpay has not confirmed yet."""
    payments = {payment.id: payment for payment in order.payments}
    return [
        RefundRequest(
            refund_id=refund.id,
            order_id=order.id,
            order_number=order.order_number,
            razorpay_payment_id=payments[refund.payment_id].razorpay_payment_id,
            amount_paise=refund.amount_paise,
            idempotency_key=refund.idempotency_key,
        )
        for refund in order.refunds
        if refund.status == "requested"
    ]


def unsent_refunds(db: Session, limit: int = 100) -> list[RefundRequest]:
    """Refunds recorded but never confirmed by Razorpay (its call failed, or the process died
    during it), oldest first."""
    rows = db.execute(
        select(Refund, Payment.razorpay_payment_id, Order.order_number)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.status == "requested")
        .order_by(Refund.id)
        .limit(limit)
    )
    return [
        RefundRequest(
            refund_id=refund.id,
            order_id=refund.order_id,
            order_number=order_number,
            razorpay_payment_id=razorpay_payment_id,
            amount_paise=refund.amount_paise,
            idempotency_key=refund.idempotency_key,
        )
        for refund, razorpay_payment_id, order_number in rows
    ]


def send_refund(db: Session, request: RefundRequest, actor_user_id: int | None) -> None:
    """Ask Razorpay for a recorded refund, then record its answer (requested -> pending).

    Call it with no transaction open (after the commit that recorded the refund). Every call
    sends the same X-Refund-Idempotency key, so asking again returns the same refund.
    PaymentProviderUnavailable if Razorpay does not answer; the refund stays `requested`.
    """
    response = refund_payment(
        request.razorpay_payment_id,
        request.amount_paise,
        request.idempotency_key,
        {"order_number": request.order_number},
    )
    order = get_order(db, request.order_id, for_update=True)
    refund = next((r for r in order.refunds if r.id == request.refund_id), None)
    if refund is None or refund.status != "requested":
        return  # a refund webhook got here first
    refund.status = "pending"
    refund.razorpay_refund_id = refund.razorpay_refund_id or response.get("id")
    record_audit(
        db,
        action="refund.sent",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={
            "amount_paise": refund.amount_paise,
            "razorpay_refund_id": refund.razorpay_refund_id,
        },
    )
    db.flush()


def cancel_order(db: Session, order: Order, reason: str, actor_user_id: int) -> Order:
    """Before any sample is collected; a paid order's refund is recorded (see send_refund).

    Cancelling again while that refund is unconfirmed is allowed: the caller sends it again.
    """
    if order.status in {"cancelled", "refund_pending"} and refund_requests(order):
        return order
    usual = order.status in CANCELLABLE and all(
        fulfilment_rank(item.status) <= fulfilment_rank("sample_collection_scheduled")
        for item in order.items
    )
    # Past the usual point only when a withdrawn consent stops the tests (no report yet).
    if not usual and not cancellable_after_withdrawal(db, order):
        raise OrderNotCancellable()
    if order.status == "pending_payment":
        cancel_unpaid(db, order, reason, actor_user_id)
        return order
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    set_order_status(db, order, "cancelled", note=reason, actor_user_id=actor_user_id)
    release_coupon_hold(db, order.id)
    start_refund(db, order, actor_user_id)
    return order


# --- admin ------------------------------------------------------------------------------------


def admin_set_order_status(
    db: Session, order: Order, status: str, note: str | None, admin_id: int
) -> Order:
    allowed = can_move(order.status, status) or (
        status == "cancelled" and cancellable_after_withdrawal(db, order)
    )
    if status in PAYMENT_DRIVEN or not allowed:
        raise InvalidStatusTransition(details=[{"from": order.status, "to": status}])
    if status == "cancelled":
        return cancel_order(db, order, note or "cancelled by support", admin_id)
    ensure_consents_hold(db, order, [item for item in order.items if item.status == order.status])
    set_order_status(
        db, order, status, note=note, actor_user_id=admin_id, items_from={order.status}
    )
    return order


def admin_set_item_status(
    db: Session,
    order: Order,
    item_id: int,
    status: str,
    admin_id: int,
    *,
    scheduled_date: date | None = None,
    technician_name: str | None = None,
    technician_phone: str | None = None,
    note: str | None = None,
) -> OrderItem:
    """Move one member's test along; the order follows once all its items have."""
    item = next((i for i in order.items if i.id == item_id), None)
    if item is None:
        raise OrderItemNotFound()
    if status not in FULFILMENT or status in PAYMENT_DRIVEN or not can_move(item.status, status):
        raise InvalidStatusTransition(details=[{"from": item.status, "to": status}])
    ensure_consents_hold(db, order, [item])
    old = {
        "status": item.status,
        "scheduled_date": item.scheduled_date,
        "technician_name": item.technician_name,
        "technician_phone": item.technician_phone,
    }
    item.status = status
    if scheduled_date is not None:
        item.scheduled_date = scheduled_date
    if technician_name is not None:
        item.technician_name = technician_name
    if technician_phone is not None:
        item.technician_phone = technician_phone
    add_history(db, order, status, note, admin_id, item=item)
    record_audit(
        db,
        action="order_item.status_changed",
        entity_type="order_item",
        entity_id=item.id,
        actor_user_id=admin_id,
        changes=personal_changes(
            {
                key: {"old": value, "new": getattr(item, key)}
                for key, value in old.items()
                if getattr(item, key) != value
            }
        ),
    )
    slowest = min((i.status for i in order.items), key=fulfilment_rank)
    if fulfilment_rank(slowest) > fulfilment_rank(order.status):
        set_order_status(
            db,
            order,
            slowest,
            note="all items reached this step",
            actor_user_id=admin_id,
            items_from=set(),
        )
    return item


# --- jobs and hooks ---------------------------------------------------------------------------


def expire_unpaid_orders(db: Session) -> int:
    """Cancel orders still unpaid after ORDER_PAYMENT_TIMEOUT_MINUTES, releasing coupon holds."""
    due = db.scalars(
        with_details(
            select(Order)
            .where(Order.status == "pending_payment", Order.payment_due_at < utcnow())
            .order_by(Order.id)
            .limit(500)
        ).with_for_update(of=Order, skip_locked=True)
    ).all()
    for order in due:
        cancel_unpaid(db, order, "payment not received in time", None)
    return len(due)


@register_member_in_use_check
def member_on_unfinished_order(db: Session, member_id: int) -> bool:
    return (
        db.scalar(
            select(OrderItem.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.member_id == member_id, Order.status.not_in(FINISHED))
            .limit(1)
        )
        is not None
    )


SUMMARY_COLUMNS = (
    "id",
    "order_number",
    "user_id",
    "status",
    "total_paise",
    "currency",
    "created_at",
)


def summaries_query(statement: Select[Order]) -> Select[Any]:
    """`statement` (orders, filtered and ordered) narrowed to the summary's columns plus each
    order's item count: a list page in one query, without loading the orders."""
    item_count = (
        select(func.count(OrderItem.id))
        .where(OrderItem.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
        .label("item_count")
    )
    columns = [getattr(Order, name) for name in SUMMARY_COLUMNS]
    return statement.with_only_columns(*columns, item_count, maintain_column_froms=True)
