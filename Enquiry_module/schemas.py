from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from core.validation import MultiLine, PhoneNumber, ShortText, SingleLine
from Enquiry_module.models import EnquiryStatus

Organization = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160), SingleLine
]
Message = Annotated[str, StringConstraints(max_length=2000), MultiLine]
Email = Annotated[EmailStr, StringConstraints(max_length=254), AfterValidator(str.lower)]


class EnquiryIn(BaseModel):
    """The website's enquiry form. `website` is a honeypot: hidden from people, so a person
    leaves it empty; a filled one is answered like any other and nothing is kept."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    phone: PhoneNumber
    email: Email
    organization: Organization | None = None
    number_of_tests: int = Field(ge=1, le=100_000)
    message: Message | None = None
    website: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Leave empty (hidden from people on the form)"
    )


class EnquiryCreatedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str = Field(examples=["ENQ-2026-000123"])


class EnquiryStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: EnquiryStatus
    note: Message | None = None


class EnquiryStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: EnquiryStatus | None
    to_status: EnquiryStatus
    note: str | None
    actor_user_id: int | None
    at: datetime


class EnquiryOut(BaseModel):
    """An enquiry as staff see it, with its history (oldest step first)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    name: str
    phone: str
    email: str
    organization: str | None
    number_of_tests: int
    message: str | None
    status: EnquiryStatus
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    history: list[EnquiryStepOut]
