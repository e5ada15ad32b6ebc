from core.errors import ConflictError, NotFoundError, UnprocessableError


class SlotFull(ConflictError):
    code = "slot_full"
    message = "That collection window is full; pick another one."


class HomeCollectionUnavailable(ConflictError):
    code = "home_collection_unavailable"
    message = (
        "We do not collect samples at home in this city; a sample kit will be couriered to the "
        "address instead."
    )


class InvalidCollectionSlot(UnprocessableError):
    code = "invalid_collection_slot"
    message = (
        "That is not a collection window we can book: too soon, too far ahead, a holiday, or "
        "not one of our windows."
    )


class RescheduleTooLate(ConflictError):
    code = "reschedule_too_late"
    message = "This collection is too close to move; contact support."


class CollectionNotFound(NotFoundError):
    code = "collection_not_found"
    message = "Collection not found."


class ItemsNotSchedulable(ConflictError):
    code = "items_not_schedulable"
    message = "Only paid tests at one address, not yet scheduled, can be booked together."
