"""GET /audit (admin) and GET /audit/me through HTTP, and what the login flow leaves in it."""

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login_by_otp, request_code

PHONE = "+919876500051"
OTHER_PHONE = "+919876500052"
ENTRY_FIELDS = {
    "id",
    "actor_user_id",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "ip",
    "user_agent",
    "request_id",
    "created_at",
}


def search(client: TestClient, admin: LoggedIn, **params: object) -> dict:
    response = client.get("/audit", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def add_entries(db: Session, *entries: dict) -> list[int]:
    """Audit rows written straight to the table, with chosen timestamps."""
    rows = [AuditLog(**entry) for entry in entries]
    db.add_all(rows)
    db.commit()
    return [row.id for row in rows]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


# --- access ---------------------------------------------------------------------------------


def test_audit_search_needs_a_token(client: TestClient) -> None:
    assert_error(client.get("/audit"), 401, "not_authenticated")
    assert_error(client.get("/audit/me"), 401, "not_authenticated")


def test_audit_search_is_for_admins_only(client: TestClient) -> None:
    user = login_by_otp(client, PHONE)
    assert_error(client.get("/audit", headers=user.headers), 403, "admin_required")
    assert_error(
        client.get("/audit", params={"actor_user_id": user.user_id}, headers=user.headers),
        403,
        "admin_required",
    )


def test_admin_sees_the_whole_trail(client: TestClient, admin: LoggedIn) -> None:
    user = login_by_otp(client, PHONE)
    body = search(client, admin, limit=100)
    assert set(body) == {"items", "total", "limit", "offset"}
    assert body["total"] == len(body["items"])
    assert {item["actor_user_id"] for item in body["items"]} >= {admin.user_id, user.user_id}
    for item in body["items"]:
        assert set(item) == ENTRY_FIELDS
    created = [i["created_at"] for i in body["items"]]
    assert created == sorted(created, reverse=True)


# --- filters --------------------------------------------------------------------------------


def test_filter_by_entity(client: TestClient, admin: LoggedIn, db: Session) -> None:
    add_entries(
        db,
        {"action": "order.created", "entity_type": "order", "entity_id": "7", "created_at": at(1)},
        {"action": "order.paid", "entity_type": "order", "entity_id": "7", "created_at": at(2)},
        {"action": "order.created", "entity_type": "order", "entity_id": "8", "created_at": at(3)},
        {"action": "cart.cleared", "entity_type": "cart", "entity_id": "7", "created_at": at(4)},
    )
    orders = search(client, admin, entity_type="order")
    assert orders["total"] == 3
    order_7 = search(client, admin, entity_type="order", entity_id="7")
    assert [i["action"] for i in order_7["items"]] == ["order.paid", "order.created"]
    assert search(client, admin, entity_id="7")["total"] == 3
    assert search(client, admin, entity_type="nothing")["total"] == 0


def test_filter_by_actor_and_action(client: TestClient, admin: LoggedIn) -> None:
    user = login_by_otp(client, PHONE)
    client.put("/profile", json={"name": "Asha"}, headers=user.headers)
    mine = search(client, admin, actor_user_id=user.user_id, limit=100)
    assert mine["total"] >= 4
    assert {i["actor_user_id"] for i in mine["items"]} == {user.user_id}
    assert {"user.created", "session.created", "auth.login", "profile.updated"} <= {
        i["action"] for i in mine["items"]
    }
    updated = search(client, admin, action="profile.updated")
    assert updated["total"] == 1
    [entry] = updated["items"]
    assert entry["changes"] == {"name": {"old": None, "new": "[redacted]"}}
    assert entry["entity_type"] == "user" and entry["entity_id"] == str(user.user_id)
    both = search(client, admin, action="auth.login", actor_user_id=admin.user_id)
    assert both["total"] == 1


def test_filter_by_time_range(client: TestClient, admin: LoggedIn, db: Session) -> None:
    add_entries(
        db,
        *(
            {
                "action": "test.tick",
                "entity_type": "clock",
                "entity_id": str(day),
                "created_at": at(day),
            }
            for day in (1, 2, 3, 4)
        ),
    )

    def days(**params: object) -> list[str]:
        body = search(client, admin, action="test.tick", **params)
        return [i["entity_id"] for i in body["items"]]

    assert days() == ["4", "3", "2", "1"]
    assert days(**{"from": at(2).isoformat()}) == ["4", "3", "2"]
    assert days(to=at(3).isoformat()) == ["3", "2", "1"]
    assert days(**{"from": at(2).isoformat(), "to": at(3).isoformat()}) == ["3", "2"]
    # Offsets other than UTC mean the same instant: 17:30 in Kolkata is 12:00 UTC.
    assert days(**{"from": "2024-03-03T17:30:00+05:30"}) == ["4", "3"]
    assert days(**{"from": "2024-03-03T17:30:01+05:30"}) == ["4"]
    assert days(**{"from": at(5).isoformat()}) == []


def test_time_filters_need_an_offset(client: TestClient, admin: LoggedIn) -> None:
    response = client.get("/audit", params={"from": "2024-03-01T00:00:00"}, headers=admin.headers)
    body = assert_error(response, 422, "validation_error")
    assert body["details"][0]["field"] == "from"
    assert_error(
        client.get("/audit", params={"to": "yesterday"}, headers=admin.headers),
        422,
        "validation_error",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"actor_user_id": "abc"},
        {"actor_user_id": 0},
        {"entity_type": "x" * 65},
        {"action": "y" * 65},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
    ],
)
def test_bad_filters_are_validation_errors(
    client: TestClient, admin: LoggedIn, params: dict
) -> None:
    response = client.get("/audit", params=params, headers=admin.headers)
    assert_error(response, 422, "validation_error")


