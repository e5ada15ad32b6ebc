"""Load the demo shop: `python -m scripts.seed_demo`.

Migrates first, then creates whatever is missing — categories, serviceable locations, consent
texts, the product line and its consent links, the welcome coupon, a targeted coupon for the demo
login phone, the home banners. Existing rows are left as they are (an admin's edits survive), so
it is safe to run on every start.
"""

import io
import logging
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from Address_module.locations import load_serviceable_locations
from alembic_runner import upgrade_to_head
from Banner_module.models import Banner
from Banner_module.service import create_banner, set_banner_image
from Cart_module.allow_list import add_to_allow_list
from Cart_module.coupons import create_coupon
from Cart_module.models import Coupon
from Cart_module.schemas import CouponCreateIn
from Category_module.models import Category
from Category_module.service import bootstrap_default_categories
from Consent_module.models import ConsentType, ProductConsent
from Consent_module.service import create_type, link_product
from database import SessionLocal
from Product_module.models import Product
from Product_module.schemas import ProductCreateIn
from Product_module.service import create_product
from scripts.demo_catalogue import (
    DEMO_BANNERS,
    DEMO_CONSENTS,
    DEMO_PRODUCTS,
    TARGETED_COUPON,
    TARGETED_COUPON_PHONES,
    WELCOME_COUPON,
)

logger = logging.getLogger("nucleotide.seed")

PRODUCT_FIELDS = (
    "name",
    "slug",
    "plan_type",
    "price_paise",
    "mrp_paise",
    "sample_type",
    "turnaround_days",
    "short_description",
    "description",
    "tags",
    "images",
    "sort_order",
)


def seed_consent_types(db: Session) -> int:
    created = 0
    for consent in DEMO_CONSENTS:
        if db.scalar(select(ConsentType.id).where(ConsentType.code == consent["code"])) is None:
            create_type(db, consent["code"], consent["title"], consent["body"], None)
            created += 1
    return created


def seed_products(db: Session) -> tuple[int, int]:
    """Create missing demo products and their missing consent links."""
    categories = {c.slug: c.id for c in db.scalars(select(Category))}
    consent_ids = {t.code: t.id for t in db.scalars(select(ConsentType))}
    created = links = 0
    for demo in DEMO_PRODUCTS:
        product = db.scalar(select(Product).where(Product.slug == demo["slug"]))
        if product is None:
            fields: dict[str, Any] = {key: demo[key] for key in PRODUCT_FIELDS}
            fields["category_id"] = categories[demo["category_slug"]]
            product = create_product(db, ProductCreateIn(**fields), actor_user_id=None)
            created += 1
        linked = set(
            db.scalars(
                select(ProductConsent.consent_type_id).where(
                    ProductConsent.product_id == product.id
                )
            )
        )
        for code in demo["consents"]:
            if consent_ids[code] not in linked:
                link_product(db, product.id, code, None)
                links += 1
    return created, links


def seed_welcome_coupon(db: Session) -> int:
    if db.scalar(select(Coupon.id).where(Coupon.code == WELCOME_COUPON["code"])) is not None:
        return 0
    create_coupon(db, None, CouponCreateIn(**WELCOME_COUPON))
    return 1


def seed_targeted_coupon(db: Session) -> int:
    """The invitation-only coupon and its allow-list (created targeted: never open to all)."""
    if db.scalar(select(Coupon.id).where(Coupon.code == TARGETED_COUPON["code"])) is not None:
        return 0
    coupon = create_coupon(db, None, CouponCreateIn(**TARGETED_COUPON))
    add_to_allow_list(db, None, coupon.id, TARGETED_COUPON_PHONES, [])
    return 1


def banner_picture(colours: tuple[tuple[int, int, int], tuple[int, int, int]]) -> bytes:
    """A 1200 x 400 PNG in two colours: a wide field and a band on the right."""
    image = Image.new("RGB", (1200, 400), colours[0])
    image.paste(colours[1], (800, 0, 1200, 400))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def seed_banners(db: Session) -> int:
    """The demo's home banners with their pictures; a title that was ever used (even by a banner
    an admin deleted since) is left alone."""
    created = 0
    for demo in DEMO_BANNERS:
        if db.scalar(select(Banner.id).where(Banner.title == demo["title"]).limit(1)) is not None:
            continue
        fields = {key: demo[key] for key in ("title", "subtitle", "action", "position")}
        banner = create_banner(db, None, fields)
        set_banner_image(db, None, banner.id, banner_picture(demo["colours"]))
        created += 1
    return created


def seed_demo(db: Session) -> dict[str, Any]:
    categories = bootstrap_default_categories(db, actor_user_id=None)
    locations_created, _ = load_serviceable_locations(db, update_existing=False)
    consents = seed_consent_types(db)
    db.flush()
    products, links = seed_products(db)
    coupons = seed_welcome_coupon(db) + seed_targeted_coupon(db)
    banners = seed_banners(db)
    return {
        "categories_created": categories.created,
        "locations_created": locations_created,
        "consent_types_created": consents,
        "products_created": products,
        "consent_links_created": links,
        "coupons_created": coupons,
        "banners_created": banners,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    upgrade_to_head()
    with SessionLocal() as db, db.begin():
        summary = seed_demo(db)
    logger.info("demo data: %s", summary)


if __name__ == "__main__":
    main()
