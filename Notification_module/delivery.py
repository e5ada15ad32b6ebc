"""The delivery job's work: claim due outbox rows (`FOR UPDATE SKIP LOCKED`, so replicas share
them and none is sent twice), send each through its channel, record the outcome. A failure is
retried with exponential backoff and jitter up to NOTIFY_MAX_ATTEMPTS, then `failed`; a message
waiting for a spent budget is tried again when it renews (not counted as an attempt); one a rule
keeps off a channel (a phone's hourly SMS cap) is `skipped`."""

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config import get_settings
from core.clock import utcnow
from core.metrics import NOTIFICATIONS
from Notification_module.channels.email import send_email
from Notification_module.channels.push import send_push
from Notification_module.channels.sms import send_sms
from Notification_module.errors import DeliveryError
from Notification_module.models import (
    SECRET_EVENTS,
    Channel,
    DeliveryStatus,
    Notification,
    PushDevice,
)

logger = logging.getLogger("nucleotide.notifications")

SENDERS: dict[Channel, Callable[[Notification], str | None]] = {
    Channel.SMS: send_sms,
    Channel.EMAIL: send_email,
    Channel.PUSH: send_push,
}
DEAD_TOKEN = "unregistered"


def retry_delay(attempts: int) -> timedelta:
    """After the `attempts`-th failure: base x 2^(attempts-1), plus up to half again (jitter)."""
    base = get_settings().NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=base * (1 + random.random() / 2))


def claim_due(db: Session, now: datetime, limit: int) -> list[Notification]:
    return list(
        db.scalars(
            select(Notification)
            .where(
                Notification.status == DeliveryStatus.PENDING,
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def deliver(db: Session, message: Notification, now: datetime) -> bool:
    """Send one claimed message and record what happened; whether it went."""
    message.attempts += 1
    try:
        message.provider_message_id = SENDERS[message.channel](message)
    except DeliveryError as failure:
        _failed(db, message, failure, now)
        return False
    except Exception:
        logger.exception("notification %s: unexpected failure on %s", message.id, message.channel)
        _failed(db, message, DeliveryError("unexpected_error"), now)
        return False
    message.status = DeliveryStatus.SENT
    message.sent_at = now
    message.last_error = None
    if message.event in SECRET_EVENTS:
        # The link and code are the recipient's alone.
        message.body, message.html, message.headers = message.title, None, None
    NOTIFICATIONS.labels(message.channel.value, "sent").inc()
    return True


def _failed(db: Session, message: Notification, failure: DeliveryError, now: datetime) -> None:
    message.last_error = failure.reason
    if failure.skipped:
        message.status = DeliveryStatus.SKIPPED
        NOTIFICATIONS.labels(message.channel.value, "skipped").inc()
    elif failure.wait_seconds is not None:
        message.attempts -= 1  # waiting for a budget is not a failed attempt
        message.next_attempt_at = now + timedelta(seconds=failure.wait_seconds)
        NOTIFICATIONS.labels(message.channel.value, "waiting").inc()
    elif failure.permanent or message.attempts >= get_settings().NOTIFY_MAX_ATTEMPTS:
        message.status = DeliveryStatus.FAILED
        NOTIFICATIONS.labels(message.channel.value, "failed").inc()
        logger.warning(
            "notification %s (%s, %s) failed after %d attempts: %s",
            message.id,
            message.event,
            message.channel,
            message.attempts,
            failure.reason,
        )
    else:
        message.next_attempt_at = now + retry_delay(message.attempts)
        NOTIFICATIONS.labels(message.channel.value, "retried").inc()
    if message.channel == Channel.PUSH and failure.reason == DEAD_TOKEN:
        db.execute(delete(PushDevice).where(PushDevice.token == message.recipient))


def deliver_due(db: Session, limit: int | None = None) -> int:
    """One batch: how many messages went."""
    now = utcnow()
    batch = claim_due(db, now, limit or get_settings().NOTIFY_BATCH_SIZE)
    return sum(deliver(db, message, now) for message in batch)
