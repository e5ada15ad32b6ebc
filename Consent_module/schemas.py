from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from Consent_module.answers import GrantState
from core.validation import BodyRowId, MultiLine, SingleLine

ConsentCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
Body = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), MultiLine
]


class ConsentTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    title: str
    body: str
    version: int
    active: bool


class ConsentVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    title: str
    body: str
    published_at: datetime


class ConsentTypeDetailOut(ConsentTypeOut):
    versions: list[ConsentVersionOut]


class RequiredConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    title: str
    version: int


class ConsentTypeCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ConsentCode
    title: Title
    body: Body


class ConsentVersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body


class ConsentTypeUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class ProductLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ConsentCode


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: BodyRowId
    code: ConsentCode
    version: int = Field(ge=1, le=1_000_000)


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    code: str
    version: int
    granted_at: datetime
    withdrawn_at: datetime | None
    ip_address: str | None
    user_agent: str | None
    # Set when the member confirmed it from their own phone (the request, the phone masked).
    consent_request_id: int | None
    confirmed_by_phone: str | None
    status: GrantState
