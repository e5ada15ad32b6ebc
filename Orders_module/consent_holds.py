"""Withdrawn consents and fulfilment: a member's test whose required consent was withdrawn after
the order was placed goes no further (409 consent_withdrawn) until the consent is given again;
meanwhile the order may be cancelled with a refund while no report has been issued."""

from collections.abc import Iterable

from sqlalchemy.orm import Session

from Consent_module.errors import ConsentWithdrawn
from Consent_module.queries import withdrawn_consents
from Orders_module.models import Order, OrderItem, OrderStatus
from Orders_module.states import FINISHED, fulfilment_rank

# The furthest step at which a withdrawal still lets the order be cancelled: no report yet.
LAST_CANCELLABLE_STEP = OrderStatus.IN_LAB


def withdrawn_by_item(
    db: Session, items: Iterable[OrderItem], *, locking: bool = False
) -> dict[int, list[str]]:
    """item id -> the withdrawn consent codes stopping it (items with none left out)."""
    items = list(items)
    found = withdrawn_consents(db, {(i.member_id, i.product_id) for i in items}, locking=locking)
    return {
        item.id: found[(item.member_id, item.product_id)]
        for item in items
        if (item.member_id, item.product_id) in found
    }


def order_withdrawn_consents(db: Session, order: Order) -> dict[int, list[str]]:
    """What the order views show; a finished order is not held by anything."""
    if order.status in FINISHED:
        return {}
    return withdrawn_by_item(db, order.items)


def ensure_consents_hold(db: Session, order: Order, items: Iterable[OrderItem]) -> None:
    """Refuse to move `items` further while a consent they rely on is withdrawn."""
    stopped = withdrawn_by_item(db, items, locking=True)
    if stopped:
        by_id = {item.id: item for item in order.items}
        raise ConsentWithdrawn(
            details=[
                {
                    "item_id": item_id,
                    "member_id": by_id[item_id].member_id,
                    "product_id": by_id[item_id].product_id,
                    "codes": codes,
                }
                for item_id, codes in sorted(stopped.items())
            ]
        )


def cancellable_after_withdrawal(db: Session, order: Order) -> bool:
    """A paid order some of whose tests a withdrawn consent stops, with no report issued yet."""
    if fulfilment_rank(order.status) < 0 or any(
        fulfilment_rank(item.status) > fulfilment_rank(LAST_CANCELLABLE_STEP)
        for item in order.items
    ):
        return False
    return bool(withdrawn_by_item(db, order.items, locking=True))
