from core.errors import ConflictError, NotFoundError, UnprocessableError


class ProductNotFound(NotFoundError):
    code = "product_not_found"
    message = "There is no such product."


class ProductExists(ConflictError):
    code = "product_exists"
    message = "A product with this slug already exists."


class InvalidCategory(UnprocessableError):
    code = "invalid_category"
    message = "There is no category with this id."


class InvalidPlanMembers(UnprocessableError):
    code = "invalid_plan_members"
    message = (
        "The member range does not fit the plan: single is 1, couple is 2, family is 3 to 4 "
        "(min_members <= max_members)."
    )


class InvalidPrice(UnprocessableError):
    code = "invalid_price"
    message = "Prices cannot be negative and the MRP cannot be below the price."


class InvalidPriceRange(UnprocessableError):
    code = "invalid_price_range"
    message = "min_price_paise cannot be greater than max_price_paise."
