"""Reading what the notifications sent: the outbox rows, and the SMS sink's texts."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from Notification_module.jobs import deliver_notifications_job
from Notification_module.models import Channel, Notification, NotificationEvent
from tests.fakes.sms import FakeSmsGateway


def outbox(db: Session, event: NotificationEvent | None = None) -> list[Notification]:
    db.expire_all()
    statement = select(Notification).order_by(Notification.id)
    if event is not None:
        statement = statement.where(Notification.event == event)
    return list(db.scalars(statement))


def channels(db: Session, event: NotificationEvent) -> list[Channel]:
    return [row.channel for row in outbox(db, event)]


def texts_to(gateway: FakeSmsGateway, phone: str) -> list[str]:
    """The notification SMS a phone received (login codes left out)."""
    return [m for m in gateway.messages_to(phone) if "verification code" not in m]


def deliver() -> int:
    """One run of the delivery job, as the scheduler would start it."""
    return deliver_notifications_job()
