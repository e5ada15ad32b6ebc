"""The cart's and the coupons' error codes.

Coupon refusals are all 400 and their messages are fixed sentences: they never name a code, so
trying codes reveals nothing beyond "this one does not work for you now".
"""

from core.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableError


class CartItemNotFound(NotFoundError):
    code = "cart_item_not_found"
    message = "This item is not in your cart."


class InvalidMemberCount(UnprocessableError):
    code = "invalid_member_count"
    message = "The number of members does not fit this test's plan (each member once)."


class AlreadyInCart(ConflictError):
    code = "already_in_cart"
    message = "This test is already in your cart for one of these members."


class CouponError(BadRequestError):
    """Base of the refusals of a coupon for a cart or an order."""

    code = "coupon_invalid"
    message = "This coupon code is not valid."


class CouponInvalid(CouponError):
    code = "coupon_invalid"
    message = "This coupon code is not valid."


class CouponExpired(CouponError):
    code = "coupon_expired"
    message = "This coupon is not valid at this time."


class CouponMinOrder(CouponError):
    code = "coupon_min_order"
    message = "Your order does not reach this coupon's minimum amount."


class CouponUsageExceeded(CouponError):
    code = "coupon_usage_exceeded"
    message = "This coupon has reached its usage limit."


class CouponNotApplicable(CouponError):
    code = "coupon_not_applicable"
    message = "This coupon does not apply to the tests in your cart."


class CouponFirstOrderOnly(CouponNotApplicable):
    message = "This coupon is only for a first order."


# --- admin ------------------------------------------------------------------------------------


class CouponNotFound(NotFoundError):
    code = "coupon_not_found"
    message = "There is no such coupon."


class CouponExists(ConflictError):
    code = "coupon_exists"
    message = "A coupon with this code already exists."


class InvalidCoupon(UnprocessableError):
    """A coupon whose fields contradict each other; `details` names the fields."""

    code = "invalid_coupon"
    message = "The coupon's settings are not consistent."


class InvalidAllowList(UnprocessableError):
    """Allow-list entries that name no account; `details` lists them."""

    code = "invalid_allow_list"
    message = "Some of these allow-list entries name no account."


class AllowedEntryNotFound(NotFoundError):
    code = "allowed_entry_not_found"
    message = "This coupon's allow-list has no such entry."
