"""A local Firebase Cloud Messaging: Google's OAuth2 token endpoint for service accounts (the
JWT-bearer grant, signature checked with the account's public key) and the HTTP v1
`messages:send`. The real google-auth service-account flow talks to it over HTTP.

The fixtures write a service-account key file whose token_uri is this fake's /token, and point
the FCM settings here."""

import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import Settings
from Notification_module.channels.push import forget_credentials
from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

PROJECT_ID = "nucleotide-test"
CLIENT_EMAIL = f"fcm-sender@{PROJECT_ID}.iam.gserviceaccount.com"
TOKEN_PATH = "/token"
# google-auth signs every service-account grant for Google's token endpoint, whatever the
# key file's token_uri; Google accepts that audience (and its own URL, as this fake does).
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MESSAGING_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
ACCESS_TOKEN_SECONDS = 3600
SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# Real registration tokens are long strings of these characters.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_:-]+$")


def oauth_error(error: str, description: str, status: int = 400) -> FakeResponse:
    return FakeResponse(status, {"error": error, "error_description": description})


def fcm_error(status: int, rpc_status: str, message: str, *details: dict[str, Any]) -> FakeResponse:
    """An FCM v1 error answer (google.rpc.Status)."""
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = list(details)
    return FakeResponse(status, {"error": error})


def unregistered() -> FakeResponse:
    return fcm_error(
        404,
        "NOT_FOUND",
        "Requested entity was not found.",
        {"@type": FCM_ERROR, "errorCode": "UNREGISTERED"},
    )


def invalid_token() -> FakeResponse:
    return fcm_error(
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [
                {"field": "message.token", "description": "Invalid registration token"}
            ],
        },
    )


def unavailable() -> FakeResponse:
    return fcm_error(
        503,
        "UNAVAILABLE",
        "The service is currently unavailable.",
        {"@type": FCM_ERROR, "errorCode": "UNAVAILABLE"},
    )


def quota_exceeded() -> FakeResponse:
    return fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Send requests'.",
        {"@type": FCM_ERROR, "errorCode": "QUOTA_EXCEEDED"},
    )


@dataclass
class Delivery:
    name: str
    message: dict[str, Any]
    access_token: str  # the bearer token the send was authorised with


class FakeFcm(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.public_key: rsa.RSAPublicKey | None = None
        self.key_id = ""
        self.key_file = ""
        self.state_lock = threading.Lock()
        self._init_state()

    def _init_state(self) -> None:
        self.access_tokens: dict[str, bool] = {}  # issued token -> still valid?
        self.deliveries: list[Delivery] = []
        self.unregistered_tokens: set[str] = set()
        self.send_failures: list[FakeResponse] = []

    def reset(self) -> None:
        super().reset()
        with self.state_lock:
            self._init_state()

    @property
    def token_uri(self) -> str:
        return self.url + TOKEN_PATH

    # --- test controls ---------------------------------------------------------------------

    def write_key_file(self, path: Path) -> Path:
        """A fresh service-account key, shaped like the JSON Google Cloud Console hands out;
        the fake keeps its public key to check the grants it signs."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = private_key.public_key()
        self.key_id = secrets.token_hex(20)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key = {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": self.key_id,
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "client_id": "104" + "".join(secrets.choice("0123456789") for _ in range(18)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
        }
        path.write_text(json.dumps(key))
        self.key_file = str(path)
        return path

    def fail_send(self, response: FakeResponse) -> None:
        """The next messages:send gets `response` (the token endpoint is not affected)."""
        with self.state_lock:
            self.send_failures.append(response)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (401)."""
        with self.state_lock:
            for token in self.access_tokens:
                self.access_tokens[token] = False

    # --- what the fake saw -----------------------------------------------------------------

    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == TOKEN_PATH]

    def send_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and SEND_PATH.match(r.path)]

    def messages_to(self, token: str) -> list[dict[str, Any]]:
        with self.state_lock:
            return [d.message for d in self.deliveries if d.message.get("token") == token]

    # --- the server ------------------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self._token(request)
        match = SEND_PATH.match(request.path)
        if request.method == "POST" and match:
            return self._send(request, match["project"])
        return fcm_error(404, "NOT_FOUND", "Not Found")

    def _token(self, request: RecordedRequest) -> FakeResponse:
        form = {k: v[0] for k, v in request.form().items()}
        if form.get("grant_type") != JWT_BEARER:
            return oauth_error("unsupported_grant_type", "Invalid grant_type")
        assertion = form.get("assertion", "")
        if self.public_key is None:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
                return oauth_error("invalid_grant", "Invalid JWT Signature.")
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                issuer=CLIENT_EMAIL,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidTokenError as exc:
            return oauth_error("invalid_grant", f"Invalid JWT: {type(exc).__name__}")
        if MESSAGING_SCOPE not in str(claims.get("scope", "")).split():
            return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience.")
        access = "ya29.fake-fcm-" + secrets.token_urlsafe(24)
        with self.state_lock:
            self.access_tokens[access] = True
        return FakeResponse(
            200,
            {"access_token": access, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"},
        )

    def _send(self, request: RecordedRequest, project: str) -> FakeResponse:
        header = request.headers.get("authorization", "")
        access = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        with self.state_lock:
            authorised = self.access_tokens.get(access, False)
            forced = self.send_failures.pop(0) if authorised and self.send_failures else None
        if not authorised:
            return fcm_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        if forced is not None:
            return forced
        if project != PROJECT_ID:
            return fcm_error(403, "PERMISSION_DENIED", "Permission denied on resource project.")
        message = (request.json() or {}).get("message") or {}
        token = message.get("token")
        if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
            return invalid_token()
        for key, value in (message.get("data") or {}).items():
            if not isinstance(value, str):
                return fcm_error(
                    400, "INVALID_ARGUMENT", f"Invalid value at 'message.data[{key}].value'"
                )
        with self.state_lock:
            if token in self.unregistered_tokens:
                return unregistered()
            name = f"projects/{project}/messages/{len(self.deliveries) + 1}"
            self.deliveries.append(Delivery(name, message, access))
        return FakeResponse(200, {"name": name})


@pytest.fixture(scope="session")
def fcm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeFcm]:
    server = FakeFcm()
    server.start()
    server.write_key_file(tmp_path_factory.mktemp("fcm") / "service-account.json")
    yield server
    server.stop()


@pytest.fixture
def fcm_settings(
    fcm_server: FakeFcm, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> FakeFcm:
    """Push through the local fake FCM with its service-account key, nothing cached."""
    monkeypatch.setattr(settings, "FCM_PROJECT_ID", PROJECT_ID)
    monkeypatch.setattr(settings, "FCM_CREDENTIALS_FILE", fcm_server.key_file)
    monkeypatch.setattr(settings, "FCM_BASE_URL", fcm_server.url)
    monkeypatch.setattr(settings, "FCM_TIMEOUT_SECONDS", 2.0)
    forget_credentials()
    fcm_server.reset()
    return fcm_server
