"""What the customer is told about their order (through the notifications outbox, in the same
transaction as the change). The texts name the order, never the test or a result."""

from typing import Any

from sqlalchemy.orm import Session

from config import get_settings
from Notification_module.models import NotificationEvent
from Notification_module.service import notify
from Orders_module.models import Order, OrderItem, OrderStatus

# Item steps the customer hears about, and the event each one sends.
STEP_EVENTS = {
    OrderStatus.SAMPLE_COLLECTION_SCHEDULED: NotificationEvent.COLLECTION_SCHEDULED,
    OrderStatus.SAMPLE_COLLECTED: NotificationEvent.SAMPLE_COLLECTED,
    OrderStatus.REPORT_READY: NotificationEvent.REPORT_READY,
}


def rupees(paise: int) -> str:
    return f"₹{paise / 100:,.2f}"


def order_link(order_id: int) -> str:
    return f"{get_settings().APP_LINK_BASE.rstrip('/')}/orders/{order_id}"


def tell_customer(
    db: Session,
    order: Order,
    event: NotificationEvent,
    *,
    coalesce_key: str | None = None,
    **context: Any,
) -> None:
    """`coalesce_key`: news that replaces the previous message with the key while it waits."""
    notify(
        db,
        order.user_id,
        event,
        {
            "order_id": order.id,
            "order_number": order.order_number,
            "link": order_link(order.id),
            **context,
        },
        coalesce_key=coalesce_key,
    )


def tell_item_step(db: Session, order: Order, items: list[OrderItem]) -> None:
    """The items (of one order) just reached a step the customer hears about: one message per
    step, whichever members' tests moved."""
    for status in dict.fromkeys(item.status for item in items):
        event = STEP_EVENTS.get(status)
        if event is None:
            continue
        if event == NotificationEvent.COLLECTION_SCHEDULED:
            dates = sorted({i.scheduled_date for i in items if i.scheduled_date is not None})
            when = ", ".join(day.strftime("%d %b %Y") for day in dates) or "a date we will confirm"
            tell_customer(db, order, event, date=when, window=None)
        else:
            tell_customer(db, order, event)
