"""The SMS senders against the local gateway: webhook, MSG91, failures and timeouts."""

import logging

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from config import Settings
from tests.fakes.server import FakeResponse
from tests.fakes.sms import FakeSmsGateway
from tests.login.support import audit_rows, otp_keys
from tests.support.http import assert_error

PHONE = "+919876500031"


def send(client: TestClient, phone: str = PHONE):
    return client.post("/auth/send-otp", json={"phone": phone})


def verify(client: TestClient, code: str, phone: str = PHONE):
    return client.post("/auth/verify-otp", json={"phone": phone, "otp": code})


@pytest.fixture
def msg91(settings: Settings, sms_gateway: FakeSmsGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SMS_BACKEND", "msg91")
    monkeypatch.setattr(settings, "MSG91_BASE_URL", sms_gateway.url)
    monkeypatch.setattr(settings, "MSG91_AUTH_KEY", SecretStr("test-msg91-key"))
    monkeypatch.setattr(settings, "MSG91_TEMPLATE_ID", "tpl")


# --- webhook --------------------------------------------------------------------------------


def test_webhook_receives_phone_and_message(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    assert send(client, "98765 00031").status_code == 200
    [request] = sms_gateway.requests
    assert (request.method, request.path) == ("POST", "/sms")
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert set(payload) == {"phone", "message"}
    assert payload["phone"] == PHONE
    code = sms_gateway.last_code_for(PHONE)
    assert code in payload["message"]
    assert verify(client, code).status_code == 200


# --- msg91 ----------------------------------------------------------------------------------


def test_msg91_gets_template_mobile_code_and_authkey(
    client: TestClient, sms_gateway: FakeSmsGateway, msg91: None
) -> None:
    response = send(client)
    assert response.status_code == 200, response.text
    [request] = sms_gateway.requests
    assert (request.method, request.path) == ("POST", "/api/v5/otp")
    assert request.headers["authkey"] == "test-msg91-key"
    assert request.query["template_id"] == ["tpl"]
    assert request.query["mobile"] == ["919876500031"]
    [code] = request.query["otp"]
    assert len(code) == 6 and code.isdigit()
    assert code not in response.text
    login = verify(client, code)
    assert login.status_code == 200, login.text


def test_msg91_base_url_with_trailing_slash(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    msg91: None,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "MSG91_BASE_URL", sms_gateway.url + "/")
    assert send(client).status_code == 200
    assert sms_gateway.requests[0].path == "/api/v5/otp"


def test_msg91_refusing_the_authkey_is_503(
    client: TestClient, msg91: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MSG91_AUTH_KEY", SecretStr("wrong-key"))
    response = send(client)
    assert_error(response, 503, "sms_provider_unavailable")
    assert "wrong-key" not in response.text


def test_msg91_error_body_with_200_is_503(
    client: TestClient, sms_gateway: FakeSmsGateway, msg91: None, redis_client: redis.Redis
) -> None:
    sms_gateway.fail_next.append(FakeResponse(200, {"type": "error", "message": "bad template"}))
    assert_error(send(client), 503, "sms_provider_unavailable")
    assert otp_keys(redis_client) == []
    assert send(client).status_code == 200


@pytest.mark.parametrize("body", ["OK", ["success"], 42, {"type": "SUCCESS"}])
def test_msg91_unexpected_body_is_503_not_a_crash(
    client: TestClient, sms_gateway: FakeSmsGateway, msg91: None, body: object
) -> None:
    sms_gateway.fail_next.append(FakeResponse(200, body))
    assert_error(send(client), 503, "sms_provider_unavailable")


def test_msg91_empty_body_is_503(
    client: TestClient, sms_gateway: FakeSmsGateway, msg91: None
) -> None:
    sms_gateway.fail_next.append(FakeResponse(200, None))
    assert_error(send(client), 503, "sms_provider_unavailable")


# --- failures: the user can try again at once -----------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 400, 404])
def test_gateway_failure_is_503_and_leaves_no_code_or_cooldown(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    redis_client: redis.Redis,
    db: Session,
    status: int,
) -> None:
    sms_gateway.fail_next.append(FakeResponse(status, {"error": "gateway down"}))
    response = send(client)
    body = assert_error(response, 503, "sms_provider_unavailable")
    assert "gateway down" not in response.text
    assert body["details"] == []
    assert otp_keys(redis_client) == []
    assert list(redis_client.scan_iter("rl:otp:cooldown:*")) == []
    assert audit_rows(db, "otp.sent") == []
    # Nothing to verify...
    assert_error(verify(client, "123456"), 400, "otp_expired")
    # ...and the retry goes through straight away.
    retry = send(client)
    assert retry.status_code == 200, retry.text
    code = sms_gateway.last_code_for(PHONE)
    assert verify(client, code).status_code == 200


def test_failed_send_discards_the_previous_code_too(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    assert send(client).status_code == 200
    old_code = sms_gateway.last_code_for(PHONE)
    sms_gateway.fail_next.append(FakeResponse(500, {}))
    assert_error(send(client), 503, "sms_provider_unavailable")
    assert_error(verify(client, old_code), 400, "otp_expired")


def test_gateway_timeout_is_503(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: redis.Redis,
) -> None:
    monkeypatch.setattr(settings, "SMS_TIMEOUT_SECONDS", 0.2)
    sms_gateway.fail_next.append(FakeResponse(200, {"status": "queued"}, delay_seconds=1.5))
    response = send(client)
    assert_error(response, 503, "sms_provider_unavailable")
    assert otp_keys(redis_client) == []
    assert send(client).status_code == 200


def test_msg91_timeout_is_503(
    client: TestClient,
    sms_gateway: FakeSmsGateway,
    msg91: None,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SMS_TIMEOUT_SECONDS", 0.2)
    sms_gateway.fail_next.append(FakeResponse(200, {"type": "success"}, delay_seconds=1.5))
    assert_error(send(client), 503, "sms_provider_unavailable")


def test_unreachable_gateway_is_503(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SMS_WEBHOOK_URL", "http://127.0.0.1:9/sms")
    assert_error(send(client), 503, "sms_provider_unavailable")


def test_gateway_failure_is_logged_without_code_or_phone(
    client: TestClient, sms_gateway: FakeSmsGateway, caplog: pytest.LogCaptureFixture
) -> None:
    sms_gateway.fail_next.append(FakeResponse(500, {}))
    with caplog.at_level(logging.INFO, logger="nucleotide"):
        send(client)
    assert "SMS provider call failed" in caplog.text
    assert "9876500031" not in caplog.text


def test_test_numbers_skip_a_broken_gateway(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    sms_gateway.fail_next.append(FakeResponse(500, {}))
    assert send(client, "+919999900001").status_code == 200
    assert sms_gateway.requests == []
    assert verify(client, "123456", phone="+919999900001").status_code == 200


# --- console (development) ------------------------------------------------------------------


def test_console_backend_logs_a_masked_phone(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sms_gateway: FakeSmsGateway,
) -> None:
    monkeypatch.setattr(settings, "SMS_BACKEND", "console")
    with caplog.at_level(logging.WARNING, logger="nucleotide.sms"):
        assert send(client).status_code == 200
    assert "+91******0031" in caplog.text
    assert "9876500031" not in caplog.text
    assert sms_gateway.requests == []


def test_msg91_html_answer_is_503(
    client: TestClient, msg91: None, sms_gateway: FakeSmsGateway
) -> None:
    """A proxy's HTML page instead of MSG91's JSON."""
    page = FakeResponse(200, b"<html>502</html>", {"Content-Type": "text/html"})
    sms_gateway.fail_next.append(page)
    assert_error(send(client), 503, "sms_provider_unavailable")
