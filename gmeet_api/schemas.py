from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from core.validation import (
    BodyRowId,
    LongText,
    MultiLine,
    PatchIn,
    PhoneNumber,
    ShortText,
    SingleLine,
)
from gmeet_api.models import BookingStatus, CounsellorStatus
from gmeet_api.utils import WEEKDAYS, parse_hhmm, to_ist

# Times leave the API in Indian time (+05:30); they are stored in UTC.
IstDatetime = Annotated[datetime, AfterValidator(to_ist)]
CounsellorCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16), SingleLine
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Email = Annotated[EmailStr, StringConstraints(max_length=254)]


class ConnectUrlOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    authorization_url: str
    redirect_uri: str


class ConnectResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    counsellor_id: str
    name: str
    email: str
    is_new: bool


class CounsellorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    counsellor_id: str
    name: str
    specialization: str | None
    bio: str | None


class CounsellorAdminOut(CounsellorOut):
    email: str
    is_active: bool
    status: CounsellorStatus
    working_days: list[Weekday] | None
    workday_start: str | None
    workday_end: str | None
    connected_at: datetime
    created_at: datetime
    updated_at: datetime

    @field_validator("working_days", mode="before")
    @classmethod
    def split_days(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value


class CounsellorUpdateIn(PatchIn):
    """Only the fields sent change; `null` clears a working-hours override (back to default)."""

    nullable = frozenset({"specialization", "bio", "working_days", "workday_start", "workday_end"})

    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = None
    specialization: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), SingleLine] | None
    ) = None
    bio: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MultiLine] | None
    ) = None
    working_days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] | None = None
    workday_start: HourMinute | None = None
    workday_end: HourMinute | None = None

    def changes(self) -> dict[str, Any]:
        changes = self.model_dump(exclude_unset=True)
        if changes.get("working_days") is not None:
            chosen = set(changes["working_days"])
            changes["working_days"] = ",".join(day for day in WEEKDAYS if day in chosen)
        for field in ("workday_start", "workday_end"):
            if changes.get(field) is not None:
                changes[field] = parse_hhmm(changes[field]).strftime("%H:%M")
        return changes


class SlotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    start: IstDatetime
    end: IstDatetime


class AvailabilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    counsellor_id: str
    start_time: IstDatetime
    end_time: IstDatetime
    available_slots: list[SlotOut]


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counsellor_id: CounsellorCode
    start_time: AwareDatetime
    end_time: AwareDatetime
    member_id: BodyRowId | None = None
    patient_name: ShortText | None = None
    patient_email: (
        Annotated[
            Email,
            Field(
                description="Only the email on my profile (it gets the Calendar invite); any "
                "other address: 422 patient_email_not_allowed. Left out: the profile's email."
            ),
        ]
        | None
    ) = None
    patient_phone: PhoneNumber | None = None
    notes: Annotated[LongText, StringConstraints(max_length=2000)] | None = None


class BookingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    booking_id: int = Field(validation_alias="id")
    counsellor_id: str
    google_event_id: str | None
    meet_link: str | None
    calendar_link: str | None
    start_time: IstDatetime
    end_time: IstDatetime
    status: BookingStatus
    notifications_sent: bool
    member_id: int | None
    patient_name: str
    created_at: datetime
    cancelled_at: datetime | None
