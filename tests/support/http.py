"""Talking to the app and to local servers: the one error shape, a client of its own, a port."""

import socket
from typing import Any

from fastapi.testclient import TestClient

from main import app


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    return body


def new_client() -> TestClient:
    """A client of its own (for threads and committed data), answering 500s instead of raising."""
    return TestClient(app, raise_server_exceptions=False)


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (for a server to start on, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
