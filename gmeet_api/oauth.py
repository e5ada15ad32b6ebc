"""Connecting a counsellor: Google's consent URL, then the callback that checks the grant and
upserts the counsellor with their encrypted tokens. Every refusal is logged, and kept."""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import personal_changes, record_audit
from config import get_settings
from core.clock import utcnow
from core.redis import get_redis
from gmeet_api import utils
from gmeet_api.activity import log_activity
from gmeet_api.answers import ConnectResult
from gmeet_api.counsellors import COUNSELLOR_ENTITY
from gmeet_api.errors import (
    CodeExchangeFailed,
    GoogleAuthorizationDenied,
    GoogleConnectUnavailable,
    GoogleIdentityMissing,
    GoogleNotConfigured,
    InsufficientScopes,
    InvalidOAuthState,
)
from gmeet_api.google_calendar_service import (
    AuthorizationRejected,
    GoogleIdentity,
    GoogleNotConfiguredError,
    GoogleUnavailable,
    GrantedTokens,
    GrantRevoked,
    authorization_request,
    exchange_code,
    fetch_identity,
    missing_calendar_scopes,
)
from gmeet_api.models import Counsellor, CounsellorStatus
from gmeet_api.rate_limits import limit_connect_starts
from gmeet_api.tokens import store_tokens

STATE_KEY = "oauth:state:{}"
STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class ConnectStart:
    authorization_url: str
    redirect_uri: str


def start_connect() -> ConnectStart:
    """Google's consent URL, with a single-use state (and the PKCE verifier) kept 10 minutes."""
    limit_connect_starts()
    state = secrets.token_urlsafe(32)
    try:
        request = authorization_request(state)
    except GoogleNotConfiguredError as exc:
        raise GoogleNotConfigured() from exc
    get_redis().set(
        STATE_KEY.format(state),
        json.dumps({"code_verifier": request.code_verifier}),
        ex=STATE_TTL_SECONDS,
    )
    return ConnectStart(request.url, get_settings().GOOGLE_OAUTH_REDIRECT_URI)


def _take_state(state: str | None) -> str:
    """The PKCE verifier stored with `state`; the state is deleted as it is read (single use)."""
    if not state:
        raise InvalidOAuthState()
    stored = get_redis().getdel(STATE_KEY.format(state))
    if not stored:
        raise InvalidOAuthState()
    return json.loads(stored)["code_verifier"]


def _connect_failed(db: Session, reason: str, **detail: Any) -> None:
    log_activity(db, "connect_failed", detail={"reason": reason, **detail}, keep_on_rollback=True)


def complete_connect(
    db: Session, *, code: str | None, state: str | None, error: str | None
) -> ConnectResult:
    """The OAuth callback: check state, exchange the code, check scopes, read the identity,
    then upsert the counsellor and their encrypted tokens."""
    code_verifier = _take_state(state)
    if error:
        _connect_failed(db, "authorization_denied", google_error=error[:64])
        raise GoogleAuthorizationDenied()
    if not code:
        _connect_failed(db, "missing_code")
        raise CodeExchangeFailed()
    tokens = _granted_tokens(db, code, code_verifier)
    identity = _verified_identity(db, tokens)

    counsellor, is_new = _upsert_counsellor(db, identity)
    store_tokens(db, counsellor.counsellor_id, tokens)
    log_activity(
        db,
        "connected",
        counsellor_id=counsellor.counsellor_id,
        detail={"is_new": is_new, "scopes": list(tokens.scopes)},
    )
    record_audit(
        db,
        action="gmeet_counsellor.connected",
        entity_type=COUNSELLOR_ENTITY,
        entity_id=counsellor.counsellor_id,
        changes=personal_changes(
            {"is_new": is_new, "email": counsellor.email, "status": counsellor.status}
        ),
    )
    return ConnectResult(counsellor, is_new)


def _granted_tokens(db: Session, code: str, code_verifier: str) -> GrantedTokens:
    """The tokens Google issues for `code`, refused unless they carry every Calendar scope."""
    try:
        tokens = exchange_code(code, code_verifier)
    except AuthorizationRejected as exc:
        _connect_failed(db, "code_exchange_failed")
        raise CodeExchangeFailed() from exc
    except (GoogleUnavailable, GoogleNotConfiguredError) as exc:
        _connect_failed(db, "google_unavailable", step="token")
        raise GoogleConnectUnavailable() from exc
    missing = missing_calendar_scopes(tokens.scopes)
    if missing:
        _connect_failed(db, "insufficient_scopes", missing=missing)
        raise InsufficientScopes(details=[{"missing_scope": scope} for scope in missing])
    return tokens


def _verified_identity(db: Session, tokens: GrantedTokens) -> GoogleIdentity:
    """Who granted `tokens`: a Google account id and a verified email, or a refusal."""
    try:
        identity = fetch_identity(tokens)
    except (GoogleUnavailable, GrantRevoked) as exc:
        _connect_failed(db, "google_unavailable", step="userinfo")
        raise GoogleConnectUnavailable() from exc
    if not identity.sub or not identity.email or not identity.email_verified:
        _connect_failed(db, "identity_missing")
        raise GoogleIdentityMissing()
    return identity


def _find_counsellor(db: Session, identity: GoogleIdentity) -> Counsellor | None:
    by_sub = db.scalar(
        select(Counsellor).where(Counsellor.google_sub == identity.sub).with_for_update()
    )
    if by_sub is not None:
        return by_sub
    return db.scalar(select(Counsellor).where(Counsellor.email == identity.email).with_for_update())


def _unused_counsellor_id(db: Session) -> str:
    while True:
        candidate = utils.new_counsellor_id()
        if db.scalar(select(Counsellor.id).where(Counsellor.counsellor_id == candidate)) is None:
            return candidate


def _display_name(identity: GoogleIdentity) -> str:
    return (identity.name or identity.email.split("@")[0]).strip()[:120]


def _upsert_counsellor(db: Session, identity: GoogleIdentity) -> tuple[Counsellor, bool]:
    """A reconnecting counsellor keeps their id, profile and active flag; a new one starts
    inactive until an admin approves them (anyone with a Google account can get this far)."""
    counsellor = _find_counsellor(db, identity)
    if counsellor is None:
        counsellor = Counsellor(
            counsellor_id=_unused_counsellor_id(db),
            name=_display_name(identity),
            email=identity.email,
            google_sub=identity.sub,
            is_active=False,
            status=CounsellorStatus.CONNECTED,
            connected_at=utcnow(),
        )
        try:
            with db.begin_nested():
                db.add(counsellor)
        except IntegrityError:
            # The same account finished connecting in a parallel request a moment ago.
            counsellor = _find_counsellor(db, identity)
            if counsellor is None:
                raise
        else:
            return counsellor, True
    counsellor.google_sub = identity.sub
    if identity.name:
        counsellor.name = _display_name(identity)
    if counsellor.email != identity.email:
        taken = db.scalar(select(Counsellor.id).where(Counsellor.email == identity.email))
        if taken is None:
            counsellor.email = identity.email
    counsellor.status = CounsellorStatus.CONNECTED
    counsellor.connected_at = utcnow()
    db.flush()
    return counsellor, False
