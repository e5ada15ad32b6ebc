"""Account erasure, the orders' part. Every order is kept (products, prices, statuses, payments
and refunds are the books); the people in it are pseudonymised and every note a person typed on
it (staff or customer) is replaced, since it may name the customer."""

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from Address_module.service import ERASED_ADDRESS
from database import locked
from Member_module.service import ERASED_MEMBER
from Orders_module.admin import COLLECTION_BOOKED_NOTE, REPORT_UPLOADED_NOTE
from Orders_module.cancellation import cancel_unpaid
from Orders_module.models import Order, OrderStatus
from Orders_module.service import orders_query, with_details
from Orders_module.states import FINISHED

ERASED_NOTE = "[erased]"
ERASURE_NOTE = "account erased"
CUSTOMER_CANCEL_NOTE = "cancelled by customer"
# Notes the code writes on orders; any other note was typed by a person (staff or the customer)
# and may name the customer, so the erasure replaces it.
SYSTEM_NOTES = frozenset(
    {
        CUSTOMER_CANCEL_NOTE,
        "superseded by a newer checkout",
        ERASURE_NOTE,
        "order placed",
        "nothing to pay",
        "payment not received in time",
        "refund requested",
        "all items reached this step",
        "cancelled by support",
        REPORT_UPLOADED_NOTE,
        COLLECTION_BOOKED_NOTE,
    }
)
# Generated notes that carry a Razorpay id: `payment pay_X (verify)`, `refund rfnd_X reported...`.
SYSTEM_NOTE_PATTERNS = (
    re.compile(r"payment [A-Za-z0-9_]+ \([a-z_ ]+\)"),
    re.compile(r"refund [A-Za-z0-9_]+ reported by Razorpay"),
)


def is_system_note(note: str) -> bool:
    return note in SYSTEM_NOTES or any(p.fullmatch(note) for p in SYSTEM_NOTE_PATTERNS)


@dataclass(frozen=True)
class ErasedOrders:
    order_ids: list[int]
    item_ids: list[int]
    cancelled: int


def lock_open_orders(db: Session, user_id: int) -> list[Order]:
    """The user's orders that are not finished, locked and read afresh."""
    return list(
        db.scalars(
            locked(
                with_details(orders_query(user_id).where(Order.status.not_in(FINISHED))),
                of=Order,
            )
        )
    )


def orders_blocking_erasure(open_orders: list[Order]) -> list[dict[str, Any]]:
    """Paid orders not finished yet (samples in flight) keep the account from being erased."""
    return [
        {"order_id": order.id, "order_number": order.order_number, "status": order.status}
        for order in open_orders
        if order.status != OrderStatus.PENDING_PAYMENT
    ]


def _pseudonymise(order: Order, user_id: int) -> None:
    for item in order.items:
        # JSON columns: assign new dicts so the change is seen and written.
        member = {**item.member_snapshot, **ERASED_MEMBER}
        member["date_of_birth"] = ERASED_MEMBER["date_of_birth"].isoformat()
        item.member_snapshot = member
        item.address_snapshot = {**item.address_snapshot, **ERASED_ADDRESS}
    cancelled_by_customer = any(
        entry.actor_user_id == user_id and entry.status == OrderStatus.CANCELLED
        for entry in order.history
    )
    for entry in order.history:
        if entry.note is None or is_system_note(entry.note):
            continue
        by_customer = entry.actor_user_id == user_id and entry.status == OrderStatus.CANCELLED
        entry.note = CUSTOMER_CANCEL_NOTE if by_customer else ERASED_NOTE
    if order.cancel_reason is not None and not is_system_note(order.cancel_reason):
        order.cancel_reason = CUSTOMER_CANCEL_NOTE if cancelled_by_customer else ERASED_NOTE


def erase_user_data(db: Session, user_id: int, open_orders: list[Order]) -> ErasedOrders:
    """The open orders (from `lock_open_orders`, none blocking) cancelled, their coupon holds
    released; then every order of the user pseudonymised."""
    for order in open_orders:
        cancel_unpaid(db, order, ERASURE_NOTE, user_id)
    orders = list(db.scalars(with_details(orders_query(user_id)).with_for_update(of=Order)))
    for order in orders:
        _pseudonymise(order, user_id)
    return ErasedOrders(
        order_ids=[order.id for order in orders],
        item_ids=[item.id for order in orders for item in order.items],
        cancelled=len(open_orders),
    )
