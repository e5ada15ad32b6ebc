"""Logging in the way a frontend does, and the admin phone (ADMIN_PHONES in tests/conftest.py)."""

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.fakes import sms

ADMIN_PHONE = "+919000000001"


def gateway() -> "sms.FakeSmsGateway":
    assert sms.ACTIVE is not None, "the sms_backend fixture is not active"
    return sms.ACTIVE


@dataclass
class LoggedIn:
    phone: str
    user_id: int
    access_token: str
    refresh_token: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def request_code(client: TestClient, phone: str) -> str:
    """Ask for a code and read it off the local SMS gateway, as the user reads their phone."""
    response = client.post("/auth/send-otp", json={"phone": phone})
    assert response.status_code == 200, response.text
    return gateway().last_code_for(phone)


def login(client: TestClient, phone: str = "+919876543210", **device: str) -> LoggedIn:
    """Log in through the real OTP flow: send, read the SMS, verify."""
    code = request_code(client, phone)
    response = client.post("/auth/verify-otp", json={"phone": phone, "otp": code, **device})
    assert response.status_code == 200, response.text
    body = response.json()
    return LoggedIn(phone, body["user"]["id"], body["access_token"], body["refresh_token"], body)
