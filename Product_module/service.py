"""Catalogue rules: what is on sale, how it is searched and sorted, and the admin's edits."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Row, Select, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload

from Audit_module.service import diff, record_audit
from Category_module.models import Category
from Consent_module.queries import required_consents
from core.slugs import InvalidSlug, slugify
from core.validation import DB_INT_MAX
from Product_module.answers import ProductDetail
from Product_module.errors import (
    InvalidCategory,
    InvalidPlanMembers,
    InvalidPrice,
    InvalidPriceRange,
    ProductExists,
    ProductNotFound,
)
from Product_module.models import PLAN_MEMBER_RANGES, Product
from Product_module.schemas import ProductCreateIn, ProductUpdateIn

LIKE_ESCAPE = "!"


# One category on the shelf: id, name, slug, description, product_count.
ShelfRow = Row[int, str, str, str | None, int]


def product_detail(db: Session, product: Product) -> ProductDetail:
    """`product` (category loaded) with the consents it requires (one query)."""
    return ProductDetail(product, required_consents(db, product.id))


# --- reading -----------------------------------------------------------------------------


def categories_on_shelf(db: Session) -> Sequence[ShelfRow]:
    """Active categories in shelf order, each with its number of active products (one query;
    rows with `id, name, slug, description, product_count`)."""
    counts = (
        select(Product.category_id, func.count(Product.id).label("product_count"))
        .where(Product.is_active.is_(True))
        .group_by(Product.category_id)
        .subquery()
    )
    return db.execute(
        select(
            Category.id,
            Category.name,
            Category.slug,
            Category.description,
            func.coalesce(counts.c.product_count, 0).label("product_count"),
        )
        .outerjoin(counts, counts.c.category_id == Category.id)
        .where(Category.is_active.is_(True))
        .order_by(Category.sort_order, func.lower(Category.name), Category.id)
    ).all()


def _contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with `%`, `_` and the escape char literal."""
    escaped = (
        text.lower()
        .replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def product_search_statement(
    *,
    q: str | None = None,
    category_slug: str | None = None,
    plan_type: str | None = None,
    min_price_paise: int | None = None,
    max_price_paise: int | None = None,
    sort: str = "relevance",
) -> Select[Product]:
    """Active products matching the filters, in the requested order, category loaded in the
    same query. `q` is matched case-insensitively in the name, both descriptions and the tags;
    an unknown category slug simply matches nothing."""
    if (
        min_price_paise is not None
        and max_price_paise is not None
        and min_price_paise > max_price_paise
    ):
        raise InvalidPriceRange()
    statement = (
        select(Product)
        .join(Product.category)
        .options(contains_eager(Product.category))
        .where(Product.is_active.is_(True))
    )
    if category_slug is not None:
        statement = statement.where(Category.slug == category_slug)
    if plan_type is not None:
        statement = statement.where(Product.plan_type == plan_type)
    if min_price_paise is not None:
        statement = statement.where(Product.price_paise >= min_price_paise)
    if max_price_paise is not None:
        statement = statement.where(Product.price_paise <= max_price_paise)

    q = (q or "").strip()
    name_matches = None
    if q:
        pattern = _contains_pattern(q)
        # lower() on both sides: MariaDB's collations and SQLite's binary LIKE then agree.
        name_matches = func.lower(Product.name).like(pattern, escape=LIKE_ESCAPE)
        statement = statement.where(
            or_(
                name_matches,
                func.lower(Product.short_description).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Product.description).like(pattern, escape=LIKE_ESCAPE),
                Product.search_tags.like(pattern, escape=LIKE_ESCAPE),
            )
        )

    by_name = func.lower(Product.name)
    if sort == "price_asc":
        order: tuple[Any, ...] = (Product.price_paise, Product.id)
    elif sort == "price_desc":
        order = (Product.price_paise.desc(), Product.id)
    elif sort == "newest":
        order = (Product.created_at.desc(), Product.id.desc())
    elif name_matches is not None:
        order = (case((name_matches, 0), else_=1), by_name, Product.id)
    else:
        order = (Product.sort_order, by_name, Product.id)
    return statement.order_by(*order)


def _product_by_ref(db: Session, ref: str | int, *, active_only: bool) -> Product:
    statement = select(Product).options(joinedload(Product.category))
    # isdigit() alone also holds for "²" or "٣", which int() refuses or reads as another number.
    if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
        product_id = int(ref)
        if not 1 <= product_id <= DB_INT_MAX:
            raise ProductNotFound()
        statement = statement.where(Product.id == product_id)
    else:
        statement = statement.where(Product.slug == ref)
    if active_only:
        statement = statement.where(Product.is_active.is_(True))
    product = db.scalars(statement).first()
    if product is None:
        raise ProductNotFound()
    return product


