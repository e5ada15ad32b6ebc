"""Helpers that drive the API the way a frontend does."""

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    return body


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (for a server to start on, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together by a barrier; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
