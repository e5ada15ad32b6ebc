"""Push notifications through Firebase Cloud Messaging (HTTP v1), as a service account."""

import functools
import threading
from typing import Any

import httpx
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.service_account import Credentials

from config import get_settings
from core.http import http_client
from Notification_module.errors import DeliveryError
from Notification_module.models import Notification

SCOPES = ["https://www.googleapis.com/auth/firebase.messaging"]

_credentials: dict[str, Credentials] = {}  # key file path -> its credentials
_credentials_lock = threading.Lock()


def forget_credentials() -> None:
    """Drop every cached credential (the next send loads the key file and fetches a token)."""
    with _credentials_lock:
        _credentials.clear()


def _valid_credentials(key_file: str, timeout: float) -> Credentials:
    """The key file's credentials with a live access token, fetched when there is none."""
    with _credentials_lock:
        credentials = _credentials.get(key_file)
        if credentials is None:
            try:
                credentials = Credentials.from_service_account_file(key_file, scopes=SCOPES)
            except (OSError, ValueError) as exc:
                raise DeliveryError("bad_credentials_file") from exc
            _credentials[key_file] = credentials
        if not credentials.valid:
            try:
                credentials.refresh(functools.partial(Request(), timeout=timeout))
            except (RefreshError, TransportError) as exc:
                raise DeliveryError("auth_failed") from exc
        return credentials


def _drop(key_file: str, credentials: Credentials) -> None:
    """Forget `credentials` unless another send has replaced them already."""
    with _credentials_lock:
        if _credentials.get(key_file) is credentials:
            del _credentials[key_file]


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _is_about_token(error: dict[str, Any]) -> bool:
    """An INVALID_ARGUMENT naming the registration token (not the rest of the message)."""
    for detail in error.get("details") or []:
        for violation in detail.get("fieldViolations") or []:
            if violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _failure(response: httpx.Response) -> DeliveryError:
    """What an FCM error answer means for this message and its device."""
    error = _error_of(response)
    codes = {detail.get("errorCode") for detail in error.get("details") or []}
    if "UNREGISTERED" in codes:
        return DeliveryError("unregistered", permanent=True)
    if response.status_code == 400 and error.get("status") == "INVALID_ARGUMENT":
        if _is_about_token(error):
            return DeliveryError("invalid_token", permanent=True)
        return DeliveryError("invalid_argument", permanent=True)
    if response.status_code == 429:
        return DeliveryError("quota_exceeded")
    return DeliveryError(f"fcm_{response.status_code}")


def send_push(message: Notification) -> str:
    """Send `message` to the device whose FCM registration token is its recipient; FCM's
    message name. Raises DeliveryError (permanent for a dead token: reason "unregistered")."""
    if not message.recipient:
        raise DeliveryError("no_recipient", permanent=True)
    settings = get_settings()
    if not settings.FCM_PROJECT_ID or not settings.FCM_CREDENTIALS_FILE:
        raise DeliveryError("push_not_configured")
    key_file = settings.FCM_CREDENTIALS_FILE
    credentials = _valid_credentials(key_file, settings.FCM_TIMEOUT_SECONDS)
    url = f"{settings.FCM_BASE_URL.rstrip('/')}/v1/projects/{settings.FCM_PROJECT_ID}/messages:send"
    body = {
        "message": {
            "token": message.recipient,
            "notification": {"title": message.title, "body": message.body},
            "data": {key: str(value) for key, value in (message.payload or {}).items()},
        }
    }
    try:
        response = http_client().post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {credentials.token}"},
            timeout=settings.FCM_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError("timeout") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError("connection_failed") from exc
    if response.status_code == 401:
        _drop(key_file, credentials)
        raise DeliveryError("unauthorized")
    if not response.is_success:
        raise _failure(response)
    try:
        name = response.json()["name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DeliveryError("bad_response") from exc
    if not isinstance(name, str):
        raise DeliveryError("bad_response")
    return name
