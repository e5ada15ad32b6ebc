"""Shared input types: phones (E.164 via `phonenumbers`), bounded strings without control
characters."""

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

import phonenumbers
from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from core.clock import today_ist
from core.errors import CODED_VALIDATION_TYPES

CODED_VALIDATION_TYPES.add("invalid_phone")

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, region: str = "IN") -> str:
    """A valid mobile number in any common form -> E.164, else InvalidPhone."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidPhone("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(phone: str) -> str | None:
    """The ISO region (`IN`, `GB`, ...) of an E.164 number, None if it has none."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None


def _validate_phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidPhone as exc:
        raise PydanticCustomError("invalid_phone", "Enter a valid mobile number.") from exc


def mask_phone(phone: str) -> str:
    """`+919876543210` -> `+91******3210`: enough to recognise, not to use."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# Characters that are not text: C0 controls (NUL, ESC of ANSI escapes, ...), DEL and C1 controls,
# and the bidi embeddings, overrides and isolates that make text display other than it reads
# (U+202E turns `exe.gpj` into `jpg.exe`). Multi-line text keeps tab and newline (CRLF -> LF).
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_NOT_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_NOT_MULTI_LINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
CONTROL_CHARACTERS_MESSAGE = "Remove control characters (and text-direction overrides)."


def _single_line(value: str) -> str:
    if _NOT_SINGLE_LINE.search(value):
        raise PydanticCustomError("control_characters", CONTROL_CHARACTERS_MESSAGE)
    return value


def _multi_line(value: str) -> str:
    value = value.replace("\r\n", "\n")
    if _NOT_MULTI_LINE.search(value):
        raise PydanticCustomError("control_characters", CONTROL_CHARACTERS_MESSAGE)
    return value


# Add to any free-text type: `Annotated[str, StringConstraints(...), SingleLine]`.
SingleLine = AfterValidator(_single_line)
MultiLine = AfterValidator(_multi_line)

PhoneNumber = Annotated[str, StringConstraints(max_length=32), AfterValidator(_validate_phone)]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SingleLine
]
LongText = Annotated[str, StringConstraints(max_length=5000), MultiLine]

# The largest value of the INT primary keys; a larger path id is a 422, not a database error.
DB_INT_MAX = 2_147_483_647
# Every `/{..._id}` path parameter, and every row id in a request body.
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
BodyRowId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]


class PatchIn(BaseModel):
    """The body of a partial update: only the fields sent change, and `null` is refused for
    every field except those in `nullable` (which it clears). `changes()` is what was sent."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null(self) -> Self:
        nulled = [
            field for field in self.model_fields_set - self.nullable if getattr(self, field) is None
        ]
        if nulled:
            raise ValueError(f"{', '.join(sorted(nulled))} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# --- people -------------------------------------------------------------------------------


def past_birth_date(value: date) -> date:
    """A date of birth: not after today in Kolkata (Indian calendar days, not the server's),
    not before 1900."""
    if value > today_ist() or value.year < EARLIEST_BIRTH_YEAR:
        raise ValueError("date of birth must be a past date after 1900")
    return value


EARLIEST_BIRTH_YEAR = 1900
BirthDate = Annotated[date, AfterValidator(past_birth_date)]

# A person's gender as we record it for a test. The account holder's own profile may also
# decline to say (`ProfileGender`); a member a test is bought for may not.
Gender = Literal["male", "female", "other"]
ProfileGender = Gender | Literal["prefer_not_to_say"]
