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


class CollectionCancelled(ConflictError):
    code = "collection_cancelled"
    message = "This visit was cancelled with its order; its window was given back."


class ItemsNotSchedulable(ConflictError):
    code = "items_not_schedulable"
    message = "Only paid tests at one address, not yet scheduled, can be booked together."


class RescheduleLimitReached(ConflictError):
    code = "reschedule_limit_reached"
    message = "This collection has been moved as often as it can be; contact support to change it."


class CollectionNotMovable(ConflictError):
    code = "collection_not_movable"
    message = "This collection can no longer move: its tests are already past sample collection."
