from fastapi import Response, status

from Cart_module.allow_list import (
    AllowListAdded,
    add_to_allow_list,
    allow_list_page,
    remove_from_allow_list,
)
from Cart_module.answers import CouponWithCounts, UsableCoupon
from Cart_module.coupons import (
    coupon_admin_page,
    create_coupon,
    deactivate_coupon,
    get_coupon,
    update_coupon,
    with_counts,
)
from Cart_module.models import CouponAllowedEntry
from Cart_module.pricing import CartView, price_cart_rows
from Cart_module.schemas import (
    AllowedEntryOut,
    AllowListAddedOut,
    AllowListIn,
    CartAddIn,
    CartItemUpdateIn,
    CartMemberIn,
    CartOut,
    CouponAdminOut,
    CouponApplyIn,
    CouponCreateIn,
    CouponUpdateIn,
    UsableCouponOut,
)
from Cart_module.service import (
    MemberChoice,
    add_item,
    apply_coupon,
    empty_cart,
    list_usable_coupons,
    remove_coupon,
    remove_item,
    update_item,
)
from core.pagination import Page, Pagination, RowPage
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser, CurrentUser

router = APIRouter(prefix="/cart", tags=["cart"])


def _choices(members: list[CartMemberIn]) -> list[MemberChoice]:
    return [MemberChoice(m.member_id, m.address_id) for m in members]


# Fixed paths come before `/{item_id}` so they are never read as an id.
@router.get("", response_model=CartOut)
def read_cart(db: DbSession, user: CurrentUser) -> CartView:
    """My cart, priced now (unavailable items and a coupon that no longer applies drop out)."""
    return price_cart_rows(db, user.id)


@router.post("/add", response_model=CartOut)
def add_to_cart(body: CartAddIn, db: DbSession, user: CurrentUser) -> CartView:
    """Add a test for one or more of my members (as many as its plan covers)."""
    return add_item(db, user.id, body.product_id, _choices(body.members), body.quantity)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def clear_cart(db: DbSession, user: CurrentUser) -> Response:
    """Empty my cart (items and coupon)."""
    empty_cart(db, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/coupon", response_model=CartOut)
def add_coupon(body: CouponApplyIn, db: DbSession, user: CurrentUser) -> CartView:
    """Apply a coupon code (any case) to my cart."""
    return apply_coupon(db, user.id, body.code)


@router.delete("/coupon", response_model=CartOut)
def drop_coupon(db: DbSession, user: CurrentUser) -> CartView:
    """Remove the coupon from my cart."""
    return remove_coupon(db, user.id)


@router.get("/coupons", response_model=list[UsableCouponOut])
def my_coupons(db: DbSession, user: CurrentUser) -> list[UsableCoupon]:
    """Coupons I can use now, with what each would take off my current cart."""
    return list_usable_coupons(db, user.id)


@router.get("/admin/coupons", response_model=Page[CouponAdminOut])
def list_coupons(
    db: DbSession, _admin: AdminUser, page: Pagination, active: bool | None = None
) -> RowPage[CouponWithCounts]:
    """All coupons with their use counts, newest first (admin)."""
    return coupon_admin_page(db, page, active)


@router.post("/admin/coupons", response_model=CouponAdminOut, status_code=status.HTTP_201_CREATED)
def add_coupon_admin(body: CouponCreateIn, db: DbSession, admin: AdminUser) -> CouponWithCounts:
    """Create a coupon (admin)."""
    coupon = create_coupon(db, admin.id, body)
    return with_counts(db, [coupon])[0]


@router.get("/admin/coupons/{coupon_id}", response_model=CouponAdminOut)
def read_coupon(coupon_id: RowId, db: DbSession, _admin: AdminUser) -> CouponWithCounts:
    """One coupon with its use counts (admin)."""
    return with_counts(db, [get_coupon(db, coupon_id)])[0]


@router.put("/admin/coupons/{coupon_id}", response_model=CouponAdminOut)
def change_coupon(
    coupon_id: RowId, body: CouponUpdateIn, db: DbSession, admin: AdminUser
) -> CouponWithCounts:
    """Change a coupon's settings (only the fields sent; admin)."""
    coupon = update_coupon(db, admin.id, coupon_id, body)
    return with_counts(db, [coupon])[0]


@router.delete("/admin/coupons/{coupon_id}", status_code=status.HTTP_204_NO_CONTENT)
def retire_coupon(coupon_id: RowId, db: DbSession, admin: AdminUser) -> Response:
    """Deactivate a coupon (admin)."""
    deactivate_coupon(db, admin.id, coupon_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/coupons/{coupon_id}/allowed", response_model=AllowListAddedOut)
def allow_on_coupon(
    coupon_id: RowId, body: AllowListIn, db: DbSession, admin: AdminUser
) -> AllowListAdded:
    """Put phones and accounts on a coupon's allow-list; the coupon becomes targeted (admin)."""
    return add_to_allow_list(db, admin.id, coupon_id, body.phones, body.user_ids)


@router.get("/admin/coupons/{coupon_id}/allowed", response_model=Page[AllowedEntryOut])
def coupon_allow_list(
    coupon_id: RowId, db: DbSession, _admin: AdminUser, page: Pagination
) -> RowPage[CouponAllowedEntry]:
    """A coupon's allow-list, oldest entry first (admin)."""
    return allow_list_page(db, coupon_id, page)


@router.delete(
    "/admin/coupons/{coupon_id}/allowed/{entry_id}", status_code=status.HTTP_204_NO_CONTENT
)
def disallow_on_coupon(
    coupon_id: RowId, entry_id: RowId, db: DbSession, admin: AdminUser
) -> Response:
    """Take one entry off a coupon's allow-list; the coupon stays targeted (admin)."""
    remove_from_allow_list(db, admin.id, coupon_id, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{item_id}", response_model=CartOut)
def change_item(
    item_id: RowId, body: CartItemUpdateIn, db: DbSession, user: CurrentUser
) -> CartView:
    """Change an item's quantity or members."""
    choices = _choices(body.members) if body.members is not None else None
    return update_item(db, user.id, item_id, quantity=body.quantity, choices=choices)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: RowId, db: DbSession, user: CurrentUser) -> Response:
    """Remove an item from my cart."""
    remove_item(db, user.id, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
