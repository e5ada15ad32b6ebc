from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.validation import MultiLine, PhoneNumber, ShortText
from Orders_module.models import OrderStatus, PaymentStatus, RefundStatus
from Orders_module.payments import WebhookOutcome

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MultiLine]
RazorpayId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class MemberRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    relation: str


class ProductRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    plan_type: str


class TechnicianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str | None
    phone: str | None


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_group: int
    member: MemberRef
    product: ProductRef
    address: dict[str, Any]
    quantity: int
    unit_price_paise: int
    status: OrderStatus
    scheduled_date: date | None
    technician: TechnicianOut | None
    # A consent this member's test relies on was withdrawn: no further step until it is given
    # again; the order may be cancelled (refunded) while no report is issued.
    consent_withdrawn: bool = False
    withdrawn_consents: list[str] = Field(default_factory=list)
    # The lab report: GET /orders/{id}/items/{item_id}/report serves `report_version` (the
    # latest); /reports lists every version.
    report_available: bool = False
    report_version: int | None = None


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    razorpay_payment_id: str
    amount_paise: int
    currency: str
    status: PaymentStatus
    method: str | None
    # Set when the payment did not pay the order (amount_mismatch, currency_mismatch,
    # already_paid): it is refunded on its own.
    stray_reason: str | None
    created_at: datetime


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    razorpay_refund_id: str | None
    amount_paise: int
    # requested (not yet confirmed by Razorpay; sent again), pending, processed
    status: RefundStatus
    created_at: datetime


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: OrderStatus
    at: datetime
    note: str | None
    item_id: int | None = Field(validation_alias="order_item_id")


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_number: str
    user_id: int
    status: OrderStatus
    subtotal_paise: int
    discount_paise: int
    total_paise: int
    currency: str
    coupon_code: str | None
    razorpay_order_id: str | None
    payment_due_at: datetime | None
    paid_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    items: list[OrderItemOut]
    payments: list[PaymentOut]
    # Every refund, ours or made in the Razorpay Dashboard, partial or full.
    refunds: list[RefundOut]
    refunded_paise: int = Field(
        description="What has gone back to the customer: the sum of the processed refunds"
    )
    status_history: list[HistoryOut]
    report_available: bool = Field(False, description="Some member's report can be downloaded")


class OrderSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_number: str
    user_id: int
    status: OrderStatus
    total_paise: int
    currency: str
    created_at: datetime
    item_count: int


class PaymentRequestOut(BaseModel):
    """What the app hands Razorpay Checkout."""

    model_config = ConfigDict(from_attributes=True)

    razorpay_order_id: str
    key_id: str
    amount_paise: int
    currency: str


class CheckoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order: OrderOut
    payment: PaymentRequestOut | None


class VerifyPaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    razorpay_order_id: RazorpayId
    razorpay_payment_id: RazorpayId
    razorpay_signature: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Note | None = None


class OrderStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
    note: Note | None = None


class ItemStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
    scheduled_date: date | None = None
    technician_name: ShortText | None = None
    technician_phone: PhoneNumber | None = None
    note: Note | None = None


class TrackingItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_name: str
    product_name: str
    status: OrderStatus
    scheduled_date: date | None
    technician_name: str | None
    technician_phone: str | None


class TrackingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_id: int
    order_number: str
    status: OrderStatus
    items: list[TrackingItemOut]
    status_history: list[HistoryOut]


class WebhookAckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: WebhookOutcome
