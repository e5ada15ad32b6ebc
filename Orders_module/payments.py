"""Payments: signed verification from the app, Razorpay webhooks, and paying an order once.

Both paths lock the order row and record the payment under a unique Razorpay payment id, so
when they race for the same payment exactly one of them moves the order to `paid`. A payment
pays its order only with the order's amount and currency, and only once; any other captured
payment is kept as a stray one and refunded on its own, the order left as it was.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import record_audit, record_rejection
from core.hooks import Hook
from Notification_module.models import NotificationEvent
from Orders_module.cancellation import (
    captured_payment,
    end_order,
    refunded_paise,
    request_refund,
    start_refund,
)
from Orders_module.checkout import complete_payment
from Orders_module.errors import PaymentSignatureInvalid, WebhookSignatureInvalid
from Orders_module.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from Orders_module.notices import rupees, tell_customer
from Orders_module.razorpay_client import payment_signature_is_valid, webhook_signature_is_valid
from Orders_module.service import get_order, with_details

logger = logging.getLogger("nucleotide.payments")

# Order statuses a full refund of the order's own payment may still move.
REFUNDABLE_BY_RAZORPAY = {
    OrderStatus.PAID,
    OrderStatus.SAMPLE_COLLECTION_SCHEDULED,
    OrderStatus.CANCELLED,
    OrderStatus.REFUND_PENDING,
}


class WebhookOutcome(StrEnum):
    PROCESSED = "processed"
    ALREADY_KNOWN = "already_known"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class WebhookResult:
    status: WebhookOutcome
    # The order the event touched, locked and loaded: the router sends its recorded refunds.
    order: Order | None = None


def stray_reason(order: Order, amount_paise: int, currency: str | None) -> str | None:
    """Why a captured payment does not pay `order`, or None when it does."""
    if currency != order.currency:
        return "currency_mismatch"
    if amount_paise != order.total_paise:
        return "amount_mismatch"
    if captured_payment(order) is not None:
        return "already_paid"
    return None


def _refuse_stray(
    db: Session,
    order: Order,
    payment: Payment,
    reason: str,
    currency: str | None,
    actor_user_id: int | None,
) -> None:
    """A captured payment that does not pay its order: logged, audited (with the currency
    Razorpay reported), its refund recorded."""
    logger.warning(
        "payment %s on order %s refused (%s): refunding it",
        payment.razorpay_payment_id,
        order.id,
        reason,
    )
    record_audit(
        db,
        action="payment.refused",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={
            "razorpay_payment_id": payment.razorpay_payment_id,
            "reason": reason,
            "amount_paise": {"expected": order.total_paise, "received": payment.amount_paise},
            "currency": {"expected": order.currency, "received": currency},
            "order_status": order.status,
        },
    )
    request_refund(db, order, payment, actor_user_id, reason=reason)


def record_captured_payment(
    db: Session,
    order: Order,
    razorpay_payment_id: str,
    amount_paise: int,
    *,
    currency: str | None,
    method: str | None,
    source: str,
    actor_user_id: int | None,
) -> bool:
    """Record a captured payment on a locked order and pay the order; False if already known.

    A payment that does not pay it (stray_reason) is recorded, audited and its refund recorded;
    the order keeps its status (an underpaid order stays payable, a paid one stays paid).
    """
    if db.scalar(select(Payment.id).where(Payment.razorpay_payment_id == razorpay_payment_id)):
        return False
    reason = stray_reason(order, amount_paise, currency)
    payment = Payment(
        order_id=order.id,
        razorpay_payment_id=razorpay_payment_id,
        razorpay_order_id=order.razorpay_order_id,
        amount_paise=amount_paise,
        currency=(currency or order.currency)[:3],
        status=PaymentStatus.CAPTURED,
        method=method,
        source=source,
        stray_reason=reason,
    )
    try:
        with db.begin_nested():
            db.add(payment)
    except IntegrityError:
        return False
    order.payments.append(payment)
    record_audit(
        db,
        action="payment.captured",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={
            "razorpay_payment_id": razorpay_payment_id,
            "amount_paise": amount_paise,
            "currency": currency,
            "source": source,
        },
    )
    if reason is not None:
        _refuse_stray(db, order, payment, reason, currency, actor_user_id)
    elif order.status == OrderStatus.PENDING_PAYMENT:
        complete_payment(
            db, order, note=f"payment {razorpay_payment_id} ({source})", actor_user_id=actor_user_id
        )
    elif order.status == OrderStatus.CANCELLED:
        # Money arrived after the order was cancelled (e.g. it expired): give it back.
        start_refund(db, order, actor_user_id)
    return True


def verify_payment(
    db: Session,
    user_id: int,
    order_id: int,
    razorpay_order_id: str,
    payment_id: str,
    signature: str,
) -> Order:
    """The app's proof of payment from Razorpay Checkout, checked against this order."""
    order = get_order(db, order_id, user_id=user_id, for_update=True)
    if (
        order.razorpay_order_id is None
        or razorpay_order_id != order.razorpay_order_id
        or not payment_signature_is_valid(order.razorpay_order_id, payment_id, signature)
    ):
        record_rejection(
            db,
            action="payment.signature_invalid",
            entity_type="order",
            entity_id=order.id,
            actor_user_id=user_id,
            changes={"razorpay_payment_id": payment_id[:64]},
        )
        raise PaymentSignatureInvalid()
    # Razorpay takes exactly the Razorpay order's amount, which was created from this order.
    record_captured_payment(
        db,
        order,
        payment_id,
        order.total_paise,
        currency=order.currency,
        method=None,
        source=PaymentSource.VERIFY,
        actor_user_id=user_id,
    )
    return order


