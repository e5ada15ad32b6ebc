"""`notify`: the one way a module sends a message. It adds the outbox rows, one per channel and
address, in the caller's transaction: a change that rolls back sends nothing, one that commits
is delivered (or marked failed) by the delivery job. No module talks to SMTP, FCM or the SMS
provider itself. Also the inbox, the push devices and the channel preferences."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from core.clock import utcnow
from database import rows_changed
from Login_module.models import DeviceSession, User
from Notification_module.errors import (
    NotificationNotFailed,
    NotificationNotFound,
    PushDeviceNotFound,
)
from Notification_module.models import (
    SECRET_EVENTS,
    Channel,
    DeliveryStatus,
    DevicePlatform,
    Notification,
    NotificationEvent,
    NotificationPreference,
    PushDevice,
)
from Notification_module.render import Rendered, render

# Always reach the inbox and at least one channel, whatever the preferences say.
ESSENTIAL = frozenset(
    {
        NotificationEvent.ORDER_PAID,
        NotificationEvent.REPORT_READY,
        NotificationEvent.REFUND_PROCESSED,
    }
)


def preferences(db: Session, user_id: int) -> NotificationPreference:
    """The user's channel preferences (all on when never set; not added to the session)."""
    found = db.get(NotificationPreference, user_id)
    return found or NotificationPreference(user_id=user_id, sms=True, email=True, push=True)


def _addresses(
    db: Session, user: User, event: NotificationEvent, phone: str | None
) -> list[tuple[Channel, str]]:
    """(channel, address) pairs this event goes to, by the preferences."""
    if phone is not None:  # a message to a given phone (a member, the old login phone)
        return [(Channel.SMS, phone)]
    chosen = preferences(db, user.id)
    addresses: list[tuple[Channel, str]] = []
    if chosen.sms and user.phone:
        addresses.append((Channel.SMS, user.phone))
    if chosen.email and user.email:
        addresses.append((Channel.EMAIL, user.email))
    if chosen.push:
        tokens = db.scalars(
            select(PushDevice.token)
            .join(DeviceSession, DeviceSession.id == PushDevice.session_id)
            .where(PushDevice.user_id == user.id, DeviceSession.revoked_at.is_(None))
            .order_by(PushDevice.id)
        )
        addresses += [(Channel.PUSH, token) for token in tokens]
    if not addresses and event in ESSENTIAL and user.phone:
        addresses.append((Channel.SMS, user.phone))
    return addresses


def _coalescing(
    db: Session, user_id: int, event: NotificationEvent, key: str
) -> dict[tuple[Channel, str | None], Notification]:
    """The rows a call with `key` rewrites, by (channel, address): the inbox entry, and the
    pending outbox rows the delivery job is not sending right now (those it holds are skipped:
    they go out as they are, and the new text gets a row of its own)."""
    same = select(Notification).where(
        Notification.user_id == user_id,
        Notification.event == event,
        Notification.coalesce_key == key,
    )
    inbox = db.scalars(same.where(Notification.channel == Channel.INBOX).with_for_update())
    rows = list(inbox)
    waiting = same.where(
        Notification.channel != Channel.INBOX, Notification.status == DeliveryStatus.PENDING
    )
    rows += db.scalars(waiting.with_for_update(skip_locked=True))
    return {(row.channel, row.recipient): row for row in rows}


def _write(row: Notification, texts: Rendered, payload: dict[str, Any], now: datetime) -> None:
    """The message's text (a coalesced row takes the newest); an inbox entry is news again."""
    row.title, row.body, row.payload = texts.title, texts.body, payload
    row.html = texts.html if row.channel == Channel.EMAIL else None
    if row.channel == Channel.INBOX:
        row.created_at, row.sent_at, row.read_at = now, now, None


