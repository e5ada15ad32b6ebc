"""Home banner rules: the public list (live, with an image, pointing at something on sale), the
admin's changes (validated, audited, soft delete) and the image upload.

Every write here touches the `banners` table, which main.py watches: the public cache's stamp
moves after the commit, so every replica shows the change within a second. A window opening or
closing changes the list with no write; the list tells the cache when (`fresh_until`).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from Banner_module.answers import BannerView, Target
from Banner_module.errors import (
    BannerImageTooLarge,
    BannerNotFound,
    InvalidBanner,
    UnsupportedBannerImage,
)
from Banner_module.models import ActionType, Banner, BannerState, Platform
from Category_module.models import Category
from config import get_settings
from core.clock import utcnow
from core.images import clean_image
from core.media import delete_public_quietly, get_public_media
from core.pagination import PageParams, RowPage, paginate
from core.response_cache import fresh_until
from database import locked, on_commit, on_rollback
from Product_module.models import Product

ENTITY = "banner"
# A carousel, not a catalogue: the public list holds at most this many.
MAX_PUBLIC_BANNERS = 50
# A wide banner at three times a phone's density is about 3600 x 1200; more is a mistake.
MAX_BANNER_PIXELS = 16_000_000
AUDITED_FIELDS = (
    "title",
    "subtitle",
    "action_type",
    "product_id",
    "category_id",
    "action_url",
    "position",
    "active",
    "starts_at",
    "ends_at",
    "on_app",
    "on_web",
)


def _snapshot(banner: Banner) -> dict[str, Any]:
    return {field: getattr(banner, field) for field in AUDITED_FIELDS}


# --- reading -------------------------------------------------------------------------------


def _with_targets(statement: Select[Banner]) -> Select[Any]:
    """`statement`'s banners with their product's and category's slug and sale state."""
    return (
        statement.add_columns(Product.slug, Product.is_active, Category.slug, Category.is_active)
        .outerjoin(Product, Product.id == Banner.product_id)
        .outerjoin(Category, Category.id == Banner.category_id)
    )


def _view(row: Row[Any], now: datetime) -> BannerView:
    banner, product_slug, product_on_sale, category_slug, category_on_sale = tuple(row)
    target = None
    if banner.action_type == ActionType.PRODUCT and product_slug is not None:
        target = Target(product_slug, bool(product_on_sale))
    elif banner.action_type == ActionType.CATEGORY and category_slug is not None:
        target = Target(category_slug, bool(category_on_sale))
    return BannerView.of(banner, target, now)


def _not_deleted() -> Any:
    return Banner.deleted_at.is_(None)


def _window_holds(now: datetime) -> Any:
    return and_(
        or_(Banner.starts_at.is_(None), Banner.starts_at <= now),
        or_(Banner.ends_at.is_(None), Banner.ends_at > now),
    )


def live_banners(db: Session, platform: Platform | None) -> list[BannerView]:
    """What the carousel shows now, in position order: active banners whose window holds,
    on `platform` (either, when None), with an image, and whose product or category is on
    sale. The answer is cached until the next window opens or closes."""
    now = utcnow()
    statement = select(Banner).where(
        _not_deleted(),
        Banner.active.is_(True),
        Banner.image_key.is_not(None),
        _window_holds(now),
        or_(Banner.action_type != ActionType.PRODUCT, Product.is_active.is_(True)),
        or_(Banner.action_type != ActionType.CATEGORY, Category.is_active.is_(True)),
    )
    if platform == Platform.APP:
        statement = statement.where(Banner.on_app.is_(True))
    elif platform == Platform.WEB:
        statement = statement.where(Banner.on_web.is_(True))
    rows = db.execute(
        _with_targets(statement).order_by(Banner.position, Banner.id).limit(MAX_PUBLIC_BANNERS)
    ).all()
    fresh_until(_next_window_change(db, now))
    return [_view(row, now) for row in rows]


def _next_window_change(db: Session, now: datetime) -> datetime | None:
    """The first moment after `now` at which a banner that could be shown starts or ends."""
    could_show = (_not_deleted(), Banner.active.is_(True), Banner.image_key.is_not(None))
    starts = db.scalar(
        select(func.min(Banner.starts_at)).where(*could_show, Banner.starts_at > now)
    )
    ends = db.scalar(select(func.min(Banner.ends_at)).where(*could_show, Banner.ends_at > now))
    moments = [moment for moment in (starts, ends) if moment is not None]
    return min(moments) if moments else None


def _state_filter(state: BannerState, now: datetime) -> Any:
    if state == BannerState.INACTIVE:
        return Banner.active.is_(False)
    if state == BannerState.SCHEDULED:
        return and_(Banner.active.is_(True), Banner.starts_at > now)
    if state == BannerState.EXPIRED:
        return and_(Banner.active.is_(True), Banner.ends_at <= now)
    return and_(Banner.active.is_(True), _window_holds(now))


def admin_page(db: Session, page: PageParams, state: BannerState | None) -> RowPage[BannerView]:
    """Every banner not deleted, in position order, with its state (admin)."""
    now = utcnow()
    statement = select(Banner).where(_not_deleted())
    if state is not None:
        statement = statement.where(_state_filter(state, now))
    rows = paginate(
        db, _with_targets(statement).order_by(Banner.position, Banner.id), page, as_rows=True
    )
    return rows.with_items([_view(row, now) for row in rows.items])


