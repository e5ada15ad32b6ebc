"""Personal values stay out of the audit trail every admin reads: member, address and profile
changes name the fields that changed; phones are masked."""

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories.address import make_location
from tests.support.login import ADMIN_PHONE, LoggedIn, login_by_otp

PHONE = "+919876500061"
MEMBER_PHONE = "+919812345678"
NEW_MEMBER_PHONE = "+919823456789"
CONTACT_PHONE = "+919834567890"
NEW_CONTACT_PHONE = "+919845678901"
PERSONAL = [
    "Sunita Venkataraman",
    "Sunita V. Rao",
    "1961-04-17",
    "1961-05-18",
    "Prakash Iyer",
    "Meera Iyer",
    "221B, Lavelle Road",
    "Flat 9, Koramangala 5th Block",
    "Behind the temple",
    "Near Cubbon Park",
    "Ashok Nagar",
    "Asha Menon",
    "asha.menon@example.com",
    "1990-02-03",
]
FULL_PHONES = [PHONE, MEMBER_PHONE, NEW_MEMBER_PHONE, CONTACT_PHONE, NEW_CONTACT_PHONE]


def admin_trail(client: TestClient, user: LoggedIn) -> list[dict]:
    admin = login_by_otp(client, ADMIN_PHONE)
    response = client.get(
        "/audit", params={"actor_user_id": user.user_id, "limit": 100}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def entry(trail: list[dict], action: str) -> dict:
    [found] = [item for item in trail if item["action"] == action]
    return found["changes"]


def test_member_address_and_profile_changes_keep_no_personal_values_in_the_audit(
    client: TestClient, db: Session
) -> None:
    make_location(db, "BANGALORE")
    user = login_by_otp(client, PHONE)
    member = client.post(
        "/member",
        json={
            "name": "Sunita Venkataraman",
            "relation": "parent",
            "date_of_birth": "1961-04-17",
            "gender": "female",
            "phone": MEMBER_PHONE,
        },
        headers=user.headers,
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    updated = client.put(
        f"/member/{member_id}",
        json={"name": "Sunita V. Rao", "date_of_birth": "1961-05-18", "phone": NEW_MEMBER_PHONE},
        headers=user.headers,
    )
    assert updated.status_code == 200, updated.text
    address = client.post(
        "/address",
        json={
            "label": "home",
            "contact_name": "Prakash Iyer",
            "contact_phone": CONTACT_PHONE,
            "line1": "221B, Lavelle Road",
            "landmark": "Near Cubbon Park",
            "locality": "Ashok Nagar",
            "city": "Bangalore",
            "state": "Karnataka",
            "pincode": "560001",
        },
        headers=user.headers,
    )
    assert address.status_code == 201, address.text
    moved = client.put(
        f"/address/{address.json()['id']}",
        json={
            "contact_name": "Meera Iyer",
            "contact_phone": NEW_CONTACT_PHONE,
            "line1": "Flat 9, Koramangala 5th Block",
            "landmark": "Behind the temple",
            "pincode": "560034",
        },
        headers=user.headers,
    )
    assert moved.status_code == 200, moved.text
    profile = client.put(
        "/profile",
        json={
            "name": "Asha Menon",
            "email": "asha.menon@example.com",
            "date_of_birth": "1990-02-03",
            "gender": "female",
        },
        headers=user.headers,
    )
    assert profile.status_code == 200, profile.text
    deleted = client.delete(f"/member/{member_id}", headers=user.headers)
    assert deleted.status_code == 204, deleted.text

    trail = admin_trail(client, user)
    text = json.dumps(trail)
    for value in PERSONAL + FULL_PHONES:
        assert value not in text, value

    assert entry(trail, "member.created") == {
        "name": "[redacted]",
        "relation": "parent",
        "date_of_birth": "[redacted]",
        "gender": "female",
        "phone": "+91******5678",
    }
    assert entry(trail, "member.updated") == {
        "name": {"old": "[redacted]", "new": "[redacted]"},
        "date_of_birth": {"old": "[redacted]", "new": "[redacted]"},
        "phone": {"old": "+91******5678", "new": "+91******6789"},
    }
    assert entry(trail, "member.deleted") == {"name": "[redacted]", "relation": "parent"}
    created = entry(trail, "address.created")
    assert created["contact_name"] == "[redacted]"
    assert created["contact_phone"] == "+91******7890"
    assert created["line1"] == created["landmark"] == created["locality"] == "[redacted]"
    assert created["line2"] is None  # not given: still visible as not set
    assert (created["city"], created["state"], created["pincode"], created["label"]) == (
        "BANGALORE",
        "Karnataka",
        "560001",
        "home",
    )
    assert entry(trail, "address.updated") == {
        "contact_name": {"old": "[redacted]", "new": "[redacted]"},
        "contact_phone": {"old": "+91******7890", "new": "+91******8901"},
        "line1": {"old": "[redacted]", "new": "[redacted]"},
        "landmark": {"old": "[redacted]", "new": "[redacted]"},
        "pincode": {"old": "560001", "new": "560034"},
    }
    # The user's own non-personal profile fields keep old and new values.
    assert entry(trail, "profile.updated") == {
        "name": {"old": None, "new": "[redacted]"},
        "email": {"old": None, "new": "[redacted]"},
        "date_of_birth": {"old": None, "new": "[redacted]"},
        "gender": {"old": None, "new": "female"},
    }


def test_the_users_own_trail_keeps_no_personal_values_either(client: TestClient) -> None:
    user = login_by_otp(client, PHONE)
    client.put("/profile", json={"name": "Asha Menon"}, headers=user.headers)
    response = client.get("/audit/me", headers=user.headers)
    assert response.status_code == 200, response.text
    text = json.dumps(response.json())
    assert "Asha Menon" not in text and PHONE not in text
