"""Orders as the API shows them."""

from typing import Any

from config import get_settings
from Orders_module.models import Order, OrderItem, OrderStatus


def _item_view(item: OrderItem, withdrawn: list[str]) -> dict[str, Any]:
    member, product = item.member_snapshot, item.product_snapshot
    technician = (
        {"name": item.technician_name, "phone": item.technician_phone}
        if item.technician_name or item.technician_phone
        else None
    )
    return {
        "id": item.id,
        "line_group": item.line_group,
        "member": {"id": member["id"], "name": member["name"], "relation": member["relation"]},
        "product": {
            "id": product["id"],
            "name": product["name"],
            "plan_type": product["plan_type"],
        },
        "address": item.address_snapshot,
        "quantity": item.quantity,
        "unit_price_paise": item.unit_price_paise,
        "status": item.status,
        "scheduled_date": item.scheduled_date,
        "technician": technician,
        "consent_withdrawn": bool(withdrawn),
        "withdrawn_consents": withdrawn,
    }


def history_view(order: Order) -> list[dict[str, Any]]:
    return [
        {"status": h.status, "at": h.at, "note": h.note, "item_id": h.order_item_id}
        for h in order.history
    ]


def order_view(order: Order, withdrawn: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """`withdrawn`: item id -> the withdrawn consent codes stopping it (consent_holds)."""
    withdrawn = withdrawn or {}
    fields = (
        "id",
        "order_number",
        "user_id",
        "status",
        "subtotal_paise",
        "discount_paise",
        "total_paise",
        "currency",
        "coupon_code",
        "razorpay_order_id",
        "payment_due_at",
        "paid_at",
        "cancelled_at",
        "cancel_reason",
        "created_at",
    )
    return {
        **{field: getattr(order, field) for field in fields},
        "items": [_item_view(item, withdrawn.get(item.id, [])) for item in order.items],
        "payments": order.payments,
        "refunds": order.refunds,
        "status_history": history_view(order),
    }


def payment_request_view(order: Order) -> dict[str, Any] | None:
    if order.status != OrderStatus.PENDING_PAYMENT or order.razorpay_order_id is None:
        return None
    return {
        "razorpay_order_id": order.razorpay_order_id,
        "key_id": get_settings().RAZORPAY_KEY_ID,
        "amount_paise": order.total_paise,
        "currency": order.currency,
    }


def tracking_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_number": order.order_number,
        "status": order.status,
        "items": [
            {
                "id": item.id,
                "member_name": item.member_snapshot["name"],
                "product_name": item.product_snapshot["name"],
                "status": item.status,
                "scheduled_date": item.scheduled_date,
                "technician_name": item.technician_name,
                "technician_phone": item.technician_phone,
            }
            for item in order.items
        ],
        "status_history": history_view(order),
    }
