"""Reading orders and moving them through their states (the history written with every
change). Checkout, cancellation and refunds, and the admin's status changes have their own
files.
"""

from functools import cache
from typing import Any

from sqlalchemy import Select, Update, bindparam, func, inspect, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from Audit_module.service import record_audit
from core.clock import utcnow
from database import locked
from Orders_module.errors import OrderItemNotFound, OrderNotFound
from Orders_module.models import Order, OrderItem, OrderStatus, OrderStatusHistory
from Orders_module.states import (
    FINISHED,
)


def orders_query(user_id: int | None = None) -> Select[Order]:
    statement = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if user_id is not None:
        statement = statement.where(Order.user_id == user_id)
    return statement


def with_details(statement: Select[Order]) -> Select[Order]:
    return statement.options(
        selectinload(Order.items),
        selectinload(Order.payments),
        selectinload(Order.refunds),
        selectinload(Order.history),
    )


def get_order(
    db: Session, order_id: int, *, user_id: int | None = None, for_update: bool = False
) -> Order:
    """An order with everything loaded; another user's is OrderNotFound."""
    statement = with_details(orders_query(user_id).where(Order.id == order_id))
    if for_update:
        # Locked reads refresh what this session already holds: another transaction may have
        # changed the order since (e.g. a refund webhook between a commit and the next step).
        statement = locked(statement, of=Order)
    order = db.scalars(statement).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_item(order: Order, item_id: int) -> OrderItem:
    """One of the order's items; another order's (or none) is OrderItemNotFound."""
    item = next((i for i in order.items if i.id == item_id), None)
    if item is None:
        raise OrderItemNotFound()
    return item


def add_history(
    db: Session,
    order: Order,
    status: OrderStatus,
    note: str | None,
    actor_user_id: int | None,
    item: OrderItem | None = None,
) -> None:
    entry = OrderStatusHistory(
        order_id=order.id,
        order_item_id=item.id if item else None,
        status=status,
        note=note,
        actor_user_id=actor_user_id,
        at=utcnow(),
    )
    if "history" in inspect(order).unloaded:
        db.add(entry)  # an order read without its history (one being superseded) is not answered
    else:
        # Appended to the loaded collection so the response built from `order` includes it.
        order.history.append(entry)


def _has_changes(item: OrderItem) -> bool:
    """Whether the session holds changes of `item` not yet written."""
    return inspect(item).modified


@cache
def _order_with_items_update(
    order_keys: tuple[str, ...], item_keys: tuple[str, ...], some_items: bool
) -> Update:
    """MySQL's `UPDATE orders, order_items SET ...` of these columns of an order and of its
    items (with `some_items`, those bound as `where_item_ids`), built once per shape (values
    bound as `order_<key>`, `item_<key>`)."""
    statement = update(Order).where(
        Order.id == bindparam("where_order_id"), OrderItem.order_id == Order.id
    )
    if some_items:
        statement = statement.where(OrderItem.id.in_(bindparam("where_item_ids", expanding=True)))
    return statement.values(
        {getattr(Order, key): bindparam(f"order_{key}") for key in order_keys}
        | {getattr(OrderItem, key): bindparam(f"item_{key}") for key in item_keys}
    ).execution_options(synchronize_session=False)


def _write_with_items(
    db: Session, order: Order, items: list[OrderItem] | None, **item_values: Any
) -> None:
    """Write `item_values` to the (unchanged, stored) `items`, or to all of the order's items
    when None, and the order's own unwritten changes to its row: on MySQL one multi-table
    `UPDATE` of both (the unit of work would send one per item and one for the order),
    elsewhere one for the items and the order's row at the next flush. The loaded entities are
    told their new values."""
    item_ids = None if items is None else [item.id for item in items]
    if db.get_bind().dialect.name != "mysql":
        mine = OrderItem.order_id == order.id if item_ids is None else OrderItem.id.in_(item_ids)
        db.execute(
            update(OrderItem)
            .where(mine)
            .values(**item_values)
            .execution_options(synchronize_session=False)
        )
    else:
        state = inspect(order)
        changed = {
            attribute.key: attribute.value
            for attribute in state.attrs
            if attribute.key in state.mapper.column_attrs and attribute.history.has_changes()
        }
        changed.setdefault("updated_at", item_values.get("updated_at", utcnow()))
        statement = _order_with_items_update(
            tuple(changed), tuple(item_values), item_ids is not None
        )
        with db.no_autoflush:  # the order's changes go in this statement, not a flush before it
            db.execute(
                statement,
                {f"order_{key}": value for key, value in changed.items()}
                | {f"item_{key}": value for key, value in item_values.items()}
                | {"where_order_id": order.id, "where_item_ids": item_ids},
            )
        for key, value in changed.items():
            set_committed_value(order, key, value)
    for item in items or ():
        for key, value in item_values.items():
            set_committed_value(item, key, value)


def set_order_status(
    db: Session,
    order: Order,
    status: OrderStatus,
    *,
    note: str | None,
    actor_user_id: int | None,
    items_from: set[str] | None = None,
) -> None:
    """Move the order (and its items still at one of `items_from`) to `status`, with history.
    An order read without its items (one a checkout replaces) moves all of them."""
    old = order.status
    order.status = status
    if "items" in inspect(order).unloaded:
        if items_from is not None:
            raise ValueError("moving some of an order's items needs them loaded")
        _write_with_items(db, order, None, status=status, updated_at=utcnow())
    else:
        moving = [item for item in order.items if items_from is None or item.status in items_from]
        if moving and all(item.id is not None and not _has_changes(item) for item in moving):
            # One statement for the order's items rather than one per item (the unit of work
            # updates rows one at a time), with the order's own row where the database allows.
            _write_with_items(db, order, moving, status=status, updated_at=utcnow())
        else:
            for item in moving:
                item.status = status
    add_history(db, order, status, note, actor_user_id)
    record_audit(
        db,
        action="order.status_changed",
        entity_type="order",
        entity_id=order.id,
        actor_user_id=actor_user_id,
        changes={"status": {"old": old, "new": status}, "note": note},
    )


def member_on_unfinished_order(db: Session, member_id: int) -> bool:
    return (
        db.scalar(
            select(OrderItem.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.member_id == member_id, Order.status.not_in(FINISHED))
            .limit(1)
        )
        is not None
    )


SUMMARY_COLUMNS = (
    "id",
    "order_number",
    "user_id",
    "status",
    "total_paise",
    "currency",
    "created_at",
)


def summaries_query(statement: Select[Order]) -> Select[Any]:
    """`statement` (orders, filtered and ordered) narrowed to the summary's columns plus each
    order's item count: a list page in one query, without loading the orders."""
    item_count = (
        select(func.count(OrderItem.id))
        .where(OrderItem.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
        .label("item_count")
    )
    columns = [getattr(Order, name) for name in SUMMARY_COLUMNS]
    return statement.with_only_columns(*columns, item_count, maintain_column_froms=True)


# The customer's order list, built once (core.pagination.page_of_rows): bind `user_id` (and
# `status`).
_MINE = orders_query().where(Order.user_id == bindparam("user_id"))
MY_SUMMARIES = summaries_query(_MINE)
MY_SUMMARIES_BY_STATUS = summaries_query(_MINE.where(Order.status == bindparam("status")))
