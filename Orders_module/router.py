import logging
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Row, Select
from sqlalchemy.orm import Session

from config import get_settings
from core.pagination import Page, PageParams, Pagination, RowPage, page_of_rows, paginate
from core.routing import APIRouter, DbSession
from core.validation import RowId
from database import AnyRow
from deps import AdminUser, CurrentAuth, CurrentUser
from Orders_module import payments, service
from Orders_module.admin import admin_set_item_status, admin_set_order_status
from Orders_module.answers import CheckoutAnswer, OrderAnswer, Tracking, checkout_answer
from Orders_module.cancellation import cancel_order, send_recorded_refunds
from Orders_module.checkout import checkout_cart
from Orders_module.consent_holds import order_withdrawn_consents
from Orders_module.deps import ReadableOrder
from Orders_module.detail import order_rows
from Orders_module.models import Order
from Orders_module.schemas import (
    CancelIn,
    CheckoutIn,
    CheckoutOut,
    ItemStatusIn,
    OrderOut,
    OrderStatus,
    OrderStatusIn,
    OrderSummaryOut,
    TrackingOut,
    VerifyPaymentIn,
    WebhookAckOut,
)

router = APIRouter(prefix="/orders", tags=["orders"])
logger = logging.getLogger("nucleotide.orders")

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$"),
]


async def raw_body(request: Request) -> bytes:
    """The exact bytes Razorpay signed (read before any JSON parsing)."""
    return await request.body()


def _page_of_summaries(
    db: Session, statement: Select[Order], page: PageParams, total_key: str | None = None
) -> RowPage[Row[Any]]:
    """One query for the page: the summary columns and each order's item count."""
    return paginate(
        db,
        service.summaries_query(statement),
        page,
        total_key=total_key,
        total_max_age=get_settings().ADMIN_LIST_TOTAL_SECONDS,
        as_rows=True,
    )


@router.post("", response_model=CheckoutOut, status_code=201)
def checkout(
    db: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
    body: CheckoutIn | None = None,
) -> CheckoutAnswer:
    """Place an order from my cart; pay it with Razorpay Checkout using `payment`."""
    return checkout_answer(checkout_cart(db, user, idempotency_key, body))


@router.get("", response_model=Page[OrderSummaryOut])
def my_orders(
    db: DbSession, user: CurrentUser, page: Pagination, status: OrderStatus | None = None
) -> RowPage[AnyRow]:
    """My orders, newest first."""
    if status:
        return page_of_rows(
            db, service.MY_SUMMARIES_BY_STATUS, page, user_id=user.id, status=status
        )
    return page_of_rows(db, service.MY_SUMMARIES, page, user_id=user.id)


@router.get("/admin", response_model=Page[OrderSummaryOut])
def all_orders(
    db: DbSession,
    _admin: AdminUser,
    page: Pagination,
    status: OrderStatus | None = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> RowPage[Row[Any]]:
    """Every order, filtered by status and user (admin)."""
    statement = service.orders_query(user_id)
    if status:
        statement = statement.where(Order.status == status)
    return _page_of_summaries(db, statement, page, f"admin_orders:{status}:{user_id}")


@router.post("/webhook/razorpay", response_model=WebhookAckOut)
def razorpay_webhook(
    db: DbSession,
    body: Annotated[bytes, Depends(raw_body)],
    signature: Annotated[str | None, Header(alias="X-Razorpay-Signature", max_length=256)] = None,
    event_id: Annotated[str | None, Header(alias="X-Razorpay-Event-Id", max_length=128)] = None,
) -> payments.WebhookResult:
    """Razorpay events, signed with RAZORPAY_WEBHOOK_SECRET (no login)."""
    result = payments.handle_webhook(db, body, signature, event_id)
    if result.order is not None:
        # The event is recorded either way; a refund Razorpay does not take now is re-sent by
        # the refund job, not by a redelivery (that would be a duplicate).
        send_recorded_refunds(db, result.order, None, wait=False)
    return result


@router.get("/{order_id}", response_model=OrderOut)
def order_detail(order_id: RowId, db: DbSession, auth: CurrentAuth) -> OrderAnswer:
    """One of my orders (any order for an admin); items a withdrawn consent stops are marked."""
    order = order_rows(db, order_id, user_id=None if auth.is_admin else auth.user.id)
    # The rows read like an Order (Orders_module/detail.py), which is all the answer asks of it.
    held = order_withdrawn_consents(db, order)  # type: ignore[arg-type]
    return OrderAnswer(order, held, staff=auth.is_admin)  # type: ignore[arg-type]


@router.get("/{order_id}/tracking", response_model=TrackingOut)
def order_tracking(order: ReadableOrder, auth: CurrentAuth) -> Tracking:
    """Where each member's sample is."""
    return Tracking(order, staff=auth.is_admin)


@router.post("/{order_id}/verify-payment", response_model=OrderOut)
def verify_payment(
    order_id: RowId, body: VerifyPaymentIn, db: DbSession, user: CurrentUser
) -> OrderAnswer:
    """Confirm a Razorpay Checkout payment with its signature."""
    order = payments.verify_payment(
        db,
        user.id,
        order_id,
        body.razorpay_order_id,
        body.razorpay_payment_id,
        body.razorpay_signature,
    )
    return OrderAnswer(send_recorded_refunds(db, order, user.id, wait=False))


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: RowId, db: DbSession, user: CurrentUser, body: CancelIn | None = None
) -> OrderAnswer:
    """Cancel before any sample is collected; a paid order is refunded."""
    order = service.get_order(db, order_id, user_id=user.id, for_update=True)
    reason = (body.reason if body else None) or "cancelled by customer"
    order = cancel_order(db, order, reason, user.id)
    return OrderAnswer(send_recorded_refunds(db, order, user.id, wait=True))


@router.put("/{order_id}/status", response_model=OrderOut)
def set_status(
    order_id: RowId, body: OrderStatusIn, db: DbSession, admin: AdminUser
) -> OrderAnswer:
    """Move an order along its status path (admin)."""
    order = service.get_order(db, order_id, for_update=True)
    order = admin_set_order_status(db, order, body.status, body.note, admin.id)
    return OrderAnswer(send_recorded_refunds(db, order, admin.id, wait=True), staff=True)


@router.put("/{order_id}/items/{item_id}/status", response_model=OrderOut)
def set_item_status(
    order_id: RowId, item_id: RowId, body: ItemStatusIn, db: DbSession, admin: AdminUser
) -> OrderAnswer:
    """Move one member's test along: scheduling, technician, collection, lab, report (admin)."""
    order = service.get_order(db, order_id, for_update=True)
    admin_set_item_status(
        db,
        order,
        item_id,
        body.status,
        admin.id,
        scheduled_date=body.scheduled_date,
        technician_name=body.technician_name,
        technician_phone=body.technician_phone,
        note=body.note,
    )
    return OrderAnswer(order, order_withdrawn_consents(db, order), staff=True)
