"""A local ABDM gateway (HIECM, API v3) for the Health Information Provider's tests.

The app's real HTTP client talks to it: sessions, the signing keys, HIP-initiated linking (link
token, care contexts), and the HIP's answers to the gateway's requests (`on-discover`, `on-init`,
`on-confirm`, consent `on-notify`, health information `on-request` and `notify`). Every request
is recorded and checked like the gateway does: the session token, `REQUEST-ID` (a UUID never
seen before), `TIMESTAMP` (UTC with milliseconds and `Z`, within 5 minutes), `X-CM-ID` and,
on the HIP's own calls, `X-HIP-ID`.

What the gateway sends the HIP (the link token, the linking result, and the patient-side
requests built by `discover`, `link_init`, `link_confirm`, `consent_notify`,
`health_information_request`) is queued as `Callback`s; a test delivers them to the app with
`deliver(client)`, each with the bearer JWT the real gateway puts on its callbacks (RS256 from
Keycloak's `central-registry` realm, `aud` "account", `azp` "gateway"), signed with a key the
fake publishes as a JWKS.

Details follow the NHA v3 catalogue (`nha-in/docs` `catalogue/openapi/hiecm/v3/`) and what
integrators observed on the sandbox, where they go beyond the protocol notes:
a 401 has the gateway's flat body `{"code": "900901", "message", "description"}`, not the
nested `{"error": {...}}`; the sessions and certs calls also take `REQUEST-ID`, `TIMESTAMP` and
`X-CM-ID`; `/api/hiecm/gateway/v3/certs` wants the session token (the realm's own JWKS at
`/auth/realms/central-registry/protocol/openid-connect/certs` does not); `X-HIP-ID` is required
on generate-token, link/carecontext and link/context/notify, the calls the catalogue lists it on.
"""

import base64
import json
import re
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

CLIENT_ID = "SBX_FAKE_NUCLEOTIDE"
CLIENT_SECRET = "fake-abdm-client-secret"
CM_ID = "sbx"
HIP_ID = "FAKE-HIP-0001"
HIP_NAME = "Nucleotide Genomics Lab"
REALM = "/auth/realms/central-registry"
# A gateway session lasts 20 minutes on the sandbox.
ACCESS_TOKEN_SECONDS = 1200
REFRESH_TOKEN_SECONDS = 1800
# Generate-token calls per ABHA address before the gateway blocks the HIP for a day.
LINK_TOKEN_LIMIT = 3
LINK_TOKEN_DAYS = 180
CALLBACK_TOKEN_SECONDS = 3600
TIMESTAMP_SKEW = timedelta(minutes=5)
HI_TYPES = frozenset(
    {
        "Prescription",
        "DiagnosticReport",
        "OPConsultation",
        "DischargeSummary",
        "ImmunizationRecord",
        "HealthDocumentRecord",
        "WellnessRecord",
        "Invoice",
    }
)

# The gateway's paths, as the app calls them (relative to ABDM_BASE_URL).
SESSIONS = "/api/hiecm/gateway/v3/sessions"
CERTS = "/api/hiecm/gateway/v3/certs"
REALM_CERTS = REALM + "/protocol/openid-connect/certs"
OPENID_CONFIGURATION = REALM + "/.well-known/openid-configuration"
BRIDGE_URL = "/api/hiecm/gateway/v3/bridge/url"
GENERATE_TOKEN = "/api/hiecm/v3/token/generate-token"
LINK_CARE_CONTEXT = "/api/hiecm/hip/v3/link/carecontext"
LINK_CONTEXT_NOTIFY = "/api/hiecm/hip/v3/link/context/notify"
SMS_NOTIFY = "/api/hiecm/hip/v3/link/patient/links/sms/notify2"
ON_DISCOVER = "/api/hiecm/user-initiated-linking/v3/patient/care-context/on-discover"
ON_INIT = "/api/hiecm/user-initiated-linking/v3/link/care-context/on-init"
ON_CONFIRM = "/api/hiecm/user-initiated-linking/v3/link/care-context/on-confirm"
CONSENT_ON_NOTIFY = "/api/hiecm/consent/v3/request/hip/on-notify"
HEALTH_INFORMATION_ON_REQUEST = "/api/hiecm/data-flow/v3/health-information/hip/on-request"
HEALTH_INFORMATION_NOTIFY = "/api/hiecm/data-flow/v3/health-information/notify"

