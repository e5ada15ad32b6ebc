"""Logging in, and the admin phone (ADMIN_PHONES in tests/conftest.py).

`login` opens the session directly through the Login module (`log_in`, what verify-otp runs
once the code is right), in a session of its own committed like a request's: the same user
(created on first login, role from ADMIN_PHONES, last login), device session, tokens, answer and
audit entries, without sending and reading a code. Tests about logging in, codes or SMS use
`login_by_otp`, the real flow: send, read the SMS off the local gateway, verify."""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from core.context import RequestContext, reset_request_context, set_request_context
from core.validation import normalize_phone
from database import SessionLocal
from Login_module.schemas import LoginOut
from Login_module.service import DeviceInfo, log_in
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


def login_by_otp(client: TestClient, phone: str = "+919876543210", **device: str) -> LoggedIn:
    """Log in through the real OTP flow: send, read the SMS, verify."""
    code = request_code(client, phone)
    response = client.post("/auth/verify-otp", json={"phone": phone, "otp": code, **device})
    assert response.status_code == 200, response.text
    return _logged_in(phone, response.json())


def login(client: TestClient, phone: str = "+919876543210", **device: str) -> LoggedIn:
    """Logged in as `phone` (on `device`) as verify-otp would, without the code's round trip."""
    if not isinstance(client, TestClient):
        raise TypeError("a server in another process: log in with login_by_otp")
    context = RequestContext(uuid.uuid4().hex, "testclient", client.headers.get("user-agent"))
    token = set_request_context(context)
    db = SessionLocal()
    try:
        issued = log_in(db, normalize_phone(phone), DeviceInfo(**device))
        body = LoginOut.model_validate(issued).model_dump(mode="json", by_alias=True)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()
        reset_request_context(token)
    return _logged_in(phone, body)


def _logged_in(phone: str, body: dict[str, Any]) -> LoggedIn:
    return LoggedIn(phone, body["user"]["id"], body["access_token"], body["refresh_token"], body)
