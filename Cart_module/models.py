"""A user's cart (items bought for groups of members), coupons and their redemptions."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from database import Base, TimestampMixin, stored_as_string

if TYPE_CHECKING:
    from Address_module.models import Address
    from Member_module.models import Member
    from Product_module.models import Product


class RedemptionStatus(StrEnum):
    # On an order awaiting payment: counted against the limits.
    HELD = "held"
    # The order was paid: counted for good.
    USED = "used"
    # The order never was paid: the use is free again.
    RELEASED = "released"


class Cart(TimestampMixin, Base):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"), default=None)
    # When an order of this account was first paid (set with the cart emptied on payment):
    # from then on the account is no longer on its first order (`first_order_only` coupons).
    first_order_paid_at: Mapped[datetime | None] = mapped_column(default=None)

    items: Mapped[list["CartItem"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CartItem.id"
    )
    coupon: Mapped["Coupon | None"] = relationship(lazy="raise")


class CartItem(TimestampMixin, Base):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)

    product: Mapped["Product"] = relationship(lazy="raise")
    members: Mapped[list["CartItemMember"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CartItemMember.id"
    )


class CartItemMember(Base):
    """One member an item is for, and the address their sample is collected from."""

    __tablename__ = "cart_item_members"
    __table_args__ = (UniqueConstraint("cart_item_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_item_id: Mapped[int] = mapped_column(ForeignKey("cart_items.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)

    # Read with the cart (deleted members too: their items drop out with a notice); the address
    # with checkout's locked read of the cart.
    member: Mapped["Member"] = relationship(lazy="raise", viewonly=True)
    address: Mapped["Address"] = relationship(lazy="raise", viewonly=True)


class Coupon(TimestampMixin, Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored upper-case; users type it in any case.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(String(255), default=None)
    discount_type: Mapped[str] = mapped_column(String(16))
    percent_off: Mapped[int | None] = mapped_column(default=None)
    amount_off_paise: Mapped[int | None] = mapped_column(BigInteger, default=None)
    max_discount_paise: Mapped[int | None] = mapped_column(BigInteger, default=None)
    min_order_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(default=None)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    usage_limit_total: Mapped[int | None] = mapped_column(default=None)
    usage_limit_per_user: Mapped[int | None] = mapped_column(default=None)
    # Empty lists: no restriction. Otherwise the coupon applies to these products/categories.
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # Listed by GET /cart/coupons for every shopper; a private code still applies when typed.
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Empty: any plan. Otherwise only lines of these plans (single, couple, family) count.
    allowed_plan_types: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Only for an account that has never had an order paid.
    first_order_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Only the accounts and phones on its allow-list (CouponAllowedEntry) may see and use it;
    # to anyone else it does not exist. Set by adding the first entry; stays set when the list
    # is emptied (then nobody may use it).
    targeted: Mapped[bool] = mapped_column(default=False, server_default=false())


class CouponAllowedEntry(Base):
    """One phone (E.164; whoever holds it, now or after signing up later) or one account on a
    targeted coupon's allow-list."""

    __tablename__ = "coupon_allowed_entries"
    __table_args__ = (
        UniqueConstraint("coupon_id", "phone"),
        UniqueConstraint("coupon_id", "user_id"),
        CheckConstraint("(phone IS NULL) <> (user_id IS NULL)", name="phone_or_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    phone: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CouponRedemption(TimestampMixin, Base):
    """A coupon on an order: counted against the limits while held or used."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (Index("ix_coupon_redemptions_coupon_status", "coupon_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    discount_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[RedemptionStatus] = mapped_column(
        stored_as_string(RedemptionStatus, 16), default=RedemptionStatus.HELD
    )
