"""The admin's status changes of orders and their items."""

from datetime import date

from sqlalchemy.orm import Session

from Audit_module.service import personal_changes, record_audit
from Orders_module.cancellation import cancel_order
from Orders_module.consent_holds import cancellable_after_withdrawal, ensure_consents_hold
from Orders_module.errors import (
    InvalidStatusTransition,
    OrderItemNotFound,
)
from Orders_module.models import Order, OrderItem, OrderStatus
from Orders_module.service import add_history, set_order_status
from Orders_module.states import (
    FULFILMENT,
    PAYMENT_DRIVEN,
    can_move,
    fulfilment_rank,
)


def admin_set_order_status(
    db: Session, order: Order, status: OrderStatus, note: str | None, admin_id: int
) -> Order:
    allowed = can_move(order.status, status) or (
        status == OrderStatus.CANCELLED and cancellable_after_withdrawal(db, order)
    )
    if status in PAYMENT_DRIVEN or not allowed:
        raise InvalidStatusTransition(details=[{"from": order.status, "to": status}])
    if status == OrderStatus.CANCELLED:
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
    status: OrderStatus,
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