def notify(
    db: Session,
    user_id: int,
    event: NotificationEvent,
    context: Mapping[str, Any],
    *,
    phone: str | None = None,
    dedupe_key: str | None = None,
    coalesce_key: str | None = None,
) -> list[Notification]:
    """Queue `event` for the user (rendered now with `context`): the inbox entry and one row per
    enabled channel. `phone`: send only an SMS to this number (no inbox entry). `dedupe_key`: a
    second call with the same key adds nothing. `coalesce_key`: news that replaces the previous
    call's with the same key and event: its rows not sent yet are rewritten rather than new ones
    added (rows for addresses no longer chosen are dropped), and the one inbox entry is
    rewritten, unread again, on top."""
    if dedupe_key and db.scalar(
        select(Notification.id).where(Notification.dedupe_key.startswith(f"{dedupe_key}:"))
    ):
        return []
    user = db.get(User, user_id)
    if user is None or user.deleted_at is not None:
        return []
    texts = render(event, dict(context))
    ids = {key: context.get(key) for key in ("order_id", "booking_id")}
    payload = {key: value for key, value in context.items() if key in ("order_id", "booking_id")}
    if event not in SECRET_EVENTS:
        payload["link"] = context.get("link")
    rows = []
    addresses: list[tuple[Channel, str | None]] = list(_addresses(db, user, event, phone))
    if phone is None:
        addresses.insert(0, (Channel.INBOX, None))
    earlier = _coalescing(db, user_id, event, coalesce_key) if coalesce_key else {}
    now = utcnow()
    for number, (channel, address) in enumerate(addresses):
        row = earlier.pop((channel, address), None)
        if row is None:
            row = Notification(
                user_id=user_id,
                event=event,
                channel=channel,
                recipient=address,
                status=DeliveryStatus.SENT if channel == Channel.INBOX else DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
                dedupe_key=f"{dedupe_key}:{number}" if dedupe_key else None,
                coalesce_key=coalesce_key,
                **ids,
            )
            db.add(row)
        _write(row, texts, payload, now)
        rows.append(row)
    for stale in earlier.values():
        if stale.channel != Channel.INBOX:  # an address no longer chosen: the old news goes
            db.delete(stale)
    if dedupe_key:
        db.flush()  # the next call's check must see these
    return rows


