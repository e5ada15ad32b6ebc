from datetime import UTC, datetime
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from Banner_module.models import ActionType, BannerState, Platform
from core.errors import CODED_VALIDATION_TYPES
from core.slugs import is_valid_slug
from core.validation import PatchIn, SingleLine

CODED_VALIDATION_TYPES.add("invalid_banner_action")

MAX_URL_LENGTH = 2000
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), SingleLine
]
Subtitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160), SingleLine
]
Position = Annotated[int, Field(ge=0, le=1_000_000)]


def _in_utc(moment: datetime) -> datetime:
    """A moment with its offset, kept in UTC; years outside 2000-2999 are a typing slip."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"give a moment between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment.astimezone(UTC)


Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


def _distinct(platforms: list[Platform]) -> list[Platform]:
    return [p for p in Platform if p in platforms]


Platforms = Annotated[list[Platform], Field(min_length=1, max_length=2), AfterValidator(_distinct)]


def _action_problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_banner_action", message)


def _is_https_url(value: str) -> bool:
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


class BannerActionIn(BaseModel):
    """Where a tap leads: `product` and `category` take a slug, `url` an https address,
    `none` nothing."""

    model_config = ConfigDict(extra="forbid")

    type: ActionType
    value: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_URL_LENGTH)] | None
    ) = None

    @model_validator(mode="after")
    def _value_fits_type(self) -> Self:
        if self.type == ActionType.NONE:
            if self.value:
                raise _action_problem("an action of type none takes no value")
            self.value = None
        elif self.type == ActionType.URL:
            if not self.value or not _is_https_url(self.value):
                raise _action_problem("a url action needs an https:// address (no credentials)")
        elif not self.value or not is_valid_slug(self.value):
            raise _action_problem(f"a {self.type} action needs the {self.type}'s slug")
        return self


class BannerActionOut(BaseModel):
    type: ActionType
    value: str | None = None


class BannerOut(BaseModel):
    """A banner as the apps show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    subtitle: str | None
    image_url: str
    action: BannerActionOut
    position: int


class BannerListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[BannerOut]


class BannerAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    subtitle: str | None
    image_url: str | None
    action: BannerActionOut
    position: int
    active: bool
    starts_at: datetime | None
    ends_at: datetime | None
    platforms: list[Platform]
    state: BannerState = Field(
        description="scheduled (window not open), live (window holds), expired, or inactive"
    )
    visible: bool = Field(
        description="Shown by GET /banners now: live, with an image, its product or category "
        "on sale"
    )
    created_at: datetime
    updated_at: datetime


class BannerCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    subtitle: Subtitle | None = None
    action: BannerActionIn | None = Field(None, description="None: a picture only")
    position: Position = 0
    active: bool = True
    starts_at: Moment | None = Field(None, description="Shown from (inclusive); None: at once")
    ends_at: Moment | None = Field(None, description="Shown until (exclusive); None: no end")
    platforms: Platforms = Field(default_factory=lambda: list(Platform))


class BannerUpdateIn(PatchIn):
    """Only the fields sent change; `subtitle`, `action` and the window's ends may be `null`
    (no subtitle, a picture only, an open end)."""

    nullable = frozenset({"subtitle", "action", "starts_at", "ends_at"})

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    subtitle: Subtitle | None = None
    action: BannerActionIn | None = None
    position: Position | None = None
    active: bool | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    platforms: Platforms | None = None
