from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from Abdm_module.models import LinkStatus, TransferState


class CareContextOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_id: int
    item_id: int = Field(validation_alias="order_item_id")
    status: LinkStatus
    linked_at: datetime | None


class MemberAbhaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    abha_number: str | None
    abha_address: str | None
    care_contexts: list[CareContextOut]


class AdminLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    order_id: int
    item_id: int = Field(validation_alias="order_item_id")
    status: LinkStatus
    error_code: str | None
    linked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AdminTransferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    transaction_id: str
    consent_id: str
    state: TransferState
    care_contexts: list[dict[str, str]] = Field(validation_alias="statuses")
    attempts: int
    error_code: str | None
    created_at: datetime
    done_at: datetime | None
