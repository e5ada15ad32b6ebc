from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, StringConstraints

Gender = Literal["male", "female", "other", "prefer_not_to_say"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
INDIA = ZoneInfo("Asia/Kolkata")


def past_date(value: date) -> date:
    """Calendar days are Indian days: 'today' is today in Asia/Kolkata, not the server's."""
    if value > datetime.now(INDIA).date() or value.year < 1900:
        raise ValueError("date of birth must be a past date after 1900")
    return value


BirthDate = Annotated[date, AfterValidator(past_date)]


class ProfileOut(BaseModel):
    id: int
    phone: str | None
    name: str | None
    email: str | None
    date_of_birth: date | None
    gender: Gender | None
    photo_url: str | None


class ProfileUpdateIn(BaseModel):
    """Only the fields sent are changed; `null` clears a field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Annotated[EmailStr, StringConstraints(max_length=254)] | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
