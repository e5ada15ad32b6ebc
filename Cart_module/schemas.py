from datetime import datetime
from typing import Annotated, Literal

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

from Cart_module.coupon_rules import normalize_code
from Cart_module.coupons import CODE_PATTERN
from core.errors import CODED_VALIDATION_TYPES
from core.validation import BodyRowId, PatchIn, PhoneNumber, SingleLine
from Product_module.models import PLAN_MEMBER_RANGES
from Product_module.schemas import PlanType

CODED_VALIDATION_TYPES.add("invalid_member_count")

MAX_QUANTITY = 10
MAX_MEMBERS = max(high for _low, high in PLAN_MEMBER_RANGES.values())
MAX_COUPON_PAISE = 10**12
MAX_USAGE_LIMIT = 1_000_000_000
MAX_RESTRICTION_IDS = 200
MAX_ALLOW_LIST_ADDS = 500

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
CouponPaise = Annotated[int, Field(ge=0, le=MAX_COUPON_PAISE)]
UsageLimit = Annotated[int, Field(ge=1, le=MAX_USAGE_LIMIT)]
DiscountType = Literal["percent", "flat"]


# --- cart --------------------------------------------------------------------------------------


class CartMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: BodyRowId
    address_id: BodyRowId


def _distinct_members(members: list[CartMemberIn]) -> list[CartMemberIn]:
    """Refused with the cart's own code: no plan covers 0 or more than 4 members, or one twice."""
    ids = [member.member_id for member in members]
    if not 1 <= len(ids) <= MAX_MEMBERS or len(set(ids)) != len(ids):
        raise PydanticCustomError(
            "invalid_member_count",
            "Choose 1 to 4 different members, as many as the test's plan covers.",
        )
    return members


MemberChoices = Annotated[list[CartMemberIn], AfterValidator(_distinct_members)]


class CartAddIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: BodyRowId
    members: MemberChoices
    quantity: Quantity = 1


class CartItemUpdateIn(BaseModel):
    """Send `quantity`, `members` or both."""

    model_config = ConfigDict(extra="forbid")

    quantity: Quantity | None = None
    members: MemberChoices | None = None

    @model_validator(mode="after")
    def something_to_change(self) -> "CartItemUpdateIn":
        if self.quantity is None and self.members is None:
            raise ValueError("send quantity and/or members")
        return self


class CouponApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), SingleLine
    ]


class CartProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    plan_type: str
    price_paise: int


class CartMemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member_id: int
    name: str
    address_id: int


class CartItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product: CartProductOut
    members: list[CartMemberOut]
    quantity: int
    unit_price_paise: int
    line_total_paise: int


class CartCouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    discount_paise: int


# Shaped from Cart_module.pricing.CartView (a comment, not a docstring: the OpenAPI text stays).
class CartOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[CartItemOut] = Field(validation_alias="lines")
    coupon: CartCouponOut | None = Field(validation_alias="applied_coupon")
    subtotal_paise: int
    discount_paise: int
    total_paise: int
    notices: list[str]


class UsableCouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    description: str | None
    discount_type: DiscountType
    percent_off: int | None
    amount_off_paise: int | None
    max_discount_paise: int | None
    min_order_paise: int
    valid_to: datetime | None
    eligible: bool
    discount_paise: int


# --- admin coupons -----------------------------------------------------------------------------


def _coupon_code(value: str) -> str:
    code = normalize_code(value)
    if not CODE_PATTERN.match(code):
        raise ValueError("3 to 32 of A-Z, 0-9, '_' and '-' (any case)")
    return code


CouponCode = Annotated[str, StringConstraints(max_length=64), AfterValidator(_coupon_code)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), SingleLine]
RestrictionIds = Annotated[list[BodyRowId], Field(max_length=MAX_RESTRICTION_IDS)]
PlanTypes = Annotated[list[PlanType], Field(max_length=len(PLAN_MEMBER_RANGES))]
TARGETED_HELP = (
    "Only the accounts and phones on its allow-list (`/allowed`) may see and use it; to anyone "
    "else it does not exist. Adding the first entry sets it; it stays set when the list is "
    "emptied. It can be cleared only once the list is empty."
)


class CouponCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: CouponCode
    description: Description | None = None
    discount_type: DiscountType
    percent_off: Annotated[int, Field(ge=1, le=100)] | None = None
    amount_off_paise: CouponPaise | None = None
    max_discount_paise: CouponPaise | None = None
    min_order_paise: CouponPaise = 0
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    usage_limit_total: UsageLimit | None = None
    usage_limit_per_user: UsageLimit | None = None
    product_ids: RestrictionIds = []
    category_ids: RestrictionIds = []
    active: bool = True
    public: bool = Field(
        False, description="Listed by GET /cart/coupons; a private code applies only when typed."
    )
    allowed_plan_types: PlanTypes = Field(
        [], description="Only lines of these plans count; empty: any plan."
    )
    first_order_only: bool = Field(
        False, description="Only for an account that has never had an order paid."
    )
    targeted: bool = Field(False, description=TARGETED_HELP)


class CouponUpdateIn(PatchIn):
    """Only the fields sent change; the optional settings are cleared with `null`."""

    nullable = frozenset(
        {
            "description",
            "percent_off",
            "amount_off_paise",
            "max_discount_paise",
            "valid_from",
            "valid_to",
            "usage_limit_total",
            "usage_limit_per_user",
        }
    )

    model_config = ConfigDict(extra="forbid")

    code: CouponCode | None = None
    description: Description | None = None
    discount_type: DiscountType | None = None
    percent_off: Annotated[int, Field(ge=1, le=100)] | None = None
    amount_off_paise: CouponPaise | None = None
    max_discount_paise: CouponPaise | None = None
    min_order_paise: CouponPaise | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    usage_limit_total: UsageLimit | None = None
    usage_limit_per_user: UsageLimit | None = None
    product_ids: RestrictionIds | None = None
    category_ids: RestrictionIds | None = None
    active: bool | None = None
    public: bool | None = None
    allowed_plan_types: PlanTypes | None = None
    first_order_only: bool | None = None
    targeted: bool | None = Field(None, description=TARGETED_HELP)


class CouponAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    description: str | None
    discount_type: DiscountType
    percent_off: int | None
    amount_off_paise: int | None
    max_discount_paise: int | None
    min_order_paise: int
    valid_from: datetime | None
    valid_to: datetime | None
    usage_limit_total: int | None
    usage_limit_per_user: int | None
    product_ids: list[int]
    category_ids: list[int]
    active: bool
    public: bool
    allowed_plan_types: list[PlanType]
    first_order_only: bool
    targeted: bool
    used_count: int
    held_count: int
    created_at: datetime
    updated_at: datetime


# --- a targeted coupon's allow-list ------------------------------------------------------------


class AllowListIn(BaseModel):
    """Phones in any common form (kept in E.164) and account ids; at least one in all."""

    model_config = ConfigDict(extra="forbid")

    # Plain `list[...] = Field(...)`: the error docs find `invalid_phone` one level down.
    phones: list[PhoneNumber] = Field([], max_length=MAX_ALLOW_LIST_ADDS)
    user_ids: list[BodyRowId] = Field([], max_length=MAX_ALLOW_LIST_ADDS)

    @model_validator(mode="after")
    def something_to_add(self) -> "AllowListIn":
        if not self.phones and not self.user_ids:
            raise ValueError("send phones and/or user_ids")
        return self


class AllowedEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str | None
    user_id: int | None
    created_at: datetime


class AllowListAddedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    added: int = Field(description="How many of `entries` are new (the rest were listed).")
    entries: list[AllowedEntryOut]