def notify_email(
    db: Session,
    event: NotificationEvent,
    address: str,
    context: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Notification | None:
    """Queue `event` as one e-mail to `address`, which need not be an account's (the sales
    inbox, a visitor of the website): no inbox entry and no preferences, as no account is
    asked. The caller answers for what the text carries and to whom: a visitor's own words go
    only to staff, never to an address the visitor typed. `dedupe_key` as for `notify`; the
    rows of a key are also what `drop_messages` removes. `headers`: fields the e-mail carries
    besides the channel's own (e.g. List-Unsubscribe), kept on the row until it is sent."""
    key = f"{dedupe_key}:0" if dedupe_key else None
    if key and db.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
        return None
    texts = render(event, dict(context))
    now = utcnow()
    row = Notification(
        user_id=None,
        event=event,
        channel=Channel.EMAIL,
        recipient=address,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
        dedupe_key=key,
        headers=dict(headers) if headers else None,
    )
    db.add(row)
    _write(row, texts, {}, now)
    if key:
        db.flush()  # the next call's check must see it
    return row


def drop_messages(db: Session, dedupe_prefix: str) -> int:
    """Delete every message queued with a `dedupe_key` starting with `dedupe_prefix`, sent or
    not (a pending one is then never sent): the copies of what the caller is erasing."""
    matching = Notification.dedupe_key.startswith(dedupe_prefix, autoescape=True)
    return rows_changed(db.execute(delete(Notification).where(matching)))


# --- the inbox ----------------------------------------------------------------------------


def inbox_query(user_id: int) -> Select[Notification]:
    return (
        select(Notification)
        .where(Notification.user_id == user_id, Notification.channel == Channel.INBOX)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread_count(db: Session, user_id: int) -> int:
    return (
        db.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id,
                Notification.channel == Channel.INBOX,
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def mark_read(db: Session, user_id: int, notification_id: int) -> Notification:
    found = db.scalar(
        inbox_query(user_id).where(Notification.id == notification_id).with_for_update()
    )
    if found is None:
        raise NotificationNotFound()
    if found.read_at is None:
        found.read_at = utcnow()
    return found


def mark_all_read(db: Session, user_id: int) -> int:
    return rows_changed(
        db.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.channel == Channel.INBOX,
                Notification.read_at.is_(None),
            )
            .values(read_at=utcnow())
        )
    )


# --- push devices and preferences ---------------------------------------------------------


def register_device(
    db: Session, user_id: int, session_id: int, token: str, platform: DevicePlatform
) -> PushDevice:
    """Bind `token` to this login session (a token seen before moves to it)."""
    db.execute(delete(PushDevice).where(PushDevice.token == token))
    device = PushDevice(user_id=user_id, session_id=session_id, token=token, platform=platform)
    db.add(device)
    db.flush()
    # The token is a credential of the device: the audit names the device row, not the token.
    record_audit(
        db,
        action="push_device.registered",
        entity_type="push_device",
        entity_id=device.id,
        actor_user_id=user_id,
        changes={"platform": platform, "session_id": session_id},
    )
    return device


def remove_device(db: Session, user_id: int, token: str) -> None:
    removed = db.execute(
        delete(PushDevice).where(PushDevice.user_id == user_id, PushDevice.token == token)
    )
    if not rows_changed(removed):
        raise PushDeviceNotFound()


def remove_devices_of_session(db: Session, session_id: int) -> None:
    """Logout, revocation, the session limit, erasure: the session's push tokens go with it."""
    db.execute(delete(PushDevice).where(PushDevice.session_id == session_id))


def set_preferences(
    db: Session, user_id: int, *, sms: bool, email: bool, push: bool
) -> NotificationPreference:
    found = db.get(NotificationPreference, user_id, with_for_update=True)
    old = preferences(db, user_id) if found is None else found
    before = {"sms": old.sms, "email": old.email, "push": old.push}
    if found is None:
        found = NotificationPreference(user_id=user_id)
        db.add(found)
    found.sms, found.email, found.push = sms, email, push
    db.flush()
    after = {"sms": sms, "email": email, "push": push}
    record_audit(
        db,
        action="notification.preferences_changed",
        entity_type="user",
        entity_id=user_id,
        actor_user_id=user_id,
        changes=diff(before, after),
    )
    return found


def erase_user_data(db: Session, user_id: int) -> int:
    """Account erasure: the inbox and every queued message, the devices and preferences go."""
    db.execute(delete(PushDevice).where(PushDevice.user_id == user_id))
    db.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user_id))
    return rows_changed(db.execute(delete(Notification).where(Notification.user_id == user_id)))


def export_rows(db: Session, user_id: int) -> list[Notification]:
    return list(db.scalars(inbox_query(user_id)))


# --- operations ---------------------------------------------------------------------------


def outbox_query(status: DeliveryStatus | None) -> Select[Notification]:
    statement = select(Notification).where(Notification.channel != Channel.INBOX)
    if status is not None:
        statement = statement.where(Notification.status == status)
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


def retry_failed(db: Session, notification_id: int, admin_id: int) -> Notification:
    """A failed message made pending again, due now, its attempts counted afresh (audited)."""
    message = db.get(Notification, notification_id, with_for_update=True)
    if message is None or message.channel == Channel.INBOX:
        raise NotificationNotFound()
    if message.status != DeliveryStatus.FAILED:
        raise NotificationNotFailed()
    message.status = DeliveryStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    record_audit(
        db,
        action="notification.retried",
        entity_type="notification",
        entity_id=message.id,
        actor_user_id=admin_id,
        changes={"last_error": message.last_error},
    )
    return message
