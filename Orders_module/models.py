"""Orders snapshotted from the cart, their per-member items, payments, refunds, webhooks."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from database import Base, TimestampMixin, stored_as_string


class OrderStatus(StrEnum):
    """An order's status; each item follows the same path for its member (Orders_module/states.py
    has the moves)."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SAMPLE_COLLECTION_SCHEDULED = "sample_collection_scheduled"
    SAMPLE_COLLECTED = "sample_collected"
    IN_LAB = "in_lab"
    REPORT_READY = "report_ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    CAPTURED = "captured"
    FAILED = "failed"


class PaymentSource(StrEnum):
    """Where we learned of the payment: the checkout's verify call or Razorpay's webhook."""

    VERIFY = "verify"
    WEBHOOK = "webhook"


class RefundStatus(StrEnum):
    # Recorded, Razorpay has not confirmed it yet (the refund job asks again).
    REQUESTED = "requested"
    # Razorpay accepted it.
    PENDING = "pending"
    # The money went back.
    PROCESSED = "processed"


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_orders_user_status", "user_id", "status"),
        Index("ix_orders_status_due", "status", "payment_due_at"),
        # The admin list, newest first: read in index order, however many orders there are.
        Index("ix_orders_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[OrderStatus] = mapped_column(
        stored_as_string(OrderStatus, 32), default=OrderStatus.PENDING_PAYMENT
    )
    subtotal_paise: Mapped[int] = mapped_column(BigInteger)
    discount_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    total_paise: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="INR")
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"), default=None)
    coupon_code: Mapped[str | None] = mapped_column(String(32), default=None)
    razorpay_order_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    payment_due_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(255), default=None)

    items: Mapped[list["OrderItem"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    payments: Mapped[list["Payment"]] = relationship(lazy="raise", order_by="Payment.id")
    refunds: Mapped[list["Refund"]] = relationship(lazy="raise", order_by="Refund.id")
    history: Mapped[list["OrderStatusHistory"]] = relationship(
        lazy="raise", order_by="OrderStatusHistory.id"
    )


class OrderItem(TimestampMixin, Base):
    """One member's test: what was bought, for whom, where to collect, as it was at checkout."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # Members of the same plan purchase (e.g. both partners of a couple test) share a group.
    line_group: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    product_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    member_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    address_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[OrderStatus] = mapped_column(
        stored_as_string(OrderStatus, 32), default=OrderStatus.PENDING_PAYMENT
    )
    scheduled_date: Mapped[date | None] = mapped_column(default=None)
    technician_name: Mapped[str | None] = mapped_column(String(120), default=None)
    technician_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # The latest lab report version uploaded for this test (Report_module keeps the files);
    # None until the first upload, which is what moves the item to report_ready.
    report_version: Mapped[int | None] = mapped_column(default=None)


class OrderStatusHistory(Base):
    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), default=None)
    status: Mapped[OrderStatus] = mapped_column(stored_as_string(OrderStatus, 32))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    actor_user_id: Mapped[int | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    """A Razorpay payment we have seen; the unique payment id makes 'paid once' hold."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    razorpay_payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    razorpay_order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="INR", server_default="INR")
    status: Mapped[PaymentStatus] = mapped_column(stored_as_string(PaymentStatus, 16))
    method: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[PaymentSource] = mapped_column(stored_as_string(PaymentSource, 16))
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_description: Mapped[str | None] = mapped_column(String(255), default=None)
    # Set on a captured payment that does not pay its order (wrong amount or currency, or a
    # second capture of an order already paid): refunded on its own, the order untouched.
    stray_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(TimestampMixin, Base):
    """Money given back from one payment: ours (asked for through the refunds API) or one made
    in the Razorpay Dashboard. A payment may have several (partial refunds); Razorpay's refund
    id tells them apart."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    razorpay_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[RefundStatus] = mapped_column(
        stored_as_string(RefundStatus, 16), default=RefundStatus.REQUESTED
    )
    # Ours only (the X-Refund-Idempotency key); None for a refund made in the Dashboard.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), default=None)


class WebhookEvent(Base):
    """Every Razorpay event id we processed: a repeated delivery is a no-op."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    razorpay_order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
