from core.errors import ConflictError, NotFoundError


class ConsentTypeNotFound(NotFoundError):
    code = "consent_type_not_found"
    message = "No such consent."


class ConsentTypeExists(ConflictError):
    code = "consent_type_exists"
    message = "A consent with this code already exists."


class ConsentVersionOutdated(ConflictError):
    code = "consent_version_outdated"
    message = "This consent text has a newer version; read and accept the current one."


class ConsentNotFound(NotFoundError):
    code = "consent_not_found"
    message = "Consent not found."


class ConsentAlreadyWithdrawn(ConflictError):
    code = "consent_already_withdrawn"
    message = "This consent was already withdrawn."


class ConsentTypeInactive(ConflictError):
    code = "consent_type_inactive"
    message = "This consent is no longer in use."


class ConsentLinkNotFound(NotFoundError):
    code = "consent_link_not_found"
    message = "This product does not require that consent."


class ConsentLinkExists(ConflictError):
    code = "consent_link_exists"
    message = "This product already requires that consent."


class ConsentWithdrawn(ConflictError):
    code = "consent_withdrawn"
    message = (
        "A consent this test relies on was withdrawn: it can't go further until the consent is "
        "given again, or the order is cancelled (refunded)."
    )


class ConsentRequired(ConflictError):
    code = "consent_required"
    message = "Some members have not given the consents these tests need."


class MemberConfirmationRequired(ConflictError):
    code = "member_confirmation_required"
    message = (
        "An adult member gives their own consent: send them a consent request "
        "(POST /consent/requests)."
    )
