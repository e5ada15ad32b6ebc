from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict

from core.validation import PatchIn, PhoneNumber, ShortText

Relation = Literal["self", "spouse", "child", "parent", "sibling", "grandparent", "other"]
Gender = Literal["male", "female", "other"]
INDIA = ZoneInfo("Asia/Kolkata")
EARLIEST_BIRTH_YEAR = 1900


def past_date(value: date) -> date:
    """Calendar days are Indian days: 'today' is today in Asia/Kolkata."""
    if value > datetime.now(INDIA).date() or value.year < EARLIEST_BIRTH_YEAR:
        raise ValueError("date of birth must be in the past (and after 1900)")
    return value


BirthDate = Annotated[date, AfterValidator(past_date)]


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
