"""Shared input types: phones (E.164 via `phonenumbers`), bounded strings without control
characters."""

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

import phonenumbers
from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.clock import today_ist
from core.errors import CODED_VALIDATION_TYPES

CODED_VALIDATION_TYPES.update({"invalid_phone", "invalid_abha"})

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


# --- ABHA: the Ayushman Bharat Health Account (India's national health id) ------------------

# The number: 14 digits, printed 2-4-4-4 with hyphens on the ABHA card. Accepted as the card
# prints it or as the 14 digits alone (outer spaces trimmed); spaces, or hyphens anywhere else,
# are refused rather than guessed at. Only the digits are checked: NHA publishes no check digit.
_ABHA_NUMBER = re.compile(r"[0-9]{2}-[0-9]{4}-[0-9]{4}-[0-9]{4}|[0-9]{14}")
# The address: `<handle>@abdm` (production) or `<handle>@sbx` (the ABDM sandbox), any case,
# kept lower-case. The handle follows NHA's own ABHA app (NHA-ABDM/ABDM-ABHA-APP,
# lib/utils/validate/validator.dart, the pattern it checks at registration and at login):
# 8 to 18 letters and digits with at most one `.` and at most one `_`, neither first nor last
# nor side by side. (An older NHA policy allowed 4-character handles; the app no longer logs
# them in, so neither do we accept them.)
_ABHA_HANDLE = re.compile(r"[a-z0-9]+(?:[._][a-z0-9]+)*")
ABHA_HANDLE_LENGTH = (8, 18)
ABHA_ADDRESS_DOMAINS = frozenset({"abdm", "sbx"})
# Longer input is refused before it is read (as `invalid_abha` too).
ABHA_INPUT_MAX_LENGTH = 64
INVALID_ABHA_NUMBER = "Enter the 14-digit ABHA number, as 12-3456-7890-1234 or 12345678901234."
INVALID_ABHA_ADDRESS = (
    "Enter the ABHA address as name@abdm (or name@sbx): 8 to 18 letters or digits, "
    "with at most one '.' and one '_', not first or last."
)


class InvalidAbha(ValueError):
    pass


def normalize_abha_number(raw: str) -> str:
    """`12345678901234` or `12-3456-7890-1234` -> `12-3456-7890-1234`, else InvalidAbha."""
    value = raw.strip()
    if not _ABHA_NUMBER.fullmatch(value):
        raise InvalidAbha("not an ABHA number")
    digits = value.replace("-", "")
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def normalize_abha_address(raw: str) -> str:
    """`Asha.Rao1990@SBX` -> `asha.rao1990@sbx`, else InvalidAbha."""
    value = raw.strip()
    # ASCII first: some other characters lower-case to ASCII letters (the Kelvin sign to `k`).
    if not value.isascii():
        raise InvalidAbha("not an ABHA address")
    handle, at, domain = value.lower().rpartition("@")
    shortest, longest = ABHA_HANDLE_LENGTH
    if (
        not at
        or domain not in ABHA_ADDRESS_DOMAINS
        or not shortest <= len(handle) <= longest
        or not _ABHA_HANDLE.fullmatch(handle)
        or handle.count(".") > 1
        or handle.count("_") > 1
    ):
        raise InvalidAbha("not an ABHA address")
    return f"{handle}@{domain}"


def mask_abha_number(number: str) -> str:
    """`12-3456-7890-1234` -> `**-****-****-1234`: the last four digits, as on a card."""
    return re.sub("[0-9]", "*", number[:-4]) + number[-4:]


def mask_abha_address(address: str) -> str:
    """`asha.rao1990@sbx` -> `as**********@sbx`: the handle's first two characters and the
    domain."""
    handle, at, domain = address.rpartition("@")
    if not at:
        return "*" * len(address)
    return handle[:2] + "*" * max(len(handle) - 2, 0) + at + domain


def _abha_text(message: str) -> BeforeValidator:
    """A value that is not text, or is far too long, is refused like a malformed one."""

    def check(value: object) -> object:
        if not isinstance(value, str) or len(value) > ABHA_INPUT_MAX_LENGTH:
            raise PydanticCustomError("invalid_abha", message)
        return value

    return BeforeValidator(check)


def _validate_abha_number(value: str) -> str:
    try:
        return normalize_abha_number(value)
    except InvalidAbha as exc:
        raise PydanticCustomError("invalid_abha", INVALID_ABHA_NUMBER) from exc


def _validate_abha_address(value: str) -> str:
    try:
        return normalize_abha_address(value)
    except InvalidAbha as exc:
        raise PydanticCustomError("invalid_abha", INVALID_ABHA_ADDRESS) from exc


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
# In requests: normalised as above, anything else 422 `invalid_abha`.
AbhaNumber = Annotated[
    str,
    StringConstraints(max_length=ABHA_INPUT_MAX_LENGTH),
    _abha_text(INVALID_ABHA_NUMBER),
    AfterValidator(_validate_abha_number),
]
AbhaAddress = Annotated[
    str,
    StringConstraints(max_length=ABHA_INPUT_MAX_LENGTH),
    _abha_text(INVALID_ABHA_ADDRESS),
    AfterValidator(_validate_abha_address),
]
# In answers: a stored ABHA number as the customer sees it (`**-****-****-1234`).
MaskedAbhaNumber = Annotated[str, AfterValidator(mask_abha_number)]
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
