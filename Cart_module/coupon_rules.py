"""Coupon rules: what a coupon takes off a cart, its limits, and which coupons a user may use.

A coupon is `percent` (1..100, optionally capped by `max_discount_paise`) or `flat`
(`amount_off_paise`). It may be restricted to products and/or categories: then only the matching
lines count (a line matches if its product is listed OR its category is), both for
`min_order_paise` and for the discount, which never exceeds what it applies to.

Uses are counted from `coupon_redemptions` rows that are held (on an order awaiting payment) or
used (paid); the holds themselves are taken, counted and released in Cart_module.checkout.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from Cart_module.errors import (
    CouponExpired,
    CouponInvalid,
    CouponMinOrder,
    CouponNotApplicable,
    CouponUsageExceeded,
)
from Cart_module.models import Coupon, CouponRedemption, RedemptionStatus
from core.answers import ReadsThrough

COUNTED_STATUSES = (RedemptionStatus.HELD, RedemptionStatus.USED)
MAX_USABLE_LISTED = 100


class CouponLine(Protocol):
    """What a coupon needs to know about one cart line."""

    @property
    def product_id(self) -> int: ...

    @property
    def category_id(self) -> int: ...

    @property
    def line_total_paise(self) -> int: ...


@dataclass(frozen=True)
class CouponLineData:
    """A ready-made CouponLine, e.g. for checkout code that holds plain values."""

    product_id: int
    category_id: int
    line_total_paise: int


@dataclass(frozen=True)
class Usage:
    total: int = 0
    mine: int = 0


def normalize_code(code: str) -> str:
    """What users type (any case, surrounding spaces) -> the stored upper-case code."""
    return code.strip().upper()


# --- the rules ---------------------------------------------------------------------------------


def check_window(coupon: Coupon, now: datetime) -> None:
    """CouponExpired before `valid_from` or after `valid_to` (both inclusive bounds)."""
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponExpired()
    if coupon.valid_to is not None and now > coupon.valid_to:
        raise CouponExpired()


def check_usage(coupon: Coupon, usage: Usage) -> None:
    """CouponUsageExceeded once the held+used count reaches either limit."""
    if coupon.usage_limit_total is not None and usage.total >= coupon.usage_limit_total:
        raise CouponUsageExceeded()
    if coupon.usage_limit_per_user is not None and usage.mine >= coupon.usage_limit_per_user:
        raise CouponUsageExceeded()


def is_restricted(coupon: Coupon) -> bool:
    return bool(coupon.product_ids or coupon.category_ids)


def line_matches(coupon: Coupon, line: CouponLine) -> bool:
    if not is_restricted(coupon):
        return True
    return line.product_id in (coupon.product_ids or []) or line.category_id in (
        coupon.category_ids or []
    )


def eligible_subtotal(coupon: Coupon, lines: Sequence[CouponLine]) -> int:
    """The part of the cart the coupon applies to; CouponNotApplicable if nothing matches."""
    matching = [line for line in lines if line_matches(coupon, line)]
    if not matching:
        raise CouponNotApplicable()
    return sum(line.line_total_paise for line in matching)


def discount_on(coupon: Coupon, subtotal_paise: int) -> int:
    """The discount on an eligible subtotal: percent rounds down and obeys its cap; neither
    kind ever exceeds the subtotal."""
    if coupon.discount_type == "percent":
        discount = subtotal_paise * (coupon.percent_off or 0) // 100
        if coupon.max_discount_paise is not None:
            discount = min(discount, coupon.max_discount_paise)
    else:
        discount = coupon.amount_off_paise or 0
    return max(0, min(discount, subtotal_paise))


def evaluate(coupon: Coupon, lines: Sequence[CouponLine], usage: Usage, now: datetime) -> int:
    """Every rule in order (active, window, limits, restriction, minimum); the discount or the
    first refusal."""
    if not coupon.active:
        raise CouponInvalid()
    check_window(coupon, now)
    check_usage(coupon, usage)
    subtotal = eligible_subtotal(coupon, lines)
    if subtotal < coupon.min_order_paise:
        raise CouponMinOrder()
    return discount_on(coupon, subtotal)


# --- usage counts ------------------------------------------------------------------------------


def _usage_statement(coupon_ids: Sequence[int], user_id: int) -> Select[Any]:
    return (
        select(
            CouponRedemption.coupon_id,
            func.count(),
            func.coalesce(func.sum(case((CouponRedemption.user_id == user_id, 1), else_=0)), 0),
        )
        .where(
            CouponRedemption.coupon_id.in_(coupon_ids),
            CouponRedemption.status.in_(COUNTED_STATUSES),
        )
        .group_by(CouponRedemption.coupon_id)
    )


def usage_for(db: Session, coupon_ids: Sequence[int], user_id: int) -> dict[int, Usage]:
    """Held+used redemptions per coupon, in total and by this user (one query)."""
    if not coupon_ids:
        return {}
    rows = db.execute(_usage_statement(coupon_ids, user_id)).all()
    return {coupon_id: Usage(int(total), int(mine)) for coupon_id, total, mine in rows}


# --- what carts and checkout call --------------------------------------------------------------


def find_coupon(db: Session, code: str) -> Coupon:
    """The active coupon with this code (any case); unknown and inactive are the same
    CouponInvalid."""
    normalized = normalize_code(code)
    coupon = db.scalar(select(Coupon).where(Coupon.code == normalized)) if normalized else None
    if coupon is None or not coupon.active:
        raise CouponInvalid()
    return coupon


def coupon_discount(
    db: Session,
    coupon: Coupon,
    user_id: int,
    lines_for_coupon: Sequence[CouponLine],
    now: datetime,
) -> int:
    """The discount in paise `coupon` gives `user_id` on these lines at `now`.

    `lines_for_coupon`: objects with `product_id`, `category_id`, `line_total_paise` (e.g.
    `CartView.lines` or `CouponLineData`). Raises CouponInvalid (inactive), CouponExpired,
    CouponUsageExceeded (held+used redemptions, total or this user's), CouponNotApplicable,
    CouponMinOrder. The counts are not locked: `hold_coupon` re-checks them under the lock.
    """
    usage = usage_for(db, [coupon.id], user_id).get(coupon.id, Usage())
    return evaluate(coupon, lines_for_coupon, usage, now)


@dataclass(frozen=True)
class UsableCoupon(ReadsThrough):
    """A public coupon and what it would take off the current cart."""

    coupon: Coupon
    eligible: bool
    discount_paise: int


def usable_coupons(
    db: Session, user_id: int, lines: Sequence[CouponLine], now: datetime
) -> list[UsableCoupon]:
    """Public coupons this user can use now (active, in their window, not exhausted for them),
    each with `eligible`/`discount_paise` evaluated on `lines`; best discount first. Private
    codes are never listed: they apply only when typed."""
    coupons = db.scalars(
        select(Coupon)
        .where(
            Coupon.active.is_(True),
            Coupon.public.is_(True),
            (Coupon.valid_from.is_(None)) | (Coupon.valid_from <= now),
            (Coupon.valid_to.is_(None)) | (Coupon.valid_to >= now),
        )
        .order_by(Coupon.id)
    ).all()
    usage = usage_for(db, [coupon.id for coupon in coupons], user_id)
    listed: list[UsableCoupon] = []
    for coupon in coupons:
        used = usage.get(coupon.id, Usage())
        try:
            check_usage(coupon, used)
        except CouponUsageExceeded:
            continue
        try:
            discount = evaluate(coupon, lines, used, now)
            eligible = True
        except (CouponNotApplicable, CouponMinOrder):
            discount, eligible = 0, False
        listed.append(UsableCoupon(coupon, eligible, discount))
    listed.sort(key=lambda entry: (not entry.eligible, -entry.discount_paise, entry.coupon.code))
    return listed[:MAX_USABLE_LISTED]