# The HIP's callback paths (relative to its bridge URL).
ON_GENERATE_TOKEN_CALLBACK = "/api/v3/hip/token/on-generate-token"
ON_CARE_CONTEXT_CALLBACK = "/api/v3/link/on_carecontext"
DISCOVER_CALLBACK = "/api/v3/hip/patient/care-context/discover"
LINK_INIT_CALLBACK = "/api/v3/hip/link/care-context/init"
LINK_CONFIRM_CALLBACK = "/api/v3/hip/link/care-context/confirm"
CONSENT_NOTIFY_CALLBACK = "/api/v3/consent/request/hip/notify"
HEALTH_INFORMATION_REQUEST_CALLBACK = "/api/v3/hip/health-information/request"

UUID_SHAPE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
TIMESTAMP_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UNAVAILABLE_PAGE = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)

_process_keys: dict[str, rsa.RSAPrivateKey] = {}
_process_keys_lock = threading.Lock()


def _process_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name per process (generating one takes a while)."""
    with _process_keys_lock:
        if name not in _process_keys:
            _process_keys[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _process_keys[name]


def _new_kid() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, like Keycloak's key ids


# One kid for the process's signing key, so a key set fetched before a reset stays valid.
_PROCESS_KID = _new_kid()


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as ABDM's TIMESTAMP header and date fields."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _date(value: str | datetime) -> str:
    return value if isinstance(value, str) else timestamp(value)


def abdm_error(status: int, code: str, message: str) -> FakeResponse:
    """The gateway's error answer: `{"error": {"code": "ABDM-nnnn", "message"}}`."""
    return FakeResponse(status, {"error": {"code": code, "message": message}})


def unauthorized(code: str, message: str, description: str) -> FakeResponse:
    """The API manager's 401 in front of the gateway: flat, with a numeric code."""
    return FakeResponse(401, {"code": code, "message": message, "description": description})


def invalid_body(message: str = "Bad Request, invalid request Body") -> FakeResponse:
    return abdm_error(400, "ABDM-1006", message)


@dataclass
class Callback:
    """A request the gateway sends to the HIP's bridge: POST `path` with `body`, REQUEST-ID
    `request_id`, X-HIP-ID `hip_id`."""

    path: str
    body: dict[str, Any]
    request_id: str
    hip_id: str


@dataclass
class SessionToken:
    client_id: str
    expires_at: datetime
    revoked: bool = False


@dataclass
class LinkToken:
    abha_address: str
    abha_number: str | None
    hip_id: str


@dataclass
class Refusal:
    path_suffix: str
    response: FakeResponse


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", **public}


@dataclass
class Route:
    handler: Callable[[RecordedRequest, dict[str, Any]], FakeResponse]
    authenticated: bool = True
    hip: bool = False  # X-HIP-ID required
    json_body: bool = True


@dataclass
class _State:
    keys: list[SigningKey]
    sessions: dict[str, SessionToken] = field(default_factory=dict)
    seen_request_ids: set[str] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    link_tokens: dict[str, LinkToken] = field(default_factory=dict)
    latest_link_token: dict[tuple[str, str], str] = field(default_factory=dict)
    link_token_calls: Counter[str] = field(default_factory=Counter)
    linked: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[RecordedRequest] = field(default_factory=list)
    bridge_url: str | None = None


