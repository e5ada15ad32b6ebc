from fastapi import Response, status

from core.routing import APIRouter, DbSession
from deps import CurrentAuth
from Login_module.answers import Me
from Login_module.OTP.service import CodeSent, send_otp
from Login_module.schemas import (
    LoginOut,
    RefreshIn,
    SendOtpIn,
    SendOtpOut,
    TokenPairOut,
    UserOut,
    VerifyOtpIn,
)
from Login_module.service import (
    DeviceInfo,
    IssuedTokens,
    login_with_otp,
    logout,
    refresh_tokens,
)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/send-otp", response_model=SendOtpOut)
def send_login_code(body: SendOtpIn, db: DbSession) -> CodeSent:
    """Send a 6-digit login code by SMS."""
    return send_otp(db, body.phone)


@router.post("/verify-otp", response_model=LoginOut)
def verify_login_code(body: VerifyOtpIn, db: DbSession) -> IssuedTokens:
    """Log in with the code: creates the user on first login and a device session."""
    device = DeviceInfo(body.device_id, body.device_name, body.device_platform)
    return login_with_otp(db, body.phone, body.otp, device)


@router.post("/refresh", response_model=TokenPairOut)
def refresh(body: RefreshIn, db: DbSession) -> IssuedTokens:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return refresh_tokens(db, body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(db: DbSession, auth: CurrentAuth) -> Response:
    """End the current session."""
    logout(db, auth.user, auth.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(auth: CurrentAuth) -> Me:
    """The logged-in user (no I/O: authenticating read the user's snapshot, so this stays on
    the event loop)."""
    return Me(auth.user, auth.role)
