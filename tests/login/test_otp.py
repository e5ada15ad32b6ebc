"""POST /auth/send-otp and /auth/verify-otp through HTTP: phones, codes, limits, audit."""

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import Login_module.OTP.service as otp_service
from config import Settings
from core.redis import get_redis
from Login_module.models import DeviceSession, User
from Login_module.OTP.store import OtpCheck, OtpStore, phone_key
from main import create_app
from tests.fakes.server import FakeResponse
from tests.fakes.sms import FakeSmsGateway
from tests.login.support import audit_rows, audit_text, otp_keys
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, login_by_otp, request_code

PHONE = "+919876500001"
TEST_NUMBER = "+919999900001"
TEST_CODE = "123456"


@pytest.fixture
def no_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def send(client: TestClient, phone: str = PHONE, **headers: str):
    return client.post("/auth/send-otp", json={"phone": phone}, headers=headers)


def verify(client: TestClient, code: str, phone: str = PHONE, **extra: str):
    return client.post("/auth/verify-otp", json={"phone": phone, "otp": code, **extra})


def wrong(code: str) -> str:
    """A six-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- send-otp: phones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["9876500001", "+91 98765-00001", "09876500001", "+919876500001", "919876500001"]
)
def test_common_phone_forms_are_normalised_to_e164(
    client: TestClient, sms_gateway: FakeSmsGateway, raw: str
) -> None:
    response = send(client, raw)
    assert response.status_code == 200, response.text
    assert [r.json()["phone"] for r in sms_gateway.requests] == [PHONE]
    code = sms_gateway.last_code_for(PHONE)
    login_response = verify(client, code, phone=raw)
    assert login_response.status_code == 200, login_response.text
    assert login_response.json()["user"]["phone"] == PHONE


@pytest.mark.parametrize(
    "raw",
    [
        "+911123456789",  # Delhi landline: a valid number, but not a mobile
        "01123456789",
        "abc",
        "12345",
        "+44 20 7946 0958",  # London landline
        "1800123456",  # toll-free
        "9876500001abc",
        "+91 98765",
        "98765432101234",
        "",
    ],
)
def test_landlines_and_garbage_are_invalid_phone(
    client: TestClient, sms_gateway: FakeSmsGateway, raw: str
) -> None:
    body = assert_error(send(client, raw), 422, "invalid_phone")
    assert body["details"] == [
        {"field": "phone", "message": body["details"][0]["message"], "type": "invalid_phone"}
    ]
    assert body["details"][0]["message"]
    assert sms_gateway.requests == []


def test_verify_rejects_a_landline_as_invalid_phone(client: TestClient) -> None:
    body = assert_error(verify(client, "123456", phone="+911123456789"), 422, "invalid_phone")
    assert body["details"][0]["field"] == "phone"


def test_missing_phone_is_a_validation_error(client: TestClient) -> None:
    body = assert_error(client.post("/auth/send-otp", json={}), 422, "validation_error")
    assert body["details"] == [
        {"field": "phone", "message": body["details"][0]["message"], "type": "missing"}
    ]


def test_unknown_fields_and_wrong_types_are_validation_errors(client: TestClient) -> None:
    assert_error(
        client.post("/auth/send-otp", json={"phone": PHONE, "role": "admin"}),
        422,
        "validation_error",
    )
    assert_error(client.post("/auth/send-otp", json={"phone": 9876500001}), 422, "validation_error")


@pytest.mark.parametrize("otp", ["12345", "1234567", "abcdef", "12 456", ""])
def test_malformed_code_is_a_validation_error(client: TestClient, otp: str) -> None:
    body = assert_error(verify(client, otp), 422, "validation_error")
    assert body["details"][0]["field"] == "otp"


def test_missing_code_is_a_validation_error(client: TestClient) -> None:
    body = assert_error(
        client.post("/auth/verify-otp", json={"phone": PHONE}), 422, "validation_error"
    )
    assert {d["field"] for d in body["details"]} == {"otp"}


# --- send-otp: the response -----------------------------------------------------------------


def test_send_returns_expiry_and_resend_delay_but_never_the_code(
    client: TestClient, sms_gateway: FakeSmsGateway, settings: Settings
) -> None:
    response = send(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "expires_in", "resend_after"}
    assert body["expires_in"] == settings.OTP_EXPIRY_SECONDS == 120
    assert body["resend_after"] == settings.OTP_RESEND_COOLDOWN_SECONDS == 30
    code = sms_gateway.last_code_for(PHONE)
    assert code not in response.text
    assert len(code) == 6 and code.isdigit()


def test_sms_text_carries_the_code_and_its_lifetime(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    code = request_code(client, PHONE)
    [message] = sms_gateway.messages_to(PHONE)
    assert message.startswith(f"{code} is your Nucleotide verification code")
    assert "2 minutes" in message


def test_code_is_kept_hashed_in_redis_with_the_otp_expiry(
    client: TestClient,
    redis_client: redis.Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(otp_service, "generate_code", lambda: "418503")
    assert send(client).status_code == 200
    assert otp_keys(redis_client) == [f"otp:{phone_key(PHONE)}"]
    assert 0 < redis_client.ttl(f"otp:{phone_key(PHONE)}") <= settings.OTP_EXPIRY_SECONDS
    for key in redis_client.scan_iter("*"):
        assert "418503" not in key
        kind = redis_client.type(key)
        if kind == "string":
            assert "418503" not in redis_client.get(key)
        elif kind == "hash":
            for field, value in redis_client.hgetall(key).items():
                assert "418503" not in field and "418503" not in value
        elif kind == "zset":  # rate-limit windows: timestamped members
            assert "418503" not in redis_client.zrange(key, 0, -1)
        else:  # pragma: no cover - a new kind of key would need a look
            pytest.fail(f"unexpected key type {kind} for {key}")
    # ...and the hashed code still logs in.
    assert verify(client, "418503").status_code == 200


# --- verify-otp -----------------------------------------------------------------------------


def test_first_login_creates_the_user_and_later_logins_find_it(
    client: TestClient, db: Session, no_cooldown: None
) -> None:
    first = login_by_otp(client, PHONE)
    assert first.body["user"]["is_new_user"] is True
    assert first.body["user"] == {
        "id": first.user_id,
        "phone": PHONE,
        "name": None,
        "role": "user",
        "is_new_user": True,
    }
    assert first.body["token_type"] == "bearer"
    assert first.body["expires_in"] == 86_400
    second = login_by_otp(client, PHONE)
    assert second.body["user"]["is_new_user"] is False
    assert second.user_id == first.user_id
    db.expire_all()
    users = db.scalars(select(User).where(User.phone == PHONE)).all()
    assert len(users) == 1
    assert users[0].last_login_at is not None
    assert [r.entity_id for r in audit_rows(db, "user.created")] == [str(first.user_id)]
    assert len(audit_rows(db, "auth.login")) == 2


def test_login_stores_the_device_information(client: TestClient, db: Session) -> None:
    me = login_by_otp(
        client,
        PHONE,
        device_id="device-abc",
        device_name="Asha's Pixel 8",
        device_platform="android",
    )
    db.expire_all()
    [session] = db.scalars(select(DeviceSession).where(DeviceSession.user_id == me.user_id)).all()
    assert (session.device_id, session.device_name, session.device_platform) == (
        "device-abc",
        "Asha's Pixel 8",
        "android",
    )
    assert session.user_agent == "testclient"
    assert session.ip_address == "testclient"
    listed = client.get("/sessions", headers=me.headers).json()["sessions"]
    assert listed[0]["device_name"] == "Asha's Pixel 8"
    assert listed[0]["device_platform"] == "android"


def test_device_fields_have_length_limits(client: TestClient, sms_gateway: FakeSmsGateway) -> None:
    code = request_code(client, PHONE)
    response = verify(client, code, device_name="x" * 121)
    body = assert_error(response, 422, "validation_error")
    assert body["details"][0]["field"] == "device_name"
    assert_error(verify(client, code, device_platform="y" * 33), 422, "validation_error")
    assert_error(verify(client, code, device_id="z" * 129), 422, "validation_error")
    # The refused requests did not spend the code.
    assert verify(client, code).status_code == 200


def test_phone_in_admin_phones_gets_the_admin_role(client: TestClient) -> None:
    admin = login_by_otp(client, ADMIN_PHONE)
    assert admin.body["user"]["role"] == "admin"
    me = client.get("/auth/me", headers=admin.headers).json()
    assert me["role"] == "admin"


def test_admin_role_follows_admin_phones_on_every_request(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = login_by_otp(client, ADMIN_PHONE)
    monkeypatch.setattr(settings, "ADMIN_PHONES", "+919000000002")
    assert client.get("/auth/me", headers=admin.headers).json()["role"] == "user"
    assert_error(client.get("/audit", headers=admin.headers), 403, "admin_required")


def test_admin_phones_may_be_written_in_any_common_form(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ADMIN_PHONES", "not-a-phone, 090000 00002 ,+91 90000-00003")
    assert login_by_otp(client, "+919000000002").body["user"]["role"] == "admin"
    assert login_by_otp(client, "+919000000003").body["user"]["role"] == "admin"
    assert login_by_otp(client, PHONE).body["user"]["role"] == "user"


def test_wrong_code_is_otp_invalid(client: TestClient) -> None:
    code = request_code(client, PHONE)
    assert_error(verify(client, wrong(code)), 400, "otp_invalid")
    # A wrong try does not spend the right code.
    assert verify(client, code).status_code == 200


def test_code_never_sent_is_otp_expired(client: TestClient) -> None:
    assert_error(verify(client, "123456"), 400, "otp_expired")


def test_expired_code_is_otp_expired(
    client: TestClient, redis_client: redis.Redis, settings: Settings
) -> None:
    code = request_code(client, PHONE)
    [key] = otp_keys(redis_client)
    assert 0 < redis_client.ttl(key) <= settings.OTP_EXPIRY_SECONDS
    redis_client.delete(key)  # what Redis does when the TTL runs out
    assert_error(verify(client, code), 400, "otp_expired")


def test_short_expiry_setting_is_applied_to_the_stored_code(
    client: TestClient,
    redis_client: redis.Redis,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "OTP_EXPIRY_SECONDS", 7)
    response = send(client)
    assert response.json()["expires_in"] == 7
    [key] = otp_keys(redis_client)
    assert 0 < redis_client.ttl(key) <= 7


def test_code_works_only_once(client: TestClient) -> None:
    code = request_code(client, PHONE)
    assert verify(client, code).status_code == 200
    assert_error(verify(client, code), 400, "otp_expired")


def test_five_wrong_codes_burn_the_code(client: TestClient, settings: Settings) -> None:
    assert settings.OTP_MAX_VERIFY_ATTEMPTS == 5
    code = request_code(client, PHONE)
    for _ in range(4):
        assert_error(verify(client, wrong(code)), 400, "otp_invalid")
    response = verify(client, wrong(code))
    assert_error(response, 429, "otp_attempts_exceeded")
    assert int(response.headers["retry-after"]) >= 1
    # Even the right code is refused now.
    assert_error(verify(client, code), 429, "otp_attempts_exceeded")


def test_a_new_code_after_burning_works(client: TestClient, no_cooldown: None) -> None:
    code = request_code(client, PHONE)
    for _ in range(5):
        verify(client, wrong(code))
    fresh = request_code(client, PHONE)
    assert verify(client, fresh).status_code == 200


def test_new_send_replaces_the_old_code(
    client: TestClient, no_cooldown: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(otp_service, "generate_code", lambda: next(codes))
    assert request_code(client, PHONE) == "111111"
    assert request_code(client, PHONE) == "222222"
    assert_error(verify(client, "111111"), 400, "otp_invalid")
    assert verify(client, "222222").status_code == 200


def test_a_new_send_resets_the_wrong_try_counter(client: TestClient, no_cooldown: None) -> None:
    code = request_code(client, PHONE)
    for _ in range(4):
        verify(client, wrong(code))
    fresh = request_code(client, PHONE)
    for _ in range(4):
        assert_error(verify(client, wrong(fresh)), 400, "otp_invalid")
    assert verify(client, fresh).status_code == 200


def test_codes_are_per_phone(client: TestClient) -> None:
    code = request_code(client, PHONE)
    assert_error(verify(client, code, phone="+919876500002"), 400, "otp_expired")
    assert verify(client, code).status_code == 200


# --- rate limits ----------------------------------------------------------------------------


def test_resend_inside_the_cooldown_is_rate_limited(client: TestClient, db: Session) -> None:
    assert send(client).status_code == 200
    response = send(client)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 30
    [blocked] = audit_rows(db, "otp.blocked")
    assert blocked.changes["reason"] == "send_rate_limited"


def test_cooldown_is_per_phone(client: TestClient) -> None:
    assert send(client).status_code == 200
    assert send(client, "+919876500002").status_code == 200


def test_sends_per_phone_per_hour_are_capped(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, no_cooldown: None
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 3)
    for _ in range(3):
        assert send(client).status_code == 200
    response = send(client)
    assert_error(response, 429, "rate_limited")
    assert 3000 < int(response.headers["retry-after"]) <= 3601
    # Another phone from the same place is not affected.
    assert send(client, "+919876500002").status_code == 200


def test_refused_resends_do_not_use_up_the_hourly_quota(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: redis.Redis,
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 2)
    assert send(client).status_code == 200
    for _ in range(5):  # an impatient user taps "resend" during the cooldown
        assert_error(send(client), 429, "rate_limited")
    for key in redis_client.scan_iter("rl:otp:cooldown:*"):
        redis_client.delete(key)  # the cooldown runs out
    assert send(client).status_code == 200


def test_sends_per_ip_per_hour_are_capped(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 3)
    for n in range(1, 4):
        assert send(client, f"+91987650000{n}").status_code == 200
    response = send(client, "+919876500009")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


def test_per_ip_cap_cannot_be_dodged_with_a_forwarded_for_header(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without TRUST_PROXY_HEADERS the client cannot pick its own address."""
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 2)
    for n in range(1, 4):
        response = send(client, f"+91987650000{n}", **{"X-Forwarded-For": f"10.0.0.{n}"})
        assert response.status_code == (200 if n <= 2 else 429)


