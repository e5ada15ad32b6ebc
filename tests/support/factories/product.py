"""Products straight into the database: `make_product(db, category)`."""

from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from Category_module.models import Category
from Product_module.models import PLAN_MEMBER_RANGES, Product

_sequence = count(1)


def make_product(db: Session, category: Category, **overrides: Any) -> Product:
    """An active single-plan product (Rs 4,999, MRP Rs 9,999) in `category`; flushed.
    Member counts default to the plan's range, the MRP to at least the price."""
    n = next(_sequence)
    plan_type = overrides.pop("plan_type", "single")
    low, high = PLAN_MEMBER_RANGES[plan_type]
    fields: dict[str, Any] = {
        "name": f"Test product {n}",
        "slug": f"test-product-{n}",
        "short_description": f"Short description {n}",
        "description": f"Long description {n}",
        "plan_type": plan_type,
        "min_members": low,
        "max_members": high,
        "price_paise": 499_900,
        "images": [f"https://cdn.nucleotide.example/products/{n}.jpg"],
        "tags": [],
        "sample_type": "saliva",
        "turnaround_days": 21,
        "is_active": True,
    }
    fields.update(overrides)
    fields.setdefault("mrp_paise", max(fields["price_paise"], 999_900))
    product = Product(category=category, **fields)
    db.add(product)
    db.flush()
    return product
