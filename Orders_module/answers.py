"""Orders as the API shows them: the rows, plus what the rows do not hold, for the `*Out`
schemas to shape (`from_attributes`)."""

from dataclasses import dataclass, field
from typing import Any

from config import get_settings
from core.answers import ReadsThrough
from core.validation import mask_phone
from Orders_module.cancellation import refunded_paise
from Orders_module.models import Order, OrderItem, OrderStatus, OrderStatusHistory


def technician_phone(item: OrderItem, *, staff: bool) -> str | None:
    phone = item.technician_phone
    return phone if staff or phone is None else mask_phone(phone)


@dataclass(frozen=True)
class Technician:
    name: str | None
    phone: str | None


@dataclass(frozen=True)
class ItemAnswer(ReadsThrough):
    """An item with the withdrawn consent codes stopping it (consent_holds)."""

    item: OrderItem
    withdrawn_consents: list[str] = field(default_factory=list)
    # Staff see the technician's phone; the customer a masked one (they are called, not calling).
    staff: bool = False

    @property
    def member(self) -> dict[str, Any]:
        return self.item.member_snapshot

    @property
    def product(self) -> dict[str, Any]:
        return self.item.product_snapshot

    @property
    def address(self) -> dict[str, Any]:
        return self.item.address_snapshot

    @property
    def technician(self) -> Technician | None:
        """None until a technician's name or phone is set."""
        item = self.item
        if not (item.technician_name or item.technician_phone):
            return None
        return Technician(item.technician_name, technician_phone(item, staff=self.staff))

    @property
    def consent_withdrawn(self) -> bool:
        return bool(self.withdrawn_consents)

    @property
    def report_available(self) -> bool:
        return self.item.report_version is not None


@dataclass(frozen=True)
class OrderAnswer(ReadsThrough):
    """An order; `withdrawn`: item id -> the withdrawn consent codes stopping it."""

    order: Order
    withdrawn: dict[int, list[str]] = field(default_factory=dict)
    staff: bool = False

    @property
    def items(self) -> list[ItemAnswer]:
        return [
            ItemAnswer(item, self.withdrawn.get(item.id, []), self.staff)
            for item in self.order.items
        ]

    @property
    def status_history(self) -> list[OrderStatusHistory]:
        return self.order.history

    @property
    def refunded_paise(self) -> int:
        return refunded_paise(self.order.refunds)

    @property
    def report_available(self) -> bool:
        """Some member's report can be downloaded."""
        return any(item.report_version is not None for item in self.order.items)


@dataclass(frozen=True)
class PaymentRequest:
    """What the app hands Razorpay Checkout."""

    razorpay_order_id: str
    key_id: str
    amount_paise: int
    currency: str


def payment_request(order: Order) -> PaymentRequest | None:
    if order.status != OrderStatus.PENDING_PAYMENT or order.razorpay_order_id is None:
        return None
    return PaymentRequest(
        order.razorpay_order_id, get_settings().RAZORPAY_KEY_ID, order.total_paise, order.currency
    )


@dataclass(frozen=True)
class CheckoutAnswer:
    order: OrderAnswer
    payment: PaymentRequest | None


def checkout_answer(order: Order) -> CheckoutAnswer:
    return CheckoutAnswer(OrderAnswer(order), payment_request(order))


@dataclass(frozen=True)
class TrackingItem(ReadsThrough):
    item: OrderItem
    staff: bool = False

    @property
    def technician_phone(self) -> str | None:
        return technician_phone(self.item, staff=self.staff)

    @property
    def member_name(self) -> str:
        return self.item.member_snapshot["name"]

    @property
    def product_name(self) -> str:
        return self.item.product_snapshot["name"]


@dataclass(frozen=True)
class Tracking(ReadsThrough):
    order: Order
    staff: bool = False

    @property
    def order_id(self) -> int:
        return self.order.id

    @property
    def items(self) -> list[TrackingItem]:
        return [TrackingItem(item, self.staff) for item in self.order.items]

    @property
    def status_history(self) -> list[OrderStatusHistory]:
        return self.order.history
