from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status

from config import get_settings
from core.openapi import error_responses
from deps import CurrentUser, CurrentUserRow, DbSession, RequestRoute
from Login_module.models import User
from Login_module.snapshot import UserSnapshot
from Profile_module.erasure import erase_account
from Profile_module.errors import PhotoTooLarge
from Profile_module.export import build_export
from Profile_module.schemas import ErasureIn, ErasureOut, ExportOut, ProfileOut, ProfileUpdateIn
from Profile_module.service import remove_photo, replace_photo, update_profile

router = APIRouter(prefix="/profile", tags=["profile"], route_class=RequestRoute)


@router.get("", response_model=ProfileOut)
async def get_profile(user: CurrentUser) -> UserSnapshot:
    """My profile (no I/O: the caller's snapshot holds it)."""
    return user


@router.get("/export", response_model=ExportOut)
def export_my_data(db: DbSession, user: CurrentUserRow) -> dict:
    """Everything we hold about me and my members, as one JSON document (DPDP Act 2023)."""
    return build_export(db, user)


@router.delete("", response_model=ErasureOut)
def erase_my_account(body: ErasureIn, db: DbSession, user: CurrentUserRow) -> dict:
    """Erase my account; needs a fresh code from POST /auth/send-otp sent to my own phone."""
    return erase_account(db, user, body.otp)


@router.put("", response_model=ProfileOut)
def put_profile(body: ProfileUpdateIn, db: DbSession, user: CurrentUserRow) -> User:
    """Change my name, email, date of birth or gender (the phone is not editable here)."""
    return update_profile(db, user, body.model_dump(exclude_unset=True))


@router.post("/photo", response_model=ProfileOut, responses=error_responses(415))
def upload_photo(
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 5 MB")],
    db: DbSession,
    user: CurrentUserRow,
) -> User:
    """Upload or replace my profile photo."""
    content = file.file.read(get_settings().MAX_PHOTO_BYTES + 1)
    if len(content) > get_settings().MAX_PHOTO_BYTES:
        raise PhotoTooLarge()
    return replace_photo(db, user, content)


@router.delete("/photo", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile_photo(db: DbSession, user: CurrentUserRow) -> Response:
    """Remove my profile photo."""
    remove_photo(db, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
