"""Talking to the ABDM gateway (API v3): the session token, the headers every call carries, and
the verification of the gateway's signed callbacks.

- The access token (`/api/hiecm/gateway/v3/sessions`, client credentials) is cached per process
  until shortly before `expiresIn` and fetched again once when a call answers 401.
- Every call carries `Authorization`, `REQUEST-ID` (stored by the caller before sending),
  `TIMESTAMP` (UTC, milliseconds, `Z`), `X-CM-ID` and, where the lab acts, `X-HIP-ID`.
- A callback's bearer JWT is RS256 by one of the gateway's keys (`ABDM_CERTS_URL`, chosen by
  `kid`, cached by PyJWT's JWK client), for the audience `account`, not expired.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from config import get_settings
from core.clock import wall_utcnow
from core.http import http_client

logger = logging.getLogger("nucleotide.abdm")

SESSIONS_PATH = "/api/hiecm/gateway/v3/sessions"
BRIDGE_URL_PATH = "/api/hiecm/gateway/v3/bridge/url"
# Fetched again this long before the gateway says the token expires.
TOKEN_MARGIN_SECONDS = 60
CALLBACK_AUDIENCE = "account"


class GatewayUnavailable(Exception):
    """The gateway did not answer, or answered 5xx: the call is tried again later."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class GatewayRefusal(Exception):
    """The gateway refused the call (4xx) with an ABDM error code: not retried."""

    status: int
    code: str
    message: str


def new_request_id() -> str:
    return str(uuid.uuid4())


def timestamp(moment: datetime | None = None) -> str:
    """`2026-12-06T10:15:30.123Z`: UTC with milliseconds (the sandbox refuses IST)."""
    moment = (moment or wall_utcnow()).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _TokenCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: str | None = None
        self.expires_at = 0.0

    def get(self, *, renew: bool = False) -> str:
        with self.lock:
            if renew or self.token is None or time.monotonic() >= self.expires_at:
                self.token, lifetime = _new_session()
                self.expires_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1)
            return self.token

    def clear(self) -> None:
        with self.lock:
            self.token, self.expires_at = None, 0.0


_tokens = _TokenCache()


def forget_token() -> None:
    """Drop the cached session token (tests; a changed client secret)."""
    _tokens.clear()


def _url(path: str) -> str:
    return get_settings().ABDM_BASE_URL.rstrip("/") + path


def _error(response: httpx.Response) -> tuple[str, str]:
    """The ABDM error `{"error": {"code", "message"}}` (or `{"code", "message"}`) of an answer."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP-{response.status_code}", "no JSON error body"
    error = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        error = {}
    return str(error.get("code") or f"HTTP-{response.status_code}"), str(error.get("message") or "")


def _post(url: str, body: Any, headers: dict[str, str], method: str = "POST") -> httpx.Response:
    try:
        response = http_client().request(
            method, url, json=body, headers=headers, timeout=get_settings().ABDM_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(None, type(exc).__name__) from exc
    if response.status_code >= 500:
        raise GatewayUnavailable(response.status_code, f"HTTP {response.status_code}")
    return response


def _new_session() -> tuple[str, int]:
    settings = get_settings()
    response = _post(
        _url(SESSIONS_PATH),
        {
            "clientId": settings.ABDM_CLIENT_ID,
            "clientSecret": settings.ABDM_CLIENT_SECRET.get_secret_value(),
            "grantType": "client_credentials",
        },
        {"REQUEST-ID": new_request_id(), "TIMESTAMP": timestamp(), "X-CM-ID": settings.ABDM_CM_ID},
    )
    if response.status_code >= 400:
        code, message = _error(response)
        raise GatewayRefusal(response.status_code, code, message)
    body = response.json()
    return str(body["accessToken"]), int(body.get("expiresIn") or 600)


def call(
    path: str,
    body: Any,
    request_id: str,
    extra_headers: dict[str, str] | None = None,
    method: str = "POST",
) -> int:
    """Send `body` to the gateway's `path` under `request_id`; the HTTP status (2xx).
    Raises GatewayUnavailable (retry later) or GatewayRefusal (an ABDM error)."""
    settings = get_settings()
    headers = {
        "REQUEST-ID": request_id,
        "TIMESTAMP": timestamp(),
        "X-CM-ID": settings.ABDM_CM_ID,
        "X-HIP-ID": settings.ABDM_HIP_ID,
        **(extra_headers or {}),
    }
    for renew in (False, True):
        headers["Authorization"] = f"Bearer {_tokens.get(renew=renew)}"
        response = _post(_url(path), body, headers, method)
        if response.status_code != 401:
            break
    if response.status_code >= 400:
        code, message = _error(response)
        raise GatewayRefusal(response.status_code, code, message)
    return response.status_code


def push(url: str, body: Any) -> int:
    """POST the encrypted data to an HIU's `dataPushUrl` (directly, not through the gateway)."""
    response = _post(url, body, {})
    if response.status_code >= 400:
        code, message = _error(response)
        raise GatewayRefusal(response.status_code, code, message)
    return response.status_code


