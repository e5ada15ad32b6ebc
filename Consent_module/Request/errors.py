from core.errors import AppError, ConflictError, NotFoundError, UnprocessableError


class ConsentRequestNotFound(NotFoundError):
    code = "consent_request_not_found"
    message = "No such consent request."


class ConsentRequestExpired(AppError):
    status_code = 410
    code = "consent_request_expired"
    message = "This consent request has expired; ask for a new one."


class ConsentRequestClosed(ConflictError):
    code = "consent_request_closed"
    message = "This consent request was already answered or replaced by a newer one."


class MemberPhoneRequired(UnprocessableError):
    code = "member_phone_required"
    message = (
        "The member confirms their own consent from their own mobile phone: add it to the "
        "member first (it can't be the account's login phone)."
    )


class MemberConfirmationNotNeeded(ConflictError):
    code = "member_confirmation_not_needed"
    message = "You give this member's consent yourself (your own, or a minor's as guardian)."
