"""The scheduled expiry of unpaid orders."""

from config import get_settings
from core.scheduler import minutes_to_seconds, register_job
from database import SessionLocal
from Orders_module.service import expire_unpaid_orders

JOB_ID = "expire_unpaid_orders"


def expire_unpaid_orders_job() -> int:
    with SessionLocal() as db, db.begin():
        return expire_unpaid_orders(db)


def register_order_jobs() -> None:
    interval = minutes_to_seconds(get_settings().ORDER_EXPIRY_INTERVAL_MINUTES)
    register_job(JOB_ID, expire_unpaid_orders_job, interval)
