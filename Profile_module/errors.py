from core.errors import AppError, ConflictError, NotFoundError


class PhotoTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    message = "The photo is larger than 5 MB."


class UnsupportedImage(AppError):
    status_code = 415
    code = "unsupported_image_type"
    message = "The photo must be a JPEG, PNG or WebP image."


class PhotoNotFound(NotFoundError):
    code = "photo_not_found"
    message = "There is no profile photo."


class ErasureBlockedByOpenOrders(ConflictError):
    code = "erasure_blocked_by_open_orders"
    message = (
        "An order is paid and not yet completed (a sample may be in flight); cancel it or wait "
        "until it is completed before deleting the account."
    )


class PhoneInUse(ConflictError):
    code = "phone_in_use"
    message = "That phone number already has an account."


class SamePhone(ConflictError):
    code = "same_phone"
    message = "That is already the phone you log in with."


class PhoneChangeNotStarted(ConflictError):
    code = "phone_change_not_started"
    message = "No phone change is waiting (or its codes expired); start again."


class UserNotFound(NotFoundError):
    code = "user_not_found"
    message = "User not found."
