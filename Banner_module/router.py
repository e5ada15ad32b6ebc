from typing import Annotated

from fastapi import File, Response, UploadFile, status

from Banner_module.answers import BannerList, BannerView
from Banner_module.models import BannerState, Platform
from Banner_module.schemas import (
    BannerAdminOut,
    BannerCreateIn,
    BannerListOut,
    BannerUpdateIn,
)
from Banner_module.service import (
    admin_page,
    banner_view,
    create_banner,
    delete_banner,
    live_banners,
    set_banner_image,
    update_banner,
)
from config import get_settings
from core.pagination import Page, Pagination, RowPage
from core.response_cache import public_cache
from core.routing import APIRouter, DbSession
from core.validation import RowId
from deps import AdminUser

router = APIRouter(prefix="/banners", tags=["banners"])


@router.get("", response_model=BannerListOut)
@public_cache
def list_banners(db: DbSession, platform: Platform | None = None) -> BannerList:
    """The home carousel: live banners for the platform (either, if not given), in order."""
    return BannerList(live_banners(db, platform))


@router.get("/admin", response_model=Page[BannerAdminOut])
def list_banners_admin(
    db: DbSession, _admin: AdminUser, page: Pagination, state: BannerState | None = None
) -> RowPage[BannerView]:
    """Every banner with its state, in position order (admin)."""
    return admin_page(db, page, state)


@router.post("/admin", response_model=BannerAdminOut, status_code=status.HTTP_201_CREATED)
def add_banner(body: BannerCreateIn, db: DbSession, admin: AdminUser) -> BannerView:
    """Create a banner (admin); it is shown once it has an image."""
    return create_banner(db, admin.id, body.model_dump())


@router.get("/admin/{banner_id}", response_model=BannerAdminOut)
def read_banner(banner_id: RowId, db: DbSession, _admin: AdminUser) -> BannerView:
    """One banner with its state (admin)."""
    return banner_view(db, banner_id)


@router.put("/admin/{banner_id}", response_model=BannerAdminOut)
def change_banner(
    banner_id: RowId, body: BannerUpdateIn, db: DbSession, admin: AdminUser
) -> BannerView:
    """Change a banner (only the fields sent; admin)."""
    return update_banner(db, admin.id, banner_id, body.changes())


@router.delete("/admin/{banner_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_banner(banner_id: RowId, db: DbSession, admin: AdminUser) -> Response:
    """Delete a banner (admin): never shown or listed again; its image is removed."""
    delete_banner(db, admin.id, banner_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/{banner_id}/image", response_model=BannerAdminOut)
def upload_banner_image(
    banner_id: RowId,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 2 MB")],
    db: DbSession,
    admin: AdminUser,
) -> BannerView:
    """Upload or replace a banner's image (admin): checked by its bytes, stored without its
    metadata, served by URL."""
    content = file.file.read(get_settings().MAX_BANNER_IMAGE_BYTES + 1)
    return set_banner_image(db, admin.id, banner_id, content)
