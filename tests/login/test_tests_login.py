"""The tests' `login` (tests/support/login.py) opens the session without the code's round trip;
what it leaves must be what a real login through verify-otp leaves, or every test built on it
would test something else."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.login.support import audit_rows, claims_of
from tests.support.login import ADMIN_PHONE, LoggedIn, login, login_by_otp

REAL, QUICK = "+919876530001", "+919876530002"
DEVICE = {"device_id": "pixel-8-a1", "device_name": "Pixel 8", "device_platform": "android"}


def sessions(client: TestClient, who: LoggedIn) -> list[dict[str, Any]]:
    answer = client.get("/sessions", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return [
        {k: v for k, v in s.items() if k not in ("id", "created_at", "last_active")}
        for s in answer.json()["sessions"]
    ]


def login_audit(db: Session, user_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    """The user's entries with what they say, the session id left out (it differs)."""
    return [
        (row.action, {k: v for k, v in (row.changes or {}).items() if k != "session_id"})
        for row in audit_rows(db)
        if row.actor_user_id == user_id
    ]


def test_the_tests_login_leaves_what_verify_otp_leaves(client: TestClient, db: Session) -> None:
    real = login_by_otp(client, REAL, **DEVICE)
    quick = login(client, QUICK, **DEVICE)

    assert quick.body.keys() == real.body.keys()
    assert quick.body["user"] == {**real.body["user"], "id": quick.user_id, "phone": QUICK}
    assert quick.body["user"]["is_new_user"] is True
    assert quick.body["expires_in"] == real.body["expires_in"]
    for kind in ("access_token", "refresh_token"):
        real_claims, quick_claims = claims_of(real.body[kind]), claims_of(quick.body[kind])
        assert quick_claims.keys() == real_claims.keys()
        assert (quick_claims["role"], quick_claims["type"]) == (real_claims["role"], kind[:-6])
    assert client.get("/auth/me", headers=quick.headers).json()["phone"] == QUICK
    assert sessions(client, quick) == sessions(client, real)
    # The same entries, but for the code's own (sent, verified), which name the phone only.
    assert login_audit(db, quick.user_id) == login_audit(db, real.user_id)
    assert {row.action for row in audit_rows(db) if row.actor_user_id is None} == {
        "otp.sent",
        "otp.verified",
    }

    # A second login finds the same user; the refresh token works; ADMIN_PHONES makes an admin.
    again = login(client, QUICK)
    assert (again.user_id, again.body["user"]["is_new_user"]) == (quick.user_id, False)
    refreshed = client.post("/auth/refresh", json={"refresh_token": again.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    admin = login(client, ADMIN_PHONE)
    assert admin.body["user"]["role"] == "admin"
    assert client.get("/auth/me", headers=admin.headers).json()["role"] == "admin"
