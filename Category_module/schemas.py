from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.slugs import Slug
from core.validation import MultiLine, PatchIn, SingleLine

CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SingleLine
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MultiLine]
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    description: str | None
    product_count: int


class CategoryAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    description: str | None
    is_active: bool
    sort_order: int
    created_at: datetime
    updated_at: datetime


class CategoryCreateIn(BaseModel):
    """`slug` defaults to one derived from the name."""

    model_config = ConfigDict(extra="forbid")

    name: CategoryName
    slug: Slug | None = None
    description: Description | None = None
    is_active: bool = True
    sort_order: SortOrder = 0


class CategoryUpdateIn(PatchIn):
    """Only the fields sent are changed; only `description` may be `null`."""

    nullable = frozenset({"description"})

    model_config = ConfigDict(extra="forbid")

    name: CategoryName | None = None
    slug: Slug | None = None
    description: Description | None = None
    is_active: bool | None = None
    sort_order: SortOrder | None = None


class BootstrapOut(BaseModel):
    created: int
    existing: int
