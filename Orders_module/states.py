"""The order status machine; items follow the same path per member."""

from Orders_module.models import OrderStatus

FLOW: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.PENDING_PAYMENT: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (OrderStatus.SAMPLE_COLLECTION_SCHEDULED, OrderStatus.CANCELLED),
    OrderStatus.SAMPLE_COLLECTION_SCHEDULED: (OrderStatus.SAMPLE_COLLECTED, OrderStatus.CANCELLED),
    OrderStatus.SAMPLE_COLLECTED: (OrderStatus.IN_LAB,),
    OrderStatus.IN_LAB: (OrderStatus.REPORT_READY,),
    OrderStatus.REPORT_READY: (OrderStatus.COMPLETED,),
    OrderStatus.COMPLETED: (),
    OrderStatus.CANCELLED: (OrderStatus.REFUND_PENDING,),
    OrderStatus.REFUND_PENDING: (OrderStatus.REFUNDED,),
    OrderStatus.REFUNDED: (),
}

# The fulfilment path, in order; an order sits at the earliest step any of its items is at.
FULFILMENT = (
    OrderStatus.PAID,
    OrderStatus.SAMPLE_COLLECTION_SCHEDULED,
    OrderStatus.SAMPLE_COLLECTED,
    OrderStatus.IN_LAB,
    OrderStatus.REPORT_READY,
    OrderStatus.COMPLETED,
)

# Money states move only with money: payment verification, webhooks, cancellation with refund.
PAYMENT_DRIVEN = {OrderStatus.PAID, OrderStatus.REFUND_PENDING, OrderStatus.REFUNDED}
CANCELLABLE = {
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.SAMPLE_COLLECTION_SCHEDULED,
}
FINISHED = {
    OrderStatus.COMPLETED,
    OrderStatus.CANCELLED,
    OrderStatus.REFUND_PENDING,
    OrderStatus.REFUNDED,
}


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in FLOW.get(current, ())


def fulfilment_rank(status: OrderStatus) -> int:
    return FULFILMENT.index(status) if status in FULFILMENT else -1
