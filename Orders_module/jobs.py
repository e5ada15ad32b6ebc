"""The scheduled expiry of unpaid orders, and the re-sending of refunds Razorpay never confirmed."""

import logging

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Orders_module.cancellation import expire_unpaid_orders, send_refund, unsent_refunds
from Orders_module.errors import PaymentProviderUnavailable

JOB_ID = "expire_unpaid_orders"
REFUND_JOB_ID = "resend_refunds"

logger = logging.getLogger("nucleotide.orders")


def expire_unpaid_orders_job() -> int:
    with SessionLocal() as db, db.begin():
        return expire_unpaid_orders(db)


def resend_refunds_job() -> int:
    """Ask Razorpay again for every refund still `requested` (same idempotency key, so a refund
    it made while we never heard back is returned, not made twice); how many it confirmed."""
    with SessionLocal() as db:
        with db.begin():
            requests = unsent_refunds(db)
        sent = 0
        for request in requests:
            try:
                with db.begin():  # the connection is taken after the call, by send_refund
                    send_refund(db, request, None)
            except PaymentProviderUnavailable:
                logger.warning("refund %s still not confirmed by Razorpay", request.refund_id)
                continue
            sent += 1
        return sent


def register_order_jobs() -> None:
    settings = get_settings()
    expiry = minutes_to_seconds(settings.ORDER_EXPIRY_INTERVAL_MINUTES)
    register_job(JOB_ID, expire_unpaid_orders_job, expiry)
    refunds = minutes_to_seconds(settings.REFUND_RETRY_INTERVAL_MINUTES)
    register_job(REFUND_JOB_ID, resend_refunds_job, refunds)