def register_bridge_url(url: str) -> int:
    """Tell the gateway where its callbacks go (`https://<host>/abdm`): once per environment."""
    return call(BRIDGE_URL_PATH, {"url": url}, new_request_id(), method="PATCH")


# --- callbacks -----------------------------------------------------------------------------------

# The gateway's public keys, by kid: fetched (with a session token, as the sandbox asks) when a
# kid is unknown, at most once a minute, and again after an hour.
KEYS_MAX_AGE_SECONDS = 3600
KEYS_MIN_REFETCH_SECONDS = 60


class InvalidCallbackToken(Exception):
    pass


class _Keys:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = float("-inf")

    def get(self, kid: str) -> jwt.PyJWK:
        with self.lock:
            age = time.monotonic() - self.fetched_at
            if age >= KEYS_MAX_AGE_SECONDS or (
                kid not in self.keys and age >= KEYS_MIN_REFETCH_SECONDS
            ):
                self.keys = _fetch_keys()
                self.fetched_at = time.monotonic()
            if kid not in self.keys:
                raise InvalidCallbackToken("unknown kid")
            return self.keys[kid]

    def clear(self) -> None:
        with self.lock:
            self.keys, self.fetched_at = {}, float("-inf")


def _fetch_keys() -> dict[str, jwt.PyJWK]:
    settings = get_settings()
    response: httpx.Response | None = None
    for renew in (False, True):
        try:
            response = http_client().get(
                settings.abdm_certs_url,
                headers={
                    "Authorization": f"Bearer {_tokens.get(renew=renew)}",
                    "REQUEST-ID": new_request_id(),
                    "TIMESTAMP": timestamp(),
                    "X-CM-ID": settings.ABDM_CM_ID,
                },
                timeout=settings.ABDM_TIMEOUT_SECONDS,
            )
        except (httpx.HTTPError, GatewayUnavailable, GatewayRefusal) as exc:
            raise InvalidCallbackToken("gateway keys unavailable") from exc
        if response.status_code != 401:
            break
    if response is None or response.status_code != 200:
        raise InvalidCallbackToken("gateway keys unavailable")
    keys = {}
    for entry in response.json().get("keys", []):
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if entry.get("kid"):
            keys[str(entry["kid"])] = key
    return keys


_keys = _Keys()


def forget_keys() -> None:
    """Drop the cached gateway keys (tests; a key rotation announced out of band)."""
    _keys.clear()


def verify_callback(authorization: str | None) -> dict[str, Any]:
    """The claims of a callback's bearer JWT (RS256 by a gateway key, audience `account`, not
    expired), or InvalidCallbackToken."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidCallbackToken("missing bearer token")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str):
            raise InvalidCallbackToken("no kid")
        return jwt.decode(
            token,
            _keys.get(kid).key,
            algorithms=["RS256"],
            audience=CALLBACK_AUDIENCE,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidCallbackToken(type(exc).__name__) from exc
