"""The user's snapshot in Redis: what authenticated requests read instead of the user row, and
how a committed change to the row reaches every replica at once."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.redis import get_redis
from Login_module.models import User
from Login_module.snapshot import STALE, UserSnapshot, remember_snapshot, snapshot_key
from tests.support.database import counting_statements
from tests.support.login import login, request_code

PHONE = "+919876500061"


@pytest.fixture(autouse=True)
def no_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests ask for codes for the same phone more than once."""
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def _user_reads(statements: list[str]) -> int:
    return sum("FROM users" in s for s in statements)


def test_the_first_request_stores_the_snapshot_and_the_next_reads_no_user_row(
    client: TestClient,
) -> None:
    user = login(client, PHONE)
    with counting_statements() as first:
        assert client.get("/profile", headers=user.headers).status_code == 200
    with counting_statements() as second:
        profile = client.get("/profile", headers=user.headers)
    assert (_user_reads(first), _user_reads(second)) == (1, 0)
    assert profile.json()["phone"] == PHONE
    stored = UserSnapshot.loads(get_redis().get(snapshot_key(user.user_id)))
    assert stored is not None and stored.id == user.user_id and stored.phone == PHONE


def test_a_profile_change_shows_at_once_and_an_older_copy_cannot_be_stored_back(
    client: TestClient, db: Session
) -> None:
    user = login(client, PHONE)
    assert client.get("/auth/me", headers=user.headers).json()["name"] is None
    # A request on another replica read the row just before the change commits...
    read_before = UserSnapshot.of(db.get(User, user.user_id))
    changed = client.put("/profile", headers=user.headers, json={"name": "Asha Rao"})
    assert changed.status_code == 200, changed.text
    assert get_redis().get(snapshot_key(user.user_id)) == STALE
    # ... and stores what it read after the commit: the marker keeps it out.
    remember_snapshot(read_before)
    assert client.get("/auth/me", headers=user.headers).json()["name"] == "Asha Rao"
    assert client.get("/profile", headers=user.headers).json()["name"] == "Asha Rao"


def test_logging_in_again_keeps_the_snapshot(client: TestClient) -> None:
    """`last_login_at` is not in the snapshot: a login does not make every replica re-read."""
    user = login(client, PHONE)
    assert client.get("/auth/me", headers=user.headers).status_code == 200
    again = login(client, PHONE)
    with counting_statements() as statements:
        assert client.get("/auth/me", headers=again.headers).status_code == 200
    assert _user_reads(statements) == 0


def test_a_refused_change_leaves_the_snapshot_alone(client: TestClient) -> None:
    user = login(client, PHONE)
    assert client.get("/auth/me", headers=user.headers).status_code == 200
    refused = client.put("/profile", headers=user.headers, json={"email": "not an email"})
    assert refused.status_code == 422
    assert UserSnapshot.loads(get_redis().get(snapshot_key(user.user_id))) is not None


def test_an_unreadable_entry_is_read_from_the_database(client: TestClient) -> None:
    user = login(client, PHONE)
    get_redis().set(snapshot_key(user.user_id), '{"id": "not a snapshot"')
    with counting_statements() as statements:
        me = client.get("/auth/me", headers=user.headers)
    assert me.status_code == 200 and me.json()["phone"] == PHONE
    assert _user_reads(statements) == 1


def test_an_erased_account_is_refused_whatever_its_snapshot_said(client: TestClient) -> None:
    user = login(client, PHONE)
    assert client.get("/auth/me", headers=user.headers).status_code == 200
    code = request_code(client, PHONE)
    erased = client.request("DELETE", "/profile", headers=user.headers, json={"otp": code})
    assert erased.status_code == 200, erased.text
    assert client.get("/auth/me", headers=user.headers).status_code == 401
    assert get_redis().get(snapshot_key(user.user_id)) == STALE
