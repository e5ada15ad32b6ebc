from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from Consent_module.Request.models import ConsentRequestStatus
from Consent_module.schemas import ConsentCode
from core.validation import BodyRowId, PhoneNumber
from Login_module.schemas import OtpCode

# The link's token: `secrets.token_urlsafe(32)` is 43 characters of the URL-safe alphabet.
LinkToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{20,100}$")]
Codes = Annotated[list[ConsentCode], Field(min_length=1, max_length=20)]


class ConsentRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: BodyRowId
    codes: Codes


class ConsentRequestOut(BaseModel):
    """A request as the account holder sees it: never its link or code."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    codes: list[str]
    status: ConsentRequestStatus
    expires_at: datetime
    sent_to: str = Field(validation_alias="phone_masked")
    sent_count: int
    created_at: datetime
    decided_at: datetime | None


class ConsentTextOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    title: str
    body: str
    version: int


class MemberViewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    requester_name: str
    member_name: str
    consents: list[ConsentTextOut]
    expires_at: datetime
    status: ConsentRequestStatus


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    otp: OtpCode


class MemberGrantOut(BaseModel):
    """A grant as the member sees it (confirmed, or withdrawn by phone)."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    granted_at: datetime
    withdrawn_at: datetime | None


class ConfirmedOut(BaseModel):
    status: ConsentRequestStatus
    consents: list[MemberGrantOut]


class DeclinedOut(BaseModel):
    status: ConsentRequestStatus


class WithdrawalCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber


class WithdrawByPhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber
    otp: OtpCode
    # Only these consents; all that were confirmed from this phone when left out.
    codes: Codes | None = None


class WithdrawnOut(BaseModel):
    withdrawn: list[MemberGrantOut]
