"""Home banners: what the apps' and website's home carousel shows, and where a tap leads."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from database import Base, TimestampMixin, stored_as_string


class ActionType(StrEnum):
    # Opens a product page (the product's current slug is sent).
    PRODUCT = "product"
    # Opens a category's shelf.
    CATEGORY = "category"
    # Opens an https address.
    URL = "url"
    # A picture only.
    NONE = "none"


class BannerState(StrEnum):
    """Where a banner stands in its life (computed, not stored)."""

    # Active, its window not open yet.
    SCHEDULED = "scheduled"
    # Active and its window holds now (shown, if it has an image and its target is on sale).
    LIVE = "live"
    # Active and its window closed.
    EXPIRED = "expired"
    # Switched off by an admin.
    INACTIVE = "inactive"


class Platform(StrEnum):
    APP = "app"
    WEB = "web"


class Banner(TimestampMixin, Base):
    __tablename__ = "banners"
    # The public list reads the banners not deleted and active, in position order.
    __table_args__ = (Index("ix_banners_listing", "deleted_at", "active", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    subtitle: Mapped[str | None] = mapped_column(String(160), default=None)
    action_type: Mapped[ActionType] = mapped_column(
        stored_as_string(ActionType, 16), default=ActionType.NONE
    )
    # The target by id, so a renamed slug is followed; a target deleted for good leaves NULL
    # (the banner is then left out of the public list, never shown dead).
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None, index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), default=None, index=True
    )
    action_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Shown in [starts_at, ends_at); either end may be open.
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    on_app: Mapped[bool] = mapped_column(default=True)
    on_web: Mapped[bool] = mapped_column(default=True)
    # Key of the image in the public media store (core/media.py); None until one is uploaded.
    image_key: Mapped[str | None] = mapped_column(String(255), default=None)
    # Soft delete: the row stays for the audit trail; the image is removed from the store.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def platforms(self) -> list[Platform]:
        return [p for p, on in ((Platform.APP, self.on_app), (Platform.WEB, self.on_web)) if on]
