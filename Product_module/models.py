"""Products: the tests customers buy, each sold in one plan (single, couple or family)."""

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from database import Base, TimestampMixin

if TYPE_CHECKING:
    from Category_module.models import Category

# How many members each plan covers; a product may narrow its own min/max within this range.
PLAN_MEMBER_RANGES: dict[str, tuple[int, int]] = {
    "single": (1, 1),
    "couple": (2, 2),
    "family": (3, 4),
}
# Ids are INT columns: a larger number in a URL cannot name a row (and would overflow SQLite).


def discount_percent(price_paise: int, mrp_paise: int) -> int:
    """Whole-percent saving on the MRP, rounded half up (0 when there is no MRP)."""
    if mrp_paise <= 0 or price_paise >= mrp_paise:
        return 0
    return ((mrp_paise - price_paise) * 200 + mrp_paise) // (2 * mrp_paise)


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_category_active", "category_id", "is_active"),
        Index("ix_products_price_paise", "price_paise"),
        Index("ix_products_created_at", "created_at"),
        Index("ix_products_plan_type", "plan_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    short_description: Mapped[str | None] = mapped_column(String(300), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    plan_type: Mapped[str] = mapped_column(String(16))
    min_members: Mapped[int]
    max_members: Mapped[int]
    price_paise: Mapped[int] = mapped_column(BigInteger)
    mrp_paise: Mapped[int] = mapped_column(BigInteger)
    images: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Lower-cased tags, one per line: what `q` searches, so it never matches JSON punctuation.
    search_tags: Mapped[str] = mapped_column(Text, default="")
    sample_type: Mapped[str | None] = mapped_column(String(32), default=None)
    turnaround_days: Mapped[int | None] = mapped_column(default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Merchandising order for the default (relevance without a query) listing.
    sort_order: Mapped[int] = mapped_column(default=0)
    # Tax invoices: the service's SAC and its GST rate (0 = exempt; 5, 12, 18 or 28).
    sac_code: Mapped[str] = mapped_column(String(8), default="999316", server_default="999316")
    gst_rate_percent: Mapped[int] = mapped_column(default=0, server_default="0")

    category: Mapped["Category"] = relationship(lazy="raise")

    @validates("tags")
    def _index_tags(self, _key: str, tags: list[str] | None) -> list[str]:
        tags = list(tags or [])
        self.search_tags = "\n".join(tag.lower() for tag in tags)
        return tags

    @property
    def discount_percent(self) -> int:
        return discount_percent(self.price_paise, self.mrp_paise)

    def snapshot(self) -> dict[str, Any]:
        """The editable fields, for audit entries."""
        return {field: getattr(self, field) for field in EDITABLE_FIELDS}


EDITABLE_FIELDS = (
    "name",
    "slug",
    "short_description",
    "description",
    "category_id",
    "plan_type",
    "min_members",
    "max_members",
    "price_paise",
    "mrp_paise",
    "images",
    "tags",
    "sample_type",
    "turnaround_days",
    "is_active",
    "sort_order",
    "sac_code",
    "gst_rate_percent",
)