def test_behind_a_trusted_proxy_the_per_ip_cap_keys_on_the_address_the_proxy_appended(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A random leftmost X-Forwarded-For entry (written by the client) changes nothing."""
    monkeypatch.setattr(settings, "TRUST_PROXY_HEADERS", True)
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 2)
    proxied = TestClient(create_app(), raise_server_exceptions=False)  # no lifespan: no migration
    for n in range(1, 4):
        response = send(
            proxied, f"+91987650000{n}", **{"X-Forwarded-For": f"10.9.{n}.{n}, 203.0.113.7"}
        )
        assert response.status_code == (200 if n <= 2 else 429), response.text
    ips = {row.ip for row in audit_rows(db) if row.action.startswith("otp.")}
    assert ips == {"203.0.113.7"}


def test_verifies_per_ip_per_hour_are_capped(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, db: Session
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_VERIFY_PER_IP_PER_HOUR", 3)
    code = request_code(client, PHONE)
    for n in range(1, 4):
        assert_error(verify(client, "000000", phone=f"+91987650010{n}"), 400, "otp_expired")
    response = verify(client, code)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    reasons = [r.changes["reason"] for r in audit_rows(db, "otp.blocked")]
    assert reasons == ["verify_rate_limited"]


# --- test numbers ---------------------------------------------------------------------------


def test_test_number_logs_in_with_its_fixed_code_and_no_sms(
    client: TestClient, sms_gateway: FakeSmsGateway, db: Session
) -> None:
    response = send(client, TEST_NUMBER)
    assert response.status_code == 200
    assert TEST_CODE not in response.text
    assert sms_gateway.requests == []
    login_response = verify(client, TEST_CODE, phone=TEST_NUMBER)
    assert login_response.status_code == 200, login_response.text
    assert login_response.json()["user"]["phone"] == TEST_NUMBER
    [sent] = audit_rows(db, "otp.sent")
    assert sent.changes["test_number"] is True


def test_test_number_still_needs_a_send_first(client: TestClient) -> None:
    assert_error(verify(client, TEST_CODE, phone=TEST_NUMBER), 400, "otp_expired")


def test_test_number_is_under_the_same_limits(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert send(client, TEST_NUMBER).status_code == 200
    assert_error(send(client, TEST_NUMBER), 429, "rate_limited")
    for _ in range(4):
        assert_error(verify(client, "000000", phone=TEST_NUMBER), 400, "otp_invalid")
    assert_error(verify(client, "000000", phone=TEST_NUMBER), 429, "otp_attempts_exceeded")
    assert_error(verify(client, TEST_CODE, phone=TEST_NUMBER), 429, "otp_attempts_exceeded")


def test_test_number_code_works_once(client: TestClient) -> None:
    send(client, TEST_NUMBER)
    assert verify(client, TEST_CODE, phone=TEST_NUMBER).status_code == 200
    assert_error(verify(client, TEST_CODE, phone=TEST_NUMBER), 400, "otp_expired")


# --- audit of OTP events --------------------------------------------------------------------


def test_otp_events_are_audited_with_the_phone_masked(
    client: TestClient, db: Session, no_cooldown: None
) -> None:
    code = request_code(client, PHONE)
    verify(client, wrong(code))
    assert verify(client, code).status_code == 200
    fresh = request_code(client, PHONE)  # a new code, then burn it
    for _ in range(5):
        verify(client, wrong(fresh))
    rows = audit_rows(db)
    actions = [r.action for r in rows if r.entity_type == "phone"]
    assert actions.count("otp.sent") == 2
    assert actions.count("otp.verified") == 1
    assert actions.count("otp.failed") == 5
    assert actions.count("otp.blocked") == 1
    for row in rows:
        if row.entity_type == "phone":
            assert row.entity_id == "+91******0001"
            assert row.changes["phone"] == "+91******0001"
        assert "9876500001" not in audit_text(row)
        assert "98765" not in audit_text(row)


def test_failed_and_blocked_attempts_are_audited_although_the_request_failed(
    client: TestClient, db: Session
) -> None:
    code = request_code(client, PHONE)
    assert_error(verify(client, wrong(code), phone=PHONE), 400, "otp_invalid")
    assert_error(verify(client, "123456", phone="+919876500002"), 400, "otp_expired")
    [invalid, missing] = audit_rows(db, "otp.failed")
    assert invalid.changes == {"phone": "+91******0001", "reason": "wrong"}
    assert missing.changes == {"phone": "+91******0002", "reason": "missing"}
    assert invalid.request_id and invalid.ip == "testclient"
    for _ in range(4):
        verify(client, wrong(code))
    [blocked] = audit_rows(db, "otp.blocked")
    assert blocked.changes["reason"] == "attempts_exceeded"
    # A failed attempt writes no user, no session.
    assert db.scalars(select(User)).all() == []


def test_audit_rows_carry_the_request_id(client: TestClient, db: Session) -> None:
    client.post("/auth/send-otp", json={"phone": PHONE}, headers={"X-Request-ID": "req-otp-1"})
    [sent] = audit_rows(db, "otp.sent")
    assert sent.request_id == "req-otp-1"


# --- conventions ----------------------------------------------------------------------------


def test_every_response_carries_the_request_id(client: TestClient) -> None:
    ok = send(client, **{"X-Request-ID": "front-1"})
    assert ok.headers["x-request-id"] == "front-1"
    refused = send(client, **{"X-Request-ID": "front-2"})
    assert refused.status_code == 429
    assert refused.headers["x-request-id"] == "front-2"
    invalid = client.post("/auth/send-otp", json={"phone": "abc"})
    assert len(invalid.headers["x-request-id"]) == 32


def test_error_bodies_never_contain_the_code_or_a_traceback(
    client: TestClient, no_cooldown: None
) -> None:
    code = request_code(client, PHONE)
    responses = [
        verify(client, wrong(code)),
        verify(client, code, phone="+919876500002"),
        client.post("/auth/verify-otp", json={"phone": PHONE, "otp": code, "x": 1}),
    ]
    for _ in range(4):
        responses.append(verify(client, wrong(code)))
    responses.append(verify(client, code))
    for response in responses:
        assert response.status_code >= 400
        assert code not in response.text
        assert "Traceback" not in response.text
        assert 'File "' not in response.text


# --- the store, below HTTP ------------------------------------------------------------------


def test_a_wrong_code_after_the_expiry_creates_no_key(redis_client: redis.Redis) -> None:
    OtpStore().issue(PHONE, "111111")
    redis_client.delete(otp_keys(redis_client)[0])  # its time ran out
    assert OtpStore().check(PHONE, "222222") is OtpCheck.MISSING
    assert otp_keys(redis_client) == []


def run_together(calls: list, workers: int = 20) -> list:
    """Start the first `workers` calls at once (a barrier), the rest as threads free up; the
    results in order. Only the first batch waits: a later call alone at a barrier would wait
    out its timeout."""
    parties = min(workers, len(calls))
    barrier = threading.Barrier(parties)

    def start(index: int, call):
        if index < parties:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
        return call()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(start, range(len(calls)), calls))


@pytest.mark.parametrize("burst", range(4))
def test_a_burst_of_guesses_compares_at_most_the_allowed_number(
    redis_client: redis.Redis, settings: Settings, burst: int
) -> None:
    """40 wrong guesses at once, the right code hidden among them: at most
    OTP_MAX_VERIFY_ATTEMPTS are compared, and the right one wins only within them."""
    OtpStore().issue(PHONE, "111111")
    guesses = [f"{n:06d}" for n in range(200_000, 200_040)]
    guesses.insert(20 + burst * 5, "111111")
    outcomes = run_together([lambda g=g: OtpStore().check(PHONE, g) for g in guesses])
    compared = [o for o in outcomes if o in (OtpCheck.WRONG, OtpCheck.OK)]
    wrong_before_burn = outcomes.count(OtpCheck.WRONG)
    assert wrong_before_burn <= settings.OTP_MAX_VERIFY_ATTEMPTS - 1
    assert len(compared) <= settings.OTP_MAX_VERIFY_ATTEMPTS
    if OtpCheck.OK not in outcomes:
        assert outcomes.count(OtpCheck.BURNED) >= len(guesses) - settings.OTP_MAX_VERIFY_ATTEMPTS
    # Whatever the interleaving, every key left behind still expires.
    for key in redis_client.scan_iter("otp:*"):
        assert redis_client.ttl(key) > 0


def test_a_burst_of_wrong_guesses_burns_the_code_for_the_right_one(
    redis_client: redis.Redis, settings: Settings
) -> None:
    OtpStore().issue(PHONE, "111111")
    outcomes = run_together(
        [lambda n=n: OtpStore().check(PHONE, f"{n:06d}") for n in range(300_000, 300_040)]
    )
    assert outcomes.count(OtpCheck.WRONG) == settings.OTP_MAX_VERIFY_ATTEMPTS - 1
    assert OtpStore().check(PHONE, "111111") is OtpCheck.BURNED
    [key] = otp_keys(redis_client)
    assert 0 < redis_client.ttl(key) <= settings.OTP_EXPIRY_SECONDS


def test_no_redis_key_names_a_phone(client: TestClient, redis_client: redis.Redis) -> None:
    """Codes, cooldowns and rate-limit windows are keyed by an HMAC of the phone."""
    code = request_code(client, PHONE)
    verify(client, wrong(code))
    assert verify(client, code).status_code == 200
    request_code(client, "+919876500002")
    keys = list(redis_client.scan_iter("*"))
    assert any(key.startswith("rl:otp:phone:") for key in keys)
    for key in keys:
        assert "9876500001" not in key and "9876500002" not in key, key


# --- who may get an SMS, and how many ----------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["+447400123456", "+8613812345678", "+2348031234567", "+12025550143"]
)
def test_mobiles_outside_the_allowed_regions_get_no_code(
    client: TestClient, sms_gateway: FakeSmsGateway, db: Session, phone: str
) -> None:
    response = send(client, phone)
    assert_error(response, 422, "phone_region_not_allowed")
    assert sms_gateway.requests == []
    assert otp_keys(get_redis()) == []
    [row] = audit_rows(db, "otp.blocked")
    assert row.changes["reason"] == "region_not_allowed"
    assert phone not in audit_text(row)


def test_allowed_phone_regions_is_a_setting(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ALLOWED_PHONE_REGIONS", "IN, gb")
    response = send(client, "+447400123456")
    assert response.status_code == 200, response.text
    assert_error(send(client, "+12025550143"), 422, "phone_region_not_allowed")


def test_sends_per_phone_per_day_are_capped(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, no_cooldown: None
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 100)
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_DAY", 3)
    for _ in range(3):
        assert send(client).status_code == 200
    response = send(client)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 3600  # the day's window, not the hour's
    assert send(client, "+919876500002").status_code == 200


def test_the_hourly_sms_budget_answers_503_and_raises_an_alert(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(settings, "SMS_MAX_PER_HOUR", 3)
    for n in range(1, 4):
        assert send(client, f"+91987650000{n}").status_code == 200
    assert sms_gateway.messages_to("+919876500003")
    with caplog.at_level(logging.CRITICAL, logger="nucleotide.sms"):
        response = send(client, "+919876500004")
        assert_error(send(client, "+919876500005"), 503, "sms_budget_exhausted")
    assert_error(response, 503, "sms_budget_exhausted")
    assert 1 <= int(response.headers["retry-after"]) <= 3601
    assert [r for r in sms_gateway.requests if r.path == sms_gateway.webhook_path][3:] == []
    alerts = [r for r in caplog.records if "ALERT" in r.getMessage()]
    assert len(alerts) == 1  # one alert line per hour, not one per refused SMS
    # The refused sends left no code and no cooldown: once the budget allows, they work at once.
    monkeypatch.setattr(settings, "SMS_MAX_PER_HOUR", 4)
    assert send(client, "+919876500004").status_code == 200


def test_a_failed_sms_gives_its_budget_back(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
) -> None:
    monkeypatch.setattr(settings, "SMS_MAX_PER_HOUR", 1)
    sms_gateway.fail_next.append(FakeResponse(500, {"error": "down"}))
    assert_error(send(client), 503, "sms_provider_unavailable")
    assert send(client).status_code == 200


def test_test_numbers_spend_no_sms_budget(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SMS_MAX_PER_HOUR", 1)
    assert send(client, "+919999900001").status_code == 200
    assert send(client).status_code == 200
