"""The admin's status changes of orders and their items."""

from collections.abc import Mapping
from datetime import date

from sqlalchemy.orm import Session

from Audit_module.service import personal_changes, record_audit
from Notification_module.models import NotificationEvent
from Orders_module.cancellation import cancel_order
from Orders_module.consent_holds import cancellable_after_withdrawal, ensure_consents_hold
from Orders_module.errors import InvalidStatusTransition, ReportRequired
from Orders_module.models import Order, OrderItem, OrderStatus
from Orders_module.notices import tell_customer, tell_item_step
from Orders_module.service import add_history, order_item, set_order_status
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
    if status == OrderStatus.REPORT_READY:
        raise ReportRequired()
    if status == OrderStatus.CANCELLED:
        return cancel_order(db, order, note or "cancelled by support", admin_id)
    moving = [item for item in order.items if item.status == order.status]
    ensure_consents_hold(db, order, moving)
    set_order_status(
        db, order, status, note=note, actor_user_id=admin_id, items_from={order.status}
    )
    tell_item_step(db, order, moving)
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
    """Move one member's test along; the order follows once all its items have. Only an
    uploaded report moves it to report_ready (`record_report_uploaded`)."""
    item = order_item(order, item_id)
    if status not in FULFILMENT or status in PAYMENT_DRIVEN or not can_move(item.status, status):
        raise InvalidStatusTransition(details=[{"from": item.status, "to": status}])
    if status == OrderStatus.REPORT_READY:
        raise ReportRequired()
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
    _item_changed(db, order, item, old, note, admin_id, "order_item.status_changed")
    return item


REPORT_UPLOADED_NOTE = "report uploaded"
COLLECTION_BOOKED_NOTE = "home collection booked"
REPORT_STEPS = (OrderStatus.IN_LAB, OrderStatus.REPORT_READY)


def record_report_uploaded(
    db: Session, order: Order, item: OrderItem, version: int, admin_id: int
) -> None:
    """The item's report `version` is being stored (Report_module): allowed once the sample is
    in the lab; the first report moves the item to report_ready (and the order, once all its
    items are there). `order` is locked by the caller."""
    if item.status not in REPORT_STEPS:
        raise InvalidStatusTransition(
            details=[{"from": item.status, "to": OrderStatus.REPORT_READY}]
        )
    ensure_consents_hold(db, order, [item])
    old = {"status": item.status, "report_version": item.report_version}
    item.report_version = version
    note = None
    if item.status == OrderStatus.IN_LAB:
        item.status = OrderStatus.REPORT_READY
        note = REPORT_UPLOADED_NOTE
    _item_changed(db, order, item, old, note, admin_id, "order_item.report_uploaded")


def _item_changed(
    db: Session,
    order: Order,
    item: OrderItem,
    old: Mapping[str, object],
    note: str | None,
    admin_id: int,
    action: str,
) -> None:
    """History (when the status moved) and audit of an item change; the order follows once
    all its items have reached a further step."""
    if item.status != old["status"]:
        add_history(db, order, item.status, note, admin_id, item=item)
        tell_item_step(db, order, [item])
    record_audit(
        db,
        action=action,
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
    _order_follows(db, order, admin_id)


def _order_follows(db: Session, order: Order, actor_user_id: int) -> None:
    """The order moves on to the earliest step all its items have reached."""
    slowest = min((i.status for i in order.items), key=fulfilment_rank)
    if fulfilment_rank(slowest) > fulfilment_rank(order.status):
        set_order_status(
            db,
            order,
            slowest,
            note="all items reached this step",
            actor_user_id=actor_user_id,
            items_from=set(),
        )


def schedule_items(
    db: Session,
    order: Order,
    items: list[OrderItem],
    day: date,
    window: str,
    actor_user_id: int,
    *,
    notice_key: str | None = None,
) -> None:
    """The customer booked (or moved) a home collection for `items` (of the locked `order`):
    each `paid` item moves to sample_collection_scheduled, all get the date; one message (with
    `notice_key`, one that replaces the visit's earlier message while that one waits)."""
    for item in items:
        old = {"status": item.status, "scheduled_date": item.scheduled_date}
        if item.status == OrderStatus.PAID:
            item.status = OrderStatus.SAMPLE_COLLECTION_SCHEDULED
            add_history(db, order, item.status, COLLECTION_BOOKED_NOTE, actor_user_id, item=item)
        item.scheduled_date = day
        record_audit(
            db,
            action="order_item.collection_scheduled",
            entity_type="order_item",
            entity_id=item.id,
            actor_user_id=actor_user_id,
            changes={
                key: {"old": value, "new": getattr(item, key)}
                for key, value in old.items()
                if getattr(item, key) != value
            },
        )
    _order_follows(db, order, actor_user_id)
    tell_customer(
        db,
        order,
        NotificationEvent.COLLECTION_SCHEDULED,
        coalesce_key=notice_key,
        date=day.strftime("%d %b %Y"),
        window=window,
    )


def set_technician(
    db: Session, order: Order, items: list[OrderItem], name: str | None, phone: str | None
) -> None:
    for item in items:
        item.technician_name = name
        item.technician_phone = phone
