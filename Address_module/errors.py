from core.errors import ConflictError, NotFoundError, UnprocessableError
from core.pincodes import InvalidPincode, InvalidState, PincodeStateMismatch

__all__ = [
    "AddressLimitReached",
    "AddressNotFound",
    "InvalidPincode",
    "InvalidState",
    "LocationExists",
    "LocationNotFound",
    "LocationNotServiceable",
    "PincodeStateMismatch",
]


class AddressNotFound(NotFoundError):
    code = "address_not_found"
    message = "Address not found."


class AddressLimitReached(ConflictError):
    code = "address_limit_reached"
    message = "You have reached the maximum number of addresses."


class LocationNotServiceable(UnprocessableError):
    code = "location_not_serviceable"
    message = "We do not collect samples in this city yet."


class LocationNotFound(NotFoundError):
    code = "location_not_found"
    message = "Serviceable location not found."


class LocationExists(ConflictError):
    code = "location_exists"
    message = "A serviceable location with this city already exists."
