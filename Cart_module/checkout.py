"""What other modules use of the cart, for an order's life and a user's data.

Checkout, in order: the cart's row locked (after the user's), read as rows with what the order
needs (`cart_rows` of a `cart_rows_statement` built once, `PRICED_PRODUCT` among its columns)
and `price_locked_rows` (or `load_cart(db, user_id, for_update=True)` and
`price_locked_cart`), `lock_applied_coupon` before inserting the order, `hold_coupon` once the
order has an id; on payment `mark_coupon_used` and `empty_cart`; on cancellation or expiry
`release_coupon_hold`. `Cart` and `CartView` are the types these take and return. For a
user's data: `allow_list_entries_of` and `erase_allow_list_entries` (targeted coupons' lists).

Uses are counted from `coupon_redemptions` rows that are held (on an order awaiting payment) or
used (paid). `hold_coupon` takes the coupon row lock before counting, so with a limit of N no
more than N orders can ever hold or use the coupon at once, whatever the concurrency.
"""

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from Cart_module.allow_list import allow_list_entries_of, erase_allow_list_entries
from Cart_module.coupon_rules import (
    COUNTED_STATUSES,
    Usage,
    check_usage,
    check_window,
    on_allow_list,
)
from Cart_module.errors import CouponInvalid
from Cart_module.models import Cart, Coupon, CouponRedemption, RedemptionStatus
from Cart_module.pricing import (
    PRICED_PRODUCT,
    CartView,
    cart_rows,
    cart_rows_statement,
    load_cart,
    price_locked_cart,
    price_locked_rows,
)
from Cart_module.service import empty_cart
from core.clock import utcnow
from database import locked

__all__ = [
    "PRICED_PRODUCT",
    "Cart",
    "CartView",
    "allow_list_entries_of",
    "cart_rows",
    "cart_rows_statement",
    "empty_cart",
    "erase_allow_list_entries",
    "hold_coupon",
    "load_cart",
    "lock_applied_coupon",
    "mark_coupon_used",
    "price_locked_cart",
    "price_locked_rows",
    "release_coupon_hold",
]


def lock_applied_coupon(db: Session, view: CartView) -> None:
    """Lock the row of the coupon the priced cart applies, if any, until commit.

    Taken before inserting rows that reference it: the order's foreign key would take a shared
    lock first, and two checkouts upgrading it deadlock.
    """
    if view.coupon is not None:
        db.execute(select(Coupon.id).where(Coupon.id == view.coupon.id).with_for_update())


def _locked_usage(db: Session, coupon: Coupon, user_id: int) -> tuple[Usage, bool]:
    """The counts as committed right now, taken after the coupon lock, and for a targeted
    coupon whether the user is still listed. A locking read: it sees the holds the previous
    lock holder committed whatever the isolation level (the engine runs READ COMMITTED; under
    REPEATABLE READ a plain SELECT would read an older snapshot). The allow-list is read in the
    same statement, begun after the coupon lock was granted: its changes take that lock first,
    so a removal committed before this hold is seen."""
    listed = on_allow_list(coupon.id, user_id) if coupon.targeted else true()
    statement = (
        select(
            func.count(),
            func.coalesce(func.sum(case((CouponRedemption.user_id == user_id, 1), else_=0)), 0),
            listed,
        )
        .where(
            CouponRedemption.coupon_id == coupon.id,
            CouponRedemption.status.in_(COUNTED_STATUSES),
        )
        .with_for_update(read=True)
    )
    total, mine, is_listed = db.execute(statement).one()
    return Usage(int(total or 0), int(mine or 0)), bool(is_listed)


def hold_coupon(
    db: Session, *, coupon_id: int, user_id: int, order_id: int, discount_paise: int
) -> None:
    """Reserve one use of the coupon for an order awaiting payment.

    Locks the coupon row (`SELECT ... FOR UPDATE`), re-checks active, window, both usage
    limits (held+used) and, for a targeted coupon, the user's place on its allow-list with a
    locking read, then inserts a `held` CouponRedemption. Concurrent checkouts queue on the row
    lock, so the limits hold under any concurrency. Raises CouponInvalid (inactive, or no
    longer listed), CouponExpired, CouponUsageExceeded. Holding again for the same order is a
    no-op while its hold stands; a released hold is re-taken (after the same checks).
    """
    coupon = db.scalar(locked(select(Coupon).where(Coupon.id == coupon_id)))
    if coupon is None or not coupon.active:
        raise CouponInvalid()
    check_window(coupon, utcnow())
    existing = db.scalar(
        locked(select(CouponRedemption).where(CouponRedemption.order_id == order_id))
    )
    if existing is not None and existing.status in COUNTED_STATUSES:
        return
    usage, listed = _locked_usage(db, coupon, user_id)
    if not listed:
        raise CouponInvalid()
    check_usage(coupon, usage)
    if existing is not None:
        existing.coupon_id = coupon.id
        existing.user_id = user_id
        existing.discount_paise = discount_paise
        existing.status = RedemptionStatus.HELD
    else:
        db.add(
            CouponRedemption(
                coupon_id=coupon.id,
                user_id=user_id,
                order_id=order_id,
                discount_paise=discount_paise,
                status=RedemptionStatus.HELD,
            )
        )
    db.flush()


def _move_hold(db: Session, order_id: int, new_status: RedemptionStatus) -> bool:
    redemption = db.scalar(
        locked(select(CouponRedemption).where(CouponRedemption.order_id == order_id))
    )
    if redemption is None or redemption.status != RedemptionStatus.HELD:
        return False
    redemption.status = new_status
    db.flush()
    return True


def mark_coupon_used(db: Session, order_id: int) -> bool:
    """The order was paid: its held redemption becomes `used`. Returns whether one did
    (False when the order had no coupon, or its use is already counted or released)."""
    return _move_hold(db, order_id, RedemptionStatus.USED)


def release_coupon_hold(db: Session, order_id: int) -> bool:
    """The order will not be paid: its held redemption becomes `released`, freeing the use.
    A no-op (False) when there is no held redemption for the order."""
    return _move_hold(db, order_id, RedemptionStatus.RELEASED)