class FakeAbdmGateway(FakeServer):
    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        cm_id: str = CM_ID,
        hip_id: str = HIP_ID,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.cm_id = cm_id
        self.hip_id = hip_id
        self.state_lock = threading.RLock()
        self.routes: dict[tuple[str, str], Route] = {
            ("POST", SESSIONS): Route(self._sessions, authenticated=False),
            ("GET", CERTS): Route(self._certs, json_body=False),
            ("PATCH", BRIDGE_URL): Route(self._bridge_url),
            ("POST", GENERATE_TOKEN): Route(self._generate_token, hip=True),
            ("POST", LINK_CARE_CONTEXT): Route(self._link_care_context, hip=True),
            ("POST", LINK_CONTEXT_NOTIFY): Route(self._context_notify, hip=True),
            ("POST", SMS_NOTIFY): Route(self._answer(("notification",))),
            ("POST", ON_DISCOVER): Route(self._answer(("transactionId", "response"))),
            ("POST", ON_INIT): Route(self._answer(("transactionId", "response"))),
            ("POST", ON_CONFIRM): Route(self._answer(("response",))),
            ("POST", CONSENT_ON_NOTIFY): Route(self._consent_on_notify),
            ("POST", HEALTH_INFORMATION_ON_REQUEST): Route(self._health_information_on_request),
            ("POST", HEALTH_INFORMATION_NOTIFY): Route(self._health_information_notify),
        }
        self._init_state()

    def _init_state(self) -> None:
        self.expires_in = ACCESS_TOKEN_SECONDS
        self.link_token_limit = LINK_TOKEN_LIMIT
        # The sandbox answers certs only with a session token; False serves them to anyone.
        self.certs_need_token = True
        # Every call answers 503 (an HTML page, as the load balancer does) while True.
        self.down = False
        # The fake's clock: TIMESTAMP checks, token lifetimes, the JWTs' iat/exp.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        with self.state_lock:
            self.state = _State(keys=[SigningKey(_PROCESS_KID, _process_key("gateway"))])

    def start(self) -> "FakeAbdmGateway":
        super().start()
        return self

    def reset(self) -> None:
        super().reset()
        self._init_state()

    # --- test controls ---------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url + REALM

    @property
    def certs_url(self) -> str:
        return self.url + CERTS

    @property
    def realm_certs_url(self) -> str:
        return self.url + REALM_CERTS

    def jwks(self) -> dict[str, Any]:
        with self.state_lock:
            return {"keys": [key.jwk() for key in self.state.keys]}

    def rotate_key(self) -> str:
        """A new signing key (published beside the old ones) signs from now on; its kid."""
        key = SigningKey(_new_kid(), rsa.generate_private_key(public_exponent=65537, key_size=2048))
        with self.state_lock:
            self.state.keys.append(key)
        return key.kid

    @property
    def current_kid(self) -> str:
        with self.state_lock:
            return self.state.keys[-1].kid

    def revoke_tokens(self) -> None:
        """Every session token issued so far answers 401 from now on."""
        with self.state_lock:
            for session in self.state.sessions.values():
                session.revoked = True

    def refuse_next(self, path_suffix: str, code: str, message: str, status: int = 400) -> None:
        """The next well-formed call to a path ending in `path_suffix` answers this error."""
        with self.state_lock:
            self.state.refusals.append(Refusal(path_suffix, abdm_error(status, code, message)))

    def issue_token(self) -> str:
        """A session token, as if the HIP had opened a session (for calling the fake directly)."""
        return self._new_session(self.client_id)["accessToken"]

    def issue_link_token(self, abha_address: str, abha_number: str | None = None) -> str:
        """A link token for (ABHA address, this HIP), as if a generate-token had succeeded."""
        return self._new_link_token(abha_address, abha_number, self.hip_id)

    def link_token(self, abha_address: str, hip_id: str | None = None) -> str | None:
        """The newest link token issued for (ABHA address, HIP)."""
        with self.state_lock:
            return self.state.latest_link_token.get((abha_address, hip_id or self.hip_id))

    def linked_care_contexts(self, abha_address: str | None = None) -> list[dict[str, Any]]:
        """Care contexts linked so far: `{abhaAddress, hipId, patientReference,
        careContextReference, display, hiTypes}`."""
        with self.state_lock:
            return [
                dict(c)
                for c in self.state.linked
                if abha_address is None or c["abhaAddress"] == abha_address
            ]

    @property
    def bridge_url(self) -> str | None:
        with self.state_lock:
            return self.state.bridge_url

    # --- what the fake saw -----------------------------------------------------------------

    def calls(self, path_suffix: str) -> list[RecordedRequest]:
        """Every request to a path ending in `path_suffix`, whatever it was answered."""
        with self.lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    def answers(self, path_suffix: str) -> list[dict[str, Any]]:
        """The bodies of the accepted (202) calls to a path ending in `path_suffix`."""
        return [r.json() for r in self.accepted_calls(path_suffix)]

    def accepted_calls(self, path_suffix: str) -> list[RecordedRequest]:
        with self.state_lock:
            return [r for r in self.state.accepted if r.path.endswith(path_suffix)]

    # --- callbacks to the HIP --------------------------------------------------------------

    @property
    def callbacks(self) -> list[Callback]:
        """The callbacks queued and not yet delivered, oldest first."""
        with self.state_lock:
            return list(self.state.callbacks)

    def queue(self, path: str, body: dict[str, Any], hip_id: str | None = None) -> str:
        """Queue a callback to the HIP; its REQUEST-ID."""
        request_id = str(uuid.uuid4())
        with self.state_lock:
            self.state.callbacks.append(Callback(path, body, request_id, hip_id or self.hip_id))
        return request_id

    def deliver(self, client: httpx.Client, prefix: str = "/abdm") -> list[httpx.Response]:
        """POST every queued callback to `prefix + path` with the gateway's signed headers,
        oldest first, and empty the queue; the HIP's responses."""
        with self.state_lock:
            pending, self.state.callbacks = self.state.callbacks, []
        return [
            client.post(
                prefix + callback.path,
                json=callback.body,
                headers=self.signed_headers(callback.request_id, hip_id=callback.hip_id),
            )
            for callback in pending
        ]

    def signed_headers(
        self,
        request_id: str | None = None,
        *,
        expired: bool = False,
        forged: bool = False,
        audience: str | None = "account",
        kid: str | None = None,
        hip_id: str | None = None,
    ) -> dict[str, str]:
        """The headers of a gateway callback: a bearer JWT (RS256, header `kid`) as Keycloak's
        `central-registry` realm issues for the gateway's service account, and REQUEST-ID,
        TIMESTAMP, X-CM-ID, X-HIP-ID.

        `expired`: the token's `exp` is an hour past. `forged`: signed with a key the gateway
        never published, under a published kid. `kid`: sign with that published key, or, for an
        unknown kid, with the current key under that kid. `audience=None` leaves `aud` out.
        """
        now = self.now()
        issued = now - timedelta(seconds=2 * CALLBACK_TOKEN_SECONDS) if expired else now
        claims: dict[str, Any] = {
            "exp": int((issued + timedelta(seconds=CALLBACK_TOKEN_SECONDS)).timestamp()),
            "iat": int(issued.timestamp()),
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "sub": "service-account-gateway",
            "typ": "Bearer",
            "azp": "gateway",
            "scope": "openid",
            "clientId": "gateway",
            "preferred_username": "service-account-gateway",
        }
        if audience is not None:
            claims["aud"] = audience
        with self.state_lock:
            keys = {key.kid: key for key in self.state.keys}
            current = self.state.keys[-1]
        signing = keys.get(kid, current) if kid else current
        private_key = _process_key("forger") if forged else signing.private_key
        token = jwt.encode(
            claims, private_key, algorithm="RS256", headers={"kid": kid or signing.kid}
        )
        return {
            "Authorization": f"Bearer {token}",
            "REQUEST-ID": request_id or str(uuid.uuid4()),
            "TIMESTAMP": timestamp(now),
            "X-CM-ID": self.cm_id,
            "X-HIP-ID": hip_id or self.hip_id,
        }

    def gateway_headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        """Headers a well-behaved HIP sends the gateway (for calling the fake directly)."""
        headers = {
            "REQUEST-ID": str(uuid.uuid4()),
            "TIMESTAMP": timestamp(self.now()),
            "X-CM-ID": self.cm_id,
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return {**headers, **extra}

    # --- patient-side requests the gateway relays to the HIP -------------------------------

    def discover(self, patient: dict[str, Any], transaction_id: str | None = None) -> str:
        """A PHR app's discovery: `patient` is `{id, name, gender, yearOfBirth,
        verifiedIdentifiers, unverifiedIdentifiers}`."""
        body = {"transactionId": transaction_id or str(uuid.uuid4()), "patient": patient}
        return self.queue(DISCOVER_CALLBACK, body)

    def link_init(
        self, abha_address: str, patient: list[dict[str, Any]], transaction_id: str | None = None
    ) -> str:
        """The patient asks to link care contexts found by discovery: `patient` is
        `[{referenceNumber, careContexts: [{referenceNumber}], hiType, count}]`."""
        body = {
            "transactionId": transaction_id or str(uuid.uuid4()),
            "abhaAddress": abha_address,
            "patient": patient,
        }
        return self.queue(LINK_INIT_CALLBACK, body)

    def link_confirm(self, link_ref_number: str, token: str) -> str:
        """The patient enters the HIP's OTP."""
        body = {"confirmation": {"linkRefNumber": link_ref_number, "token": token}}
        return self.queue(LINK_CONFIRM_CALLBACK, body)

    def consent_notify(
        self,
        consent_id: str,
        status: str,
        care_contexts: list[dict[str, str]],
        hi_types: list[str],
        date_from: str | datetime,
        date_to: str | datetime,
        data_erase_at: str | datetime,
        hiu_id: str,
        *,
        abha_address: str | None = None,
    ) -> str:
        """A consent artefact's state (GRANTED, REVOKED, EXPIRED) for this HIP: `care_contexts`
        are `[{patientReference, careContextReference}]`."""
        detail: dict[str, Any] = {
            "schemaVersion": "v3",
            "consentId": consent_id,
            "createdAt": timestamp(self.now()),
            "careContexts": care_contexts,
            "purpose": {
                "text": "Self Requested",
                "code": "PATRQT",
                "refUri": "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse",
            },
            "hip": {"id": self.hip_id},
            "hiu": {"id": hiu_id},
            "consentManager": {"id": self.cm_id},
            "hiTypes": hi_types,
            "permission": {
                "accessMode": "VIEW",
                "dateRange": {"from": _date(date_from), "to": _date(date_to)},
                "dataEraseAt": _date(data_erase_at),
                "frequency": {"unit": "HOUR", "value": 1, "repeats": 0},
            },
        }
        if abha_address is not None:
            detail["patient"] = {"id": abha_address}
        body = {
            "notification": {
                "status": status,
                "consentId": consent_id,
                "consentDetail": detail,
                "signature": self._sign_artefact(detail),
                "grantAcknowledgement": False,
            }
        }
        return self.queue(CONSENT_NOTIFY_CALLBACK, body)

    def health_information_request(
        self,
        consent_id: str,
        date_from: str | datetime,
        date_to: str | datetime,
        data_push_url: str,
        key_material: dict[str, Any],
        transaction_id: str | None = None,
    ) -> str:
        """An HIU's request for the records a consent covers: `key_material` is `{cryptoAlg,
        curve, dhPublicKey: {expiry, parameters, keyValue}, nonce}`."""
        body = {
            "transactionId": transaction_id or str(uuid.uuid4()),
            "hiRequest": {
                "consent": {"id": consent_id},
                "dateRange": {"from": _date(date_from), "to": _date(date_to)},
                "dataPushUrl": data_push_url,
                "keyMaterial": key_material,
            },
        }
        return self.queue(HEALTH_INFORMATION_REQUEST_CALLBACK, body)

    # --- the server ------------------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if self.down:
            return FakeResponse(503, UNAVAILABLE_PAGE, {"Content-Type": "text/html"})
        if request.method == "GET" and request.path == REALM_CERTS:
            return FakeResponse(200, self.jwks())
        if request.method == "GET" and request.path == OPENID_CONFIGURATION:
            return FakeResponse(200, {"issuer": self.issuer, "jwks_uri": self.realm_certs_url})
        route = self.routes.get((request.method, request.path))
        if route is None:
            return abdm_error(404, "ABDM-2500", f"No mapping found for {request.path}")
        if route.authenticated and (request.path != CERTS or self.certs_need_token):
            refused = self._check_bearer(request)
            if refused is not None:
                return refused
        refused = self._check_headers(request, route)
        if refused is not None:
            return refused
        with self.state_lock:
            refusal = next(
                (r for r in self.state.refusals if request.path.endswith(r.path_suffix)), None
            )
            if refusal is not None:
                self.state.refusals.remove(refusal)
                return refusal.response
        body: dict[str, Any] = {}
        if route.json_body:
            if not request.body:
                return abdm_error(400, "ABDM-1064", "Request body was missing")
            try:
                parsed = json.loads(request.body)
            except ValueError:
                return invalid_body()
            if not isinstance(parsed, dict):
                return invalid_body()
            body = parsed
        return route.handler(request, body)

    def _check_bearer(self, request: RecordedRequest) -> FakeResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return unauthorized(
                "900902",
                "Missing Credentials",
                "Invalid Credentials. Make sure your API invocation call has a header: "
                "'Authorization : Bearer ACCESS_TOKEN'",
            )
        token = header[7:] if header[:7].lower() == "bearer " else ""
        with self.state_lock:
            session = self.state.sessions.get(token)
            valid = session is not None and not session.revoked and self.now() < session.expires_at
        if not valid:
            return unauthorized(
                "900901",
                "Invalid Credentials",
                "Invalid Credentials. Make sure you have provided the correct security credentials",
            )
        return None

    def _check_headers(self, request: RecordedRequest, route: Route) -> FakeResponse | None:
        request_id = request.headers.get("request-id", "")
        if not UUID_SHAPE.match(request_id):
            return abdm_error(400, "ABDM-2404", "Invalid Request Id")
        sent_at = request.headers.get("timestamp", "")
        if not TIMESTAMP_SHAPE.match(sent_at):
            return abdm_error(400, "ABDM-2402", "Invalid Timestamp")
        moment = datetime.strptime(sent_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        if abs(self.now() - moment) > TIMESTAMP_SKEW:
            return abdm_error(400, "ABDM-2402", "Invalid Timestamp")
        if request.headers.get("x-cm-id") != self.cm_id:
            return abdm_error(400, "ABDM-2403", "Invalid X-CM-ID")
        if route.hip and not request.headers.get("x-hip-id"):
            return abdm_error(400, "ABDM-1035", "Invalid HIP ID")
        with self.state_lock:
            if request_id.lower() in self.state.seen_request_ids:
                return abdm_error(400, "ABDM-1064", "request with this request id already exists")
            self.state.seen_request_ids.add(request_id.lower())
        return None

    def _accept(self, request: RecordedRequest) -> FakeResponse:
        with self.state_lock:
            self.state.accepted.append(request)
        return FakeResponse(202, None)

    # sessions and keys

    def _new_session(self, client_id: str) -> dict[str, Any]:
        now = self.now()
        expires_at = now + timedelta(seconds=self.expires_in)
        claims: dict[str, Any] = {
            "exp": int(expires_at.timestamp()),
            "iat": int(now.timestamp()),
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "typ": "Bearer",
            "azp": client_id,
            "clientId": client_id,
            "realm_access": {"roles": ["hip", "hiu", "bridge"]},
        }
        with self.state_lock:
            key = self.state.keys[-1]
        token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
        refresh = jwt.encode(
            {**claims, "typ": "Refresh", "exp": claims["iat"] + REFRESH_TOKEN_SECONDS},
            key.private_key,
            algorithm="RS256",
            headers={"kid": key.kid},
        )
        with self.state_lock:
            self.state.sessions[token] = SessionToken(client_id, expires_at)
        return {
            "accessToken": token,
            "expiresIn": self.expires_in,
            "refreshExpiresIn": REFRESH_TOKEN_SECONDS,
            "refreshToken": refresh,
            "tokenType": "bearer",
        }

    def _sessions(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        if body.get("grantType") != "client_credentials":
            return invalid_body()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return unauthorized(
                "900901",
                "Invalid Credentials",
                "Invalid Credentials. Make sure you have provided the correct security credentials",
            )
        return FakeResponse(200, self._new_session(self.client_id))

    def _certs(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        return FakeResponse(200, self.jwks())

    def _bridge_url(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return invalid_body()
        with self.state_lock:
            self.state.bridge_url = url
        return self._accept(request)

    def _sign_artefact(self, detail: dict[str, Any]) -> str:
        """A signature over the consent detail (NHA does not publish the real scheme)."""
        with self.state_lock:
            key = self.state.keys[-1].private_key
        message = json.dumps(detail, sort_keys=True, separators=(",", ":")).encode()
        return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    # HIP-initiated linking

    def _new_link_token(self, abha_address: str, abha_number: str | None, hip_id: str) -> str:
        now = self.now()
        claims: dict[str, Any] = {
            "abhaAddress": abha_address,
            "abhaNumber": abha_number,
            "hipId": hip_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(days=LINK_TOKEN_DAYS)).timestamp()),
            "jti": str(uuid.uuid4()),
        }
        with self.state_lock:
            key = self.state.keys[-1]
        token = jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
        with self.state_lock:
            self.state.link_tokens[token] = LinkToken(abha_address, abha_number, hip_id)
            self.state.latest_link_token[(abha_address, hip_id)] = token
        return token

    def _generate_token(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        abha_address = body.get("abhaAddress")
        year = body.get("yearOfBirth")
        if (
            not isinstance(abha_address, str)
            or not abha_address
            or not isinstance(body.get("name"), str)
            or body.get("gender") not in ("M", "F", "O")
            or not isinstance(year, int)
            or isinstance(year, bool)
        ):
            return invalid_body()
        abha_number = body.get("abhaNumber")
        hip_id = request.headers["x-hip-id"]
        answer: dict[str, Any] = {"response": {"requestId": request.headers["request-id"]}}
        with self.state_lock:
            self.state.link_token_calls[abha_address] += 1
            blocked = self.state.link_token_calls[abha_address] > self.link_token_limit
        if blocked:
            answer["error"] = {
                "code": "ABDM-1027",
                "message": "You are blocked. Please try again after 24 hours.",
            }
        else:
            number = None if abha_number is None else str(abha_number)
            answer["abhaAddress"] = abha_address
            answer["linkToken"] = self._new_link_token(abha_address, number, hip_id)
        self.queue(ON_GENERATE_TOKEN_CALLBACK, answer, hip_id)
        return self._accept(request)

    def _care_context_entries(self, body: dict[str, Any]) -> list[dict[str, Any]] | FakeResponse:
        patients = body.get("patient")
        if not isinstance(body.get("abhaAddress"), str) or not isinstance(patients, list):
            return invalid_body()
        if not patients:
            return invalid_body()
        for entry in patients:
            if not isinstance(entry, dict):
                return invalid_body()
            contexts = entry.get("careContexts")
            hi_type = entry.get("hiType")
            hi_types = hi_type if isinstance(hi_type, list) else [hi_type]
            if (
                not isinstance(entry.get("referenceNumber"), str)
                or not isinstance(entry.get("display"), str)
                or not isinstance(contexts, list)
                or not contexts
                or not all(
                    isinstance(c, dict)
                    and isinstance(c.get("referenceNumber"), str)
                    and isinstance(c.get("display"), str)
                    for c in contexts
                )
            ):
                return invalid_body()
            if not hi_types or not all(t in HI_TYPES for t in hi_types):
                return invalid_body("Invalid HIType, it must be in " + ",".join(sorted(HI_TYPES)))
            if entry.get("count") != len(contexts):
                return abdm_error(400, "ABDM-1037", "Counter and Care context count mismatch")
        return patients

    def _link_care_context(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        token = request.headers.get("x-link-token")
        if not token:
            return abdm_error(400, "ABDM-1026", "Invalid Link Token")
        patients = self._care_context_entries(body)
        if isinstance(patients, FakeResponse):
            return patients
        abha_address = body["abhaAddress"]
        hip_id = request.headers["x-hip-id"]
        answer: dict[str, Any] = {"response": {"requestId": request.headers["request-id"]}}
        with self.state_lock:
            error = self._link_error(token, abha_address, body.get("abhaNumber"), hip_id)
            if error is None:
                new = [
                    {
                        "abhaAddress": abha_address,
                        "hipId": hip_id,
                        "patientReference": entry["referenceNumber"],
                        "careContextReference": context["referenceNumber"],
                        "display": context["display"],
                        "hiTypes": entry["hiType"]
                        if isinstance(entry["hiType"], list)
                        else [entry["hiType"]],
                    }
                    for entry in patients
                    for context in entry["careContexts"]
                ]
                key = ("abhaAddress", "hipId", "patientReference", "careContextReference")
                known = {tuple(c[k] for k in key) for c in self.state.linked}
                if any(tuple(c[k] for k in key) in known for c in new):
                    error = ("ABDM-1056", "This care contexts has been already linked")
                else:
                    self.state.linked.extend(new)
        if error is None:
            answer["abhaAddress"] = abha_address
            answer["status"] = "Successfully Linked care context"
        else:
            answer["error"] = {"code": error[0], "message": error[1]}
        self.queue(ON_CARE_CONTEXT_CALLBACK, answer, hip_id)
        return self._accept(request)

    def _link_error(
        self, token: str, abha_address: str, abha_number: Any, hip_id: str
    ) -> tuple[str, str] | None:
        issued = self.state.link_tokens.get(token)
        if issued is None or issued.abha_address != abha_address:
            return ("ABDM-1038", "ABHA address and Link token mismatch")
        if issued.hip_id != hip_id:
            return ("ABDM-1063", "HIP Id mismatch with Link token")
        if (
            abha_number is not None
            and issued.abha_number is not None
            and str(abha_number) != issued.abha_number
        ):
            return ("ABDM-1062", "ABHA number mismatch with Link token")
        return None

    def _context_notify(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        notification = body.get("notification")
        required = ("patient", "careContext", "hiTypes", "date", "hip")
        if not isinstance(notification, dict) or any(k not in notification for k in required):
            return invalid_body()
        return self._accept(request)

    # the HIP's answers to the gateway's requests

    def _answer(
        self, required: tuple[str, ...]
    ) -> Callable[[RecordedRequest, dict[str, Any]], FakeResponse]:
        def handle(request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
            if any(key not in body for key in required):
                return invalid_body()
            if "response" in required and not _has_request_id(body):
                return invalid_body()
            return self._accept(request)

        return handle

    def _consent_on_notify(self, request: RecordedRequest, body: dict[str, Any]) -> FakeResponse:
        acknowledgement = body.get("acknowledgement")
        if (
            not isinstance(acknowledgement, dict)
            or acknowledgement.get("status") not in ("OK", "ERROR")
            or not isinstance(acknowledgement.get("consentId"), str)
            or not _has_request_id(body)
        ):
            return invalid_body()
        return self._accept(request)

    def _health_information_on_request(
        self, request: RecordedRequest, body: dict[str, Any]
    ) -> FakeResponse:
        hi_request = body.get("hiRequest")
        if (
            not isinstance(hi_request, dict)
            or not isinstance(hi_request.get("transactionId"), str)
            or hi_request.get("sessionStatus") not in ("ACKNOWLEDGED", "ERRORED")
            or not _has_request_id(body)
        ):
            return invalid_body()
        return self._accept(request)

    def _health_information_notify(
        self, request: RecordedRequest, body: dict[str, Any]
    ) -> FakeResponse:
        notification = body.get("notification")
        required = ("consentId", "transactionId", "doneAt", "notifier", "statusNotification")
        if not isinstance(notification, dict) or any(k not in notification for k in required):
            return invalid_body()
        status = notification["statusNotification"]
        if not isinstance(status, dict) or status.get("sessionStatus") not in (
            "TRANSFERRED",
            "FAILED",
        ):
            return invalid_body()
        return self._accept(request)


def _has_request_id(body: dict[str, Any]) -> bool:
    response = body.get("response")
    return isinstance(response, dict) and isinstance(response.get("requestId"), str)
