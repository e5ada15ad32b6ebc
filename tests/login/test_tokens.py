"""Access and refresh tokens through HTTP: /auth/me, /auth/refresh, /auth/logout."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.clock import utcnow
from Login_module.models import DeviceSession, User
from tests.login.support import audit_rows, bearer, claims_of, forge
from tests.support.http import assert_error
from tests.support.login import login, request_code

PHONE = "+919876500011"


def me(client: TestClient, token: str):
    return client.get("/auth/me", headers=bearer(token))


def refresh(client: TestClient, token: str):
    return client.post("/auth/refresh", json={"refresh_token": token})


# --- /auth/me and what a token carries ------------------------------------------------------


def test_me_returns_the_current_user(client: TestClient) -> None:
    user = login(client, PHONE)
    response = client.get("/auth/me", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": user.user_id, "phone": PHONE, "name": None, "role": "user"}


def test_tokens_carry_the_spec_claims(client: TestClient, settings: Settings) -> None:
    user = login(client, PHONE)
    access = claims_of(user.access_token)
    assert set(access) == {"sub", "sid", "role", "type", "iat", "exp", "jti"}
    assert access["sub"] == str(user.user_id)
    assert access["type"] == "access" and access["role"] == "user"
    assert access["exp"] - access["iat"] == settings.ACCESS_TOKEN_EXPIRE_SECONDS
    refresh_claims = claims_of(user.refresh_token)
    assert refresh_claims["type"] == "refresh"
    assert refresh_claims["sid"] == access["sid"]
    assert refresh_claims["jti"] != access["jti"]


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.get("/auth/me")
    assert_error(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def test_non_bearer_scheme_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    response = client.get("/auth/me", headers={"Authorization": f"Basic {user.access_token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer", "x" * 3000])
def test_garbage_token_is_401(client: TestClient, token: str) -> None:
    assert_error(me(client, token), 401, "token_invalid")


def test_token_signed_with_another_key_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    forged = forge(claims_of(user.access_token), key="another-key-" + "x" * 40)
    assert_error(me(client, forged), 401, "token_invalid")


def test_alg_none_token_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    forged = forge(claims_of(user.access_token), algorithm="none")
    assert_error(me(client, forged), 401, "token_invalid")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_hs512_token_with_the_right_key_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    forged = forge(claims_of(user.access_token), algorithm="HS512")
    assert_error(me(client, forged), 401, "token_invalid")


def test_admin_role_claim_in_a_token_grants_nothing(client: TestClient) -> None:
    """The role comes from ADMIN_PHONES on each request, never from the token."""
    user = login(client, PHONE)
    claims = {**claims_of(user.access_token), "role": "admin"}
    forged = forge(claims)  # even correctly signed
    assert client.get("/auth/me", headers=bearer(forged)).json()["role"] == "user"
    assert_error(client.get("/audit", headers=bearer(forged)), 403, "admin_required")


@pytest.mark.parametrize("missing", ["sub", "sid", "type", "exp", "iat", "jti"])
def test_token_missing_a_required_claim_is_401(client: TestClient, missing: str) -> None:
    user = login(client, PHONE)
    claims = claims_of(user.access_token)
    del claims[missing]
    assert_error(me(client, forge(claims)), 401, "token_invalid")


def test_token_with_non_numeric_subject_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    claims = {**claims_of(user.access_token), "sub": "admin"}
    assert_error(me(client, forge(claims)), 401, "token_invalid")


def test_token_for_another_users_session_is_401(client: TestClient) -> None:
    """A correctly signed token whose session belongs to someone else is refused."""
    alice = login(client, PHONE)
    bob = login(client, "+919876500012")
    claims = {**claims_of(alice.access_token), "sid": claims_of(bob.access_token)["sid"]}
    assert me(client, forge(claims)).status_code == 401


def test_token_for_an_unknown_session_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    claims = {**claims_of(user.access_token), "sid": 999_999}
    assert_error(me(client, forge(claims)), 401, "session_revoked")


def test_expired_token_is_401_token_expired(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ACCESS_TOKEN_EXPIRE_SECONDS", -10)
    user = login(client, PHONE)
    assert_error(me(client, user.access_token), 401, "token_expired")


def test_token_expired_by_the_clock_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    now = int(time.time())
    claims = {**claims_of(user.access_token), "iat": now - 100, "exp": now - 1}
    assert_error(me(client, forge(claims)), 401, "token_expired")


def test_a_token_already_verified_still_expires_on_time(client: TestClient) -> None:
    user = login(client, PHONE)
    now = int(time.time())
    token = forge({**claims_of(user.access_token), "iat": now - 100, "exp": now + 2})
    assert me(client, token).status_code == 200  # verified once, then remembered
    time.sleep(2.1)
    assert_error(me(client, token), 401, "token_expired")


def test_a_remembered_token_is_refused_once_the_signing_key_changes(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = login(client, PHONE)
    assert me(client, user.access_token).status_code == 200
    another_key = type(settings.SECRET_KEY)("another-key-" + "x" * 40)
    monkeypatch.setattr(settings, "SECRET_KEY", another_key)
    assert_error(me(client, user.access_token), 401, "token_invalid")


def test_refresh_token_used_as_access_token_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    assert_error(me(client, user.refresh_token), 401, "token_invalid")


def test_access_token_used_as_refresh_token_is_401(client: TestClient) -> None:
    user = login(client, PHONE)
    assert_error(refresh(client, user.access_token), 401, "token_invalid")
    # The session survives a confused client.
    assert me(client, user.access_token).status_code == 200


def test_refresh_needs_a_token(client: TestClient) -> None:
    assert_error(client.post("/auth/refresh", json={}), 422, "validation_error")
    assert_error(client.post("/auth/refresh", json={"refresh_token": ""}), 422, "validation_error")
    assert_error(refresh(client, "garbage"), 401, "token_invalid")


def test_expired_refresh_token_is_401(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "REFRESH_TOKEN_EXPIRE_SECONDS", -10)
    user = login(client, PHONE)
    assert_error(refresh(client, user.refresh_token), 401, "token_expired")


# --- logout ---------------------------------------------------------------------------------


def test_logout_revokes_the_token_at_once(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    response = client.post("/auth/logout", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(me(client, user.access_token), 401, "session_revoked")
    assert_error(refresh(client, user.refresh_token), 401, "session_revoked")
    [revoked] = audit_rows(db, "session.revoked")
    assert revoked.changes["reason"] == "logout"
    assert revoked.actor_user_id == user.user_id


def test_logout_needs_a_token(client: TestClient) -> None:
    assert_error(client.post("/auth/logout"), 401, "not_authenticated")


def test_logout_ends_only_this_session(client: TestClient, settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    phone_app = login(client, PHONE, device_id="phone")
    laptop = login(client, PHONE, device_id="laptop")
    assert client.post("/auth/logout", headers=phone_app.headers).status_code == 204
    assert me(client, laptop.access_token).status_code == 200


# --- refresh rotation and reuse detection ---------------------------------------------------


def test_refresh_rotates_the_pair(client: TestClient) -> None:
    user = login(client, PHONE)
    response = refresh(client, user.refresh_token)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "bearer"
    assert pair["refresh_token"] != user.refresh_token
    assert claims_of(pair["refresh_token"])["sid"] == claims_of(user.refresh_token)["sid"]
    assert me(client, pair["access_token"]).status_code == 200
    # The old access token stays valid until it expires; that is fine.
    assert me(client, user.access_token).status_code == 200
    # The new refresh token works in turn.
    again = refresh(client, pair["refresh_token"])
    assert again.status_code == 200
    assert me(client, again.json()["access_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_whole_session(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    pair = refresh(client, user.refresh_token).json()
    # Someone replays the old refresh token (stolen, or a buggy client).
    assert_error(refresh(client, user.refresh_token), 401, "refresh_token_reused")
    # The session is over for everyone holding its tokens, the legitimate new pair included.
    assert_error(me(client, pair["access_token"]), 401, "session_revoked")
    assert_error(me(client, user.access_token), 401, "session_revoked")
    assert_error(refresh(client, pair["refresh_token"]), 401, "session_revoked")
    db.expire_all()
    session = db.get(DeviceSession, claims_of(user.access_token)["sid"])
    assert session.revoked_at is not None
    assert session.revoked_reason == "refresh_reuse"
    [reuse] = audit_rows(db, "auth.refresh_reuse")
    assert reuse.entity_id == str(session.id)
    [revoked] = audit_rows(db, "session.revoked")
    assert revoked.changes["reason"] == "refresh_reuse"


def test_reuse_revocation_holds_without_the_redis_cache(
    client: TestClient, db: Session, redis_client
) -> None:
    user = login(client, PHONE)
    pair = refresh(client, user.refresh_token).json()
    assert refresh(client, user.refresh_token).status_code == 401
    redis_client.flushdb()
    assert_error(me(client, pair["access_token"]), 401, "session_revoked")


def test_refresh_of_another_session_does_not_touch_mine(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    first = login(client, PHONE, device_id="a")
    second = login(client, PHONE, device_id="b")
    refresh(client, first.refresh_token)
    assert refresh(client, first.refresh_token).status_code == 401
    assert me(client, second.access_token).status_code == 200
    assert refresh(client, second.refresh_token).status_code == 200


# --- users that are gone --------------------------------------------------------------------


def test_token_of_a_deactivated_user_is_401(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    assert me(client, user.access_token).status_code == 200  # session cached as active
    db.get(User, user.user_id).is_active = False
    db.commit()
    assert_error(me(client, user.access_token), 401, "token_invalid")
    assert refresh(client, user.refresh_token).status_code == 401


def test_a_disabled_account_cannot_log_in(
    client: TestClient, db: Session, settings, monkeypatch
) -> None:
    user = login(client, PHONE)
    db.get(User, user.user_id).is_active = False
    db.commit()
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    code = request_code(client, PHONE)
    response = client.post("/auth/verify-otp", json={"phone": PHONE, "otp": code})
    assert_error(response, 403, "account_disabled")


def test_token_of_a_deleted_user_is_401(client: TestClient, db: Session) -> None:
    user = login(client, PHONE)
    account = db.get(User, user.user_id)
    account.deleted_at = utcnow()
    account.phone = None
    db.commit()
    assert_error(me(client, user.access_token), 401, "token_invalid")
    assert refresh(client, user.refresh_token).status_code == 401


# --- conventions ----------------------------------------------------------------------------


def test_auth_errors_carry_the_request_id_and_no_token(client: TestClient) -> None:
    user = login(client, PHONE)
    client.post("/auth/logout", headers=user.headers)
    responses = [
        client.get("/auth/me", headers={**user.headers, "X-Request-ID": "tok-1"}),
        client.post(
            "/auth/refresh",
            json={"refresh_token": user.refresh_token},
            headers={"X-Request-ID": "tok-2"},
        ),
        client.post("/auth/refresh", json={"refresh_token": user.access_token + "x"}, headers={}),
    ]
    assert responses[0].headers["x-request-id"] == "tok-1"
    assert responses[1].headers["x-request-id"] == "tok-2"
    assert responses[2].headers["x-request-id"]
    for response in responses:
        assert response.status_code == 401
        assert user.access_token not in response.text
        assert user.refresh_token not in response.text
        assert "Traceback" not in response.text


def test_validation_error_does_not_echo_the_refresh_token(client: TestClient) -> None:
    token = "r" * 2049
    response = client.post("/auth/refresh", json={"refresh_token": token})
    assert_error(response, 422, "validation_error")
    assert token not in response.text
