"""The one place that talks to Google: the OAuth flow (google-auth-oauthlib), userinfo and the
Calendar API (google-api-python-client with its bundled discovery documents, so nothing is
downloaded at run time). Every call has a bounded timeout (GOOGLE_TIMEOUT_SECONDS).

Failures come out as two exceptions: `GrantRevoked` (the counsellor must connect again) and
`GoogleUnavailable` (anything else; worth retrying later)."""

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import google_auth_httplib2
import httplib2
import requests
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from config import get_settings
from core.clock import IST

logger = logging.getLogger("nucleotide.gmeet.google")

SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPE_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
SCOPE_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
# `openid email profile` in the long forms Google echoes back, so the granted-scope check
# compares like with like.
OAUTH_SCOPES = (SCOPE_EVENTS, SCOPE_FREEBUSY, "openid", SCOPE_EMAIL, SCOPE_PROFILE)
# Each needed capability, and the granted scopes that give it.
CALENDAR_NEEDS = {
    SCOPE_EVENTS: {SCOPE_EVENTS, "https://www.googleapis.com/auth/calendar"},
    SCOPE_FREEBUSY: {
        SCOPE_FREEBUSY,
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events.freebusy",
    },
}
CALENDAR_SERVICE_PATH = "calendar/v3/"
PRIMARY = "primary"
REMINDERS = [
    {"method": "email", "minutes": 24 * 60},
    {"method": "email", "minutes": 60},
    {"method": "popup", "minutes": 15},
]
GONE_STATUSES = (404, 410)


class GoogleError(Exception):
    pass


class GrantRevoked(GoogleError):
    """The refresh token no longer works (revoked, expired, or never issued)."""


