"""The coupons admins manage: validated create and update, deactivation, and the admin views
with each coupon's use counts. The rules a coupon applies are in Cart_module.coupon_rules.
"""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from Cart_module.answers import CouponWithCounts
from Cart_module.coupon_rules import COUNTED_STATUSES, normalize_code
from Cart_module.errors import CouponExists, CouponNotFound, InvalidCoupon
from Cart_module.models import Coupon, CouponAllowedEntry, CouponRedemption, RedemptionStatus
from Category_module.models import Category
from core.pagination import PageParams, RowPage, paginate
from Product_module.models import PLAN_MEMBER_RANGES, Product

if TYPE_CHECKING:  # the schemas import this module (CODE_PATTERN)
    from Cart_module.schemas import CouponCreateIn, CouponUpdateIn

ENTITY = "coupon"
CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,32}$")
COUPON_FIELDS = (
    "code",
    "description",
    "discount_type",
    "percent_off",
    "amount_off_paise",
    "max_discount_paise",
    "min_order_paise",
    "valid_from",
    "valid_to",
    "usage_limit_total",
    "usage_limit_per_user",
    "product_ids",
    "category_ids",
    "active",
    "public",
    "allowed_plan_types",
    "first_order_only",
    "targeted",
)


def coupon_snapshot(coupon: Coupon) -> dict[str, Any]:
    return {field: getattr(coupon, field) for field in COUPON_FIELDS}


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": "invalid_coupon"}


def validate_coupon(db: Session, fields: dict[str, Any]) -> None:
    """The rules that span fields, on the merged values of a create or an update."""
    problems: list[dict[str, str]] = []
    if not CODE_PATTERN.match(fields["code"] or ""):
        problems.append(_problem("code", "3 to 32 of A-Z, 0-9, '_' and '-'"))
    if fields["discount_type"] == "percent":
        if fields.get("percent_off") is None or not 1 <= fields["percent_off"] <= 100:
            problems.append(_problem("percent_off", "a percent coupon needs percent_off 1..100"))
        if fields.get("amount_off_paise") is not None:
            problems.append(_problem("amount_off_paise", "a percent coupon has no amount_off"))
    elif fields["discount_type"] == "flat":
        if not fields.get("amount_off_paise"):
            problems.append(_problem("amount_off_paise", "a flat coupon needs amount_off > 0"))
        if fields.get("percent_off") is not None:
            problems.append(_problem("percent_off", "a flat coupon has no percent_off"))
        if fields.get("max_discount_paise") is not None:
            problems.append(
                _problem("max_discount_paise", "only a percent coupon has a maximum discount")
            )
    else:
        problems.append(_problem("discount_type", "percent or flat"))
    valid_from, valid_to = fields.get("valid_from"), fields.get("valid_to")
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        problems.append(_problem("valid_to", "valid_to must be after valid_from"))
    problems += _unknown_ids(db, Product, fields.get("product_ids") or [], "product_ids")
    problems += _unknown_ids(db, Category, fields.get("category_ids") or [], "category_ids")
    if problems:
        raise InvalidCoupon(details=problems)


def _unknown_ids(
    db: Session, model: type[Product] | type[Category], ids: list[int], field: str
) -> list[dict[str, str]]:
    if not ids:
        return []
    known = set(db.scalars(select(model.id).where(model.id.in_(ids))))
    unknown = sorted(set(ids) - known)
    if unknown:
        return [_problem(field, f"unknown ids: {', '.join(map(str, unknown))}")]
    return []


def coupons_query(active: bool | None = None) -> Select[Coupon]:
    statement = select(Coupon).order_by(Coupon.id.desc())
    if active is not None:
        statement = statement.where(Coupon.active.is_(active))
    return statement


def redemption_counts(
    db: Session, coupon_ids: Sequence[int]
) -> dict[int, dict[RedemptionStatus, int]]:
    """`{coupon_id: {USED: n, HELD: m}}` for these coupons (one query)."""
    counts: dict[int, dict[RedemptionStatus, int]] = {
        cid: {RedemptionStatus.USED: 0, RedemptionStatus.HELD: 0} for cid in coupon_ids
    }
    if not coupon_ids:
        return counts
    rows = db.execute(
        select(CouponRedemption.coupon_id, CouponRedemption.status, func.count())
        .where(
            CouponRedemption.coupon_id.in_(coupon_ids),
            CouponRedemption.status.in_(COUNTED_STATUSES),
        )
        .group_by(CouponRedemption.coupon_id, CouponRedemption.status)
    ).all()
    for coupon_id, status, number in rows:
        counts[coupon_id][status] = int(number)
    return counts


