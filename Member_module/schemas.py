from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.validation import BirthDate, Gender, PatchIn, PhoneNumber, ShortText

Relation = Literal["self", "spouse", "child", "parent", "sibling", "grandparent", "other"]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText
    relation: Relation
    date_of_birth: BirthDate
    gender: Gender
    phone: PhoneNumber | None = None


class MemberUpdateIn(PatchIn):
    """Only the fields sent are changed; only `phone` may be cleared with `null`."""

    nullable = frozenset({"phone"})

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    relation: Relation | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
    phone: PhoneNumber | None = None


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    relation: Relation
    date_of_birth: date
    gender: Gender
    phone: str | None
    created_at: datetime
    updated_at: datetime
