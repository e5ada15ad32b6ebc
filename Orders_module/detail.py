"""`GET /orders/{id}` read as rows (docs/performance.md, "Read-only answers from rows"): the
order joined with its items in one statement, its payments, refunds and status history in a
second (one `UNION ALL`), no entity loaded. `OrderRows` reads like an `Order`, so the answer
(`OrderAnswer`) and the withdrawn-consent check take it as they take the entity."""

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from core.answers import ReadsThrough
from database import AnyRow, UTCDateTime, read_rows
from Orders_module.errors import OrderNotFound
from Orders_module.models import Order, OrderItem, OrderStatusHistory, Payment, Refund

ITEM = "item_"


@dataclass(frozen=True)
class OrderRows(ReadsThrough):
    """An order's row (read through for its columns) and its children as rows."""

    row: AnyRow
    items: list[SimpleNamespace]
    payments: list[AnyRow]
    refunds: list[AnyRow]
    history: list[AnyRow]


def _order_with_items() -> Any:
    items = [column.label(ITEM + column.name) for column in OrderItem.__table__.columns]
    return (
        select(*Order.__table__.columns, *items)
        .outerjoin(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.id == bindparam("order_id"))
        .order_by(OrderItem.id)
    )


def _children() -> Any:
    """Payments, refunds and history as one list of rows of one shape (`kind` tells them
    apart; statuses as text, which the answers read as their enums)."""

    def text(column: Any) -> Any:
        return type_coerce(column, String)

    return union_all(
        select(
            literal("payment").label("kind"),
            Payment.id.label("id"),
            type_coerce(Payment.created_at, UTCDateTime()).label("at"),
            Payment.razorpay_payment_id.label("reference"),
            Payment.amount_paise.label("amount_paise"),
            Payment.currency.label("currency"),
            text(Payment.status).label("status"),
            Payment.method.label("method"),
            Payment.stray_reason.label("stray_reason"),
            type_coerce(null(), String).label("note"),
            type_coerce(null(), Integer).label("order_item_id"),
        ).where(Payment.order_id == bindparam("order_id")),
        select(
            literal("refund"),
            Refund.id,
            Refund.created_at,
            Refund.razorpay_refund_id,
            Refund.amount_paise,
            null(),
            text(Refund.status),
            null(),
            null(),
            null(),
            null(),
        ).where(Refund.order_id == bindparam("order_id")),
        select(
            literal("history"),
            OrderStatusHistory.id,
            OrderStatusHistory.at,
            null(),
            null(),
            null(),
            text(OrderStatusHistory.status),
            null(),
            null(),
            OrderStatusHistory.note,
            OrderStatusHistory.order_item_id,
        ).where(OrderStatusHistory.order_id == bindparam("order_id")),
    )


# Built once (database.read_rows): the staff's read, the owner's, the children.
ANY_ORDER = _order_with_items()
OWN_ORDER = ANY_ORDER.where(Order.user_id == bindparam("user_id"))
CHILDREN = _children()


def order_rows(db: Session, order_id: int, *, user_id: int | None) -> OrderRows:
    """The order (the caller's own unless `user_id` is None: staff) with everything the detail
    shows, in two statements; another user's is OrderNotFound."""
    statement = ANY_ORDER if user_id is None else OWN_ORDER
    rows = read_rows(db, statement, order_id=order_id, user_id=user_id)
    if not rows:
        raise OrderNotFound()
    items = [
        SimpleNamespace(
            **{
                key[len(ITEM) :]: value
                for key, value in row._mapping.items()
                if key.startswith(ITEM)
            }
        )
        for row in rows
        if row._mapping[ITEM + "id"] is not None
    ]
    children = sorted(read_rows(db, CHILDREN, order_id=order_id), key=lambda child: child.id)
    by_kind: dict[str, list[AnyRow]] = {"payment": [], "refund": [], "history": []}
    for child in children:
        by_kind[child.kind].append(child)
    return OrderRows(
        rows[0],
        items,
        [_payment(row) for row in by_kind["payment"]],
        [_refund(row) for row in by_kind["refund"]],
        by_kind["history"],
    )


def _payment(row: AnyRow) -> Any:
    return SimpleNamespace(
        razorpay_payment_id=row.reference,
        amount_paise=row.amount_paise,
        currency=row.currency,
        status=row.status,
        method=row.method,
        stray_reason=row.stray_reason,
        created_at=row.at,
    )


def _refund(row: AnyRow) -> Any:
    return SimpleNamespace(
        razorpay_refund_id=row.reference,
        amount_paise=row.amount_paise,
        status=row.status,
        created_at=row.at,
    )
