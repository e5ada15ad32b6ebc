from core.errors import ConflictError, NotFoundError, RateLimitedError, UnauthorizedError


class AbdmDisabled(NotFoundError):
    code = "abdm_disabled"
    message = "Health records are not linked to ABHA here (ABDM is not enabled)."


class AbhaMissing(ConflictError):
    code = "abha_missing"
    message = "The member has no ABHA address: add it to link their reports."


class AbdmBlocked(RateLimitedError):
    code = "abdm_blocked"
    message = "The ABDM gateway has paused linking for this ABHA for a day; try again later."


class InvalidCallback(UnauthorizedError):
    code = "invalid_gateway_token"
    message = "The callback's gateway token is missing, expired or not signed by the gateway."


class UnknownCallback(NotFoundError):
    code = "unknown_callback"
    message = "No such ABDM callback."
