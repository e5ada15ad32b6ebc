from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from Consent_module.schemas import RequiredConsentOut
from core.errors import CODED_VALIDATION_TYPES
from core.slugs import Slug
from core.validation import BodyRowId, MultiLine, PatchIn, SingleLine
from Product_module.models import PLAN_MEMBER_RANGES

CODED_VALIDATION_TYPES.update({"invalid_price", "invalid_plan_members"})

MAX_PAISE = 10**11  # Rs 100 crore: far above any test's price, far below BIGINT.
MAX_MEMBERS = max(high for _low, high in PLAN_MEMBER_RANGES.values())

PlanType = Literal["single", "couple", "family"]
SampleType = Literal["saliva", "blood", "stool", "cheek_swab"]
ProductSort = Literal["relevance", "price_asc", "price_desc", "newest"]


def _coded_range(code: str, message: str, low: int, high: int) -> Callable[[int], int]:
    """An out-of-range number is refused with the product error code, not `validation_error`."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(code, message)
        return value

    return check


Paise = Annotated[
    int,
    Field(json_schema_extra={"minimum": 0, "maximum": MAX_PAISE}),
    AfterValidator(
        _coded_range("invalid_price", "Prices are whole paise from 0 upwards.", 0, MAX_PAISE)
    ),
]
MemberCount = Annotated[
    int,
    Field(json_schema_extra={"minimum": 1, "maximum": MAX_MEMBERS}),
    AfterValidator(
        _coded_range(
            "invalid_plan_members", "Member counts run from 1 to 4, by plan.", 1, MAX_MEMBERS
        )
    ),
]
ProductName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
ShortDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), MultiLine
]
Description = Annotated[str, StringConstraints(max_length=20_000), MultiLine]
ImageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^(https?://|/)\S+$"),
]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), SingleLine
]
TurnaroundDays = Annotated[int, Field(ge=1, le=365)]
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
# Tax invoices: the SAC of the service (digits) and its GST rate (0 = exempt).
SacCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]
GstRate = Literal[0, 5, 12, 18, 28]


class CategoryRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str


# Read from a `Product` whose category is loaded (a docstring here would show in the OpenAPI).
class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    short_description: str | None
    category: CategoryRef
    plan_type: str
    min_members: int
    max_members: int
    price_paise: int
    mrp_paise: int
    discount_percent: int
    images: list[str]
    sample_type: str | None
    turnaround_days: int | None

    @field_validator("images", mode="before")
    @classmethod
    def _no_images_is_empty(cls, value: list[str] | None) -> list[str]:
        return list(value or [])


# Read from a `ProductDetail`: a product with the consents it requires.
class ProductDetailOut(ProductOut):
    description: str | None
    tags: list[str]
    required_consents: list[RequiredConsentOut]

    @field_validator("tags", mode="before")
    @classmethod
    def _no_tags_is_empty(cls, value: list[str] | None) -> list[str]:
        return list(value or [])


class ProductAdminOut(ProductDetailOut):
    category_id: int
    is_active: bool
    sort_order: int
    sac_code: str
    gst_rate_percent: int
    created_at: datetime
    updated_at: datetime


class ProductCreateIn(BaseModel):
    """`slug` defaults to one derived from the name, `min_members`/`max_members` to the plan's
    range, `mrp_paise` to the price."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName
    slug: Slug | None = None
    short_description: ShortDescription | None = None
    description: Description | None = None
    category_id: BodyRowId
    plan_type: PlanType
    min_members: MemberCount | None = None
    max_members: MemberCount | None = None
    price_paise: Paise
    mrp_paise: Paise | None = None
    images: Annotated[list[ImageUrl], Field(max_length=10)] = []
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    sample_type: SampleType | None = None
    turnaround_days: TurnaroundDays | None = None
    is_active: bool = True
    sort_order: SortOrder = 0
    sac_code: SacCode = "999316"
    gst_rate_percent: GstRate = 0


NULLABLE_ON_UPDATE = {"short_description", "description", "sample_type", "turnaround_days"}


class ProductUpdateIn(PatchIn):
    """Only the fields sent are changed. Changing `plan_type` without sending member counts
    resets them to the new plan's range."""

    nullable = frozenset(NULLABLE_ON_UPDATE)

    model_config = ConfigDict(extra="forbid")

    name: ProductName | None = None
    slug: Slug | None = None
    short_description: ShortDescription | None = None
    description: Description | None = None
    category_id: BodyRowId | None = None
    plan_type: PlanType | None = None
    min_members: MemberCount | None = None
    max_members: MemberCount | None = None
    price_paise: Paise | None = None
    mrp_paise: Paise | None = None
    images: Annotated[list[ImageUrl], Field(max_length=10)] | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    sample_type: SampleType | None = None
    turnaround_days: TurnaroundDays | None = None
    is_active: bool | None = None
    sort_order: SortOrder | None = None
    sac_code: SacCode | None = None
    gst_rate_percent: GstRate | None = None
