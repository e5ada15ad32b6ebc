"""Coupon rules: what a coupon takes off a cart, its limits, and which coupons a user may use.

A coupon is `percent` (1..100, optionally capped by `max_discount_paise`) or `flat`
(`amount_off_paise`). It may be restricted to products and/or categories: then only the matching
lines count (a line matches if its product is listed OR its category is), both for
`min_order_paise` and for the discount, which never exceeds what it applies to. A coupon may
also name `allowed_plan_types`: then only lines of those plans match (and a cart with none of
them is refused as not applicable).

Who may use it: a `first_order_only` coupon only an account that has never had an order paid
(the cart row records the first payment); a `targeted` one only the accounts and phones on its
allow-list. To anyone else a targeted coupon does not exist: it is never listed, and typing it
answers `coupon_invalid` from the same single lookup as an unknown code.

Uses are counted from `coupon_redemptions` rows that are held (on an order awaiting payment) or
used (paid); the holds themselves are taken, counted and released in Cart_module.checkout.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from Cart_module.answers import UsableCoupon
from Cart_module.errors import (
    CouponExpired,
    CouponFirstOrderOnly,
    CouponInvalid,
    CouponMinOrder,
    CouponNotApplicable,
    CouponUsageExceeded,
)
from Cart_module.models import Coupon, CouponAllowedEntry, CouponRedemption, RedemptionStatus
from Login_module.models import User

COUNTED_STATUSES = (RedemptionStatus.HELD, RedemptionStatus.USED)
MAX_USABLE_LISTED = 100


class CouponLine(Protocol):
    """What a coupon needs to know about one cart line."""

    @property
    def product_id(self) -> int: ...

    @property
    def category_id(self) -> int: ...

    @property
    def plan_type(self) -> str | None: ...

    @property
    def line_total_paise(self) -> int: ...


@dataclass(frozen=True)
class CouponLineData:
    """A ready-made CouponLine, e.g. for checkout code that holds plain values."""

    product_id: int
    category_id: int
    line_total_paise: int
    # None: not known (such a line matches only a coupon open to every plan).
    plan_type: str | None = None


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
    """The line's plan is allowed, and its product or category is listed (when restricted)."""
    if coupon.allowed_plan_types and line.plan_type not in coupon.allowed_plan_types:
        return False
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


def evaluate(
    coupon: Coupon,
    lines: Sequence[CouponLine],
    usage: Usage,
    now: datetime,
    *,
    listed: bool = True,
    has_paid_order: bool = False,
) -> int:
    """Every rule in order (active and, if targeted, `listed`; window, limits, first order,
    plans and restriction, minimum); the discount or the first refusal. A targeted coupon the
    user is not listed for is CouponInvalid before anything else, like an unknown code."""
    if not coupon.active or (coupon.targeted and not listed):
        raise CouponInvalid()
    check_window(coupon, now)
    check_usage(coupon, usage)
    if coupon.first_order_only and has_paid_order:
        raise CouponFirstOrderOnly()
    subtotal = eligible_subtotal(coupon, lines)
    if subtotal < coupon.min_order_paise:
        raise CouponMinOrder()
    return discount_on(coupon, subtotal)


# --- who may see and use a coupon --------------------------------------------------------------


def on_allow_list(
    coupon_id: int | ColumnElement[int] | InstrumentedAttribute[int], user_id: int
) -> ColumnElement[bool]:
    """Whether the user's account, or the phone it has now, is on the coupon's allow-list (an
    EXISTS on the list's unique keys; the phone read from the user row in the same statement)."""
    phone_now = select(User.phone).where(User.id == user_id).scalar_subquery()
    return exists().where(
        CouponAllowedEntry.coupon_id == coupon_id,
        or_(CouponAllowedEntry.user_id == user_id, CouponAllowedEntry.phone == phone_now),
    )


def visible_to(user_id: int) -> ColumnElement[bool]:
    """A coupon this user may see: not targeted, or targeted and the user is listed."""
    return or_(Coupon.targeted.is_(False), on_allow_list(Coupon.id, user_id))


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


