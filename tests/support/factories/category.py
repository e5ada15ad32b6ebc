"""Categories straight into the database: `make_category(db)`."""

from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from Category_module.models import Category

_sequence = count(1)


def make_category(db: Session, **overrides: Any) -> Category:
    """An active category with a unique name and slug; flushed so it has an id."""
    n = next(_sequence)
    fields: dict[str, Any] = {
        "name": f"Category {n}",
        "slug": f"category-{n}",
        "description": f"Description of category {n}",
        "is_active": True,
        "sort_order": 0,
    }
    fields.update(overrides)
    category = Category(**fields)
    db.add(category)
    db.flush()
    return category
