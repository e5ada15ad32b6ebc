"""Category rules: unique names (case-insensitive) and slugs. The shelf (active categories with
their product counts) joins products, so Product_module serves it."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from Category_module.defaults import DEFAULT_CATEGORIES
from Category_module.errors import CategoryExists, CategoryNotFound
from Category_module.models import Category
from Category_module.schemas import CategoryUpdateIn
from core.slugs import InvalidSlug, slugify

AUDITED_FIELDS = ("name", "slug", "description", "is_active", "sort_order")


def get_category(db: Session, category_id: int) -> Category:
    category = db.get(Category, category_id)
    if category is None:
        raise CategoryNotFound()
    return category


def _find_duplicate(
    db: Session, name: str, slug: str, exclude_id: int | None = None
) -> Category | None:
    statement = select(Category).where(
        or_(func.lower(Category.name) == name.lower(), Category.slug == slug)
    )
    if exclude_id is not None:
        statement = statement.where(Category.id != exclude_id)
    return db.scalars(statement.limit(1)).first()


@contextmanager
def _unique_write(db: Session) -> Iterator[None]:
    """Apply and flush the change inside a savepoint, so the unique keys catch a duplicate that
    raced the check and the session stays usable after refusing it."""
    try:
        with db.begin_nested():
            yield
            db.flush()
    except IntegrityError as exc:
        raise CategoryExists() from exc


def _slug_for(name: str, slug: str | None) -> str:
    slug = slug or slugify(name)
    if not slug:
        raise InvalidSlug()
    return slug


def create_category(
    db: Session,
    *,
    actor_user_id: int | None,
    name: str,
    slug: str | None = None,
    description: str | None = None,
    is_active: bool = True,
    sort_order: int = 0,
) -> Category:
    """Create a category; the slug comes from the name unless given."""
    slug = _slug_for(name, slug)
    if _find_duplicate(db, name, slug) is not None:
        raise CategoryExists()
    category = Category(
        name=name,
        slug=slug,
        description=description,
        is_active=is_active,
        sort_order=sort_order,
    )
    with _unique_write(db):
        db.add(category)
    record_audit(
        db,
        action="category.created",
        entity_type="category",
        entity_id=category.id,
        actor_user_id=actor_user_id,
        changes={field: getattr(category, field) for field in AUDITED_FIELDS},
    )
    return category


def update_category(
    db: Session, category: Category, body: CategoryUpdateIn, *, actor_user_id: int | None
) -> Category:
    """Change only the fields sent. Renaming keeps the slug (links stay valid) unless one is
    sent too."""
    changes = body.changes()
    old = {field: getattr(category, field) for field in AUDITED_FIELDS}
    name = changes.get("name", category.name)
    slug = changes.get("slug", category.slug)
    if (name, slug) != (category.name, category.slug) and _find_duplicate(
        db, name, slug, exclude_id=category.id
    ):
        raise CategoryExists()
    with _unique_write(db):
        for field, value in changes.items():
            setattr(category, field, value)
    changed = diff(old, {field: getattr(category, field) for field in AUDITED_FIELDS})
    if changed:
        record_audit(
            db,
            action="category.updated",
            entity_type="category",
            entity_id=category.id,
            actor_user_id=actor_user_id,
            changes=changed,
        )
    return category


@dataclass(frozen=True)
class Bootstrapped:
    created: int
    existing: int


def bootstrap_default_categories(db: Session, *, actor_user_id: int | None) -> Bootstrapped:
    """Create whichever default categories are missing (matched by name or slug); repeatable."""
    created = existing = 0
    for default in DEFAULT_CATEGORIES:
        if _find_duplicate(db, default["name"], default["slug"]) is not None:
            existing += 1
            continue
        try:
            create_category(db, actor_user_id=actor_user_id, **default)
        except CategoryExists:
            # Another request created it between our check and our insert.
            existing += 1
        else:
            created += 1
    return Bootstrapped(created, existing)
