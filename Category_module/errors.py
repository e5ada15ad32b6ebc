from core.errors import ConflictError, NotFoundError


class CategoryNotFound(NotFoundError):
    code = "category_not_found"
    message = "There is no such category."


class CategoryExists(ConflictError):
    code = "category_exists"
    message = "A category with this name or slug already exists."
