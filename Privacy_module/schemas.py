from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

# `2026-01`, `v3.1`: what the client showed, as the policy's own label.
PolicyVersion = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]


def _random_uuid(value: UUID) -> UUID:
    """Version 4 only: a random id says nothing about the device (version 1 carries a time
    and a network card's address)."""
    if value.version != 4:
        raise ValueError("a random UUID (version 4)")
    return value


VisitorId = Annotated[
    UUID,
    AfterValidator(_random_uuid),
    Field(description="A random UUID (version 4) the client keeps"),
]


class PrivacyChoiceIn(BaseModel):
    """What the visitor allowed, as booleans; nothing else is accepted (no coordinates, page
    URLs or device details: an unknown field is refused)."""

    model_config = ConfigDict(extra="forbid")

    visitor_id: VisitorId
    analytics: StrictBool
    location: StrictBool
    policy_version: PolicyVersion


class PrivacyReceiptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    receipt_id: int = Field(validation_alias="id")
    recorded_at: datetime


class PrivacyChoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    receipt_id: int = Field(validation_alias="id")
    visitor_id: UUID
    analytics: bool
    location: bool
    policy_version: str
    recorded_at: datetime
