"""Indian pincodes and state names, checked offline against India Post data (`indian-pincode`).

Field-level checks are pydantic types (`Pincode`, `IndianState`) whose error types are product
codes; the cross-field rule (the pincode lies in the state) is `check_pincode_state`, which
services call with the values they are about to store.
"""

import re
from typing import Annotated

import indian_pincode
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from core.errors import CODED_VALIDATION_TYPES, UnprocessableError

PINCODE_PATTERN = re.compile(r"^[1-9][0-9]{5}$")

# The official names, title-cased, as they are stored.
INDIAN_STATES = (
    "Andaman and Nicobar Islands",
    "Andhra Pradesh",
    "Arunachal Pradesh",
    "Assam",
    "Bihar",
    "Chandigarh",
    "Chhattisgarh",
    "Dadra and Nagar Haveli and Daman and Diu",
    "Delhi",
    "Goa",
    "Gujarat",
    "Haryana",
    "Himachal Pradesh",
    "Jammu and Kashmir",
    "Jharkhand",
    "Karnataka",
    "Kerala",
    "Ladakh",
    "Lakshadweep",
    "Madhya Pradesh",
    "Maharashtra",
    "Manipur",
    "Meghalaya",
    "Mizoram",
    "Nagaland",
    "Odisha",
    "Puducherry",
    "Punjab",
    "Rajasthan",
    "Sikkim",
    "Tamil Nadu",
    "Telangana",
    "Tripura",
    "Uttar Pradesh",
    "Uttarakhand",
    "West Bengal",
)

# Other names people (and older records) use for a state/UT, keyed like `state_key`.
STATE_ALIASES = {
    "nct of delhi": "Delhi",
    "delhi nct": "Delhi",
    "national capital territory of delhi": "Delhi",
    "new delhi": "Delhi",
    "orissa": "Odisha",
    "pondicherry": "Puducherry",
    "uttaranchal": "Uttarakhand",
    "andaman and nicobar": "Andaman and Nicobar Islands",
    "andaman nicobar islands": "Andaman and Nicobar Islands",
    "dadra and nagar haveli": "Dadra and Nagar Haveli and Daman and Diu",
    "daman and diu": "Dadra and Nagar Haveli and Daman and Diu",
    "dnh and dd": "Dadra and Nagar Haveli and Daman and Diu",
    "jammu kashmir": "Jammu and Kashmir",
    "j and k": "Jammu and Kashmir",
    "chattisgarh": "Chhattisgarh",
    "telengana": "Telangana",
}

# ISO 3166-2:IN subdivision codes and the vehicle-registration codes that differ from them.
STATE_CODES = {
    "an": "Andaman and Nicobar Islands",
    "ap": "Andhra Pradesh",
    "ar": "Arunachal Pradesh",
    "as": "Assam",
    "br": "Bihar",
    "ch": "Chandigarh",
    "ct": "Chhattisgarh",
    "cg": "Chhattisgarh",
    "dh": "Dadra and Nagar Haveli and Daman and Diu",
    "dl": "Delhi",
    "ga": "Goa",
    "gj": "Gujarat",
    "hr": "Haryana",
    "hp": "Himachal Pradesh",
    "jk": "Jammu and Kashmir",
    "jh": "Jharkhand",
    "ka": "Karnataka",
    "kl": "Kerala",
    "la": "Ladakh",
    "ld": "Lakshadweep",
    "mp": "Madhya Pradesh",
    "mh": "Maharashtra",
    "mn": "Manipur",
    "ml": "Meghalaya",
    "mz": "Mizoram",
    "nl": "Nagaland",
    "od": "Odisha",
    "py": "Puducherry",
    "pb": "Punjab",
    "rj": "Rajasthan",
    "sk": "Sikkim",
    "tn": "Tamil Nadu",
    "tg": "Telangana",
    "ts": "Telangana",
    "tr": "Tripura",
    "up": "Uttar Pradesh",
    "ut": "Uttarakhand",
    "uk": "Uttarakhand",
    "wb": "West Bengal",
}


def state_key(name: str) -> str:
    """`' Tamil-Nadu '` / `'J&K'` -> `'tamil nadu'` / `'j and k'`: case, spacing and
    punctuation do not matter; a leading "The" is dropped."""
    key = re.sub(r"[\W_]+", " ", name.casefold().replace("&", " and ")).strip()
    return key.removeprefix("the ")


STATE_BY_KEY: dict[str, str] = {
    **STATE_CODES,
    **STATE_ALIASES,
    **{state_key(state): state for state in INDIAN_STATES},
}


class InvalidPincode(UnprocessableError):
    code = "invalid_pincode"
    message = "Enter a valid 6-digit Indian pincode."


class InvalidState(UnprocessableError):
    code = "invalid_state"
    message = "Enter a valid Indian state or union territory."


class PincodeStateMismatch(UnprocessableError):
    code = "pincode_state_mismatch"
    message = "The pincode does not belong to the state given."


CODED_VALIDATION_TYPES.update({InvalidPincode.code, InvalidState.code})


def is_valid_pincode(pincode: str) -> bool:
    """Six digits, no leading zero, and a pincode India Post actually has."""
    return bool(PINCODE_PATTERN.match(pincode)) and indian_pincode.validate(pincode)


def canonical_state(name: str) -> str | None:
    """Any common spelling of a state/UT -> its official name; None if it is not one."""
    return STATE_BY_KEY.get(state_key(name))


def pincode_states(pincode: str) -> set[str]:
    """The states/UTs a pincode's post offices lie in (a few pincodes straddle a border)."""
    details = indian_pincode.get_details(pincode)
    if details is None:
        return set()
    names = details["states"] or ([details["state"]] if details["state"] else [])
    return {state for state in (canonical_state(name) for name in names) if state}


def check_pincode_state(pincode: str, state: str) -> str:
    """Validate a pincode and state together; returns the state's official name.

    Raises InvalidPincode, InvalidState or PincodeStateMismatch. A pincode the data has no state
    for (a handful) is accepted with any valid state rather than refused.
    """
    if not is_valid_pincode(pincode):
        raise InvalidPincode()
    canonical = canonical_state(state)
    if canonical is None:
        raise InvalidState()
    states = pincode_states(pincode)
    if states and canonical not in states:
        raise PincodeStateMismatch()
    return canonical


MAX_STATE_LENGTH = 64


# The length checks live in the validators so that any bad value gets the product code.
def _validate_pincode(value: str) -> str:
    value = value.strip()
    if not is_valid_pincode(value):
        raise PydanticCustomError(InvalidPincode.code, InvalidPincode.message)
    return value


def _validate_state(value: str) -> str:
    canonical = canonical_state(value) if len(value) <= MAX_STATE_LENGTH else None
    if canonical is None:
        raise PydanticCustomError(InvalidState.code, InvalidState.message)
    return canonical


Pincode = Annotated[
    str, Field(json_schema_extra={"maxLength": 6}), AfterValidator(_validate_pincode)
]
IndianState = Annotated[
    str, Field(json_schema_extra={"maxLength": 64}), AfterValidator(_validate_state)
]
