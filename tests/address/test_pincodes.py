"""core.pincodes: pincodes and state names, offline."""

import indian_pincode
import pytest

from core.pincodes import (
    INDIAN_STATES,
    InvalidPincode,
    InvalidState,
    PincodeStateMismatch,
    canonical_state,
    check_pincode_state,
    is_valid_pincode,
    pincode_states,
)


def test_every_state_in_the_pincode_data_has_an_official_name():
    for name in indian_pincode.list_states():
        assert canonical_state(name) in INDIAN_STATES, name
    assert len(INDIAN_STATES) == 36  # 28 states and 8 union territories


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("Karnataka", "Karnataka"),
        ("  karnataka ", "Karnataka"),
        ("TAMIL   NADU", "Tamil Nadu"),
        ("Tamil-Nadu", "Tamil Nadu"),
        ("Delhi", "Delhi"),
        ("NCT of Delhi", "Delhi"),
        ("National Capital Territory of Delhi", "Delhi"),
        ("Dadra and Nagar Haveli and Daman and Diu", "Dadra and Nagar Haveli and Daman and Diu"),
        ("The Dadra & Nagar Haveli and Daman & Diu", "Dadra and Nagar Haveli and Daman and Diu"),
        ("Daman and Diu", "Dadra and Nagar Haveli and Daman and Diu"),
        ("Jammu & Kashmir", "Jammu and Kashmir"),
        ("Orissa", "Odisha"),
        ("Pondicherry", "Puducherry"),
        ("Uttaranchal", "Uttarakhand"),
        ("Andaman & Nicobar Islands", "Andaman and Nicobar Islands"),
        ("KA", "Karnataka"),
        ("ts", "Telangana"),
    ],
)
def test_common_spellings_map_to_the_official_name(typed, official):
    assert canonical_state(typed) == official


@pytest.mark.parametrize("typed", ["Atlantis", "", "India", "Bangalore", "Karnatakaa"])
def test_unknown_state_names_have_no_official_name(typed):
    assert canonical_state(typed) is None


@pytest.mark.parametrize("pincode", ["560001", "110001", "600001", "744101"])
def test_real_pincodes_are_valid(pincode):
    assert is_valid_pincode(pincode)


@pytest.mark.parametrize("pincode", ["056001", "56001", "5600011", "56000a", " 560001", "999999"])
def test_malformed_or_unknown_pincodes_are_invalid(pincode):
    assert not is_valid_pincode(pincode)


def test_check_pincode_state_returns_the_official_state_name():
    assert check_pincode_state("560001", "karnataka") == "Karnataka"
    assert check_pincode_state("110001", "NCT of Delhi") == "Delhi"


def test_a_border_pincode_matches_every_state_it_lies_in():
    assert pincode_states("396230") == {"Gujarat", "Dadra and Nagar Haveli and Daman and Diu"}
    assert check_pincode_state("396230", "Gujarat") == "Gujarat"
    assert check_pincode_state("396230", "Daman and Diu") == (
        "Dadra and Nagar Haveli and Daman and Diu"
    )


def test_a_pincode_without_a_known_state_accepts_any_valid_state():
    assert pincode_states("201319") == set()
    assert check_pincode_state("201319", "Uttar Pradesh") == "Uttar Pradesh"


@pytest.mark.parametrize(
    ("pincode", "state", "error"),
    [
        ("999999", "Karnataka", InvalidPincode),
        ("012345", "Karnataka", InvalidPincode),
        ("560001", "Atlantis", InvalidState),
        ("560001", "Kerala", PincodeStateMismatch),
    ],
)
def test_check_pincode_state_refusals(pincode, state, error):
    with pytest.raises(error) as caught:
        check_pincode_state(pincode, state)
    assert caught.value.status_code == 422