def banner_view(db: Session, banner_id: int) -> BannerView:
    """One banner not deleted, as the admin sees it."""
    row = db.execute(
        _with_targets(select(Banner).where(Banner.id == banner_id, _not_deleted()))
    ).first()
    if row is None:
        raise BannerNotFound()
    return _view(row, utcnow())


def _locked_banner(db: Session, banner_id: int) -> Banner:
    banner = db.scalars(
        locked(select(Banner).where(Banner.id == banner_id, _not_deleted()))
    ).first()
    if banner is None:
        raise BannerNotFound()
    return banner


# --- changing ------------------------------------------------------------------------------


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": "invalid_banner"}


def _set_action(db: Session, banner: Banner, action: dict[str, Any] | None) -> None:
    """Point the banner where `action` says, resolving a slug to its row (any state: a banner
    may be made ready for a product before it goes on sale)."""
    kind = ActionType(action["type"]) if action else ActionType.NONE
    value = action.get("value") if action else None
    banner.action_type = kind
    banner.product_id = banner.category_id = banner.action_url = None
    if kind == ActionType.URL:
        banner.action_url = value
    elif kind in (ActionType.PRODUCT, ActionType.CATEGORY):
        model = Product if kind == ActionType.PRODUCT else Category
        target_id = db.scalar(select(model.id).where(model.slug == value))
        if target_id is None:
            raise InvalidBanner(details=[_problem("action.value", f"no {kind} has this slug")])
        if kind == ActionType.PRODUCT:
            banner.product_id = target_id
        else:
            banner.category_id = target_id


def _apply(db: Session, banner: Banner, fields: dict[str, Any]) -> None:
    for field in ("title", "subtitle", "position", "active", "starts_at", "ends_at"):
        if field in fields:
            setattr(banner, field, fields[field])
    if "platforms" in fields:
        banner.on_app = Platform.APP in fields["platforms"]
        banner.on_web = Platform.WEB in fields["platforms"]
    if "action" in fields:
        _set_action(db, banner, fields["action"])
    starts, ends = banner.starts_at, banner.ends_at
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidBanner(details=[_problem("ends_at", "ends_at must be after starts_at")])


def create_banner(db: Session, actor_user_id: int | None, fields: dict[str, Any]) -> BannerView:
    """A new banner (no image yet: it is shown once one is uploaded)."""
    banner = Banner()
    fields.setdefault("platforms", list(Platform))
    _apply(db, banner, fields)
    db.add(banner)
    db.flush()
    record_audit(
        db,
        action="banner.created",
        entity_type=ENTITY,
        entity_id=banner.id,
        actor_user_id=actor_user_id,
        changes=diff({}, _snapshot(banner)),
    )
    return banner_view(db, banner.id)


def update_banner(
    db: Session, actor_user_id: int, banner_id: int, changes: dict[str, Any]
) -> BannerView:
    """Change only the fields given; the window is checked on the merged values."""
    banner = _locked_banner(db, banner_id)
    old = _snapshot(banner)
    _apply(db, banner, changes)
    changed = diff(old, _snapshot(banner))
    if changed:
        record_audit(
            db,
            action="banner.updated",
            entity_type=ENTITY,
            entity_id=banner.id,
            actor_user_id=actor_user_id,
            changes=changed,
        )
    db.flush()
    return banner_view(db, banner.id)


def delete_banner(db: Session, actor_user_id: int, banner_id: int) -> None:
    """Soft delete: the row stays (the audit trail points at it), it is never listed again, and
    its image leaves the public store once the deletion is committed."""
    banner = _locked_banner(db, banner_id)
    old_key = banner.image_key
    banner.deleted_at = utcnow()
    banner.image_key = None
    if old_key:
        on_commit(db, lambda: delete_public_quietly(old_key))
    record_audit(
        db,
        action="banner.deleted",
        entity_type=ENTITY,
        entity_id=banner.id,
        actor_user_id=actor_user_id,
        changes={"image_key": {"old": old_key, "new": None}},
    )


def set_banner_image(
    db: Session, actor_user_id: int | None, banner_id: int, content: bytes
) -> BannerView:
    """Check the upload by its bytes, re-encode it without metadata, store it under a new
    random key and point the banner at it; the replaced image is removed after the commit."""
    if len(content) > get_settings().MAX_BANNER_IMAGE_BYTES:
        raise BannerImageTooLarge()
    banner_view(db, banner_id)  # an unknown banner is a 404 before any work
    image = clean_image(content, max_pixels=MAX_BANNER_PIXELS)
    if image is None:
        raise UnsupportedBannerImage()
    key = f"banners/{banner_id}/{uuid.uuid4().hex}.{image.extension}"
    # Written before the row is locked (a slow store holds no lock), removed if the request fails.
    get_public_media().put(key, image.data, image.content_type)
    on_rollback(db, lambda _session: delete_public_quietly(key))
    banner = _locked_banner(db, banner_id)
    old_key = banner.image_key
    banner.image_key = key
    if old_key:
        on_commit(db, lambda: delete_public_quietly(old_key))
    record_audit(
        db,
        action="banner.image_set",
        entity_type=ENTITY,
        entity_id=banner.id,
        actor_user_id=actor_user_id,
        changes={"image_key": {"old": old_key, "new": key}},
    )
    db.flush()
    return banner_view(db, banner.id)