class GoogleUnavailable(GoogleError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GoogleNotConfiguredError(GoogleError):
    """No usable client-secrets file."""


class AuthorizationRejected(GoogleError):
    """Google refused to exchange the authorization code."""


# --- configuration -------------------------------------------------------------------------------


def client_config() -> dict[str, Any]:
    """The client-secrets JSON (`{"web": {...}}`), read from GOOGLE_CLIENT_SECRETS_FILE."""
    path = get_settings().GOOGLE_CLIENT_SECRETS_FILE
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        logger.error("google client secrets unreadable: %s", type(exc).__name__)
        raise GoogleNotConfiguredError() from exc
    web = config.get("web") or config.get("installed")
    if not isinstance(web, dict) or not {"client_id", "auth_uri", "token_uri"} <= web.keys():
        logger.error("google client secrets lack client_id/auth_uri/token_uri")
        raise GoogleNotConfiguredError()
    return config


def _client_section(config: dict[str, Any]) -> dict[str, Any]:
    return config.get("web") or config["installed"]


def _timeout() -> float:
    return get_settings().GOOGLE_TIMEOUT_SECONDS


def _http() -> httplib2.Http:
    return httplib2.Http(timeout=_timeout())


def _allow_plain_http_outside_production() -> None:
    """oauthlib refuses http:// endpoints unless told; development and tests use them
    (localhost redirect URI, local fake Google)."""
    if get_settings().ENVIRONMENT in ("development", "test"):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def build_flow(code_verifier: str | None = None) -> Flow:
    config = client_config()
    _allow_plain_http_outside_production()
    return Flow.from_client_config(
        config,
        scopes=list(OAUTH_SCOPES),
        redirect_uri=get_settings().GOOGLE_OAUTH_REDIRECT_URI,
        code_verifier=code_verifier,
        autogenerate_code_verifier=code_verifier is None,
    )


# --- OAuth ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class GrantedTokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    name: str | None
    email_verified: bool


def authorization_request(state: str) -> AuthorizationRequest:
    """Google's consent URL: offline access, consent every time (so a refresh token is always
    issued), PKCE S256 with a fresh verifier, our random `state`."""
    flow = build_flow()
    url, returned_state = flow.authorization_url(
        access_type="offline", prompt="consent", state=state
    )
    assert flow.code_verifier is not None
    return AuthorizationRequest(url=url, state=returned_state, code_verifier=flow.code_verifier)


def _refuse_server_errors(response: requests.Response) -> requests.Response:
    """A 5xx from the token endpoint is an outage, not a refused code."""
    if response.status_code >= 500:
        logger.error("google token endpoint: HTTP %s", response.status_code)
        raise GoogleUnavailable(f"token endpoint HTTP {response.status_code}")
    return response


def exchange_code(code: str, code_verifier: str) -> GrantedTokens:
    """Trade the authorization code (and the PKCE verifier) for tokens at the token_uri."""
    flow = build_flow(code_verifier=code_verifier)
    flow.oauth2session.register_compliance_hook("access_token_response", _refuse_server_errors)
    try:
        token = flow.fetch_token(code=code, timeout=_timeout())
    except Warning as changed:
        # oauthlib refuses a grant narrower than asked (the user unticked a permission);
        # the caller decides which scopes it can live without.
        token = getattr(changed, "token", None)
        if token is None:
            raise AuthorizationRejected() from changed
    except OAuth2Error as exc:
        logger.warning("google code exchange refused: %s", exc.error)
        raise AuthorizationRejected() from exc
    except (requests.RequestException, OSError) as exc:
        logger.error("google code exchange failed: %s", type(exc).__name__)
        raise GoogleUnavailable("token endpoint unreachable") from exc
    scope = token.get("scope") or list(OAUTH_SCOPES)
    scopes = tuple(scope.split() if isinstance(scope, str) else scope)
    expires_at = token.get("expires_at")
    return GrantedTokens(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
        scopes=scopes,
    )


def missing_calendar_scopes(granted: tuple[str, ...]) -> list[str]:
    return [need for need, enough in CALENDAR_NEEDS.items() if not enough & set(granted)]


def fetch_identity(tokens: GrantedTokens) -> GoogleIdentity:
    """The account's Google subject, email and name from the userinfo endpoint."""
    calendar = GoogleCalendar(tokens, client_config())
    info = calendar.call("userinfo", lambda: calendar.userinfo_service().userinfo().get())
    return GoogleIdentity(
        sub=str(info.get("id") or ""),
        email=str(info.get("email") or "").lower(),
        name=info.get("name"),
        email_verified=info.get("verified_email", True) is not False,
    )


# --- Calendar ------------------------------------------------------------------------------------


def _naive_utc(moment: datetime | None) -> datetime | None:
    """google-auth compares expiry with a naive UTC clock."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _is_revoked(exc: RefreshError, credentials: Credentials) -> bool:
    details = exc.args[1] if len(exc.args) > 1 else None
    error = details.get("error") if isinstance(details, dict) else None
    return (
        error in ("invalid_grant", "unauthorized_client")
        or "invalid_grant" in str(exc)
        or credentials.refresh_token is None
    )


def _scope_withdrawn(exc: HttpError) -> bool:
    """403 because the user took back a permission (not a quota or rate limit)."""
    content = exc.content or b""
    return b"insufficientPermissions" in content or b"ACCESS_TOKEN_SCOPE_INSUFFICIENT" in content


class GoogleCalendar:
    """A counsellor's Calendar, through their (possibly refreshed) OAuth credentials."""

    def __init__(self, tokens: GrantedTokens, config: dict[str, Any] | None = None) -> None:
        section = _client_section(config or client_config())
        self.original_token = tokens.access_token
        self.credentials = Credentials(
            token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            token_uri=section["token_uri"],
            client_id=section["client_id"],
            client_secret=section.get("client_secret"),
            scopes=list(tokens.scopes),
            expiry=_naive_utc(tokens.expires_at),
        )

    def _authorized_http(self) -> google_auth_httplib2.AuthorizedHttp:
        return google_auth_httplib2.AuthorizedHttp(self.credentials, http=_http())

    def _service(self, name: str, version: str, service_path: str) -> Any:
        endpoint = urljoin(get_settings().GOOGLE_API_BASE_URL, service_path)
        return build(
            name,
            version,
            http=self._authorized_http(),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": endpoint},
        )

    def calendar_service(self) -> Any:
        return self._service("calendar", "v3", CALENDAR_SERVICE_PATH)

    def userinfo_service(self) -> Any:
        return self._service("oauth2", "v2", "")

    def refreshed_tokens(self) -> GrantedTokens | None:
        """The new tokens if google-auth refreshed them during a call, else None."""
        token = self.credentials.token
        if token is None or token == self.original_token:
            return None
        expiry = self.credentials.expiry
        return GrantedTokens(
            access_token=token,
            refresh_token=self.credentials.refresh_token,
            expires_at=expiry.replace(tzinfo=UTC) if expiry else None,
            scopes=tuple(self.credentials.granted_scopes or self.credentials.scopes or ()),
        )

    def call(self, action: str, make_request: Any, *, tolerate: tuple[int, ...] = ()) -> Any:
        """Execute one API request; map every failure to GrantRevoked or GoogleUnavailable."""
        try:
            return make_request().execute(num_retries=0)
        except RefreshError as exc:
            if _is_revoked(exc, self.credentials):
                logger.warning("google %s: grant revoked", action)
                raise GrantRevoked() from exc
            logger.error("google %s: token refresh failed", action)
            raise GoogleUnavailable("token refresh failed") from exc
        except HttpError as exc:
            status = exc.resp.status
            if status in tolerate:
                return None
            if status == 401 or (status == 403 and _scope_withdrawn(exc)):
                logger.warning("google %s: credentials rejected (HTTP %s)", action, status)
                raise GrantRevoked() from exc
            logger.error("google %s: HTTP %s", action, status)
            raise GoogleUnavailable(f"HTTP {status}") from exc
        except (TransportError, httplib2.HttpLib2Error, OSError, GoogleAuthError) as exc:
            logger.error("google %s: %s", action, type(exc).__name__)
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise GoogleUnavailable(reason) from exc

    def busy_blocks(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Busy periods of the primary calendar between start and end (aware UTC)."""
        body = {
            "timeMin": start.astimezone(UTC).isoformat(),
            "timeMax": end.astimezone(UTC).isoformat(),
            "timeZone": "Asia/Kolkata",
            "items": [{"id": PRIMARY}],
        }
        answer = self.call("freeBusy", lambda: self.calendar_service().freebusy().query(body=body))
        calendar = (answer or {}).get("calendars", {}).get(PRIMARY)
        if not isinstance(calendar, dict) or calendar.get("errors"):
            raise GoogleUnavailable("freeBusy answered without the primary calendar")
        return [(_parse_time(b["start"]), _parse_time(b["end"])) for b in calendar.get("busy", [])]

    def create_event(self, event: dict[str, Any], *, send_updates: bool) -> dict[str, Any]:
        return self.call(
            "events.insert",
            lambda: (
                self.calendar_service()
                .events()
                .insert(
                    calendarId=PRIMARY,
                    body=event,
                    conferenceDataVersion=1,
                    sendUpdates="all" if send_updates else "none",
                )
            ),
        )

    def delete_event(self, event_id: str, *, send_updates: bool) -> None:
        """Delete the event; one that is already gone counts as deleted."""
        self.call(
            "events.delete",
            lambda: (
                self.calendar_service()
                .events()
                .delete(
                    calendarId=PRIMARY,
                    eventId=event_id,
                    sendUpdates="all" if send_updates else "none",
                )
            ),
            tolerate=GONE_STATUSES,
        )


def session_event(
    *,
    request_id: str,
    start: datetime,
    end: datetime,
    patient_name: str,
    patient_email: str | None,
    patient_phone: str | None,
    notes: str | None,
) -> dict[str, Any]:
    """The Calendar event of one counselling session, with a Meet conference to be created."""
    lines = [f"Patient: {patient_name}"]
    if patient_phone:
        lines.append(f"Phone: {patient_phone}")
    if notes:
        lines.append(f"Notes: {notes}")
    lines.append(f"Booking reference: {request_id}")
    event: dict[str, Any] = {
        "summary": f"Genetic counselling: {patient_name}",
        "description": "\n".join(lines),
        "start": {"dateTime": start.astimezone(IST).isoformat(), "timeZone": "Asia/Kolkata"},
        "end": {"dateTime": end.astimezone(IST).isoformat(), "timeZone": "Asia/Kolkata"},
        "conferenceData": {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        },
        "reminders": {"useDefault": False, "overrides": REMINDERS},
        "extendedProperties": {"private": {"nucleotide_booking": request_id}},
    }
    if patient_email:
        event["attendees"] = [{"email": patient_email, "displayName": patient_name}]
    return event


def meet_link_of(event: dict[str, Any]) -> str | None:
    for entry in event.get("conferenceData", {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return event.get("hangoutLink")
