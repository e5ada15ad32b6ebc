"""A local Google: OAuth consent + token endpoint (code exchange with PKCE, refresh), userinfo,
Calendar freeBusy and events insert/delete. The real google-auth-oauthlib and
google-api-python-client talk to it over HTTP; every request is recorded.

The consent screen is played by `consent(authorization_url, ...)`: it reads the URL's
parameters like a browser would and returns the `code`/`state` Google would redirect back with.
"""

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

CLIENT_ID = "fake-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-client-secret"
AUTH_PATH = "/o/oauth2/auth"
TOKEN_PATH = "/token"
USERINFO_PATH = "/oauth2/v2/userinfo"
FREEBUSY_PATH = "/calendar/v3/freeBusy"
EVENTS_PATH = "/calendar/v3/calendars/primary/events"
ACCESS_TOKEN_SECONDS = 3599
ALL_SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
)


def oauth_error(error: str, description: str, status: int = 400) -> FakeResponse:
    return FakeResponse(status, {"error": error, "error_description": description})


def api_error(status: int, message: str, reason: str = "backendError") -> FakeResponse:
    return FakeResponse(
        status,
        {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}},
    )


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    sub: str
    email: str
    name: str


@dataclass
class Grant:
    account: Account
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class Authorization:
    account: Account
    scopes: tuple[str, ...]
    redirect_uri: str
    code_challenge: str
    used: bool = False


@dataclass
class Failure:
    method: str
    path: str
    response: FakeResponse
    times: int = 1


