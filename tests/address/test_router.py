"""`/address` through HTTP, as the apps use it."""

import pytest
from sqlalchemy import select

from Address_module.locations import load_serviceable_locations
from Address_module.models import Address, ServiceableLocation
from Audit_module.models import AuditLog
from tests.support.factories.address import make_address, make_location
from tests.support.http import assert_error
from tests.support.login import login

ME = "+919876500011"
OTHER = "+919876500012"


def address_body(**overrides: object) -> dict:
    return {
        "label": "home",
        "contact_name": "Ravi Kumar",
        "contact_phone": "98765 43210",
        "line1": "12, 4th Cross, Indiranagar",
        "city": "Bangalore",
        "state": "Karnataka",
        "pincode": "560038",
        **overrides,
    }


def audit_rows(db, action: str, entity_id: int) -> list[AuditLog]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditLog)
            .where(AuditLog.action == action, AuditLog.entity_id == str(entity_id))
            .order_by(AuditLog.id)
        )
    )


def defaults(db, user_id: int) -> list[int]:
    db.expire_all()
    return list(
        db.scalars(
            select(Address.id).where(
                Address.user_id == user_id,
                Address.is_default.is_(True),
                Address.is_deleted.is_(False),
            )
        )
    )


@pytest.fixture(autouse=True)
def locations(db) -> None:
    """The real seed: every city in data/serviceable_locations.csv."""
    load_serviceable_locations(db)


@pytest.fixture
def me(client):
    return login(client, ME)


# --- access ------------------------------------------------------------------------------------


def test_address_routes_need_a_login(client):
    assert_error(client.get("/address"), 401, "not_authenticated")
    assert_error(client.post("/address", json=address_body()), 401, "not_authenticated")
    assert_error(client.get("/address/1"), 401, "not_authenticated")
    assert_error(client.put("/address/1", json={"label": "work"}), 401, "not_authenticated")
    assert_error(client.delete("/address/1"), 401, "not_authenticated")
    assert_error(client.get("/address/admin/locations"), 401, "not_authenticated")


def test_admin_location_routes_are_forbidden_to_users(client, db, me):
    location = make_location(db, "BANGALORE")
    assert_error(client.get("/address/admin/locations", headers=me.headers), 403, "admin_required")
    response = client.post(
        "/address/admin/locations", json={"city": "Atlantis", "zone": "West"}, headers=me.headers
    )
    assert_error(response, 403, "admin_required")
    response = client.put(
        f"/address/admin/locations/{location.id}", json={"is_active": False}, headers=me.headers
    )
    assert_error(response, 403, "admin_required")
    db.expire_all()
    assert db.get(ServiceableLocation, location.id).is_active is True


# --- create ------------------------------------------------------------------------------------


