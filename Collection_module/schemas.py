from datetime import date as Day
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.validation import BodyRowId, PhoneNumber, ShortText

WindowStart = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]


class FreeSlotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: Day
    start: str
    end: str
    remaining: int


class SlotsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    city: str
    slots: list[FreeSlotOut]


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_ids: Annotated[list[BodyRowId], Field(min_length=1, max_length=20)]
    date: Day
    start: WindowStart


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Day
    start: WindowStart


class CollectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    date: Day = Field(validation_alias="day")
    start: str
    end: str
    city: str
    item_ids: list[int]
    technician_name: str | None
    technician_phone: str | None


class RunSheetEntryOut(CollectionOut):
    address: dict[str, object]


class TechnicianIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    technician_name: ShortText
    technician_phone: PhoneNumber


class HolidayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date: Day = Field(validation_alias="day")
    created_at: datetime
