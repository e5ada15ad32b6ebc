from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from Address_module.locations import city_key
from core.pincodes import IndianState, Pincode
from core.validation import PatchIn, PhoneNumber, ShortText, SingleLine

Label = Literal["home", "work", "other"]
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SingleLine
]


def location_city(value: str) -> str:
    """A location's name, spaces collapsed; it must contain a letter or digit to be matchable."""
    if not city_key(value):
        raise ValueError("the city must contain letters")
    return " ".join(value.split())


LocationCity = Annotated[City, AfterValidator(location_city)]
Zone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), SingleLine
]
OPTIONAL_FIELDS = {"line2", "landmark", "locality"}


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label = "home"
    contact_name: ShortText
    contact_phone: PhoneNumber
    line1: Line
    line2: Line | None = None
    landmark: ShortText | None = None
    locality: ShortText | None = None
    city: City
    state: IndianState
    pincode: Pincode
    is_default: bool = False


class AddressUpdateIn(PatchIn):
    """Only the fields sent are changed; only line2, landmark and locality may be `null`."""

    nullable = frozenset(OPTIONAL_FIELDS)

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    contact_name: ShortText | None = None
    contact_phone: PhoneNumber | None = None
    line1: Line | None = None
    line2: Line | None = None
    landmark: ShortText | None = None
    locality: ShortText | None = None
    city: City | None = None
    state: IndianState | None = None
    pincode: Pincode | None = None
    is_default: bool | None = None


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: Label
    contact_name: str
    contact_phone: str
    line1: str
    line2: str | None
    landmark: str | None
    locality: str | None
    city: str
    state: str
    pincode: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ServiceabilityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    serviceable: bool
    home_collection: bool
    sample_pickup: bool
    zone: str | None
    city: str | None = None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: LocationCity
    zone: Zone
    home_collection: bool = False
    sample_pickup: bool = True
    is_active: bool = True
    collection_capacity: Annotated[int, Field(ge=0, le=1000)] | None = None


class LocationUpdateIn(PatchIn):
    """Only the fields sent are changed; none may be `null`."""

    model_config = ConfigDict(extra="forbid")
    nullable = frozenset({"collection_capacity"})

    city: LocationCity | None = None
    zone: Zone | None = None
    home_collection: bool | None = None
    sample_pickup: bool | None = None
    is_active: bool | None = None
    # null: back to COLLECTION_CAPACITY_PER_SLOT
    collection_capacity: Annotated[int, Field(ge=0, le=1000)] | None = None


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    city: str
    zone: str
    home_collection: bool
    sample_pickup: bool
    is_active: bool
    collection_capacity: int | None
    created_at: datetime
    updated_at: datetime
