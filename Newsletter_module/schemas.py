from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from Newsletter_module.models import SubscriptionStatus

Email = Annotated[EmailStr, StringConstraints(max_length=254)]


class SubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class SubscribeOut(BaseModel):
    """The same answer whatever the address's state."""

    message: str = Field(
        description="Always the same sentence: a confirmation e-mail is on its way if the "
        "address can receive it."
    )


class MySubscriptionOut(BaseModel):
    """My account's subscription: the one a confirmation linked to it (none before)."""

    model_config = ConfigDict(from_attributes=True)

    subscribed: bool
    email: str | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    consent_text_version: str | None


class MySubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscribed: bool
    email: Email | None = Field(
        None,
        description="Where to send it (subscribed: true): default my subscription's address, "
        "else my profile's.",
    )


class MySubscriptionChangedOut(MySubscriptionOut):
    confirmation_sent: bool = Field(
        description="A confirmation e-mail was queued: the subscription starts (or moves to the "
        "new address) once its link is pressed."
    )


class SubscriberOut(BaseModel):
    """A subscription as admins see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    status: SubscriptionStatus
    user_id: int | None
    confirmed_at: datetime | None
    consent_ip: str | None
    consent_text_version: str | None
    unsubscribed_at: datetime | None
    requested_at: datetime
    created_at: datetime