def _entity(event: dict[str, Any], name: str) -> dict[str, Any]:
    entity = event.get("payload", {}).get(name, {}).get("entity", {})
    return entity if isinstance(entity, dict) else {}


def _locked_order(db: Session, razorpay_order_id: str | None) -> Order | None:
    if not razorpay_order_id:
        return None
    return db.scalars(
        with_details(
            select(Order).where(Order.razorpay_order_id == razorpay_order_id)
        ).with_for_update(of=Order)
    ).first()


def _paise(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _on_paid(db: Session, event: dict[str, Any]) -> WebhookResult:
    payment = _entity(event, "payment")
    razorpay_order = _entity(event, "order")
    order = _locked_order(db, payment.get("order_id") or razorpay_order.get("id"))
    amount = _paise(payment.get("amount"))
    if order is None or not payment.get("id") or amount is None:
        return WebhookResult(WebhookOutcome.IGNORED)
    currency = payment.get("currency") or razorpay_order.get("currency")
    recorded = record_captured_payment(
        db,
        order,
        str(payment["id"]),
        amount,
        currency=str(currency) if currency else None,
        method=payment.get("method"),
        source=PaymentSource.WEBHOOK,
        actor_user_id=None,
    )
    return WebhookResult(
        WebhookOutcome.PROCESSED if recorded else WebhookOutcome.ALREADY_KNOWN, order
    )


def _on_failed(db: Session, event: dict[str, Any]) -> WebhookResult:
    payment = _entity(event, "payment")
    order = _locked_order(db, payment.get("order_id"))
    if order is None or not payment.get("id"):
        return WebhookResult(WebhookOutcome.IGNORED)
    if db.scalar(select(Payment.id).where(Payment.razorpay_payment_id == payment["id"])):
        return WebhookResult(WebhookOutcome.ALREADY_KNOWN)
    db.add(
        Payment(
            order_id=order.id,
            razorpay_payment_id=str(payment["id"]),
            razorpay_order_id=order.razorpay_order_id,
            amount_paise=int(payment.get("amount") or 0),
            status=PaymentStatus.FAILED,
            method=payment.get("method"),
            source=PaymentSource.WEBHOOK,
            error_code=str(payment.get("error_code") or "")[:64] or None,
            error_description=str(payment.get("error_description") or "")[:255] or None,
        )
    )
    record_audit(
        db,
        action="payment.failed",
        entity_type="order",
        entity_id=order.id,
        changes={"razorpay_payment_id": payment["id"], "error_code": payment.get("error_code")},
    )
    if order.status == OrderStatus.PENDING_PAYMENT:
        tell_customer(db, order, NotificationEvent.PAYMENT_FAILED)
    return WebhookResult(WebhookOutcome.PROCESSED)


# What modules above Orders do when a refund is processed, in the same transaction (its
# credit note): `handler(db, order, refund)`, once per refund, connected in main.wire_hooks.
refund_processed: Hook[[Session, Order, Refund]] = Hook("refund_processed", required=True)


def _on_refund(db: Session, event: dict[str, Any], *, processed: bool) -> WebhookResult:
    """`refund.created` / `refund.processed` for a payment we know, whoever made the refund
    (our request, or someone in the Razorpay Dashboard), matched by its Razorpay refund id:
    each refund is its own row, told and credited once when processed. The order follows
    what its own payment's refunds add up to (`_follow_refunds`)."""
    entity = _entity(event, "refund")
    razorpay_refund_id = str(entity.get("id") or "")[:64]
    known = db.scalar(
        select(Payment).where(Payment.razorpay_payment_id == entity.get("payment_id"))
    )
    if not razorpay_refund_id or known is None or known.status != PaymentStatus.CAPTURED:
        return WebhookResult(WebhookOutcome.IGNORED)
    order = get_order(db, known.order_id, for_update=True)
    payment = next(p for p in order.payments if p.id == known.id)
    amount = _paise(entity.get("amount")) or payment.amount_paise
    refund = _matching_refund(order, payment, razorpay_refund_id, amount)
    changed = refund is None
    if refund is None:
        refund = _record_outside_refund(db, order, payment, razorpay_refund_id, amount)
    was_processed = refund.status == RefundStatus.PROCESSED
    if processed:
        status = RefundStatus.PROCESSED
    else:
        status = RefundStatus.PENDING if refund.status == RefundStatus.REQUESTED else refund.status
    changed = changed or (status, razorpay_refund_id) != (refund.status, refund.razorpay_refund_id)
    refund.status, refund.razorpay_refund_id = status, razorpay_refund_id
    if payment.stray_reason is None:
        changed = _follow_refunds(db, order, payment, razorpay_refund_id) or changed
    if processed and not was_processed:
        _refund_processed(db, order, refund)
    return WebhookResult(
        WebhookOutcome.PROCESSED if changed else WebhookOutcome.ALREADY_KNOWN, order
    )


def _matching_refund(
    order: Order, payment: Payment, razorpay_refund_id: str, amount_paise: int
) -> Refund | None:
    """The recorded refund Razorpay's refund is: the one with its id, else our request of that
    payment for the same amount whose answer we have not recorded (lost, or still on its way:
    our request is always for what is left of the payment, so no other refund of that amount can
    succeed beside it); None for a refund made in the Dashboard."""
    recorded = next((r for r in order.refunds if r.razorpay_refund_id == razorpay_refund_id), None)
    if recorded is not None:
        return recorded
    return next(
        (
            r
            for r in order.refunds
            if r.payment_id == payment.id
            and r.razorpay_refund_id is None
            and r.idempotency_key is not None
            and r.amount_paise == amount_paise
        ),
        None,
    )


def _record_outside_refund(
    db: Session, order: Order, payment: Payment, razorpay_refund_id: str, amount_paise: int
) -> Refund:
    """A refund someone made in the Razorpay Dashboard, partial or full: a row of its own."""
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        razorpay_refund_id=razorpay_refund_id,
        amount_paise=amount_paise,
        status=RefundStatus.PENDING,
        idempotency_key=None,
    )
    order.refunds.append(refund)
    db.flush()
    record_audit(
        db,
        action="refund.recorded",
        entity_type="order",
        entity_id=order.id,
        changes={
            "razorpay_refund_id": razorpay_refund_id,
            "razorpay_payment_id": payment.razorpay_payment_id,
            "amount_paise": amount_paise,
            "made_outside_the_app": True,
        },
    )
    return refund


