"""Payments: signed verification from the app, Razorpay webhooks, and paying an order once.

Both paths lock the order row and record the payment under a unique Razorpay payment id, so
when they race for the same payment exactly one of them moves the order to `paid`.
"""

import hashlib
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import record_audit, record_rejection
from Orders_module.errors import PaymentSignatureInvalid, WebhookSignatureInvalid
from Orders_module.models import Order, Payment, WebhookEvent
from Orders_module.razorpay_client import payment_signature_is_valid, webhook_signature_is_valid
from Orders_module.service import (
    complete_payment,
    get_order,
    set_order_status,
    start_refund,
    with_details,
)

logger = logging.getLogger("nucleotide.payments")


def record_captured_payment(
    db: Session,
    order: Order,
    razorpay_payment_id: str,
    amount_paise: int,
    *,
    method: str | None,
    source: str,
    actor_user_id: int | None,
) -> bool:
    """Record a captured payment on a locked order and pay the order; False if already known."""
    if db.scalar(select(Payment.id).where(Payment.razorpay_payment_id == razorpay_payment_id)):
        return False
    payment = Payment(
        order_id=order.id,
        razorpay_payment_id=razorpay_payment_id,
        razorpay_order_id=order.razorpay_order_id,
        amount_paise=amount_paise,
        status="captured",
        method=method,
        source=source,
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
            "source": source,
        },
    )
    if order.status == "pending_payment":
        complete_payment(
            db, order, note=f"payment {razorpay_payment_id} ({source})", actor_user_id=actor_user_id
        )
    elif order.status == "cancelled":
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
    record_captured_payment(
        db,
        order,
        payment_id,
        order.total_paise,
        method=None,
        source="verify",
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


def _on_paid(db: Session, event: dict[str, Any]) -> str:
    payment = _entity(event, "payment")
    order = _locked_order(db, payment.get("order_id") or _entity(event, "order").get("id"))
    if order is None or not payment.get("id"):
        return "ignored"
    amount = int(payment.get("amount") or order.total_paise)
    recorded = record_captured_payment(
        db,
        order,
        str(payment["id"]),
        amount,
        method=payment.get("method"),
        source="webhook",
        actor_user_id=None,
    )
    return "processed" if recorded else "already_known"


def _on_failed(db: Session, event: dict[str, Any]) -> str:
    payment = _entity(event, "payment")
    order = _locked_order(db, payment.get("order_id"))
    if order is None or not payment.get("id"):
        return "ignored"
    if db.scalar(select(Payment.id).where(Payment.razorpay_payment_id == payment["id"])):
        return "already_known"
    db.add(
        Payment(
            order_id=order.id,
            razorpay_payment_id=str(payment["id"]),
            razorpay_order_id=order.razorpay_order_id,
            amount_paise=int(payment.get("amount") or 0),
            status="failed",
            method=payment.get("method"),
            source="webhook",
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
    return "processed"


def _on_refund_processed(db: Session, event: dict[str, Any]) -> str:
    refund_entity = _entity(event, "refund")
    payment = db.scalar(
        select(Payment).where(Payment.razorpay_payment_id == refund_entity.get("payment_id"))
    )
    if payment is None:
        return "ignored"
    order = get_order(db, payment.order_id, for_update=True)
    refund = next((r for r in order.refunds if r.payment_id == payment.id), None)
    if refund is not None:
        refund.status = "processed"
        refund.razorpay_refund_id = refund.razorpay_refund_id or refund_entity.get("id")
    if order.status == "cancelled":
        # The refund webhook overtook our own refund request's commit.
        set_order_status(
            db,
            order,
            "refund_pending",
            note="refund reported by Razorpay",
            actor_user_id=None,
            items_from={"cancelled"},
        )
    if order.status == "refund_pending":
        set_order_status(
            db,
            order,
            "refunded",
            note=f"refund {refund_entity.get('id')}",
            actor_user_id=None,
            items_from={"refund_pending"},
        )
        return "processed"
    return "ignored"


HANDLERS = {
    "payment.captured": _on_paid,
    "order.paid": _on_paid,
    "payment.failed": _on_failed,
    "refund.processed": _on_refund_processed,
}


def handle_webhook(
    db: Session, raw_body: bytes, signature: str | None, event_id: str | None
) -> str:
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
        return "duplicate"
    try:
        with db.begin_nested():
            db.add(WebhookEvent(event_id=event_id, event_type=event_type[:64]))
    except IntegrityError:
        return "duplicate"
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored"
    outcome = handler(db, event)
    logger.info("webhook %s (%s): %s", event_type, event_id, outcome)
    return outcome