def with_counts(db: Session, coupons: Sequence[Coupon]) -> list[CouponWithCounts]:
    counts = redemption_counts(db, [coupon.id for coupon in coupons])
    return [
        CouponWithCounts(
            coupon,
            counts[coupon.id][RedemptionStatus.USED],
            counts[coupon.id][RedemptionStatus.HELD],
        )
        for coupon in coupons
    ]


def coupon_admin_page(
    db: Session, params: PageParams, active: bool | None
) -> RowPage[CouponWithCounts]:
    page = paginate(db, coupons_query(active), params)
    return page.with_items(with_counts(db, page.items))


def get_coupon(db: Session, coupon_id: int) -> Coupon:
    coupon = db.get(Coupon, coupon_id)
    if coupon is None:
        raise CouponNotFound()
    return coupon


def _normalize(fields: dict[str, Any]) -> dict[str, Any]:
    fields = dict(fields)
    if fields.get("code") is not None:
        fields["code"] = normalize_code(fields["code"])
    for key in ("product_ids", "category_ids"):
        if key in fields:
            fields[key] = sorted(set(fields[key] or []))
    if "allowed_plan_types" in fields:
        wanted = set(fields["allowed_plan_types"] or [])
        fields["allowed_plan_types"] = [plan for plan in PLAN_MEMBER_RANGES if plan in wanted]
    return fields


def _has_allow_list(db: Session, coupon_id: int) -> bool:
    statement = select(CouponAllowedEntry.id).where(CouponAllowedEntry.coupon_id == coupon_id)
    return db.scalar(statement.limit(1)) is not None


def _code_taken(db: Session, code: str, except_id: int | None = None) -> bool:
    statement = select(Coupon.id).where(Coupon.code == code)
    if except_id is not None:
        statement = statement.where(Coupon.id != except_id)
    return db.scalar(statement.limit(1)) is not None


@contextmanager
def _unique_code(db: Session) -> Iterator[None]:
    """Flush inside a savepoint: the unique code catches a duplicate that raced the check, and
    the session stays usable after refusing it."""
    try:
        with db.begin_nested():
            yield
            db.flush()
    except IntegrityError as exc:
        raise CouponExists() from exc


def create_coupon(db: Session, admin_id: int | None, body: "CouponCreateIn") -> Coupon:
    """A new coupon (code upper-cased); 409 coupon_exists, 422 invalid_coupon."""
    fields = _normalize(body.model_dump())
    validate_coupon(db, fields)
    if _code_taken(db, fields["code"]):
        raise CouponExists()
    coupon = Coupon(**{field: fields[field] for field in COUPON_FIELDS})
    with _unique_code(db):
        db.add(coupon)
    record_audit(
        db,
        action="coupon.created",
        entity_type=ENTITY,
        entity_id=coupon.id,
        actor_user_id=admin_id,
        changes=coupon_snapshot(coupon),
    )
    return coupon


def update_coupon(db: Session, admin_id: int, coupon_id: int, body: "CouponUpdateIn") -> Coupon:
    """Change the fields sent; the merged coupon is validated as on create."""
    coupon = get_coupon(db, coupon_id)
    changes = _normalize(body.changes())
    old = coupon_snapshot(coupon)
    merged = {**old, **changes}
    validate_coupon(db, merged)
    if coupon.targeted and not merged["targeted"] and _has_allow_list(db, coupon.id):
        raise InvalidCoupon(details=[_problem("targeted", "remove the allow-list entries first")])
    if merged["code"] != coupon.code and _code_taken(db, merged["code"], except_id=coupon.id):
        raise CouponExists()
    with _unique_code(db):
        for field, value in changes.items():
            setattr(coupon, field, value)
    changed = diff(old, coupon_snapshot(coupon))
    if changed:
        record_audit(
            db,
            action="coupon.updated",
            entity_type=ENTITY,
            entity_id=coupon.id,
            actor_user_id=admin_id,
            changes=changed,
        )
    return coupon


def deactivate_coupon(db: Session, admin_id: int, coupon_id: int) -> None:
    """Switch a coupon off: carts drop it on their next read, holds already taken stand."""
    coupon = get_coupon(db, coupon_id)
    if not coupon.active:
        return
    coupon.active = False
    db.flush()
    record_audit(
        db,
        action="coupon.deactivated",
        entity_type=ENTITY,
        entity_id=coupon.id,
        actor_user_id=admin_id,
        changes={"active": {"old": True, "new": False}},
    )