@dataclass
class Calendar:
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeGoogle(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self._init_state()

    def _init_state(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.authorizations: dict[str, Authorization] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.access_tokens: dict[str, tuple[Grant, bool]] = {}  # token -> (grant, expired?)
        self.calendars: dict[str, Calendar] = {}
        self.failures: list[Failure] = []
        self.state_lock = threading.RLock()

    def reset(self) -> None:
        super().reset()
        self._init_state()

    # --- test controls ---------------------------------------------------------------------

    def account(self, email: str, name: str = "Dr. Test Counsellor") -> Account:
        with self.state_lock:
            if email not in self.accounts:
                sub = str(100_000_000_000_000_000_000 + len(self.accounts) + 1)
                self.accounts[email] = Account(sub=sub, email=email, name=name)
                self.calendars[email] = Calendar()
            return self.accounts[email]

    def calendar(self, email: str) -> Calendar:
        self.account(email)
        return self.calendars[email]

    def add_busy(self, email: str, start: datetime, end: datetime) -> None:
        self.calendar(email).busy.append((start, end))

    def fail(
        self, method: str, path: str, response: FakeResponse | None = None, times: int = 1
    ) -> None:
        """The next `times` requests to `method path` get `response` (default: a 500)."""
        self.failures.append(
            Failure(method, path, response or api_error(500, "Backend Error"), times)
        )

    def time_out(self, method: str, path: str, seconds: float = 5.0) -> None:
        """The next request to `method path` answers only after `seconds`."""
        self.fail(method, path, FakeResponse(200, {}, delay_seconds=seconds))

    def issue_tokens(
        self, email: str, scopes: tuple[str, ...] = ALL_SCOPES, *, expired: bool = False
    ) -> tuple[str, str]:
        """(access token, refresh token) as if the account had consented already."""
        grant = Grant(self.account(email), scopes)
        refresh = "1//fake-refresh-" + secrets.token_urlsafe(24)
        access = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.state_lock:
            self.grants[refresh] = grant
            self.access_tokens[access] = (grant, expired)
        return access, refresh

    def revoke(self, email: str) -> None:
        """The user removed our app's access: refresh tokens answer invalid_grant."""
        with self.state_lock:
            for grant in self.grants.values():
                if grant.account.email == email:
                    grant.revoked = True
            for token, (grant, _) in list(self.access_tokens.items()):
                if grant.account.email == email:
                    self.access_tokens[token] = (grant, True)

    def consent(
        self,
        authorization_url: str,
        *,
        email: str,
        name: str = "Dr. Test Counsellor",
        grant: tuple[str, ...] | None = None,
    ) -> dict[str, str]:
        """Play the consent screen: check the URL like Google does and return the query
        Google would redirect back with (`code` and `state`)."""
        parts = urlsplit(authorization_url)
        assert f"{parts.scheme}://{parts.netloc}" == self.url, "not our auth_uri"
        assert parts.path == AUTH_PATH
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert query["code_challenge_method"] == "S256"
        requested = tuple(query["scope"].split())
        account = self.account(email, name)
        account.name = name  # the profile as it is now
        code = "4/fake-code-" + secrets.token_urlsafe(16)
        with self.state_lock:
            self.authorizations[code] = Authorization(
                account=account,
                scopes=grant if grant is not None else requested,
                redirect_uri=query["redirect_uri"],
                code_challenge=query["code_challenge"],
            )
        return {"code": code, "state": query["state"]}

    # --- what the fake saw -----------------------------------------------------------------

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    def token_requests(self, grant_type: str) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests_to("POST", TOKEN_PATH)
            if r.form().get("grant_type") == [grant_type]
        ]

    def event_inserts(self) -> list[RecordedRequest]:
        return [r for r in self.requests_to("POST", EVENTS_PATH) if r.path == EVENTS_PATH]

    def event_deletes(self) -> list[RecordedRequest]:
        return self.requests_to("DELETE", EVENTS_PATH + "/")

    def freebusy_requests(self) -> list[RecordedRequest]:
        return self.requests_to("POST", FREEBUSY_PATH)

    # --- the server ------------------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> FakeResponse:
        forced = self._forced(request)
        if forced is not None:
            return forced
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self._token(request)
        grant = self._bearer(request)
        if grant is None:
            return api_error(401, "Request had invalid authentication credentials.", "authError")
        if request.method == "GET" and request.path == USERINFO_PATH:
            account = grant.account
            return FakeResponse(
                200,
                {
                    "id": account.sub,
                    "email": account.email,
                    "verified_email": True,
                    "name": account.name,
                    "given_name": account.name.split()[-1],
                    "picture": "https://lh3.googleusercontent.com/a/fake",
                },
            )
        if request.method == "POST" and request.path == FREEBUSY_PATH:
            return self._freebusy(grant, request)
        if request.method == "POST" and request.path == EVENTS_PATH:
            return self._insert_event(grant, request)
        if request.method == "DELETE" and request.path.startswith(EVENTS_PATH + "/"):
            return self._delete_event(grant, request.path.rsplit("/", 1)[1])
        return api_error(404, "Not Found", "notFound")

    def _forced(self, request: RecordedRequest) -> FakeResponse | None:
        with self.state_lock:
            for failure in self.failures:
                if failure.method == request.method and request.path.startswith(failure.path):
                    failure.times -= 1
                    if failure.times <= 0:
                        self.failures.remove(failure)
                    return failure.response
        return None

    def _client_authenticated(self, request: RecordedRequest, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    def _token(self, request: RecordedRequest) -> FakeResponse:
        form = {k: v[0] for k, v in request.form().items()}
        if not self._client_authenticated(request, form):
            return oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if form.get("grant_type") == "authorization_code":
            return self._exchange(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        return oauth_error("unsupported_grant_type", "Invalid grant_type")

    def _exchange(self, form: dict[str, str]) -> FakeResponse:
        with self.state_lock:
            authorization = self.authorizations.get(form.get("code", ""))
            if authorization is None or authorization.used:
                return oauth_error("invalid_grant", "Malformed auth code.")
            authorization.used = True
        if form.get("redirect_uri") != authorization.redirect_uri:
            return oauth_error("redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if not verifier or s256(verifier) != authorization.code_challenge:
            return oauth_error("invalid_grant", "Missing code verifier.")
        access, refresh = self.issue_tokens(authorization.account.email, authorization.scopes)
        return FakeResponse(
            200,
            {
                "access_token": access,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": refresh,
                "scope": " ".join(authorization.scopes),
                "token_type": "Bearer",
            },
        )

    def _refresh(self, form: dict[str, str]) -> FakeResponse:
        with self.state_lock:
            grant = self.grants.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked:
            return oauth_error("invalid_grant", "Token has been expired or revoked.")
        access = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.state_lock:
            self.access_tokens[access] = (grant, False)
        return FakeResponse(
            200,
            {
                "access_token": access,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "scope": " ".join(grant.scopes),
                "token_type": "Bearer",
            },
        )

    def _bearer(self, request: RecordedRequest) -> Grant | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None
        with self.state_lock:
            known = self.access_tokens.get(header[7:])
        if known is None or known[1] or known[0].revoked:
            return None
        return known[0]

    def _freebusy(self, grant: Grant, request: RecordedRequest) -> FakeResponse:
        body = request.json()
        start, end = _parse(body["timeMin"]), _parse(body["timeMax"])
        calendar = self.calendar(grant.account.email)
        blocks = list(calendar.busy) + [
            (_parse(e["start"]["dateTime"]), _parse(e["end"]["dateTime"]))
            for e in calendar.events.values()
            if e["status"] != "cancelled"
        ]
        busy = [
            {"start": _rfc3339(max(s, start)), "end": _rfc3339(min(e, end))}
            for s, e in sorted(blocks)
            if s < end and e > start
        ]
        answer = {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": {item["id"]: {"busy": busy} for item in body.get("items", [])},
        }
        return FakeResponse(200, answer)

    def _insert_event(self, grant: Grant, request: RecordedRequest) -> FakeResponse:
        body = request.json()
        event_id = secrets.token_hex(13)
        event = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            **body,
        }
        create = body.get("conferenceData", {}).get("createRequest")
        if request.query.get("conferenceDataVersion") == ["1"] and create:
            meet_code = "-".join(
                "".join(secrets.choice("abcdefghijkmnopqrstuvwxyz") for _ in range(n))
                for n in (3, 4, 3)
            )
            uri = f"https://meet.google.com/{meet_code}"
            event["hangoutLink"] = uri
            event["conferenceData"] = {
                "createRequest": {**create, "status": {"statusCode": "success"}},
                "entryPoints": [
                    {"entryPointType": "video", "uri": uri, "label": uri[8:]},
                    {"entryPointType": "more", "uri": "https://tel.meet/" + meet_code},
                ],
                "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
                "conferenceId": meet_code,
            }
        else:
            event.pop("conferenceData", None)
        with self.state_lock:
            self.calendar(grant.account.email).events[event_id] = event
        return FakeResponse(200, event)

    def _delete_event(self, grant: Grant, event_id: str) -> FakeResponse:
        with self.state_lock:
            event = self.calendar(grant.account.email).events.get(event_id)
            if event is None:
                return api_error(404, "Not Found", "notFound")
            if event["status"] == "cancelled":
                return api_error(410, "Resource has been deleted", "deleted")
            event["status"] = "cancelled"
        return FakeResponse(204, None)
