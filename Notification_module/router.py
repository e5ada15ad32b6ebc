"""The in-app inbox, push devices, channel preferences; failed messages for admins."""

from typing import Annotated

from fastapi import Path, Query, Response, status

from core.pagination import Page, Pagination, RowPage, paginate
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentAuth, CurrentUser
from Notification_module import service
from Notification_module.answers import Inbox
from Notification_module.models import (
    DeliveryStatus,
    Notification,
    NotificationPreference,
    PushDevice,
)
from Notification_module.schemas import (
    DeviceIn,
    DeviceOut,
    InboxItemOut,
    InboxOut,
    OutboxItemOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=InboxOut)
def inbox(db: DbSession, user: CurrentUser, page: Pagination) -> Inbox:
    """My notifications, newest first, with how many are unread."""
    listed = paginate(db, service.inbox_query(user.id), page)
    return Inbox(listed, service.unread_count(db, user.id))


@router.post("/read-all", response_model=ReadAllOut)
def read_all(db: DbSession, user: CurrentUser) -> ReadAllOut:
    return ReadAllOut(marked_read=service.mark_all_read(db, user.id))


@router.post("/devices", response_model=DeviceOut, status_code=201)
def add_device(body: DeviceIn, db: DbSession, auth: CurrentAuth) -> PushDevice:
    """Send push notifications to this device (bound to this login: logout removes it)."""
    return service.register_device(db, auth.user.id, auth.session_id, body.token, body.platform)


@router.delete("/devices/{token}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(
    token: Annotated[str, Path(min_length=1, max_length=255)], db: DbSession, user: CurrentUser
) -> Response:
    service.remove_device(db, user.id, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/preferences", response_model=PreferencesOut)
def get_preferences(db: DbSession, user: CurrentUser) -> NotificationPreference:
    return service.preferences(db, user.id)


@router.put("/preferences", response_model=PreferencesOut)
def put_preferences(
    body: PreferencesIn, db: DbSession, user: CurrentUser
) -> NotificationPreference:
    """Channels for reminders and updates; payment, report and refund news always reach the
    inbox and at least one channel."""
    return service.set_preferences(db, user.id, sms=body.sms, email=body.email, push=body.push)


@router.get("/admin", response_model=Page[OutboxItemOut])
def outbox(
    db: DbSession,
    _admin: AdminUser,
    page: Pagination,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> RowPage[Notification]:
    """The outbox (admin), newest first; `?status=failed` lists what could not be delivered."""
    statement = service.outbox_query(status)
    return paginate(db, statement, page)


@router.post("/admin/{notification_id}/retry", response_model=OutboxItemOut)
def retry_message(notification_id: RowId, db: DbSession, admin: AdminUser) -> Notification:
    """Send a failed message again (admin)."""
    return service.retry_failed(db, notification_id, admin.id)


@router.post("/{notification_id}/read", response_model=InboxItemOut)
def read(notification_id: RowId, db: DbSession, user: CurrentUser) -> Notification:
    return service.mark_read(db, user.id, notification_id)
