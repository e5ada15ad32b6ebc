"""JWT access and refresh tokens bound to a device session."""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import jwt

from config import get_settings
from core.clock import wall_utcnow
from Login_module.errors import TokenExpired, TokenInvalid

TokenType = Literal["access", "refresh"]


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: int
    role: str
    type: TokenType
    jti: str


def new_jti() -> str:
    return uuid.uuid4().hex


def encode_token(
    user_id: int, session_id: int, role: str, token_type: TokenType, jti: str | None = None
) -> str:
    settings = get_settings()
    lifetime = (
        settings.ACCESS_TOKEN_EXPIRE_SECONDS
        if token_type == "access"
        else settings.REFRESH_TOKEN_EXPIRE_SECONDS
    )
    now = wall_utcnow()  # PyJWT checks iat/exp against the wall clock
    payload = {
        "sub": str(user_id),
        "sid": session_id,
        "role": role,
        "type": token_type,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
        "jti": jti or new_jti(),
    }
    return jwt.encode(payload, settings.SECRET_KEY.get_secret_value(), algorithm=settings.ALGORITHM)


# Verified access tokens, so a client's repeated requests skip the signature check: the key
# holds the secret and the whole token (signature included), the value the claims and expiry,
# which is checked on every use. Bounded by dropping everything when full.
_VERIFIED_MAX = 4096
_verified: dict[tuple[str, str], tuple[TokenClaims, float]] = {}


def decode_token(token: str, expected_type: TokenType) -> TokenClaims:
    """Verify signature, algorithm, expiry and type; anything off -> 401."""
    secret = get_settings().SECRET_KEY.get_secret_value()
    if expected_type == "access":
        known = _verified.get((secret, token))
        if known is not None:
            if known[1] <= time.time():
                raise TokenExpired()
            return known[0]
    claims, expires_at = _verify(token, secret, expected_type)
    if expected_type == "access":
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[(secret, token)] = (claims, expires_at)
    return claims


def _verify(token: str, secret: str, expected_type: TokenType) -> tuple[TokenClaims, float]:
    settings = get_settings()
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[settings.ALGORITHM],
            options={"require": ["sub", "sid", "type", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    if payload.get("type") != expected_type:
        raise TokenInvalid()
    try:
        claims = TokenClaims(
            user_id=int(payload["sub"]),
            session_id=int(payload["sid"]),
            role=str(payload.get("role", "user")),
            type=expected_type,
            jti=str(payload["jti"]),
        )
        return claims, float(payload["exp"])
    except (TypeError, ValueError) as exc:
        raise TokenInvalid() from exc