def _refund_processed(db: Session, order: Order, refund: Refund) -> None:
    """This refund's money went back: audited, the customer told its amount, and the hooks (its
    credit note) run."""
    record_audit(
        db,
        action="refund.processed",
        entity_type="order",
        entity_id=order.id,
        changes={
            "razorpay_refund_id": refund.razorpay_refund_id,
            "amount_paise": refund.amount_paise,
        },
    )
    tell_customer(db, order, NotificationEvent.REFUND_PROCESSED, amount=rupees(refund.amount_paise))
    refund_processed(db, order, refund)


def _follow_refunds(db: Session, order: Order, payment: Payment, razorpay_refund_id: str) -> bool:
    """The order follows the refunds of the payment that paid it: refund_pending once they
    cover what was paid, refunded once the processed ones do; less leaves it where it is. An
    order this ends goes through `end_order` (its home collection released, ...)."""
    refunds = [r for r in order.refunds if r.payment_id == payment.id]
    if refunded_paise(refunds) >= payment.amount_paise:
        target = OrderStatus.REFUNDED
    elif sum(r.amount_paise for r in refunds) >= payment.amount_paise:
        target = OrderStatus.REFUND_PENDING
    else:
        return False
    if order.status == target or order.status == OrderStatus.REFUNDED:
        return False
    if order.status not in REFUNDABLE_BY_RAZORPAY:
        # Refunded after the sample was collected: recorded, the fulfilment left to support.
        logger.warning("refund %s on order %s in %s", razorpay_refund_id, order.id, order.status)
        return False
    end_order(
        db,
        order,
        target,
        "refunded through Razorpay",
        None,
        note=f"refund {razorpay_refund_id} reported by Razorpay",
    )
    return True


