from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from Notification_module.models import Channel, DeliveryStatus, DevicePlatform, NotificationEvent

PushToken = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=16, max_length=255, pattern=r"^\S+$")
]


class InboxItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event: NotificationEvent
    title: str
    body: str
    order_id: int | None
    booking_id: int | None
    created_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    items: list[InboxItemOut]
    total: int
    limit: int
    offset: int
    unread: int


class ReadAllOut(BaseModel):
    marked_read: int


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: PushToken
    platform: DevicePlatform


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    token: str
    platform: DevicePlatform
    created_at: datetime


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sms: bool
    email: bool
    push: bool


class PreferencesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sms: bool
    email: bool
    push: bool


class OutboxItemOut(BaseModel):
    """An outbox row as admins see it (no message text, no full address)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int | None
    event: NotificationEvent
    channel: Channel
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None
