"""Fixtures wiring the local fake Google into settings, and a fixed clock for slot arithmetic
(registered for the whole suite by tests/conftest.py)."""

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from config import Settings
from core import clock as clock_module
from tests.fakes import google as fake_google
from tests.fakes.google import FakeGoogle

TOKEN_KEY = Fernet.generate_key().decode()
REDIRECT_URI = "http://testserver/gmeet/auth/callback"
# Monday 2 June 2031, 08:00 in India: before the working day opens.
MONDAY_MORNING = datetime(2031, 6, 2, 8, 0, tzinfo=clock_module.IST)


@pytest.fixture(scope="session")
def google_server() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    yield server
    server.stop()


def write_client_secrets(path: Path, server_url: str) -> Path:
    """A client-secrets file shaped like the one Google Cloud Console hands out."""
    path.write_text(
        json.dumps(
            {
                "web": {
                    "client_id": fake_google.CLIENT_ID,
                    "project_id": "nucleotide-test",
                    "auth_uri": server_url + fake_google.AUTH_PATH,
                    "token_uri": server_url + fake_google.TOKEN_PATH,
                    "client_secret": fake_google.CLIENT_SECRET,
                    "redirect_uris": [REDIRECT_URI],
                }
            }
        )
    )
    return path


@pytest.fixture
def google(
    google_server: FakeGoogle,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> FakeGoogle:
    """The real Google client libraries pointed at the local fake Google."""
    secrets_file = write_client_secrets(tmp_path / "client_secret.json", google_server.url)
    monkeypatch.setattr(settings, "GOOGLE_CLIENT_SECRETS_FILE", str(secrets_file))
    monkeypatch.setattr(settings, "GOOGLE_API_BASE_URL", google_server.url + "/")
    monkeypatch.setattr(settings, "GOOGLE_OAUTH_REDIRECT_URI", REDIRECT_URI)
    monkeypatch.setattr(settings, "GOOGLE_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(settings, "TOKEN_ENCRYPTION_KEY", SecretStr(TOKEN_KEY))
    monkeypatch.setattr(settings, "FRONTEND_COUNSELLOR_SUCCESS_URL", None)
    monkeypatch.setattr(settings, "FRONTEND_COUNSELLOR_ERROR_URL", None)
    google_server.reset()
    return google_server


class Clock:
    """The app's clock (core.clock) under the test's control."""

    def set(self, moment: datetime) -> None:
        clock_module.frozen = moment

    def __call__(self) -> datetime:
        return clock_module.utcnow()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    monkeypatch.setattr(clock_module, "frozen", MONDAY_MORNING)
    return Clock()
