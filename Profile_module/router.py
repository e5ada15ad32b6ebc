from typing import Annotated

from fastapi import File, Response, UploadFile, status

from config import get_settings
from core.routing import APIRouter, DbSession
from core.validation import RowId, mask_phone
from deps import AdminUser, CurrentAuth, CurrentUser, CurrentUserRow
from Login_module.models import User
from Login_module.snapshot import UserSnapshot
from Profile_module.erasure import Erasure, erase_account
from Profile_module.errors import PhotoTooLarge
from Profile_module.export import Export, build_export
from Profile_module.phone import admin_start_claim, complete_claim, confirm_change, start_change
from Profile_module.schemas import (
    AdminPhoneChangeIn,
    ErasureIn,
    ErasureOut,
    ExportOut,
    PhoneChangedOut,
    PhoneChangeIn,
    PhoneChangeStartedOut,
    PhoneClaimIn,
    PhoneConfirmIn,
    ProfileOut,
    ProfileUpdateIn,
)
from Profile_module.service import remove_photo, replace_photo, update_profile

router = APIRouter(prefix="/profile", tags=["profile"])


@router.get("", response_model=ProfileOut)
async def get_profile(user: CurrentUser) -> UserSnapshot:
    """My profile (no I/O: the caller's snapshot holds it)."""
    return user


@router.get("/export", response_model=ExportOut)
def export_my_data(db: DbSession, user: CurrentUserRow) -> Export:
    """Everything we hold about me and my members, as one JSON document (DPDP Act 2023)."""
    return build_export(db, user)


@router.delete("", response_model=ErasureOut)
def erase_my_account(body: ErasureIn, db: DbSession, user: CurrentUserRow) -> Erasure:
    """Erase my account; needs a fresh code from POST /auth/send-otp sent to my own phone."""
    return erase_account(db, user, body.otp)


@router.put("", response_model=ProfileOut)
def put_profile(body: ProfileUpdateIn, db: DbSession, user: CurrentUserRow) -> User:
    """Change my name, email, date of birth or gender (the phone is not editable here)."""
    return update_profile(db, user, body)


@router.post("/photo", response_model=ProfileOut)
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


PHONE_CODES_SENT = "Codes were sent to your current and your new phone."


@router.post("/phone", response_model=PhoneChangeStartedOut, status_code=202)
def start_phone_change(
    body: PhoneChangeIn, db: DbSession, user: CurrentUserRow
) -> PhoneChangeStartedOut:
    """Change my login phone: a code goes to each phone (login code limits apply)."""
    expires_in = start_change(db, user, body.new_phone)
    return PhoneChangeStartedOut(message=PHONE_CODES_SENT, expires_in=expires_in)


@router.post("/phone/confirm", response_model=PhoneChangedOut)
def confirm_phone_change(
    body: PhoneConfirmIn, db: DbSession, user: CurrentUserRow, auth: CurrentAuth
) -> PhoneChangedOut:
    """Both codes: the phone changes and every other session is signed out."""
    changed = confirm_change(db, user, auth.session_id, body.current_otp, body.new_otp)
    return PhoneChangedOut(phone=mask_phone(changed.phone or ""))


@router.post("/admin/users/{user_id}/phone", response_model=PhoneChangeStartedOut, status_code=202)
def admin_phone_change(
    user_id: RowId, body: AdminPhoneChangeIn, db: DbSession, admin: AdminUser
) -> PhoneChangeStartedOut:
    """Lost SIM (admin): a code to the new phone; its holder completes the change."""
    expires_in = admin_start_claim(db, admin.id, user_id, body.new_phone, body.reason)
    return PhoneChangeStartedOut(message="A code was sent to the new phone.", expires_in=expires_in)


@router.post("/phone/claim", response_model=PhoneChangedOut)
def claim_phone(body: PhoneClaimIn, db: DbSession) -> PhoneChangedOut:
    """Complete an admin-started change with the code the new phone received (no login: the
    old SIM is lost); every session of the account is signed out."""
    changed = complete_claim(db, body.new_phone, body.otp)
    return PhoneChangedOut(phone=mask_phone(changed.phone or ""))
