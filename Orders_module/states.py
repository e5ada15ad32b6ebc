"""The order status machine; items follow the same path per member."""

FLOW: dict[str, tuple[str, ...]] = {
    "pending_payment": ("paid", "cancelled"),
    "paid": ("sample_collection_scheduled", "cancelled"),
    "sample_collection_scheduled": ("sample_collected", "cancelled"),
    "sample_collected": ("in_lab",),
    "in_lab": ("report_ready",),
    "report_ready": ("completed",),
    "completed": (),
    "cancelled": ("refund_pending",),
    "refund_pending": ("refunded",),
    "refunded": (),
}

# The fulfilment path, in order; an order sits at the earliest step any of its items is at.
FULFILMENT = (
    "paid",
    "sample_collection_scheduled",
    "sample_collected",
    "in_lab",
    "report_ready",
    "completed",
)

# Money states move only with money: payment verification, webhooks, cancellation with refund.
PAYMENT_DRIVEN = {"paid", "refund_pending", "refunded"}
CANCELLABLE = {"pending_payment", "paid", "sample_collection_scheduled"}
FINISHED = {"completed", "cancelled", "refund_pending", "refunded"}


def can_move(current: str, target: str) -> bool:
    return target in FLOW.get(current, ())


def fulfilment_rank(status: str) -> int:
    return FULFILMENT.index(status) if status in FULFILMENT else -1
