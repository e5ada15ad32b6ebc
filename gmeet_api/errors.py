from core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    UnprocessableError,
)


class CounsellorNotFound(NotFoundError):
    code = "counsellor_not_found"
    message = "Counsellor not found."


class CounsellorUnavailable(ConflictError):
    code = "counsellor_unavailable"
    message = "This counsellor cannot take bookings right now; please choose another."


class BookingNotFound(NotFoundError):
    code = "booking_not_found"
    message = "Booking not found."


class SlotUnavailable(ConflictError):
    code = "slot_unavailable"
    message = "This slot is no longer available; please pick another."


class BookingLimitReached(ConflictError):
    code = "booking_limit_reached"
    message = "You already have the most upcoming sessions allowed; cancel one to book another."


class PatientEmailNotAllowed(UnprocessableError):
    code = "patient_email_not_allowed"
    message = (
        "The Calendar invitation can go only to the email on your profile; leave patient_email "
        "out, or set that address on your profile first."
    )


class InvalidSlot(UnprocessableError):
    code = "invalid_slot"
    message = "Pick one of the offered slots: a future slot inside the counsellor's working hours."


class InvalidTimeWindow(UnprocessableError):
    code = "invalid_time_window"
    message = "end_time must be after start_time."


class AvailabilityWindowTooLarge(UnprocessableError):
    code = "availability_window_too_large"
    message = "Ask for a shorter window."


class InvalidWorkingHours(UnprocessableError):
    code = "invalid_working_hours"
    message = "The working day must end after it starts and hold at least one slot."


class BookingAlreadyCancelled(ConflictError):
    code = "booking_already_cancelled"
    message = "This booking is already cancelled."


class BookingNotCancellable(ConflictError):
    code = "booking_not_cancellable"
    message = "A session that has already started cannot be cancelled."


class GoogleCalendarUnavailable(ServiceUnavailableError):
    code = "google_calendar_unavailable"
    message = "Google Calendar is not reachable right now; nothing was changed. Try again shortly."


class GoogleNotConfigured(ServiceUnavailableError):
    code = "google_not_configured"
    message = "Google Calendar is not configured on this server."


# --- the OAuth callback: rendered as a redirect to FRONTEND_COUNSELLOR_ERROR_URL, or as JSON ---


class ConnectError(BadRequestError):
    code = "connect_failed"
    message = "Connecting Google Calendar failed; please start again."


class InvalidOAuthState(ConnectError):
    code = "invalid_state"
    message = "This sign-in link has expired or was already used; please start again."


class GoogleAuthorizationDenied(ConnectError):
    code = "authorization_denied"
    message = "Google did not grant access; please start again and allow calendar access."


class InsufficientScopes(ConnectError):
    code = "insufficient_scopes"
    message = "Calendar access is needed to take bookings; please allow every requested permission."


class CodeExchangeFailed(ConnectError):
    code = "code_exchange_failed"
    message = "Google did not accept the sign-in; please start again."


class GoogleIdentityMissing(ConnectError):
    code = "google_identity_missing"
    message = "Google did not share the account's email address; please start again."


class GoogleConnectUnavailable(ConnectError):
    status_code = 503
    code = "google_unavailable"
    message = "Google is not reachable right now; please try again shortly."
