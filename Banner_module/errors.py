from core.errors import AppError, NotFoundError, UnprocessableError


class BannerNotFound(NotFoundError):
    code = "banner_not_found"
    message = "There is no such banner."


class InvalidBanner(UnprocessableError):
    """A rule spanning fields (the window's order, the target's existence); `details` names
    the fields."""

    code = "invalid_banner"
    message = "The banner's settings do not fit together."


class BannerImageTooLarge(AppError):
    status_code = 413
    code = "file_too_large"
    message = "The image is larger than 2 MB."


class UnsupportedBannerImage(AppError):
    status_code = 415
    code = "unsupported_image_type"
    message = "The image must be a JPEG, PNG or WebP picture (of at most 16 megapixels)."
