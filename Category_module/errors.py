from core.errors import ConflictError, NotFoundError, UnprocessableError


class CategoryNotFound(NotFoundError):
    code = "category_not_found"
    message = "There is no such category."


class CategoryExists(ConflictError):
    code = "category_exists"
    message = "A category with this name or slug already exists."


class InvalidSlug(UnprocessableError):
    code = "invalid_slug"
    message = "A slug needs at least one letter; give one explicitly."
