from fastapi import APIRouter, Response, status

from deps import CurrentAuth, DbSession, RequestRoute
from Login_module.OTP.service import send_otp
from Login_module.schemas import (
    LoginOut,
    RefreshIn,
    SendOtpIn,
    SendOtpOut,
    TokenPairOut,
    UserOut,
    VerifyOtpIn,
)
from Login_module.service import DeviceInfo, login_with_otp, logout, refresh_tokens

router = APIRouter(prefix="/auth", tags=["auth"], route_class=RequestRoute)


@router.post("/send-otp", response_model=SendOtpOut)
def send_login_code(body: SendOtpIn, db: DbSession) -> dict:
    """Send a 6-digit login code by SMS."""
    return send_otp(db, body.phone)


@router.post("/verify-otp", response_model=LoginOut)
def verify_login_code(body: VerifyOtpIn, db: DbSession) -> dict:
    """Log in with the code: creates the user on first login and a device session."""
    device = DeviceInfo(body.device_id, body.device_name, body.device_platform)
    issued = login_with_otp(db, body.phone, body.otp, device)
    user = UserOut.model_validate(issued.user).model_dump()
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
        "user": {**user, "role": issued.user.role, "is_new_user": issued.is_new_user},
    }


@router.post("/refresh", response_model=TokenPairOut)
def refresh(body: RefreshIn, db: DbSession) -> dict:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    issued = refresh_tokens(db, body.refresh_token)
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
    }


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(db: DbSession, auth: CurrentAuth) -> Response:
    """End the current session."""
    logout(db, auth.user, auth.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(auth: CurrentAuth) -> dict:
    """The logged-in user (no I/O: authenticating read the user's snapshot, so this stays on
    the event loop)."""
    user = auth.user
    return {"id": user.id, "phone": user.phone, "name": user.name, "role": auth.role}
