"""A member's ABHA (the national health id) through `/member`: accepted forms, what is stored,
what the answers, the audit and the export show, and erasure."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from core.validation import (
    InvalidAbha,
    mask_abha_address,
    mask_abha_number,
    normalize_abha_address,
    normalize_abha_number,
)
from Member_module.models import Member
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, LoggedIn, login, request_code

ME = "+919876540101"
OTHER = "+919876540102"
NUMBER = "91-5101-6530-5101"
NUMBER_DIGITS = "91510165305101"
MASKED_NUMBER = "**-****-****-5101"
ADDRESS = "asha.rao_1990@sbx"
MASKED_ADDRESS = "as***********@sbx"

MALFORMED_NUMBERS = [
    "9151016530510",  # 13 digits
    "915101653051012",  # 15 digits
    "91 5101 6530 5101",  # spaces are not accepted, only hyphens
    "915-101-6530-5101",  # hyphens elsewhere than 2-4-4-4
    "91-5101-6530-510A",
    "".join(chr(ord(d) + 0xFEE0) for d in "91510165305101"),  # full-width digits
    "",
    "9" * 70,
]
MALFORMED_ADDRESSES = [
    "ravi@abdm",  # handle shorter than 8
    "a" * 19 + "@abdm",  # handle longer than 18
    "asha.rao.90@abdm",  # two dots
    "asha_rao_90@abdm",  # two underscores
    ".asharao90@abdm",
    "asharao90_@abdm",
    "asha._rao90@abdm",
    "asha-rao90@abdm",
    "asharao90@gmail.com",
    "asharao90",
    "asharao90@",
    "@abdm",
    "\u212aasharao90@abdm",  # the Kelvin sign, which lower-cases to `k`
    "",
    "a" * 70 + "@abdm",
]


def member_body(**overrides: object) -> dict[str, Any]:
    return {
        "name": "Asha Rao",
        "relation": "spouse",
        "date_of_birth": "1990-05-17",
        "gender": "female",
        **overrides,
    }


def audit_entries(db: Session, action: str, member_id: int) -> list[AuditLog]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditLog)
            .where(AuditLog.action == action, AuditLog.entity_id == str(member_id))
            .order_by(AuditLog.id)
        )
    )


def stored(db: Session, member_id: int) -> tuple[str | None, str | None]:
    db.expire_all()
    member = db.get(Member, member_id)
    assert member is not None
    return member.abha_number, member.abha_address


def member_count(db: Session, user_id: int) -> int:
    db.expire_all()
    return db.scalars(
        select(func.count()).select_from(Member).where(Member.user_id == user_id)
    ).one()


@pytest.fixture
def me(client: TestClient) -> LoggedIn:
    return login(client, ME)


# --- the forms accepted, and what is stored -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (NUMBER, NUMBER),
        (NUMBER_DIGITS, NUMBER),
        (f"  {NUMBER_DIGITS} ", NUMBER),
    ],
)
def test_an_abha_number_with_or_without_hyphens_is_stored_hyphenated(raw, expected):
    assert normalize_abha_number(raw) == expected


@pytest.mark.parametrize("raw", MALFORMED_NUMBERS)
def test_a_malformed_abha_number_is_refused(raw):
    with pytest.raises(InvalidAbha):
        normalize_abha_number(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Asha.Rao_1990@SBX", ADDRESS),
        ("asharao9@abdm", "asharao9@abdm"),  # 8 characters
        ("a" * 18 + "@abdm", "a" * 18 + "@abdm"),
        ("asha_rao.1990@abdm", "asha_rao.1990@abdm"),  # one of each, either order
        ("91510165305101@sbx", "91510165305101@sbx"),  # the number's own address
        (" AshaRao1990@abdm ", "asharao1990@abdm"),
    ],
)
def test_an_abha_address_is_stored_lower_case(raw, expected):
    assert normalize_abha_address(raw) == expected


@pytest.mark.parametrize("raw", MALFORMED_ADDRESSES)
def test_a_malformed_abha_address_is_refused(raw):
    with pytest.raises(InvalidAbha):
        normalize_abha_address(raw)


def test_masks_keep_the_numbers_last_four_digits_and_the_addresses_first_two_characters():
    assert mask_abha_number(NUMBER) == MASKED_NUMBER
    assert mask_abha_number(MASKED_NUMBER) == MASKED_NUMBER
    assert mask_abha_address(ADDRESS) == MASKED_ADDRESS
    assert mask_abha_address("asharao9@abdm") == "as******@abdm"


# --- POST and PUT /member -------------------------------------------------------------------


def test_add_a_member_with_an_abha(client, db, me):
    response = client.post(
        "/member",
        json=member_body(abha_number=NUMBER_DIGITS, abha_address="Asha.Rao_1990@SBX"),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    # The number masked like a card's last four digits; the address, the customer's own
    # handle, in full.
    assert (body["abha_number"], body["abha_address"]) == (MASKED_NUMBER, ADDRESS)
    assert stored(db, body["id"]) == (NUMBER, ADDRESS)
    # Every answer that shows the member masks the number.
    listed = client.get("/member", headers=me.headers).json()["items"]
    assert [(m["abha_number"], m["abha_address"]) for m in listed] == [(MASKED_NUMBER, ADDRESS)]
    one = client.get(f"/member/{body['id']}", headers=me.headers).json()
    assert (one["abha_number"], one["abha_address"]) == (MASKED_NUMBER, ADDRESS)


def test_a_member_without_an_abha_has_none(client, db, me):
    response = client.post("/member", json=member_body(), headers=me.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["abha_number"], body["abha_address"]) == (None, None)
    assert stored(db, body["id"]) == (None, None)
    # The creation's audit names the ABHA only when one is given.
    [created] = audit_entries(db, "member.created", body["id"])
    assert created.changes is not None
    assert not {"abha_number", "abha_address"} & set(created.changes)
    response = client.post(
        "/member",
        json=member_body(relation="child", abha_number=None, abha_address=None),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text
    assert stored(db, response.json()["id"]) == (None, None)


def test_update_sets_changes_and_clears_the_abha(client, db, me):
    member = make_member(db, me.user_id)
    response = client.put(f"/member/{member.id}", json={"abha_number": NUMBER}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["abha_number"], response.json()["abha_address"]) == (
        MASKED_NUMBER,
        None,
    )
    assert stored(db, member.id) == (NUMBER, None)

    response = client.put(
        f"/member/{member.id}",
        json={"abha_number": "12345678901234", "abha_address": "AshaRao1990@abdm"},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["abha_number"] == "**-****-****-1234"
    assert stored(db, member.id) == ("12-3456-7890-1234", "asharao1990@abdm")

    # Only what is sent changes; null clears.
    response = client.put(f"/member/{member.id}", json={"abha_number": None}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert stored(db, member.id) == (None, "asharao1990@abdm")
    response = client.put(f"/member/{member.id}", json={"abha_address": None}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["abha_number"], response.json()["abha_address"]) == (None, None)
    assert stored(db, member.id) == (None, None)


@pytest.mark.parametrize("number", MALFORMED_NUMBERS)
def test_adding_a_malformed_abha_number_is_invalid_abha_and_stores_nothing(client, db, me, number):
    response = client.post("/member", json=member_body(abha_number=number), headers=me.headers)
    body = assert_error(response, 422, "invalid_abha")
    assert [d["field"] for d in body["details"]] == ["abha_number"]
    assert member_count(db, me.user_id) == 0


@pytest.mark.parametrize("address", MALFORMED_ADDRESSES)
def test_adding_a_malformed_abha_address_is_invalid_abha_and_stores_nothing(
    client, db, me, address
):
    response = client.post("/member", json=member_body(abha_address=address), headers=me.headers)
    body = assert_error(response, 422, "invalid_abha")
    assert [d["field"] for d in body["details"]] == ["abha_address"]
    assert member_count(db, me.user_id) == 0


@pytest.mark.parametrize("value", [91510165305101, ["91510165305101"], {"number": NUMBER}, True])
def test_an_abha_that_is_not_text_is_invalid_abha(client, db, me, value):
    for field in ("abha_number", "abha_address"):
        response = client.post("/member", json=member_body(**{field: value}), headers=me.headers)
        assert_error(response, 422, "invalid_abha")
    assert member_count(db, me.user_id) == 0


def test_updating_with_a_malformed_abha_is_invalid_abha_and_changes_nothing(client, db, me):
    member = make_member(db, me.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    for body in (
        {"abha_number": "91 5101 6530 5101"},
        {"abha_address": "ravi@abdm"},
        {"name": "Asha R", "abha_address": "asha@example.com"},
    ):
        response = client.put(f"/member/{member.id}", json=body, headers=me.headers)
        assert_error(response, 422, "invalid_abha")
    assert stored(db, member.id) == (NUMBER, ADDRESS)
    assert db.get(Member, member.id).name == "Asha Rao"
    assert audit_entries(db, "member.updated", member.id) == []


def test_two_malformed_values_are_both_named(client, me):
    response = client.post(
        "/member",
        json=member_body(abha_number="123", abha_address="nobody"),
        headers=me.headers,
    )
    body = assert_error(response, 422, "invalid_abha")
    assert {d["field"] for d in body["details"]} == {"abha_number", "abha_address"}


# --- one person, one member per account -----------------------------------------------------


def test_two_live_members_of_an_account_cannot_share_an_abha(client, db, me):
    first = make_member(db, me.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    for same in ({"abha_number": NUMBER_DIGITS}, {"abha_address": ADDRESS.upper()}):
        response = client.post(
            "/member", json=member_body(name="Other", **same), headers=me.headers
        )
        assert_error(response, 409, "abha_in_use")
    assert member_count(db, me.user_id) == 1

    second = make_member(db, me.user_id, name="Vikram Rao", relation="child")
    for same in ({"abha_number": NUMBER}, {"abha_address": ADDRESS}):
        response = client.put(f"/member/{second.id}", json=same, headers=me.headers)
        assert_error(response, 409, "abha_in_use")
    assert stored(db, second.id) == (None, None)

    # The member itself may be sent its own ABHA again.
    response = client.put(
        f"/member/{first.id}",
        json={"abha_number": NUMBER, "abha_address": ADDRESS},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text


def test_a_deleted_member_or_another_account_does_not_hold_the_abha(client, db, me):
    other = login(client, OTHER)
    make_member(db, other.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    old = make_member(db, me.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    assert client.delete(f"/member/{old.id}", headers=me.headers).status_code == 204
    response = client.post(
        "/member",
        json=member_body(abha_number=NUMBER, abha_address=ADDRESS),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text


def test_another_users_member_is_not_found_and_keeps_its_abha(client, db, me):
    other = login(client, OTHER)
    theirs = make_member(db, other.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    assert_error(client.get(f"/member/{theirs.id}", headers=me.headers), 404, "member_not_found")
    response = client.put(f"/member/{theirs.id}", json={"abha_number": None}, headers=me.headers)
    assert_error(response, 404, "member_not_found")
    response = client.put(
        f"/member/{theirs.id}", json={"abha_address": "intruder90@abdm"}, headers=me.headers
    )
    assert_error(response, 404, "member_not_found")
    assert stored(db, theirs.id) == (NUMBER, ADDRESS)


# --- the audit, the export, erasure ---------------------------------------------------------


def test_the_audit_keeps_the_abha_masked(client, db, me):
    response = client.post(
        "/member",
        json=member_body(abha_number=NUMBER, abha_address=ADDRESS),
        headers=me.headers,
    )
    member_id = response.json()["id"]
    response = client.put(
        f"/member/{member_id}",
        json={"abha_number": "12345678901234", "abha_address": None},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text

    [created] = audit_entries(db, "member.created", member_id)
    assert created.changes is not None
    assert created.changes["abha_number"] == MASKED_NUMBER
    assert created.changes["abha_address"] == MASKED_ADDRESS
    [updated] = audit_entries(db, "member.updated", member_id)
    assert updated.changes == {
        "abha_number": {"old": MASKED_NUMBER, "new": "**-****-****-1234"},
        "abha_address": {"old": MASKED_ADDRESS, "new": None},
    }

    # What an admin reads: nothing of the full values.
    admin = login(client, ADMIN_PHONE)
    response = client.get(
        "/audit", params={"entity_type": "member", "entity_id": member_id}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    trail = response.text
    assert response.json()["items"]
    for full in (NUMBER, NUMBER_DIGITS, ADDRESS, "12-3456-7890-1234", "asha.rao"):
        assert full not in trail


def test_the_export_has_the_abha_in_full(client, db, me):
    response = client.post(
        "/member",
        json=member_body(abha_number=NUMBER_DIGITS, abha_address=ADDRESS),
        headers=me.headers,
    )
    member_id = response.json()["id"]
    response = client.get("/profile/export", headers=me.headers)
    assert response.status_code == 200, response.text
    [member] = [m for m in response.json()["members"] if m["id"] == member_id]
    assert (member["abha_number"], member["abha_address"]) == (NUMBER, ADDRESS)


def test_erasure_removes_the_abha_of_every_member(client, db, me):
    live = make_member(db, me.user_id, abha_number=NUMBER, abha_address=ADDRESS)
    deleted = make_member(
        db,
        me.user_id,
        name="Old",
        relation="child",
        abha_number="12-3456-7890-1234",
        abha_address="oldchild90@abdm",
    )
    assert client.delete(f"/member/{deleted.id}", headers=me.headers).status_code == 204

    code = request_code(client, ME)
    response = client.request("DELETE", "/profile", headers=me.headers, json={"otp": code})
    assert response.status_code == 200, response.text
    assert stored(db, live.id) == (None, None)
    assert stored(db, deleted.id) == (None, None)