def get_product_for_sale(db: Session, ref: str | int) -> Product:
    """An active product by id or slug (slugs always contain a letter), category loaded."""
    return _product_by_ref(db, ref, active_only=True)


def get_product(db: Session, product_id: int) -> Product:
    """Any product, active or not (admin), category loaded."""
    return _product_by_ref(db, product_id, active_only=False)


# --- admin writes ------------------------------------------------------------------------


def _check_plan_members(plan_type: str, min_members: int, max_members: int) -> None:
    low, high = PLAN_MEMBER_RANGES[plan_type]
    if not low <= min_members <= max_members <= high:
        raise InvalidPlanMembers(
            details=[
                {
                    "field": "min_members/max_members",
                    "message": f"{plan_type} allows {low} to {high} members",
                    "type": "invalid_plan_members",
                }
            ]
        )


def _check_prices(price_paise: int, mrp_paise: int) -> None:
    if price_paise < 0 or mrp_paise < price_paise:
        raise InvalidPrice()


def _category(db: Session, category_id: int) -> Category:
    category = db.get(Category, category_id)
    if category is None:
        raise InvalidCategory()
    return category


def _slug_taken(db: Session, slug: str, exclude_id: int | None = None) -> bool:
    statement = select(Product.id).where(Product.slug == slug)
    if exclude_id is not None:
        statement = statement.where(Product.id != exclude_id)
    return db.scalars(statement.limit(1)).first() is not None


@contextmanager
def _unique_write(db: Session) -> Iterator[None]:
    """Apply and flush inside a savepoint: the unique slug catches a duplicate that raced the
    check, and the session stays usable after refusing it."""
    try:
        with db.begin_nested():
            yield
            db.flush()
    except IntegrityError as exc:
        raise ProductExists() from exc


def create_product(db: Session, body: ProductCreateIn, *, actor_user_id: int | None) -> Product:
    """Create a product. An unknown `category_id` is 422 `invalid_category` (a bad value in the
    body, not a missing resource at the URL)."""
    fields = body.model_dump()
    category = _category(db, fields.pop("category_id"))
    plan_low, plan_high = PLAN_MEMBER_RANGES[fields["plan_type"]]
    if fields.get("min_members") is None:
        fields["min_members"] = plan_low
    if fields.get("max_members") is None:
        fields["max_members"] = plan_high
    if fields.get("mrp_paise") is None:
        fields["mrp_paise"] = fields["price_paise"]
    _check_plan_members(fields["plan_type"], fields["min_members"], fields["max_members"])
    _check_prices(fields["price_paise"], fields["mrp_paise"])
    fields["slug"] = fields.get("slug") or slugify(fields["name"])
    if not fields["slug"]:
        raise InvalidSlug()
    if _slug_taken(db, fields["slug"]):
        raise ProductExists()

    product = Product(category=category, **fields)
    with _unique_write(db):
        db.add(product)
    record_audit(
        db,
        action="product.created",
        entity_type="product",
        entity_id=product.id,
        actor_user_id=actor_user_id,
        changes=product.snapshot(),
    )
    return product


def update_product(
    db: Session, product: Product, body: ProductUpdateIn, *, actor_user_id: int | None
) -> Product:
    """Change the fields sent, re-checking plan, members and prices on the merged values.
    Unknown `category_id` -> 422 `invalid_category`."""
    changes = body.changes()
    old = product.snapshot()
    category = _category(db, changes.pop("category_id")) if "category_id" in changes else None

    plan_type = changes.get("plan_type", product.plan_type)
    if plan_type != product.plan_type:
        plan_low, plan_high = PLAN_MEMBER_RANGES[plan_type]
        changes.setdefault("min_members", plan_low)
        changes.setdefault("max_members", plan_high)
    merged = {**old, **changes}
    _check_plan_members(merged["plan_type"], merged["min_members"], merged["max_members"])
    _check_prices(merged["price_paise"], merged["mrp_paise"])
    if merged["slug"] != product.slug and _slug_taken(db, merged["slug"], exclude_id=product.id):
        raise ProductExists()

    with _unique_write(db):
        if category is not None:
            product.category = category
        for field, value in changes.items():
            setattr(product, field, value)
    changed = diff(old, product.snapshot())
    if changed:
        record_audit(
            db,
            action="product.updated",
            entity_type="product",
            entity_id=product.id,
            actor_user_id=actor_user_id,
            changes=changed,
        )
    return product


def deactivate_product(db: Session, product: Product, *, actor_user_id: int | None) -> None:
    """Take a product off sale. The row stays, so orders keep pointing at what was bought;
    deactivating an inactive product changes nothing."""
    if not product.is_active:
        return
    product.is_active = False
    record_audit(
        db,
        action="product.deactivated",
        entity_type="product",
        entity_id=product.id,
        actor_user_id=actor_user_id,
        changes={"is_active": {"old": True, "new": False}},
    )
