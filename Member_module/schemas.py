from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.validation import (
    AbhaAddress,
    AbhaNumber,
    BirthDate,
    Gender,
    MaskedAbhaNumber,
    PatchIn,
    PhoneNumber,
    ShortText,
)

Relation = Literal["self", "spouse", "child", "parent", "sibling", "grandparent", "other"]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    relation: Relation
    date_of_birth: BirthDate
    gender: Gender
    phone: PhoneNumber | None = None
    abha_number: AbhaNumber | None = None
    abha_address: AbhaAddress | None = None


class MemberUpdateIn(PatchIn):
    """Only the fields sent are changed; `phone`, `abha_number` and `abha_address` may be
    cleared with `null`."""

    nullable = frozenset({"phone", "abha_number", "abha_address"})

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    relation: Relation | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
    phone: PhoneNumber | None = None
    abha_number: AbhaNumber | None = None
    abha_address: AbhaAddress | None = None


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    relation: Relation
    date_of_birth: date
    gender: Gender
    phone: str | None
    # The number masked (the last four digits); the address in full, like the phone: it is
    # the customer's own handle, which they typed and see in their ABHA app.
    abha_number: MaskedAbhaNumber | None
    abha_address: str | None
    created_at: datetime
    updated_at: datetime