def test_add_address_stores_canonical_city_state_and_phone_and_audits(client, db, me):
    response = client.post(
        "/address",
        json=address_body(city="  bangalore ", state=" KARNATAKA", landmark="Near the park"),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["city"] == "BANGALORE"
    assert body["state"] == "Karnataka"
    assert body["contact_phone"] == "+919876543210"
    assert body["pincode"] == "560038"
    assert body["landmark"] == "Near the park"
    assert body["line2"] is None and body["locality"] is None
    assert body["is_default"] is True
    [entry] = audit_rows(db, "address.created", body["id"])
    assert entry.actor_user_id == me.user_id
    assert entry.entity_type == "address"
    assert entry.changes["city"] == "BANGALORE"
    assert entry.changes["pincode"] == "560038"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("BANGALORE", "BANGALORE"),
        ("bAnGaLoRe", "BANGALORE"),
        ("  Bangalore  ", "BANGALORE"),
        ("solan tehsil   baddi", "Solan-Tehsil baddi"),
        ("SOLAN-TEHSIL-BADDI", "Solan-Tehsil baddi"),
    ],
)
def test_city_matches_ignoring_case_spaces_and_punctuation(client, me, typed, stored):
    pincode, state = (
        ("173205", "Himachal Pradesh") if "solan" in typed.lower() else ("560038", "Karnataka")
    )
    response = client.post(
        "/address", json=address_body(city=typed, state=state, pincode=pincode), headers=me.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["city"] == stored


@pytest.mark.parametrize(
    ("city", "state", "pincode", "stored_state"),
    [
        ("Delhi", "NCT of Delhi", "110001", "Delhi"),
        ("Delhi", "delhi", "110001", "Delhi"),
        ("Chennai", "tamil  nadu", "600001", "Tamil Nadu"),
        ("Chennai", "TN", "600001", "Tamil Nadu"),
        ("Srinagar", "J&K", "190001", "Jammu and Kashmir"),
        ("Pondicherry", "Pondicherry", "605001", "Puducherry"),
    ],
)
def test_common_state_spellings_are_stored_by_their_official_name(
    client, me, city, state, pincode, stored_state
):
    response = client.post(
        "/address",
        json=address_body(city=city, state=state, pincode=pincode),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["state"] == stored_state


@pytest.mark.parametrize(
    "pincode", ["056001", "56003", "5600381", "56003a", "", "999999", "560999"]
)
def test_add_address_with_a_bad_pincode_is_invalid_pincode(client, me, pincode):
    response = client.post("/address", json=address_body(pincode=pincode), headers=me.headers)
    body = assert_error(response, 422, "invalid_pincode")
    assert body["details"][0]["field"] == "pincode"


def test_add_address_with_a_pincode_of_another_state_is_a_mismatch(client, me):
    response = client.post(
        "/address", json=address_body(state="Tamil Nadu", pincode="560038"), headers=me.headers
    )
    assert_error(response, 422, "pincode_state_mismatch")


@pytest.mark.parametrize("state", ["Atlantis", "", "Bangalore", "x" * 65])
def test_add_address_with_an_unknown_state_is_invalid_state(client, me, state):
    response = client.post("/address", json=address_body(state=state), headers=me.headers)
    assert_error(response, 422, "invalid_state")


@pytest.mark.parametrize("city", ["Atlantis", "Springfield", "---"])
def test_add_address_in_an_unserviceable_city_is_refused(client, db, me, city):
    response = client.post("/address", json=address_body(city=city), headers=me.headers)
    assert_error(response, 422, "location_not_serviceable")
    db.expire_all()
    assert db.scalar(select(Address).where(Address.user_id == me.user_id)) is None


def test_add_address_in_a_switched_off_city_is_refused(client, db, me):
    location = make_location(db, "BANGALORE")
    location.is_active = False
    db.flush()
    response = client.post("/address", json=address_body(), headers=me.headers)
    assert_error(response, 422, "location_not_serviceable")


@pytest.mark.parametrize("phone", ["12345", "080 2222 3333", "not a phone"])
def test_add_address_with_a_bad_contact_phone_is_invalid_phone(client, me, phone):
    response = client.post("/address", json=address_body(contact_phone=phone), headers=me.headers)
    assert_error(response, 422, "invalid_phone")


@pytest.mark.parametrize(
    "overrides",
    [
        {"label": "office"},
        {"contact_name": ""},
        {"contact_name": "x" * 121},
        {"line1": "   "},
        {"line1": "x" * 201},
        {"landmark": "x" * 121},
        {"city": "x" * 121},
        {"is_default": "maybe"},
        {"user_id": 5},
    ],
)
def test_add_address_with_bad_fields_is_a_validation_error(client, me, overrides):
    response = client.post("/address", json=address_body(**overrides), headers=me.headers)
    assert_error(response, 422, "validation_error")


def test_add_address_with_missing_fields_is_a_validation_error(client, me):
    response = client.post("/address", json={"label": "home"}, headers=me.headers)
    body = assert_error(response, 422, "validation_error")
    fields = {detail["field"] for detail in body["details"]}
    assert {"contact_name", "contact_phone", "line1", "city", "state", "pincode"} <= fields


def test_address_limit_is_enforced(client, db, me, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_ADDRESSES_PER_USER", 2)
    make_address(db, me.user_id)
    deleted = make_address(db, me.user_id)
    deleted.is_deleted = True
    make_address(db, me.user_id, label="work")
    response = client.post("/address", json=address_body(), headers=me.headers)
    assert_error(response, 409, "address_limit_reached")


# --- default address ---------------------------------------------------------------------------


def test_first_address_is_the_default_and_later_ones_are_not(client, db, me):
    first = client.post("/address", json=address_body(), headers=me.headers).json()
    second = client.post("/address", json=address_body(label="work"), headers=me.headers).json()
    assert first["is_default"] is True
    assert second["is_default"] is False
    assert defaults(db, me.user_id) == [first["id"]]


def test_first_address_is_the_default_even_if_sent_as_not_default(client, me):
    response = client.post("/address", json=address_body(is_default=False), headers=me.headers)
    assert response.json()["is_default"] is True


def test_adding_a_default_address_clears_the_old_default(client, db, me):
    old = make_address(db, me.user_id)
    response = client.post("/address", json=address_body(is_default=True), headers=me.headers)
    new = response.json()
    assert new["is_default"] is True
    assert defaults(db, me.user_id) == [new["id"]]
    [entry] = audit_rows(db, "address.updated", old.id)
    assert entry.changes == {"is_default": {"old": True, "new": False}}


def test_setting_is_default_moves_the_default(client, db, me):
    first = make_address(db, me.user_id)
    second = make_address(db, me.user_id, label="work")
    response = client.put(f"/address/{second.id}", json={"is_default": True}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_default"] is True
    assert defaults(db, me.user_id) == [second.id]
    assert audit_rows(db, "address.updated", first.id)[-1].changes == {
        "is_default": {"old": True, "new": False}
    }
    assert audit_rows(db, "address.updated", second.id)[-1].changes == {
        "is_default": {"old": False, "new": True}
    }


def test_unsetting_the_default_hands_it_to_the_most_recent_other_address(client, db, me):
    first = make_address(db, me.user_id)
    second = make_address(db, me.user_id, label="work")
    third = make_address(db, me.user_id, label="other")
    response = client.put(f"/address/{first.id}", json={"is_default": False}, headers=me.headers)
    assert response.json()["is_default"] is False
    assert defaults(db, me.user_id) == [third.id]
    assert second.id not in defaults(db, me.user_id)


def test_the_only_address_stays_the_default(client, db, me):
    only = make_address(db, me.user_id)
    response = client.put(f"/address/{only.id}", json={"is_default": False}, headers=me.headers)
    assert response.json()["is_default"] is True
    assert defaults(db, me.user_id) == [only.id]


def test_deleting_the_default_promotes_the_most_recent_remaining_address(client, db, me):
    default = make_address(db, me.user_id)
    make_address(db, me.user_id, label="work")
    latest = make_address(db, me.user_id, label="other")
    assert client.delete(f"/address/{default.id}", headers=me.headers).status_code == 204
    assert defaults(db, me.user_id) == [latest.id]
    [entry] = audit_rows(db, "address.deleted", default.id)
    assert entry.changes["was_default"] is True


def test_deleting_another_address_keeps_the_default(client, db, me):
    default = make_address(db, me.user_id)
    other = make_address(db, me.user_id, label="work")
    assert client.delete(f"/address/{other.id}", headers=me.headers).status_code == 204
    assert defaults(db, me.user_id) == [default.id]


def test_deleting_the_last_address_leaves_no_default(client, db, me):
    only = make_address(db, me.user_id)
    assert client.delete(f"/address/{only.id}", headers=me.headers).status_code == 204
    assert defaults(db, me.user_id) == []
    response = client.post("/address", json=address_body(), headers=me.headers)
    assert response.json()["is_default"] is True


def test_defaults_are_per_user(client, db, me):
    other_user = login(client, OTHER)
    theirs = make_address(db, other_user.user_id)
    response = client.post("/address", json=address_body(is_default=True), headers=me.headers)
    assert response.status_code == 201
    assert defaults(db, other_user.user_id) == [theirs.id]


# --- read, update, delete ----------------------------------------------------------------------


def test_list_shows_my_addresses_default_first(client, db, me):
    other_user = login(client, OTHER)
    default = make_address(db, me.user_id)
    newer = make_address(db, me.user_id, label="work")
    make_address(db, me.user_id, label="other", is_deleted=True)
    make_address(db, other_user.user_id)
    response = client.get("/address", headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert (body["limit"], body["offset"]) == (20, 0)
    assert [item["id"] for item in body["items"]] == [default.id, newer.id]
    page = client.get("/address?limit=1&offset=1", headers=me.headers).json()
    assert [item["id"] for item in page["items"]] == [newer.id]


def test_get_my_address(client, db, me):
    address = make_address(db, me.user_id, line2="Second floor")
    response = client.get(f"/address/{address.id}", headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json()["line2"] == "Second floor"


def test_another_users_address_is_not_found_for_every_route(client, db, me):
    other_user = login(client, OTHER)
    theirs = make_address(db, other_user.user_id)
    url = f"/address/{theirs.id}"
    assert_error(client.get(url, headers=me.headers), 404, "address_not_found")
    response = client.put(url, json={"label": "work"}, headers=me.headers)
    assert_error(response, 404, "address_not_found")
    assert_error(client.delete(url, headers=me.headers), 404, "address_not_found")
    db.expire_all()
    stored = db.get(Address, theirs.id)
    assert (stored.label, stored.is_deleted) == ("home", False)


def test_a_deleted_address_is_not_found(client, db, me):
    address = make_address(db, me.user_id, is_deleted=True)
    url = f"/address/{address.id}"
    assert_error(client.get(url, headers=me.headers), 404, "address_not_found")
    response = client.put(url, json={"label": "work"}, headers=me.headers)
    assert_error(response, 404, "address_not_found")
    assert_error(client.delete(url, headers=me.headers), 404, "address_not_found")


def test_unknown_or_malformed_address_ids(client, me):
    assert_error(client.get("/address/999999", headers=me.headers), 404, "address_not_found")
    assert_error(client.get("/address/0", headers=me.headers), 422, "validation_error")
    assert_error(client.get(f"/address/{2**63}", headers=me.headers), 422, "validation_error")


def test_update_changes_only_the_fields_sent_and_audits_the_diff(client, db, me):
    address = make_address(db, me.user_id, landmark="Old landmark")
    response = client.put(
        f"/address/{address.id}",
        json={"label": "work", "landmark": None, "line2": "Floor 3"},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["label"], body["landmark"], body["line2"]) == ("work", None, "Floor 3")
    assert body["line1"] == "12, 4th Cross, Indiranagar"
    [entry] = audit_rows(db, "address.updated", address.id)
    assert entry.actor_user_id == me.user_id
    assert entry.changes == {
        "label": {"old": "home", "new": "work"},
        "landmark": {"old": "[redacted]", "new": None},
        "line2": {"old": None, "new": "[redacted]"},
    }


def test_update_without_changes_writes_no_audit_row(client, db, me):
    address = make_address(db, me.user_id)
    response = client.put(f"/address/{address.id}", json={"label": "home"}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert audit_rows(db, "address.updated", address.id) == []


def test_update_moving_city_state_and_pincode_together(client, db, me):
    address = make_address(db, me.user_id)
    response = client.put(
        f"/address/{address.id}",
        json={"city": "chennai", "state": "tamil nadu", "pincode": "600001"},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["city"], body["state"], body["pincode"]) == ("CHENNAI", "Tamil Nadu", "600001")


def test_update_pincode_alone_is_checked_against_the_stored_state(client, db, me):
    address = make_address(db, me.user_id)
    response = client.put(f"/address/{address.id}", json={"pincode": "600001"}, headers=me.headers)
    assert_error(response, 422, "pincode_state_mismatch")
    response = client.put(f"/address/{address.id}", json={"pincode": "560001"}, headers=me.headers)
    assert response.status_code == 200, response.text


def test_update_state_alone_is_checked_against_the_stored_pincode(client, db, me):
    address = make_address(db, me.user_id)
    response = client.put(f"/address/{address.id}", json={"state": "Kerala"}, headers=me.headers)
    assert_error(response, 422, "pincode_state_mismatch")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"pincode": "012345"}, "invalid_pincode"),
        ({"pincode": "999999"}, "invalid_pincode"),
        ({"state": "Narnia"}, "invalid_state"),
        ({"city": "Atlantis"}, "location_not_serviceable"),
        ({"contact_phone": "123"}, "invalid_phone"),
        ({"line1": None}, "validation_error"),
        ({"city": None}, "validation_error"),
        ({"is_default": None}, "validation_error"),
        ({"label": "office"}, "validation_error"),
        ({"owner": 1}, "validation_error"),
    ],
)
def test_update_with_bad_values_is_refused(client, db, me, body, code):
    address = make_address(db, me.user_id)
    response = client.put(f"/address/{address.id}", json=body, headers=me.headers)
    assert_error(response, 422, code)
    db.expire_all()
    assert db.get(Address, address.id).city == "BANGALORE"


def test_an_address_in_a_city_switched_off_later_can_still_be_edited(client, db, me):
    address = make_address(db, me.user_id)
    make_location(db, "BANGALORE").is_active = False
    db.flush()
    response = client.put(
        f"/address/{address.id}", json={"landmark": "Opposite the temple"}, headers=me.headers
    )
    assert response.status_code == 200, response.text
    response = client.put(f"/address/{address.id}", json={"city": "Bangalore"}, headers=me.headers)
    assert_error(response, 422, "location_not_serviceable")


def test_delete_is_a_soft_delete_and_audited(client, db, me):
    address = make_address(db, me.user_id)
    response = client.delete(f"/address/{address.id}", headers=me.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    db.expire_all()
    stored = db.get(Address, address.id)
    assert stored.is_deleted is True
    assert stored.deleted_at is not None
    [entry] = audit_rows(db, "address.deleted", address.id)
    assert entry.actor_user_id == me.user_id
    assert_error(client.get(f"/address/{address.id}", headers=me.headers), 404, "address_not_found")
    assert client.get("/address", headers=me.headers).json()["total"] == 0


# --- serviceability ----------------------------------------------------------------------------


def test_serviceability_is_public_and_describes_the_city(client):
    response = client.get("/address/serviceability", params={"city": "bangalore"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "serviceable": True,
        "home_collection": True,
        "sample_pickup": True,
        "zone": "South",
        "city": "BANGALORE",
    }


def test_serviceability_of_a_pickup_only_city(client, me):
    response = client.get(
        "/address/serviceability", params={"city": " belgaum "}, headers=me.headers
    )
    body = response.json()
    assert (body["serviceable"], body["home_collection"], body["sample_pickup"]) == (
        True,
        False,
        True,
    )
    assert body["zone"] == "South"


@pytest.mark.parametrize("city", ["Atlantis", "---"])
def test_serviceability_of_an_unknown_city(client, city):
    response = client.get("/address/serviceability", params={"city": city})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "serviceable": False,
        "home_collection": False,
        "sample_pickup": False,
        "zone": None,
        "city": None,
    }


def test_serviceability_of_a_switched_off_city(client, db):
    make_location(db, "BANGALORE").is_active = False
    db.flush()
    response = client.get("/address/serviceability", params={"city": "Bangalore"})
    assert response.json()["serviceable"] is False


def test_serviceability_checks_a_given_pincode(client):
    response = client.get(
        "/address/serviceability", params={"city": "Bangalore", "pincode": "560038"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["serviceable"] is True
    for pincode in ("012345", "999999", "12"):
        response = client.get(
            "/address/serviceability", params={"city": "Bangalore", "pincode": pincode}
        )
        assert_error(response, 422, "invalid_pincode")


def test_serviceability_needs_a_city(client):
    assert_error(client.get("/address/serviceability"), 422, "validation_error")
    response = client.get("/address/serviceability", params={"city": "x" * 121})
    assert_error(response, 422, "validation_error")


# --- admin: serviceable locations --------------------------------------------------------------


def test_admin_lists_locations_paginated_and_searchable(client, admin):
    response = client.get("/address/admin/locations?limit=5", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 374
    assert len(body["items"]) == 5
    assert {"id", "city", "zone", "home_collection", "sample_pickup", "is_active"} <= set(
        body["items"][0]
    )
    found = client.get("/address/admin/locations?q=solan", headers=admin.headers).json()
    assert [item["city"] for item in found["items"]] == ["SOLAN", "Solan-Tehsil baddi"]


def test_admin_filters_locations_by_active(client, db, admin):
    make_location(db, "BANGALORE").is_active = False
    db.flush()
    body = client.get("/address/admin/locations?is_active=false", headers=admin.headers).json()
    assert [item["city"] for item in body["items"]] == ["BANGALORE"]


def test_admin_adds_a_location_which_becomes_serviceable(client, db, admin):
    response = client.post(
        "/address/admin/locations",
        json={"city": "  Port  Blair ", "zone": "East", "home_collection": True},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["city"] == "Port Blair"
    assert (body["home_collection"], body["sample_pickup"], body["is_active"]) == (
        True,
        True,
        True,
    )
    [entry] = audit_rows(db, "serviceable_location.created", body["id"])
    assert entry.actor_user_id == admin.user_id
    assert entry.changes["city"] == "Port Blair"
    check = client.get("/address/serviceability", params={"city": "port blair"}).json()
    assert check["serviceable"] is True and check["zone"] == "East"


@pytest.mark.parametrize("city", ["bangalore", "BANGALORE", " Bangalore. "])
def test_admin_cannot_add_a_city_twice(client, admin, city):
    response = client.post(
        "/address/admin/locations", json={"city": city, "zone": "South"}, headers=admin.headers
    )
    assert_error(response, 409, "location_exists")


@pytest.mark.parametrize(
    "body",
    [{"city": "---", "zone": "East"}, {"city": "", "zone": "East"}, {"city": "X"}, {"zone": "E"}],
)
def test_admin_add_location_with_bad_fields_is_a_validation_error(client, admin, body):
    response = client.post("/address/admin/locations", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")


def test_admin_switches_a_location_off_and_audits_it(client, db, admin, me):
    location = make_location(db, "BANGALORE")
    response = client.put(
        f"/address/admin/locations/{location.id}",
        json={"is_active": False, "zone": "Central"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["is_active"], response.json()["zone"]) == (False, "Central")
    [entry] = audit_rows(db, "serviceable_location.updated", location.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {
        "zone": {"old": "South", "new": "Central"},
        "is_active": {"old": True, "new": False},
    }
    response = client.post("/address", json=address_body(), headers=me.headers)
    assert_error(response, 422, "location_not_serviceable")


def test_admin_renames_a_location_and_it_matches_by_the_new_name(client, db, admin):
    location = make_location(db, "BANGALORE")
    response = client.put(
        f"/address/admin/locations/{location.id}", json={"city": "Bengaluru"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert client.get("/address/serviceability", params={"city": "bengaluru"}).json()["serviceable"]
    assert not client.get("/address/serviceability", params={"city": "bangalore"}).json()[
        "serviceable"
    ]


def test_admin_cannot_rename_a_location_onto_another(client, db, admin):
    location = make_location(db, "BANGALORE")
    response = client.put(
        f"/address/admin/locations/{location.id}", json={"city": "mumbai"}, headers=admin.headers
    )
    assert_error(response, 409, "location_exists")
    response = client.put(
        f"/address/admin/locations/{location.id}",
        json={"city": "bangalore"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["city"] == "bangalore"


def test_admin_update_of_an_unknown_location_is_not_found(client, admin):
    response = client.put(
        "/address/admin/locations/999999", json={"is_active": False}, headers=admin.headers
    )
    assert_error(response, 404, "location_not_found")


@pytest.mark.parametrize("body", [{"is_active": None}, {"city": "..."}, {"extra": 1}])
def test_admin_update_with_bad_fields_is_a_validation_error(client, db, admin, body):
    location = make_location(db, "BANGALORE")
    response = client.put(
        f"/address/admin/locations/{location.id}", json=body, headers=admin.headers
    )
    assert_error(response, 422, "validation_error")
