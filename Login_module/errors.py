from core.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnprocessableError,
)


class OtpInvalid(BadRequestError):
    code = "otp_invalid"
    message = "The code is not correct."


class OtpExpired(BadRequestError):
    code = "otp_expired"
    message = "The code has expired or was never sent; ask for a new one."


class OtpAttemptsExceeded(RateLimitedError):
    code = "otp_attempts_exceeded"
    message = "Too many wrong codes; ask for a new one."


class SmsProviderUnavailable(ServiceUnavailableError):
    code = "sms_provider_unavailable"
    message = "We could not send the SMS right now; try again shortly."


class PhoneRegionNotAllowed(UnprocessableError):
    code = "phone_region_not_allowed"
    message = "We can only send codes to mobile numbers in our service regions."


class SmsBudgetExhausted(ServiceUnavailableError):
    code = "sms_budget_exhausted"
    message = "We cannot send more SMS right now; try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.headers = {"Retry-After": str(max(1, retry_after))}


class TokenInvalid(UnauthorizedError):
    code = "token_invalid"
    message = "The token is not valid."


class TokenExpired(UnauthorizedError):
    code = "token_expired"
    message = "The token has expired."


class SessionRevoked(UnauthorizedError):
    code = "session_revoked"
    message = "This session has ended; log in again."


class RefreshTokenReused(UnauthorizedError):
    code = "refresh_token_reused"
    message = "This refresh token was already used; the session has been ended for safety."


class AdminRequired(ForbiddenError):
    code = "admin_required"
    message = "This needs an administrator."


class SessionNotFound(NotFoundError):
    code = "session_not_found"
    message = "Session not found."


class AccountDisabled(ForbiddenError):
    code = "account_disabled"
    message = "This account is disabled; contact support."