def find_coupon(db: Session, code: str, user_id: int) -> Coupon:
    """The active coupon with this code (any case) that this user may see; unknown, inactive
    and targeted at others are the same CouponInvalid, from the same one statement."""
    normalized = normalize_code(code)
    coupon = (
        db.scalar(select(Coupon).where(Coupon.code == normalized, visible_to(user_id)))
        if normalized
        else None
    )
    if coupon is None or not coupon.active:
        raise CouponInvalid()
    return coupon


def _standing(db: Session, coupon: Coupon, user_id: int) -> tuple[Usage, bool]:
    """The coupon's held+used counts (in total, and this user's) and, for a targeted coupon,
    whether the user is listed: one statement (an aggregate without GROUP BY: always a row)."""
    listed = on_allow_list(coupon.id, user_id) if coupon.targeted else true()
    total, mine, is_listed = db.execute(
        select(
            func.count(CouponRedemption.id),
            func.coalesce(func.sum(case((CouponRedemption.user_id == user_id, 1), else_=0)), 0),
            listed,
        ).where(
            CouponRedemption.coupon_id == coupon.id,
            CouponRedemption.status.in_(COUNTED_STATUSES),
        )
    ).one()
    return Usage(int(total or 0), int(mine or 0)), bool(is_listed)


def coupon_discount(
    db: Session,
    coupon: Coupon,
    user_id: int,
    lines_for_coupon: Sequence[CouponLine],
    now: datetime,
    *,
    has_paid_order: bool = False,
) -> int:
    """The discount in paise `coupon` gives `user_id` on these lines at `now`.

    `lines_for_coupon`: objects with `product_id`, `category_id`, `plan_type`,
    `line_total_paise` (e.g. `CartView.lines` or `CouponLineData`); `has_paid_order`: the
    account has had an order paid (`Cart.first_order_paid_at`). Raises CouponInvalid (inactive,
    or targeted and the user not listed), CouponExpired, CouponUsageExceeded (held+used
    redemptions, total or this user's), CouponNotApplicable (CouponFirstOrderOnly among them),
    CouponMinOrder. The counts are not locked: `hold_coupon` re-checks them under the lock.
    """
    usage, listed = _standing(db, coupon, user_id)
    return evaluate(
        coupon, lines_for_coupon, usage, now, listed=listed, has_paid_order=has_paid_order
    )


def usable_coupons(
    db: Session,
    user_id: int,
    lines: Sequence[CouponLine],
    now: datetime,
    *,
    has_paid_order: bool = False,
) -> list[UsableCoupon]:
    """Public coupons this user can use now (active, in their window, not exhausted for them,
    targeted ones only if they are listed, first-order ones only before their first paid
    order), each with `eligible`/`discount_paise` evaluated on `lines`; best discount first.
    Private codes are never listed: they apply only when typed."""
    coupons = db.scalars(
        select(Coupon)
        .where(
            Coupon.active.is_(True),
            Coupon.public.is_(True),
            (Coupon.valid_from.is_(None)) | (Coupon.valid_from <= now),
            (Coupon.valid_to.is_(None)) | (Coupon.valid_to >= now),
            visible_to(user_id),
        )
        .order_by(Coupon.id)
    ).all()
    if has_paid_order:
        coupons = [coupon for coupon in coupons if not coupon.first_order_only]
    usage = usage_for(db, [coupon.id for coupon in coupons], user_id)
    listed: list[UsableCoupon] = []
    for coupon in coupons:
        used = usage.get(coupon.id, Usage())
        try:
            check_usage(coupon, used)
        except CouponUsageExceeded:
            continue
        try:
            discount = evaluate(coupon, lines, used, now, has_paid_order=has_paid_order)
            eligible = True
        except (CouponNotApplicable, CouponMinOrder):
            discount, eligible = 0, False
        listed.append(UsableCoupon(coupon, eligible, discount))
    listed.sort(key=lambda entry: (not entry.eligible, -entry.discount_paise, entry.coupon.code))
    return listed[:MAX_USABLE_LISTED]
