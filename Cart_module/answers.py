"""Coupons as their schemas shape them."""

from dataclasses import dataclass

from Cart_module.models import Coupon
from core.answers import ReadsThrough


@dataclass(frozen=True)
class UsableCoupon(ReadsThrough):
    """A public coupon and what it would take off the current cart."""

    coupon: Coupon
    eligible: bool
    discount_paise: int


@dataclass(frozen=True)
class CouponWithCounts(ReadsThrough):
    """A coupon and how many orders use it (paid) and hold it (awaiting payment)."""

    coupon: Coupon
    used_count: int
    held_count: int
