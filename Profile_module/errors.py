from core.errors import AppError, NotFoundError


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