def test_results_are_paginated(client: TestClient, admin: LoggedIn, db: Session) -> None:
    ids = add_entries(
        db,
        *(
            {"action": "test.page", "entity_type": "page", "entity_id": str(n), "created_at": at(1)}
            for n in range(25)
        ),
    )
    first = search(client, admin, action="test.page")
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (25, 20, 0, 20)
    rest = search(client, admin, action="test.page", offset=20)
    assert (rest["offset"], len(rest["items"])) == (20, 5)
    page = search(client, admin, action="test.page", limit=10, offset=10)
    assert len(page["items"]) == 10
    # Same timestamp: newest id first, and pages do not overlap.
    seen = [i["id"] for i in first["items"] + rest["items"]]
    assert seen == sorted(ids, reverse=True)
    assert search(client, admin, action="test.page", offset=100)["items"] == []


# --- /audit/me ------------------------------------------------------------------------------


def test_my_trail_shows_only_what_i_did(client: TestClient, db: Session) -> None:
    user = login_by_otp(client, PHONE)
    other = login_by_otp(client, OTHER_PHONE)
    client.put("/profile", json={"name": "Asha"}, headers=user.headers)
    client.put("/profile", json={"name": "Bina"}, headers=other.headers)
    add_entries(
        db, {"action": "system.note", "entity_type": "user", "entity_id": str(user.user_id)}
    )
    response = client.get("/audit/me", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {i["actor_user_id"] for i in body["items"]} == {user.user_id}
    actions = [i["action"] for i in body["items"]]
    assert actions[0] == "profile.updated"
    assert {"user.created", "session.created", "auth.login"} <= set(actions)
    assert "system.note" not in actions
    assert body["total"] == len(body["items"])
    assert all("Bina" not in json.dumps(i) for i in body["items"])


def test_my_trail_is_paginated(client: TestClient) -> None:
    user = login_by_otp(client, PHONE)
    for n in range(3):
        client.put("/profile", json={"name": f"Name {n}"}, headers=user.headers)
    body = client.get("/audit/me", params={"limit": 2}, headers=user.headers).json()
    assert (body["limit"], body["offset"], len(body["items"])) == (2, 0, 2)
    assert body["total"] >= 6
    assert_error(
        client.get("/audit/me", params={"limit": 1000}, headers=user.headers),
        422,
        "validation_error",
    )


# --- what login leaves in the trail ---------------------------------------------------------


def test_otp_events_are_listed_with_masked_phones(client: TestClient, admin: LoggedIn) -> None:
    code = request_code(client, PHONE)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    client.post("/auth/verify-otp", json={"phone": PHONE, "otp": bad})
    client.post("/auth/verify-otp", json={"phone": PHONE, "otp": code})
    body = search(client, admin, entity_type="phone", entity_id="+91******0051")
    assert [i["action"] for i in body["items"]] == ["otp.verified", "otp.failed", "otp.sent"]
    for item in body["items"]:
        assert item["actor_user_id"] is None
        assert item["changes"]["phone"] == "+91******0051"
        assert item["ip"] == "testclient"
        assert item["request_id"]
    everything = json.dumps(search(client, admin, limit=100)["items"])
    assert "9876500051" not in everything
    assert "9000000001" not in everything  # the admin's own phone


def test_refused_attempts_stay_in_the_trail(client: TestClient, admin: LoggedIn) -> None:
    code = request_code(client, PHONE)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        client.post("/auth/verify-otp", json={"phone": PHONE, "otp": bad})
    assert client.post("/auth/send-otp", json={"phone": PHONE}).status_code == 429
    failed = search(client, admin, action="otp.failed")
    assert failed["total"] == 4
    blocked = search(client, admin, action="otp.blocked")
    reasons = sorted(i["changes"]["reason"] for i in blocked["items"])
    assert reasons == ["attempts_exceeded", "send_rate_limited"]


def test_session_events_are_listed(client: TestClient, admin: LoggedIn) -> None:
    user = login_by_otp(client, PHONE, device_name="Pixel", device_platform="android")
    client.post("/auth/logout", headers=user.headers)
    created = search(client, admin, action="session.created", actor_user_id=user.user_id)
    [entry] = created["items"]
    assert entry["entity_type"] == "device_session"
    assert entry["changes"] == {"device_name": "[redacted]", "device_platform": "android"}
    revoked = search(client, admin, action="session.revoked", entity_id=entry["entity_id"])
    assert revoked["items"][0]["changes"]["reason"] == "logout"


def test_audit_rows_record_request_id_and_user_agent(client: TestClient, admin: LoggedIn) -> None:
    user = login_by_otp(client, PHONE)
    client.put(
        "/profile",
        json={"gender": "female"},
        headers={**user.headers, "X-Request-ID": "req-audit-7", "User-Agent": "Nucleotide-Web/3"},
    )
    [entry] = search(client, admin, action="profile.updated")["items"]
    assert entry["request_id"] == "req-audit-7"
    assert entry["user_agent"] == "Nucleotide-Web/3"
    assert entry["created_at"].endswith(("+00:00", "Z"))