def _on_refund_created(db: Session, event: dict[str, Any]) -> WebhookResult:
    return _on_refund(db, event, processed=False)


def _on_refund_processed(db: Session, event: dict[str, Any]) -> WebhookResult:
    return _on_refund(db, event, processed=True)


HANDLERS = {
    "payment.captured": _on_paid,
    "order.paid": _on_paid,
    "payment.failed": _on_failed,
    "refund.created": _on_refund_created,
    "refund.processed": _on_refund_processed,
}


def handle_webhook(
    db: Session, raw_body: bytes, signature: str | None, event_id: str | None
) -> WebhookResult:
    """Check the signature of the raw body, skip repeats, apply the event."""
    if not signature or not webhook_signature_is_valid(raw_body, signature):
        record_rejection(
            db,
            action="webhook.signature_invalid",
            entity_type="webhook",
            entity_id=(event_id or "")[:64] or None,
        )
        raise WebhookSignatureInvalid()
    try:
        event = json.loads(raw_body)
    except ValueError as exc:
        raise WebhookSignatureInvalid("The webhook body is not JSON.") from exc
    if not isinstance(event, dict):
        raise WebhookSignatureInvalid("The webhook body is not an event.")
    event_type = str(event.get("event", ""))
    event_id = (event_id or hashlib.sha256(raw_body).hexdigest())[:64]
    if db.scalar(select(WebhookEvent.id).where(WebhookEvent.event_id == event_id)):
        return WebhookResult(WebhookOutcome.DUPLICATE)
    try:
        with db.begin_nested():
            db.add(WebhookEvent(event_id=event_id, event_type=event_type[:64]))
    except IntegrityError:
        return WebhookResult(WebhookOutcome.DUPLICATE)
    handler = HANDLERS.get(event_type)
    if handler is None:
        return WebhookResult(WebhookOutcome.IGNORED)
    result = handler(db, event)
    logger.info("webhook %s (%s): %s", event_type, event_id, result.status)
    return result
