"""Cancellation and refunds, and the job that expires unpaid orders.

A refund is recorded as `requested` in the cancelling transaction; after the commit it is sent
to Razorpay with no lock held (the refund job retries until Razorpay answers).
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from Cart_module.checkout import release_coupon_hold
from core.clock import utcnow
from core.hooks import Hook
from database import call_outside_transaction
from Orders_module.consent_holds import cancellable_after_withdrawal
from Orders_module.errors import (
    OrderNotCancellable,
    PaymentProviderUnavailable,
)
from Orders_module.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from Orders_module.razorpay_client import refund_payment
from Orders_module.service import get_order, set_order_status, with_details
from Orders_module.states import (
    CANCELLABLE,
    fulfilment_rank,
)

REFUND_KEY_LENGTH = 64  # Refund.idempotency_key
logger = logging.getLogger("nucleotide.orders")


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


# Run once in the transaction that ends an order, however it ends: `handler(db, order)` (the
# home collection booked for it gives its place back), connected in main.wire_hooks.
order_ended: Hook[[Session, Order]] = Hook("order_ended", required=True)


def end_order(
    db: Session,
    order: Order,
    status: OrderStatus,
    reason: str,
    actor_user_id: int | None,
    *,
    note: str | None = None,
) -> None:
    """Whatever ends an order (customer or admin cancel, expiry, a full refund Razorpay reports)
    ends it here: when and why, its coupon hold released, and the hooks run once. An order that
    has already ended only moves to `status`."""
    ending = order.cancelled_at is None
    if ending:
        order.cancelled_at = utcnow()
        order.cancel_reason = reason
        order.payment_due_at = None
    set_order_status(db, order, status, note=note or reason, actor_user_id=actor_user_id)
    if ending:
        if order.coupon_id is not None:  # only an order with a coupon holds one
            release_coupon_hold(db, order.id)
        order_ended(db, order)


def cancel_unpaid(db: Session, order: Order, reason: str, actor_user_id: int | None) -> None:
    end_order(db, order, OrderStatus.CANCELLED, reason, actor_user_id)


def captured_payment(order: Order) -> Payment | None:
    """The payment that paid the order (not a stray one that is refunded on its own)."""
    return next(
        (
            p
            for p in order.payments
            if p.status == PaymentStatus.CAPTURED and p.stray_reason is None
        ),
        None,
    )


def refunded_paise(refunds: Iterable[Refund]) -> int:
    """What went back to the customer: the processed refunds, whoever made them."""
    return sum(r.amount_paise for r in refunds if r.status == RefundStatus.PROCESSED)


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
) -> Refund | None:
    """Record our refund of what is left of one payment (refunds made in the Dashboard already
    took the rest) as `requested`, once per payment; None when nothing is left. send_refund asks
    Razorpay once this is committed, and the refund job asks again until it answers."""
    refunds = [r for r in order.refunds if r.payment_id == payment.id]
    ours = next((r for r in refunds if r.idempotency_key is not None), None)
    left = payment.amount_paise - sum(r.amount_paise for r in refunds)
    if ours is not None or left <= 0:
        return ours
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount_paise=left,
        status=RefundStatus.REQUESTED,
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
    if order.status == OrderStatus.CANCELLED:
        set_order_status(
            db,
            order,
            OrderStatus.REFUND_PENDING,
            note="refund requested",
            actor_user_id=actor_user_id,
            items_from={OrderStatus.CANCELLED},
        )
    return refund


def _request(refund: Refund, order_number: str, razorpay_payment_id: str) -> RefundRequest | None:
    """What asking Razorpay for our recorded refund takes; None for any other refund."""
    if refund.status != RefundStatus.REQUESTED or refund.idempotency_key is None:
        return None
    return RefundRequest(
        refund_id=refund.id,
        order_id=refund.order_id,
        order_number=order_number,
        razorpay_payment_id=razorpay_payment_id,
        amount_paise=refund.amount_paise,
        idempotency_key=refund.idempotency_key,
    )


def refund_requests(order: Order) -> list[RefundRequest]:
    """The order's refunds that Razorpay has not confirmed yet."""
    payments = {payment.id: payment for payment in order.payments}
    requests = (
        _request(refund, order.order_number, payments[refund.payment_id].razorpay_payment_id)
        for refund in order.refunds
    )
    return [request for request in requests if request is not None]


def unsent_refunds(db: Session, limit: int = 100) -> list[RefundRequest]:
    """Refunds recorded but never confirmed by Razorpay (its call failed, or the process died
    during it), oldest first."""
    rows = db.execute(
        select(Refund, Payment.razorpay_payment_id, Order.order_number)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Refund.order_id)
        .where(Refund.status == RefundStatus.REQUESTED, Refund.idempotency_key.is_not(None))
        .order_by(Refund.id)
        .limit(limit)
    )
    requests = (
        _request(refund, order_number, razorpay_payment_id)
        for refund, razorpay_payment_id, order_number in rows
    )
    return [request for request in requests if request is not None]


def send_recorded_refunds(
    db: Session, order: Order, actor_user_id: int | None, *, wait: bool
) -> Order:
    """Commit the refunds the request recorded, then ask Razorpay with no transaction open;
    the order as it is then.

    `wait`: Razorpay not answering is the request's 503 (the refund stays recorded and is sent
    again by a retry or the refund job); otherwise it is logged and left to the job."""
    requests = refund_requests(order)
    if not requests:
        return order

    def send_all() -> None:
        try:
            for request in requests:
                send_refund(db, request, actor_user_id)
        except PaymentProviderUnavailable:
            if wait:
                raise
            logger.warning("refund of order %s left to the refund job", order.id)

    call_outside_transaction(db, send_all)
    return get_order(db, order.id)


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
    if refund is None or refund.status != RefundStatus.REQUESTED:
        return  # a refund webhook got here first
    refund.status = RefundStatus.PENDING
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
    if order.status in {OrderStatus.CANCELLED, OrderStatus.REFUND_PENDING} and refund_requests(
        order
    ):
        return order
    usual = order.status in CANCELLABLE and all(
        fulfilment_rank(item.status) <= fulfilment_rank(OrderStatus.SAMPLE_COLLECTION_SCHEDULED)
        for item in order.items
    )
    # Past the usual point only when a withdrawn consent stops the tests (no report yet).
    if not usual and not cancellable_after_withdrawal(db, order):
        raise OrderNotCancellable()
    end_order(db, order, OrderStatus.CANCELLED, reason, actor_user_id)
    start_refund(db, order, actor_user_id)
    return order


def expire_unpaid_orders(db: Session) -> int:
    """Cancel orders still unpaid after ORDER_PAYMENT_TIMEOUT_MINUTES, releasing coupon holds."""
    due = db.scalars(
        with_details(
            select(Order)
            .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.payment_due_at < utcnow())
            .order_by(Order.id)
            .limit(500)
        ).with_for_update(of=Order, skip_locked=True)
    ).all()
    for order in due:
        cancel_unpaid(db, order, "payment not received in time", None)
    return len(due)
